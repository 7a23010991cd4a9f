// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package scheduler runs each collector on its own clock and holds the
// latest complete snapshot of each, so that a scrape only copies memory and
// never waits on a socket, a subprocess, D-Bus or DNS.
//
// Every job runs once at start, then again interval ± 10 % after the
// previous run ended (fixed delay, so runs of one job never overlap). A run
// is bounded by its timeout; a collector that ignores its context is
// abandoned at the deadline (the run counts as failed) and the job waits for
// it to return before starting another run. Panics are recovered and count
// as failures. A successful run replaces the job's snapshot wholesale; after
// failures the last good snapshot is served until it is older than the job's
// stale window, then dropped: a scrape never sees half a run.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Job is one collector with its schedule.
type Job struct {
	Name      string
	Collector collectors.Collector
	Interval  time.Duration
	Timeout   time.Duration
	// StaleAfter is how long the last good snapshot outlives failed runs.
	StaleAfter time.Duration
}

// Status is what the landing page and `check` show of a job.
type Status struct {
	Name        string
	Runs        uint64
	Failures    uint64
	Success     bool
	Running     bool
	LastRun     time.Time
	LastSuccess time.Time
	Duration    time.Duration
	LastError   string
}

// Scheduler runs jobs and implements prometheus.Collector over their
// snapshots and meta-metrics. It is safe for concurrent use.
type Scheduler struct {
	logger *zap.Logger
	clk    clock // time.Now, timers and run deadlines; a fake one in tests

	// recorded, when set, is called after each run's outcome is recorded
	// (by the goroutine that recorded it). It is a test hook, nil in the
	// daemon: tests wait on it for a run instead of polling Statuses. Set
	// it before Apply or RunOnce.
	recorded func()

	mu     sync.Mutex
	states map[string]*state // by job name; kept across Apply so counters survive reloads
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// pings reach the supervisor, which answers each by closing it; see
	// Alive.
	pings chan chan struct{}

	// gen changes after every change to what Collect exports (a run
	// recorded, Apply, RunOnce), so that Cache knows when its copy is out
	// of date. The only other input of Collect is the clock (the stale
	// window), which Cache handles itself.
	gen atomic.Uint64
}

// state is the record of one job; mu guards everything below it.
type state struct {
	mu          sync.Mutex
	job         Job
	snapshot    []prometheus.Metric
	runs        uint64
	failures    uint64
	success     bool
	running     bool
	ran         bool
	lastRun     time.Time
	lastSuccess time.Time
	duration    time.Duration
	lastErr     string
	notApplic   bool // last failure was ErrNotApplicable (logged once)
}

// New returns an idle scheduler; call Apply to start jobs.
func New(logger *zap.Logger) *Scheduler { return newScheduler(logger, realClock{}) }

// newScheduler is New on clk.
func newScheduler(logger *zap.Logger, clk clock) *Scheduler {
	return &Scheduler{logger: logger, clk: clk, states: map[string]*state{}, pings: make(chan chan struct{})}
}

// Apply stops the running jobs and starts jobs. Counters and the last
// snapshot of a job whose name is kept survive, so a reload neither resets
// runs_total nor blanks the series until the first new run.
func (s *Scheduler) Apply(jobs []Job) {
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]*state, len(jobs))
	for _, j := range jobs {
		st := s.states[j.Name]
		if st == nil {
			st = &state{}
		}
		st.mu.Lock()
		if old := st.job.Collector; old != nil && old != j.Collector {
			// Counters a collector keeps itself (e.g. DNSBL query errors)
			// carry over to its replacement, then the old one is released.
			if in, ok := j.Collector.(inheritor); ok {
				in.Inherit(old)
			}
			closeCollector(old)
		}
		st.job = j
		st.mu.Unlock()
		next[j.Name] = st
	}
	for name, st := range s.states {
		if _, kept := next[name]; !kept {
			closeCollector(st.job.Collector)
		}
	}
	s.states = next
	s.changed() // jobs added, removed or given another stale window
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for _, st := range next {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop(ctx, st)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.supervise(ctx)
	}()
}

// inheritor is implemented by collectors that keep state across runs which
// must survive a reload (counters exported as CounterValue).
type inheritor interface {
	Inherit(prev collectors.Collector)
}

// closeCollector releases a collector's resources (a D-Bus connection...).
func closeCollector(c collectors.Collector) {
	if cl, ok := c.(io.Closer); ok {
		_ = cl.Close()
	}
}

// Stop cancels every job and waits for the job loops to end. A collector
// stuck past its deadline is abandoned, not waited for.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		s.wg.Wait()
	}
}

// Alive reports whether the scheduler's supervisor goroutine answers
// within maxAge; the systemd watchdog is only fed while it does. It waits
// for the answer (at most maxAge), so the supervisor costs nothing between
// two questions: an idle daemon used to wake once a second to record a
// heartbeat that only the watchdog, every WatchdogSec/3, ever looked at.
func (s *Scheduler) Alive(maxAge time.Duration) bool {
	t := s.clk.NewTimer(maxAge)
	defer t.Stop()
	reply := make(chan struct{})
	select {
	case s.pings <- reply:
	case <-t.C():
		return false
	}
	select {
	case <-reply:
		return true
	case <-t.C():
		return false
	}
}

