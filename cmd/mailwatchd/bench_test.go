// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
)

// constCollector sends n gauges of one family on every run.
type constCollector struct {
	desc *prometheus.Desc
	n    int
}

func (c *constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *constCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	for k := range c.n {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(k), fmt.Sprintf("t%d", k))
	}
	return nil
}

// benchDaemon is /metrics as serve wires it: a scheduler of 11 collectors
// (as many as config.example.yaml enables) whose snapshots hold about as
// many series as the bench's every-collector scrape (437), the log
// pipeline's counters for one file source, the Go runtime and process
// collectors.
func benchDaemon(b *testing.B) *mwweb.Options {
	b.Helper()
	logger := zap.NewNop()
	cfg := logparse.Config{Sources: []logparse.SourceConfig{{Name: "mail", Type: logparse.SourceFile,
		Paths: []string{filepath.Join(b.TempDir(), "mail.log")}}}}
	cfg.ApplyDefaults()
	pipe, err := logparse.New(cfg, "", logger)
	if err != nil {
		b.Fatal(err)
	}
	d := &daemon{logger: logger, sched: scheduler.New(logger), logs: pipe}
	var js []scheduler.Job
	for i := range 11 {
		desc := prometheus.NewDesc(fmt.Sprintf("mailwatch_bench%d_value", i), "Bench value.", []string{"target"}, nil)
		js = append(js, scheduler.Job{Name: fmt.Sprintf("c%d", i), Collector: &constCollector{desc: desc, n: 20},
			Interval: time.Hour, Timeout: time.Minute, StaleAfter: time.Hour})
	}
	scheduler.RunOnce(context.Background(), d.sched, js)
	return &mwweb.Options{Gatherer: d.gatherer(), Logger: logger}
}

// BenchmarkMetrics serves /metrics as the daemon does, nothing changing
// between scrapes (the log counters stand still, the scheduler's snapshots
// are cached), in the text format Prometheus asks for, gzip and not.
func BenchmarkMetrics(b *testing.B) {
	o := benchDaemon(b)
	h := mwweb.NewHandler(*o)
	for _, tc := range []struct{ name, accept, encoding string }{
		{"text", "text/plain;version=0.0.4", ""},
		{"text_gzip", "text/plain;version=0.0.4", "gzip"},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/metrics", nil)
				r.Header.Set("Accept", tc.accept)
				if tc.encoding != "" {
					r.Header.Set("Accept-Encoding", tc.encoding)
				}
				h.ServeHTTP(rec, r)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
