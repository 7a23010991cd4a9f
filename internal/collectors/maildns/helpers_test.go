// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares one run's exposition with testdata/<name>.prom (with
// -update it rewrites the file from the run instead) and returns the run's
// error.
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
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
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
		t.Error(err)
	}
	return a.Err
}

// sample renders a metric as `name{l="v",...}` and returns its value.
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
