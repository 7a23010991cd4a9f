// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// countingCollector sends one const gauge whose value is how often it was collected.
type countingCollector struct {
	desc *prometheus.Desc
	n    float64
}

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *countingCollector) Collect(ch chan<- prometheus.Metric) {
	c.n++
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.n)
}

func TestThrottledCollectsOncePerMaxAge(t *testing.T) {
	inner := &countingCollector{desc: prometheus.NewDesc("collections", "How often the collector ran.", nil, nil)}
	th := throttle(inner, time.Second)
	clock := time.Unix(1_800_000_000, 0)
	th.now = func() time.Time { return clock }
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(th)

	for _, step := range []struct {
		advance time.Duration
		want    float64
	}{
		{0, 1},                      // first scrape collects
		{999 * time.Millisecond, 1}, // within maxAge: the same reading
		{time.Millisecond, 2},       // maxAge old: collected again
		{500 * time.Millisecond, 2},
		{time.Hour, 3},
	} {
		clock = clock.Add(step.advance)
		if got := testutil.ToFloat64(th); got != step.want {
			t.Fatalf("after +%v: value %g, want %g", step.advance, got, step.want)
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("pedantic gather: %v", err)
		}
	}
	if inner.n != 3 {
		t.Errorf("inner collector ran %g times, want 3", inner.n)
	}
}
