// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var valueDesc = prometheus.NewDesc("mailwatch_test_value", "A test value.", []string{"source"}, nil)

// fakeCollector behaves as its update func says and counts concurrent runs.
type fakeCollector struct {
	name    string
	update  func(ctx context.Context, ch chan<- prometheus.Metric) error
	calls   atomic.Int64
	active  atomic.Int64
	maxSeen atomic.Int64
}

func (f *fakeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- valueDesc }

func (f *fakeCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	f.calls.Add(1)
	n := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	return f.update(ctx, ch)
}

func value(v float64, source string) prometheus.Metric {
	return prometheus.MustNewConstMetric(valueDesc, prometheus.GaugeValue, v, source)
}

// steppedCollector sends one sample a run, source "run", valued by the
// run's number from 1; each run then ends with the error the test sends on
// results.
func steppedCollector() (c *fakeCollector, results chan<- error) {
	ch := make(chan error)
	var n atomic.Int64
	return &fakeCollector{update: func(_ context.Context, out chan<- prometheus.Metric) error {
		out <- value(float64(n.Add(1)), "run")
		return <-ch
	}}, ch
}

// job returns a job with an hour's stale window. Tests on a fake clock
// keep intervals (jittered ±10 %) and timeouts apart, so that
// fakeClock.sleeping and running tell them apart.
func job(name string, c collectors.Collector, interval, timeout time.Duration) Job {
	return Job{Name: name, Collector: c, Interval: interval, Timeout: timeout, StaleAfter: time.Hour}
}

func status(s *Scheduler, name string) Status {
	for _, st := range s.Statuses() {
		if st.Name == name {
			return st
		}
	}
	return Status{}
}

func gather(t *testing.T, s *Scheduler) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var lv []string
			for _, l := range m.GetLabel() {
				lv = append(lv, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(lv, ","), v)
		}
	}
	return b.String()
}

func TestBlockedCollectorDoesNotDelayScrapeAndTimesOut(t *testing.T) {
	t.Parallel()
	const interval, timeout = time.Minute, 10 * time.Second
	release := make(chan struct{})
	blocked := &fakeCollector{update: func(context.Context, chan<- prometheus.Metric) error {
		<-release // ignores its context entirely
		return nil
	}}
	healthy := &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
		ch <- value(1, "healthy")
		return nil
	}}
	s, clk := newFakeScheduler()
	s.Apply([]Job{job("blocked", blocked, interval, timeout), job("healthy", healthy, interval, time.Hour)})
	defer func() { close(release); s.Stop() }()

	clk.waitFor(t, "the blocked run to wait for its deadline and the healthy job for its next run", func() bool {
		return clk.running(timeout) == 1 && clk.sleeping(interval) == 1
	})
	clk.Advance(timeout)
	clk.waitFor(t, "the blocked collector's run to be failed by its timeout", func() bool {
		st := status(s, "blocked")
		return st.Failures >= 1 && !st.Success
	})
	// A scrape is served while Update is still stuck inside the collector.
	out := gather(t, s)
	for _, want := range []string{
		"mailwatch_collector_success{collector=blocked} 0",
		"mailwatch_test_value{source=healthy} 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(status(s, "blocked").LastError, "timeout") {
		t.Errorf("last error should name the timeout, got %q", status(s, "blocked").LastError)
	}
	// The stuck run is never overlapped by a new one, however many intervals pass.
	for range 5 {
		runs := status(s, "healthy").Runs
		clk.nextRun(t, interval)
		clk.waitFor(t, "the healthy collector's next run", func() bool { return status(s, "healthy").Runs > runs })
	}
	if n := healthy.calls.Load(); n < 5 {
		t.Errorf("healthy collector ran %d times, want at least 5", n)
	}
	if n := blocked.calls.Load(); n != 1 {
		t.Errorf("blocked collector was called %d times while stuck, want 1", n)
	}
}

func TestCancelledAtTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 10 * time.Second
	sawCancel := make(chan error, 1)
	c := &fakeCollector{update: func(ctx context.Context, _ chan<- prometheus.Metric) error {
		<-ctx.Done()
		select {
		case sawCancel <- ctx.Err():
		default:
		}
		return ctx.Err()
	}}
	s, clk := newFakeScheduler()
	s.Apply([]Job{job("slow", c, time.Hour, timeout)})
	defer s.Stop()
	clk.waitFor(t, "the run to wait for its deadline", func() bool { return clk.running(timeout) == 1 })
	clk.Advance(timeout)
	select {
	case err := <-sawCancel:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("collector saw %v, want deadline exceeded", err)
		}
	case <-time.After(10 * time.Second): // a guard, not a wait: the cancel comes at once
		t.Fatal("collector's context was never cancelled")
	}
	clk.waitFor(t, "the failure to be recorded", func() bool { return status(s, "slow").Failures == 1 })
}

func TestPanicRecoveredAndCounted(t *testing.T) {
	t.Parallel()
	const interval = time.Minute
	c := &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
		ch <- value(1, "partial")
		panic("boom")
	}}
	s, clk := newFakeScheduler()
	s.Apply([]Job{job("panicky", c, interval, 10*time.Second)})
	defer s.Stop()
	clk.waitFor(t, "the first panicking run", func() bool { return status(s, "panicky").Failures == 1 })
	clk.nextRun(t, interval)
	clk.waitFor(t, "two panicking runs", func() bool { return status(s, "panicky").Failures >= 2 })
	out := gather(t, s)
	if strings.Contains(out, "source=partial") {
		t.Errorf("metrics sent before a panic must not be served:\n%s", out)
	}
	if !strings.Contains(status(s, "panicky").LastError, "boom") {
		t.Errorf("last error = %q, want the panic value", status(s, "panicky").LastError)
	}
}

func TestSnapshotReplacedKeptThenDropped(t *testing.T) {
	t.Parallel()
	const interval = time.Minute
	c, results := steppedCollector()
	s, clk := newFakeScheduler()
	j := job("c", c, interval, time.Hour)
	j.StaleAfter = 2 * time.Minute // longer than an interval: run 3 fails within the window of run 2
	s.Apply([]Job{j})
	defer func() { close(results); s.Stop() }()

	results <- nil // run 1 succeeds with value 1
	clk.waitFor(t, "run 1", func() bool { return status(s, "c").Runs == 1 })
	if out := gather(t, s); !strings.Contains(out, "mailwatch_test_value{source=run} 1\n") {
		t.Fatalf("want value 1 after run 1:\n%s", out)
	}
	clk.nextRun(t, interval)
	results <- nil // run 2 replaces it with 2
	clk.waitFor(t, "run 2", func() bool { return status(s, "c").Runs == 2 })
	if out := gather(t, s); !strings.Contains(out, "mailwatch_test_value{source=run} 2\n") {
		t.Fatalf("want value 2 after run 2:\n%s", out)
	}
	clk.nextRun(t, interval)
	results <- errors.New("down") // run 3 fails: value 2 is kept (not 3, not half)
	clk.waitFor(t, "run 3", func() bool { return status(s, "c").Runs == 3 })
	if out := gather(t, s); !strings.Contains(out, "mailwatch_test_value{source=run} 2\n") || !strings.Contains(out, "mailwatch_collector_success{collector=c} 0") {
		t.Fatalf("want the last good value 2 and success 0 after a failed run:\n%s", out)
	}
	// Past the stale window. Run 4 starts on the way, but records nothing
	// until the test ends.
	clk.Advance(j.StaleAfter)
	if out := gather(t, s); strings.Contains(out, "mailwatch_test_value") {
		t.Fatalf("stale snapshot should be dropped:\n%s", out)
	}
}

