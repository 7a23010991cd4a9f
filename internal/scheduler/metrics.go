// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Meta-metrics, one series per collector. They avoid the scrape_ prefix on
// purpose: they describe scheduled runs, not the scrape.
var (
	successDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "success"),
		"1 if the collector's last run succeeded, 0 if it failed, timed out or panicked.", []string{"collector"}, nil)
	durationDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "duration_seconds"),
		"Wall time of the collector's last run, in seconds.", []string{"collector"}, nil)
	lastSuccessDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "last_success_timestamp_seconds"),
		"Unix time at which the collector's last successful run ended; absent before the first success.", []string{"collector"}, nil)
	absentDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "target_absent"),
		"1 if the collector's last run found nothing to watch on this host (e.g. no ClamAV installed); alerts on collector failures exclude these.", []string{"collector"}, nil)
	runsDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "runs_total"),
		"Runs of the collector since mailwatchd started.", []string{"collector"}, nil)
	failuresDesc = prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, "collector", "failures_total"),
		"Failed runs (errors, timeouts and panics) of the collector since mailwatchd started.", []string{"collector"}, nil)
)

// Describe sends nothing: the set of collectors changes on reload, so the
// scheduler registers as an unchecked collector. Each collector's own
// descriptors are checked by its tests on a pedantic registry.
func (s *Scheduler) Describe(chan<- *prometheus.Desc) {}

// Collect copies the snapshots and meta-metrics. No I/O, O(series).
func (s *Scheduler) Collect(ch chan<- prometheus.Metric) { s.collect(ch, s.clk.Now()) }

// collect is Collect as of now. It returns when the first snapshot still
// served will cross its stale window (zero if none can), the one moment at
// which the output changes without a change of s.gen.
func (s *Scheduler) collect(ch chan<- prometheus.Metric, now time.Time) (staleAt time.Time) {
	s.mu.Lock()
	states := make([]*state, 0, len(s.states))
	for _, st := range s.states {
		states = append(states, st)
	}
	s.mu.Unlock()
	for _, st := range states {
		st.mu.Lock()
		name := st.job.Name
		if st.snapshot != nil && !st.success {
			switch deadline := st.lastSuccess.Add(st.job.StaleAfter); {
			case now.After(deadline):
				st.snapshot = nil // too old to trust: drop rather than serve stale values for ever
			case staleAt.IsZero() || deadline.Before(staleAt):
				staleAt = deadline
			}
		}
		snap := st.snapshot
		ch <- collectors.Gauge(successDesc, collectors.B2F(st.success), name)
		ch <- collectors.Gauge(absentDesc, collectors.B2F(st.notApplic && !st.success), name)
		ch <- collectors.Gauge(durationDesc, st.duration.Seconds(), name)
		if !st.lastSuccess.IsZero() {
			ch <- collectors.Gauge(lastSuccessDesc, float64(st.lastSuccess.UnixNano())/1e9, name)
		}
		ch <- collectors.Counter(runsDesc, float64(st.runs), name)
		ch <- collectors.Counter(failuresDesc, float64(st.failures), name)
		st.mu.Unlock()
		for _, m := range snap {
			ch <- m
		}
	}
	return staleAt
}

var _ prometheus.Collector = (*Scheduler)(nil)
