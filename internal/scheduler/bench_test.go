// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

const benchCollectors, benchSeries = 20, 50

// benchScheduler returns a scheduler whose 20 collectors have each run once
// with 50 series, and will not run again during the benchmark.
func benchScheduler(b *testing.B) *Scheduler {
	s := New(zap.NewNop())
	var jobs []Job
	for i := range benchCollectors {
		desc := prometheus.NewDesc(fmt.Sprintf("mailwatch_bench%d_value", i), "Bench value.", []string{"target"}, nil)
		c := &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			for k := range benchSeries {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(k), fmt.Sprintf("t%d", k))
			}
			return nil
		}}
		jobs = append(jobs, Job{Name: fmt.Sprintf("c%d", i), Collector: c, Interval: time.Hour, Timeout: time.Minute, StaleAfter: time.Hour})
	}
	RunOnce(context.Background(), s, jobs) // one run each, and no job loops to run again
	return s
}

func benchServe(b *testing.B, h http.Handler, each func()) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		each()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(benchCollectors*(benchSeries+5)), "series/scrape")
}

// BenchmarkScrape measures the whole /metrics path (gather, sort, encode)
// over 20 collectors' snapshots of 50 series each, as a scrape sees them
// with the scheduler registered directly (no Cache).
func BenchmarkScrape(b *testing.B) {
	s := benchScheduler(b)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	benchServe(b, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), func() {})
}

// BenchmarkScrapeCached is BenchmarkScrape through Merge and Cache, as the
// daemon serves it (with an empty live registry, so that only the
// scheduler's part is measured). hit: nothing changed since the last
// scrape; miss: the generation moves before every scrape, the worst case.
func BenchmarkScrapeCached(b *testing.B) {
	s := benchScheduler(b)
	h := promhttp.HandlerFor(Merge(prometheus.NewRegistry(), NewCache(s, time.Hour)), promhttp.HandlerOpts{})
	b.Run("hit", func(b *testing.B) { benchServe(b, h, func() {}) })
	b.Run("miss", func(b *testing.B) { benchServe(b, h, s.changed) })
}