func TestApplyKeepsCountersAndSnapshot(t *testing.T) {
	t.Parallel()
	const interval = time.Minute
	ok := func(_ context.Context, ch chan<- prometheus.Metric) error { ch <- value(7, "x"); return nil }
	s, clk := newFakeScheduler()
	s.Apply([]Job{job("a", &fakeCollector{update: ok}, interval, time.Hour/2)})
	clk.waitFor(t, "run 1", func() bool { return status(s, "a").Runs == 1 })
	for want := uint64(2); want <= 3; want++ {
		clk.nextRun(t, interval)
		clk.waitFor(t, "three runs", func() bool { return status(s, "a").Runs == want })
	}
	before := status(s, "a").Runs

	block := make(chan struct{})
	defer close(block)
	s.Apply([]Job{job("a", &fakeCollector{update: func(context.Context, chan<- prometheus.Metric) error { <-block; return nil }}, time.Hour, time.Hour/2)})
	defer s.Stop()
	if got := status(s, "a").Runs; got < before {
		t.Errorf("runs went from %d to %d across Apply", before, got)
	}
	if out := gather(t, s); !strings.Contains(out, "mailwatch_test_value{source=x} 7") {
		t.Errorf("snapshot lost across Apply:\n%s", out)
	}
	s.Apply(nil)
	if out := gather(t, s); strings.Contains(out, "collector=a") {
		t.Errorf("removed collector still exported:\n%s", out)
	}
}

func TestNotApplicableIsFailureWithoutSnapshot(t *testing.T) {
	t.Parallel()
	c := &fakeCollector{update: func(context.Context, chan<- prometheus.Metric) error {
		return fmt.Errorf("no spool: %w", collectors.ErrNotApplicable)
	}}
	s, clk := newFakeScheduler()
	s.Apply([]Job{job("absent", c, time.Hour, 10*time.Second)})
	defer s.Stop()
	clk.waitFor(t, "one run", func() bool { return status(s, "absent").Runs == 1 })
	want := `
# HELP mailwatch_collector_success 1 if the collector's last run succeeded, 0 if it failed, timed out or panicked.
# TYPE mailwatch_collector_success gauge
mailwatch_collector_success{collector="absent"} 0
# HELP mailwatch_collector_target_absent 1 if the collector's last run found nothing to watch on this host (e.g. no ClamAV installed); alerts on collector failures exclude these.
# TYPE mailwatch_collector_target_absent gauge
mailwatch_collector_target_absent{collector="absent"} 1
# HELP mailwatch_collector_failures_total Failed runs (errors, timeouts and panics) of the collector since mailwatchd started.
# TYPE mailwatch_collector_failures_total counter
mailwatch_collector_failures_total{collector="absent"} 1
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), "mailwatch_collector_success", "mailwatch_collector_failures_total", "mailwatch_collector_target_absent"); err != nil {
		t.Error(err)
	}
	if probs, err := testutil.CollectAndLint(s); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", err, probs)
	}
}

// TestAlive: Alive is true while the supervisor answers, false once it
// has stopped (after waiting maxAge on the scheduler's clock), and the
// supervisor arms no timer between questions: an idle daemon does not wake
// for it.
func TestAlive(t *testing.T) {
	t.Parallel()
	s, clk := newFakeScheduler()
	s.Apply(nil)
	if !s.Alive(time.Second) {
		t.Error("not alive with the supervisor running")
	}
	if n := clk.armed(0, time.Duration(math.MaxInt64)); n != 0 {
		t.Errorf("%d timers armed between questions, want 0", n)
	}
	s.Stop()
	got := make(chan bool)
	go func() { got <- s.Alive(30 * time.Second) }()
	clk.waitFor(t, "Alive's deadline", func() bool { return clk.armed(30*time.Second, 30*time.Second) == 1 })
	select {
	case v := <-got:
		t.Fatalf("Alive returned %v before its deadline with the supervisor stopped", v)
	default:
	}
	clk.Advance(30 * time.Second)
	if <-got {
		t.Error("alive after the supervisor stopped")
	}
}

func TestJitterWithinTenPercent(t *testing.T) {
	t.Parallel()
	for range 1000 {
		d := jitter(time.Minute)
		if d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter(1m) = %s, outside ±10%%", d)
		}
	}
}
