// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares one run's exposition with testdata/<name>.prom (with
// -update it rewrites the file instead) and returns the run's error.
func golden(t *testing.T, c collectors.Collector, name string) error {
	t.Helper()
	a := &collectortest.Adapter{C: c}
	path := filepath.Join("testdata", name+".prom")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(a)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return a.Err
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(a, bytes.NewReader(want)); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return a.Err
}

// run performs one Update and returns its samples as `name{l="v",...}` ->
// value, with the labels sorted.
func run(ctx context.Context, c collectors.Collector) (map[string]float64, error) {
	ch := make(chan prometheus.Metric, 1000)
	err := c.Update(ctx, ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		k, v := sample(m)
		out[k] = v
	}
	return out, err
}

func sample(m prometheus.Metric) (string, float64) {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return "error: " + err.Error(), 0
	}
	desc := m.Desc().String()
	name := desc[strings.Index(desc, `fqName: "`)+len(`fqName: "`):]
	name = name[:strings.IndexByte(name, '"')]
	var labels []string
	for _, l := range pb.GetLabel() {
		labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
	}
	sort.Strings(labels)
	v := pb.GetGauge().GetValue()
	if pb.Counter != nil {
		v = pb.GetCounter().GetValue()
	}
	return name + "{" + strings.Join(labels, ",") + "}", v
}

// fakeSource answers Query from a table; while block is set it blocks until
// its context ends or release is closed, whichever the test wants.
type fakeSource struct {
	mu          sync.Mutex
	sts         []status
	err         error
	block       bool
	ignoreCtx   bool // block until release even after ctx ends (a stuck read)
	release     chan struct{}
	calls       int
	closed      bool
	queryReturn chan struct{} // receives after each Query returns, if set
}

func (f *fakeSource) Query(ctx context.Context) ([]status, error) {
	f.mu.Lock()
	f.calls++
	block, ignore, release, sts, err := f.block, f.ignoreCtx, f.release, f.sts, f.err
	f.mu.Unlock()
	defer func() {
		if f.queryReturn != nil {
			f.queryReturn <- struct{}{}
		}
	}()
	if block {
		if ignore {
			<-release
		} else {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
			}
		}
	}
	return sts, err
}

func (f *fakeSource) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// updateAtDeadline runs one Update under timeout and checks that it returns
// at most 100ms after the deadline fired. The 100ms count from the moment
// ctx.Done is seen, so that late timers on a loaded machine (2 cores, the
// race detector, parallel tests) do not fail the test; a loose bound on the
// whole run still catches an Update that ignores its context.
func updateAtDeadline(t *testing.T, c collectors.Collector, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fired := make(chan time.Time, 1)
	go func() {
		<-ctx.Done()
		fired <- time.Now()
	}()
	start := time.Now()
	_, err := run(ctx, c)
	returned := time.Now()
	if ctx.Err() == nil {
		return err // returned before the deadline
	}
	if late := returned.Sub(<-fired); late > 100*time.Millisecond {
		t.Errorf("Update returned %v after its deadline, want at most 100ms", late)
	}
	if took := returned.Sub(start); took > timeout+5*time.Second {
		t.Errorf("Update took %v with a timeout of %v", took, timeout)
	}
	return err
}
