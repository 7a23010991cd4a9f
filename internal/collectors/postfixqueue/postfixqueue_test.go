// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestShowqSocketGolden serves the real Postfix 3.7 capture from a unix
// socket and compares the whole exposition.
func TestShowqSocketGolden(t *testing.T) {
	t.Parallel()
	spool := newSpool(t)
	serveShowq(t, spool, sendBytes(readFixture(t, "showq-3.7.bin")))
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: spool, Name: "postfix"}}, Sources: []string{SourceShowq}, TopDeferredDomains: 3}, nil)
	collectortest.CheckGolden(t, c, "success", false)
}

// TestPartialGolden: one instance reads, the other's showq closes
// mid-record and its walk finds no queue: that instance is data (success
// 0), the run is not an error.
func TestPartialGolden(t *testing.T) {
	t.Parallel()
	capture := readFixture(t, "showq-3.7.bin")
	good, bad := newSpool(t), newSpool(t)
	serveShowq(t, good, sendBytes(capture))
	serveShowq(t, bad, sendBytes(capture[:len(capture)/2]))
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: good, Name: "postfix"}, {Path: bad, Name: "postfix-out"}}}, nil)
	if err := collectortest.Golden(t, c, "partial"); err != nil {
		t.Errorf("one instance read: want no run error, got %v", err)
	}
}

// TestTotalFailureGolden: no instance can be read; the run fails (and is
// not mistaken for a host without Postfix).
func TestTotalFailureGolden(t *testing.T) {
	t.Parallel()
	garbage, nosocket := newSpool(t), newSpool(t)
	serveShowq(t, garbage, sendBytes([]byte("\x00\x01\x02garbage")))
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: garbage, Name: "postfix"}, {Path: nosocket, Name: "postfix-out"}}, Sources: []string{SourceShowq}}, nil)
	err := collectortest.Golden(t, c, "total_failure")
	if err == nil || errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("all instances failing: got %v, want a plain error", err)
	}
}

func TestNoPostfixIsNotApplicable(t *testing.T) {
	t.Parallel()
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: filepath.Join(t.TempDir(), "nope")}}}, nil)
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("absent spool: got %v, want ErrNotApplicable", err)
	}
}

// TestFallbackToWalk: no showq socket, but the queue directories are
// readable (root): the walk source answers and says so.
func TestFallbackToWalk(t *testing.T) {
	t.Parallel()
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: copySpool(t), Name: "postfix"}}}, nil)
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		`mailwatch_postfix_queue_source{postfix_instance="postfix",source="walk"}`:      1,
		`mailwatch_postfix_queue_source{postfix_instance="postfix",source="showq"}`:     0,
		`mailwatch_postfix_queue_messages{postfix_instance="postfix",queue="deferred"}`: 5,
		`mailwatch_postfix_queue_read_success{postfix_instance="postfix"}`:              1,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

