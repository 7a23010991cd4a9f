// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// BenchmarkScrape measures the whole /metrics path (gather, sort, encode)
// over 20 collectors' snapshots of 50 series each, as a scrape sees them.
func BenchmarkScrape(b *testing.B) {
	const collectorsN, seriesN = 20, 50
	s := New(zap.NewNop())
	var jobs []Job
	for i := range collectorsN {
		desc := prometheus.NewDesc(fmt.Sprintf("mailwatch_bench%d_value", i), "Bench value.", []string{"target"}, nil)
		c := &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			for k := range seriesN {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(k), fmt.Sprintf("t%d", k))
			}
			return nil
		}}
		jobs = append(jobs, Job{Name: fmt.Sprintf("c%d", i), Collector: c, Interval: time.Hour, Timeout: time.Minute, StaleAfter: time.Hour})
	}
	s.Apply(jobs)
	defer s.Stop()
	for !s.RanOnce() {
		time.Sleep(time.Millisecond)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(collectorsN*(seriesN+5)), "series/scrape")
}
