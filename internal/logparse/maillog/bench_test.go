// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks read MAILWATCHD_BENCH_CORPUS when set (the synthetic corpus
// of bench/gen-log.py --seed 42 --lines 1500000), else the test corpus in
// ../testdata/corpus. They report ns/line and lines/s:
//
//	python3 gen-log.py --seed 42 --lines 1500000 --out /tmp/corpus.log
//	MAILWATCHD_BENCH_CORPUS=/tmp/corpus.log go test -run '^$' -bench . -cpu 1 ./internal/logparse/maillog/
//
// The follower and the counters have theirs in ../bench_test.go.

func benchLines(b *testing.B) [][]byte {
	b.Helper()
	var data []byte
	if p := os.Getenv("MAILWATCHD_BENCH_CORPUS"); p != "" {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		data = d
	} else {
		files, _ := filepath.Glob(corpusGlob)
		for _, f := range files {
			d, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, d...)
		}
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
}

func reportLines(b *testing.B, lines int) {
	b.Helper()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(sec*1e9/float64(lines), "ns/line")
	b.ReportMetric(float64(lines)/sec, "lines/s")
}

// BenchmarkParse is the line splitter alone.
func BenchmarkParse(b *testing.B) {
	lines := benchLines(b)
	n := 0
	for b.Loop() {
		for _, l := range lines {
			if _, ok := Parse(l); !ok {
				b.Fatalf("malformed: %q", l)
			}
		}
		n += len(lines)
	}
	reportLines(b, n)
}

// BenchmarkParseClassify is parse plus classify of lines in memory, the
// "classifier alone" figure.
func BenchmarkParseClassify(b *testing.B) {
	lines := benchLines(b)
	cls, err := NewClassifier(nil, DefaultProviders())
	if err != nil {
		b.Fatal(err)
	}
	var r Result
	n := 0
	for b.Loop() {
		for _, l := range lines {
			e, _ := Parse(l)
			cls.Classify(&e, &r)
		}
		n += len(lines)
	}
	reportLines(b, n)
}
