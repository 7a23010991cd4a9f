// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// The benchmarks read MAILWATCHD_BENCH_CORPUS when set (the synthetic corpus
// of bench/gen-log.py --seed 42 --lines 1500000), else the test corpus in
// testdata/corpus. They report ns/line and lines/s:
//
//	python3 gen-log.py --seed 42 --lines 1500000 --out /tmp/corpus.log
//	MAILWATCHD_BENCH_CORPUS=/tmp/corpus.log go test -run '^$' -bench . -cpu 1 ./internal/logparse/...
//
// The parser and the classifier alone have theirs in maillog/bench_test.go.

func benchCorpus(b *testing.B) (path string, data []byte) {
	b.Helper()
	if p := os.Getenv("MAILWATCHD_BENCH_CORPUS"); p != "" {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return p, d
	}
	files, _ := filepath.Glob("testdata/corpus/*.log")
	var all []byte
	for _, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, d...)
	}
	path = filepath.Join(b.TempDir(), "corpus.log")
	if err := os.WriteFile(path, all, 0o600); err != nil {
		b.Fatal(err)
	}
	return path, all
}

func splitLines(data []byte) [][]byte {
	lines := bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	return lines
}

func reportLines(b *testing.B, lines int) {
	b.Helper()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(sec*1e9/float64(lines), "ns/line")
	b.ReportMetric(float64(lines)/sec, "lines/s")
}

// BenchmarkParseClassifyCount adds the counter updates (the sink).
func BenchmarkParseClassifyCount(b *testing.B) {
	_, data := benchCorpus(b)
	lines := splitLines(data)
	c := newCounters()
	var rules = newRuleSetPtr(b, c)
	s := newSink(rules, c, c.source("bench"), time.Now)
	n := 0
	for b.Loop() {
		for _, l := range lines {
			s.Line(l)
		}
		s.Flush()
		n += len(lines)
	}
	reportLines(b, n)
}

// BenchmarkFileCatchUp is file -> counters through the real follower: a
// pipeline started at the beginning of the corpus file, timed until every
// line is counted.
func BenchmarkFileCatchUp(b *testing.B) {
	path, data := benchCorpus(b)
	want := uint64(bytes.Count(data, []byte{'\n'}))
	n := 0
	for b.Loop() {
		cfg := Config{StartAt: StartBegin, PollInterval: confval.Duration(10 * time.Millisecond),
			Sources: []SourceConfig{{Name: "bench", Type: SourceFile, Paths: []string{path}}}}
		cfg.ApplyDefaults()
		cfg.MaxCatchUp = 1 << 40
		p, err := New(cfg, "", zap.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		clock := &watchClock{}
		p.clock = clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		clock.waitFor(b, time.Minute, "the whole corpus", func() bool { return p.counters.source("bench").lines.Load() >= want })
		cancel()
		<-done
		n += int(want)
	}
	reportLines(b, n)
}

// TestCatchUpMemory follows the benchmark corpus from its start and reports
// the time, the rate and the peak RSS of the test process (VmHWM). It only
// runs with MAILWATCHD_BENCH_CORPUS set:
//
//	MAILWATCHD_BENCH_CORPUS=/tmp/corpus.log go test -run TestCatchUpMemory -v ./internal/logparse/
func TestCatchUpMemory(t *testing.T) {
	path := os.Getenv("MAILWATCHD_BENCH_CORPUS")
	if path == "" {
		t.Skip("MAILWATCHD_BENCH_CORPUS not set")
	}
	want := countLines(t, path)
	cfg := Config{StartAt: StartBegin, Sources: []SourceConfig{{Name: "bench", Type: SourceFile, Paths: []string{path}}}}
	cfg.ApplyDefaults()
	cfg.MaxCatchUp = 1 << 40
	p, err := New(cfg, t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	clock := &watchClock{}
	p.clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	begin := time.Now()
	go func() { done <- p.Run(ctx) }()
	clock.waitFor(t, patience, "the whole corpus", func() bool { return p.counters.source("bench").lines.Load() == want })
	took := time.Since(begin)
	cancel()
	<-done
	status, _ := os.ReadFile("/proc/self/status")
	var hwm string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	t.Logf("%d lines in %v: %.0f lines/s; peak RSS %s", want, took.Round(time.Millisecond), float64(want)/took.Seconds(), hwm)
}

func countLines(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n uint64
	for {
		m, err := f.Read(buf)
		n += uint64(bytes.Count(buf[:m], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
}
