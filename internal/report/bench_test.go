// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
)

// BenchmarkBuilder reads the committed harness fixture, or the file named
// by MAILWATCHD_REPORT_BENCH_LOG (bench/report.sh times the whole command
// on the 1.5 M-line corpus).
func BenchmarkBuilder(b *testing.B) {
	path := os.Getenv("MAILWATCHD_REPORT_BENCH_LOG")
	if path == "" {
		path = "testdata/harness.log"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var cfg logparse.Config
	cfg.ApplyDefaults()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bl, err := NewBuilder(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := bl.Feed(context.Background(), "bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		bl.Report(DefaultTop)
	}
}
