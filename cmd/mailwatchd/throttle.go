// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// throttled serves an expensive live collector's metrics from its last
// collection for up to maxAge. The process collector reads
// /proc/self/{stat,status,limits,io,net/netstat} and counts open files on
// every Collect: about a fifth of a scrape's CPU once the scheduler's series
// are cached, for values (CPU seconds, memory, file descriptors) that a
// Prometheus scraping every 15 s or more cannot tell from a second-old
// reading. Only collectors that send const metrics may be throttled: the
// metrics are sent again as they are.
type throttled struct {
	inner  prometheus.Collector
	maxAge time.Duration
	now    func() time.Time

	mu      sync.Mutex // held across a collection, so concurrent scrapes share it
	at      time.Time
	metrics []prometheus.Metric
}

func throttle(c prometheus.Collector, maxAge time.Duration) *throttled {
	return &throttled{inner: c, maxAge: maxAge, now: time.Now}
}

// Describe forwards to the collector.
func (t *throttled) Describe(ch chan<- *prometheus.Desc) { t.inner.Describe(ch) }

// Collect sends the cached metrics, collecting anew when they are maxAge old.
func (t *throttled) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	now := t.now()
	if t.metrics == nil || now.Sub(t.at) >= t.maxAge {
		c := make(chan prometheus.Metric)
		go func() {
			t.inner.Collect(c)
			close(c)
		}()
		fresh := []prometheus.Metric{}
		for m := range c {
			fresh = append(fresh, m)
		}
		t.metrics, t.at = fresh, now
	}
	metrics := t.metrics
	t.mu.Unlock()
	for _, m := range metrics {
		ch <- m
	}
}