// fakePostqueue writes an executable script standing in for postqueue.
func fakePostqueue(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "postqueue")
	if err := collectortest.WriteExecutable(p, []byte("#!/bin/sh\n"+body+"\n")); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPostqueueSource(t *testing.T) {
	t.Parallel()
	fixture, err := filepath.Abs(filepath.Join("testdata", "postqueue-j-3.7.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		script  string
		wantErr string
	}{
		{name: "lists the queue", script: `[ "$*" = "-c /etc/postfix-out -j" ] || { echo "bad args: $*" >&2; exit 2; }; exec cat ` + fixture},
		{name: "fails", script: `echo "postqueue: fatal: Queue report unavailable - mail system is down" >&2; exit 75`, wantErr: "mail system is down"},
		{name: "bad output", script: `echo '{"queue_name": 5}'`, wantErr: "object 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tl := newTally(false)
			err := runPostqueue(context.Background(), fakePostqueue(t, tc.script), "/etc/postfix-out", tl)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := tl.queues[qDeferred].Messages; got != 110 {
					t.Errorf("deferred messages = %d, want 110", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// TestUpdateHonoursContext: a source that never finishes must make Update
// return once the run's context is over, with the context's error. What is
// asserted is that it returns, not how fast.
func TestUpdateHonoursContext(t *testing.T) {
	t.Parallel()
	partial := readFixture(t, "showq-3.7.bin")[:100]
	tests := []struct {
		name  string
		setup func(t *testing.T, spool string) Config
	}{
		{"showq accepts and never answers", func(t *testing.T, spool string) Config {
			serveShowq(t, spool, sendThenHang(nil))
			return Config{Sources: []string{SourceShowq}}
		}},
		{"showq stalls mid-record", func(t *testing.T, spool string) Config {
			serveShowq(t, spool, sendThenHang(partial))
			return Config{Sources: []string{SourceShowq}}
		}},
		{"showq stalls, walk never gets a turn", func(t *testing.T, spool string) Config {
			serveShowq(t, spool, sendThenHang(partial))
			return Config{Sources: []string{SourceShowq, SourceWalk}}
		}},
		{"postqueue hangs", func(t *testing.T, _ string) Config {
			return Config{Sources: []string{SourcePostqueue}, PostqueuePath: fakePostqueue(t, "exec sleep 600")}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spool := newSpool(t)
			cfg := tc.setup(t, spool)
			cfg.Spools = []Spool{{Path: spool, Name: "postfix"}}
			c := collectortest.New(t, New, cfg, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done := make(chan struct{})
			var err error
			go func() {
				defer close(done)
				ch := make(chan prometheus.Metric, 256)
				err = c.Update(ctx, ch)
			}()
			waitDone(t, done, "Update")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

// TestCancelWithoutDeadline: cancellation alone (no deadline on ctx) also
// unblocks a stalled read.
func TestCancelWithoutDeadline(t *testing.T) {
	t.Parallel()
	spool := newSpool(t)
	accepted := make(chan struct{})
	serveShowq(t, spool, func(_ net.Conn, release <-chan struct{}) {
		close(accepted)
		<-release
	})
	c := collectortest.New(t, New, Config{Spools: []Spool{{Path: spool}}, Sources: []string{SourceShowq}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = c.Update(ctx, make(chan prometheus.Metric, 256))
	}()
	<-accepted
	cancel()
	waitDone(t, done, "Update")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// TestLogsOncePerChange: the same failure is logged once, a recovery once.
func TestLogsOncePerChange(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	fail := true
	src := namedSource{name: SourceShowq, read: func(context.Context, Spool, *tally) error {
		if fail {
			return errBoom
		}
		return nil
	}}
	c := newCollector(Config{Spools: []Spool{{Path: t.TempDir(), Name: "postfix"}}}, []namedSource{src}, zap.New(core))
	for range 3 {
		_, _ = collectortest.Run(context.Background(), c)
	}
	fail = false
	_, _ = collectortest.Run(context.Background(), c)
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Level.String()+" "+e.Message)
	}
	want := []string{"warn cannot read postfix queue", "info postfix queue readable again"}
	if !slices.Equal(msgs, want) {
		t.Errorf("logs = %q, want %q", msgs, want)
	}
}

func TestSourcesInOrder(t *testing.T) {
	t.Parallel()
	var tried []string
	src := func(name string, err error) namedSource {
		return namedSource{name: name, read: func(context.Context, Spool, *tally) error {
			tried = append(tried, name)
			return err
		}}
	}
	c := newCollector(Config{Spools: []Spool{{Path: t.TempDir(), Name: "p"}}},
		[]namedSource{src(SourceShowq, errBoom), src(SourcePostqueue, nil), failingSource(SourceWalk, errBoom)}, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tried, []string{SourceShowq, SourcePostqueue}) {
		t.Errorf("tried %v, want showq then postqueue and stop", tried)
	}
	if k := `mailwatch_postfix_queue_source{postfix_instance="p",source="postqueue"}`; got[k] != 1 {
		t.Errorf("source not reported as postqueue: %s = %v", k, got[k])
	}
}
