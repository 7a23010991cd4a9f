// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package collectortest is the test kit of the collectors, imported by
// their tests only:
//
//   - runs: Run (one Update, its samples as Sample renders them), New
//     (build with the package's constructor), HungRun and Eventually (a
//     run whose work hangs, and waiting for it to come back);
//   - exposition: Golden, GoldenDir and CheckGolden compare a run with
//     testdata/<name>.prom, which go test -update rewrites (the one -update
//     flag of the collector tests); Lint and Compare use client_golang's
//     testutil through Adapter;
//   - configuration: ExampleIsTheDefaults checks a section of
//     config.example.yaml against the defaults, Validation runs a table of
//     Case against Validate, Decode decodes a section strictly;
//   - fakes every collector can use: MapFS (a collectors.FS in memory) and
//     WriteExecutable (a stand-in for a command).
package collectortest

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Adapter runs one Update per Collect with Ctx (context.Background when nil)
// and records the error of the last run in Err.
type Adapter struct {
	C   collectors.Collector
	Ctx context.Context
	Err error
}

// Describe forwards to the collector.
func (a *Adapter) Describe(ch chan<- *prometheus.Desc) { a.C.Describe(ch) }

// Collect runs Update once.
func (a *Adapter) Collect(ch chan<- prometheus.Metric) {
	ctx := a.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	a.Err = a.C.Update(ctx, ch)
}

// Lint runs one Update and fails the test on any metric lint problem.
func Lint(t testing.TB, c collectors.Collector) {
	t.Helper()
	problems, err := testutil.CollectAndLint(&Adapter{C: c})
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

// Compare runs one Update and compares the exposition of the named metrics
// (all when none are named) with want, in text format.
func Compare(t testing.TB, c collectors.Collector, want string, names ...string) {
	t.Helper()
	if err := testutil.CollectAndCompare(&Adapter{C: c}, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}