// supervise answers Alive until ctx ends (Stop, or the next Apply).
func (s *Scheduler) supervise(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case reply := <-s.pings:
			close(reply)
		}
	}
}

func (s *Scheduler) loop(ctx context.Context, st *state) {
	st.mu.Lock()
	job := st.job
	st.mu.Unlock()
	for {
		done := s.run(ctx, st, job)
		// Never start a run while the previous one is still inside Update.
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
		t := s.clk.NewTimer(jitter(job.Interval))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// jitter spreads runs by ±10 % so HA Prometheus pairs and many collectors
// do not fire in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

var errTimeout = errors.New("run exceeded its timeout")

// run performs one Update under the job's timeout and records the outcome.
// It returns a channel closed when Update has really returned.
func (s *Scheduler) run(parent context.Context, st *state, job Job) <-chan struct{} {
	ctx, cancel := s.clk.WithTimeout(parent, job.Timeout)
	start := s.clk.Now()
	st.mu.Lock()
	st.running = true
	st.mu.Unlock()

	type outcome struct {
		metrics []prometheus.Metric
		err     error
	}
	returned := make(chan outcome, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch := make(chan prometheus.Metric, 64)
		drained := make(chan []prometheus.Metric, 1)
		go func() {
			var ms []prometheus.Metric
			for m := range ch {
				ms = append(ms, m)
			}
			drained <- ms
		}()
		err := safeUpdate(ctx, job.Collector, ch)
		close(ch)
		returned <- outcome{<-drained, err}
	}()

	var (
		metrics []prometheus.Metric
		err     error
	)
	select {
	case o := <-returned:
		metrics, err = o.metrics, o.err
		if err == nil && ctx.Err() != nil {
			// Finished, but only after its deadline: the data may be partial.
			err = errTimeout
		}
	case <-ctx.Done():
		err = errTimeout
		if parent.Err() != nil {
			err = parent.Err()
		}
	}
	cancel()
	if errors.Is(err, context.Canceled) && parent.Err() != nil {
		return finished // shutting down: not a failure of the collector
	}
	s.record(st, job, start, metrics, err)
	if s.recorded != nil {
		s.recorded()
	}
	return finished
}

func safeUpdate(ctx context.Context, c collectors.Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collector panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Update(ctx, ch)
}

func (s *Scheduler) record(st *state, job Job, start time.Time, metrics []prometheus.Metric, err error) {
	now := s.clk.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	// Deferred after the unlock, so it runs before it: the generation
	// moves under st.mu, with the values. A Cache that reads the new
	// generation collects after the unlock and gets the new values (moved
	// before the lock, it could gather the old ones and keep them as
	// current), and whoever sees this run in Statuses gets it in the next
	// scrape.
	defer s.changed()
	st.running = false
	st.ran = true
	st.runs++
	st.lastRun = start
	st.duration = now.Sub(start)
	log := s.logger.With(zap.String("collector", job.Name))
	if err == nil {
		if !st.success && st.failures > 0 {
			log.Info("collector recovered", zap.Float64("duration_seconds", st.duration.Seconds()))
		}
		st.success = true
		st.snapshot = metrics
		st.lastSuccess = now
		st.lastErr = ""
		st.notApplic = false
		return
	}
	st.failures++
	st.success = false
	msg := err.Error()
	switch {
	case errors.Is(err, collectors.ErrNotApplicable):
		if !st.notApplic {
			log.Info("collector target not present on this host; will keep checking quietly", zap.Error(err))
		}
		st.notApplic = true
	case msg != st.lastErr:
		log.Error("collector run failed", zap.Error(err), zap.Float64("duration_seconds", st.duration.Seconds()))
	default:
		log.Debug("collector run failed again", zap.Error(err))
	}
	st.lastErr = msg
}

// changed marks the exported state as modified; call it after the change.
func (s *Scheduler) changed() { s.gen.Add(1) }

// Statuses returns a copy of every job's status, sorted by name.
func (s *Scheduler) Statuses() []Status {
	s.mu.Lock()
	states := make([]*state, 0, len(s.states))
	for _, st := range s.states {
		states = append(states, st)
	}
	s.mu.Unlock()
	out := make([]Status, 0, len(states))
	for _, st := range states {
		st.mu.Lock()
		out = append(out, Status{
			Name: st.job.Name, Runs: st.runs, Failures: st.failures, Success: st.success,
			Running: st.running, LastRun: st.lastRun, LastSuccess: st.lastSuccess,
			Duration: st.duration, LastError: st.lastErr,
		})
		st.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RanOnce reports whether every job has completed at least one run.
func (s *Scheduler) RanOnce() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.states {
		st.mu.Lock()
		ran := st.ran
		st.mu.Unlock()
		if !ran {
			return false
		}
	}
	return true
}
