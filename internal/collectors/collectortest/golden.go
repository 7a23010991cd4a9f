// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// update is the one -update flag of the collector tests: go test
// ./internal/collectors/... -update rewrites their golden files.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden runs Update once and compares the exposition with
// testdata/<name>.prom (with -update it rewrites the file from the run
// instead). It returns the run's error.
func Golden(t testing.TB, c collectors.Collector, name string) error {
	t.Helper()
	return golden(t, c, name, "")
}

// GoldenDir is Golden for exposition that holds a temporary directory: dir
// is written as @DIR@ in the file.
func GoldenDir(t testing.TB, c collectors.Collector, name, dir string) error {
	t.Helper()
	return golden(t, c, name, dir)
}

// CheckGolden is Golden for the usual runs (success, partial,
// total_failure): the run must return an error exactly when wantErr, and
// the metrics of a run without error must pass the lint. It returns the
// run's error, for checks of its kind.
func CheckGolden(t testing.TB, c collectors.Collector, name string, wantErr bool) error {
	t.Helper()
	err := golden(t, c, name, "")
	if (err != nil) != wantErr {
		t.Errorf("run error %v, want an error: %v", err, wantErr)
	}
	if err == nil {
		Lint(t, c)
	}
	return err
}

func golden(t testing.TB, c collectors.Collector, name, dir string) error {
	t.Helper()
	a := &Adapter{C: c}
	path := filepath.Join("testdata", name+".prom")
	if *update {
		writeGolden(t, a, path, dir)
		return a.Err
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if dir != "" {
		want = bytes.ReplaceAll(want, []byte("@DIR@"), []byte(dir))
	}
	if err := testutil.CollectAndCompare(a, bytes.NewReader(want)); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return a.Err
}

// writeGolden gathers one run through a pedantic registry and writes it to
// path in text format, dir replaced by @DIR@.
func writeGolden(t testing.TB, a *Adapter, path, dir string) {
	t.Helper()
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
	out := buf.Bytes()
	if dir != "" {
		out = bytes.ReplaceAll(out, []byte(dir), []byte("@DIR@"))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
