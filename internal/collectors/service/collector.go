// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package service reports the health of the mail services (Postfix,
// Dovecot, OpenDKIM, fail2ban and optional filters): whether each is
// installed, its state, restarts, start time, memory and CPU time.
//
// Two backends give the same metrics. The systemd backend asks systemd over
// D-Bus (github.com/coreos/go-systemd/v22/dbus) about the configured units
// only: Manager.ListUnitsByNames for load and active state, then the unit
// properties NRestarts, ActiveEnterTimestamp, MemoryCurrent and
// CPUUsageNSec. The process backend, for hosts without systemd, finds each
// service's main process by its pidfile or by name in /proc and sums its
// process tree.
//
// The same collector reports the timers of the chores that fail silently
// (certbot renew, apt's daily upgrade, logrotate, a backup): with systemd,
// over the same connection and deadline, each timer's last trigger and
// next elapse and the result and exit status of the service it starts
// (timers.go); without systemd, the traces the same chores leave when cron
// runs them (timerfiles.go).
//
// A D-Bus peer that never answers is a known way for systemd collectors to
// hang. Every call here carries the run's deadline; when the deadline
// passes, the connection is closed (unblocking anything stuck on it) and
// the next run dials a new one. A query stuck in a call that ignores its
// context is never started a second time (collectors.Guard): later runs
// wait for it until their own deadline and fail, so goroutines do not pile
// up.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

const subsystem = "service"

var (
	stateDesc = collectors.NewDesc(Name, subsystem, "state",
		"1 for the state the service is in, 0 for the others: systemd's ActiveState, or active/inactive for a process found or not.", "unit", "state")
	presentDesc = collectors.NewDesc(Name, subsystem, "present",
		"1 if the service is installed on this host (a loaded, unmasked systemd unit; or a running process, or its executable), 0 if not.", "unit")
	restartsDesc = collectors.NewDesc(Name, subsystem, "restarts_total",
		"Restarts of the service: systemd's NRestarts (automatic restarts since the last manual start), or new main processes seen by mailwatchd with the process backend.", "unit")
	startDesc = collectors.NewDesc(Name, subsystem, "start_timestamp_seconds",
		"Unix time the service last entered the active state (systemd's ActiveEnterTimestamp, or the main process's start); absent while it is not running.", "unit")
	memoryDesc = collectors.NewDesc(Name, subsystem, "memory_bytes",
		"Memory used by the service in bytes: systemd's MemoryCurrent of its control group, or the resident set summed over its process tree; absent while unknown.", "unit")
	cpuDesc = collectors.NewDesc(Name, subsystem, "cpu_seconds_total",
		"CPU time used by the service in seconds: systemd's CPUUsageNSec, or user and system time of its process tree including waited-for children; absent while unknown.", "unit")
	checkDesc = collectors.NewDesc(Name, subsystem, "check_success",
		"1 if every figure of the service could be read in the last run, 0 if some could not (its state is still reported).", "unit")
)

// Collector is the service collector.
type Collector struct {
	backend string
	src     source
	timers  timerSource // nil: no timers
	logger  *zap.Logger

	guard collectors.Guard[queryResult] // the query, which may hang
	logs  collectors.LogOnChange        // figure errors, per service

	mu     sync.Mutex
	absent map[string]bool // services last seen absent
}

// New builds the collector. With backend auto it picks systemd when
// /run/systemd/system exists (sd_booted(3)); it does not connect yet.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	backend := cfg.Backend
	if backend == "" || backend == BackendAuto {
		backend = BackendProcess
		if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
			backend = BackendSystemd
		}
	}
	var src source
	var timers timerSource
	switch backend {
	case BackendSystemd:
		s := newSystemdSource(unitSpecs(cfg), systemBus)
		s.timers = append([]string(nil), cfg.Timers...)
		src, timers = s, s
	case BackendProcess:
		src = newProcessSource(append([]Process(nil), cfg.Processes...), "/proc")
		timers = newFileTimers(append([]string(nil), cfg.Timers...), cfg.CertbotLogDir, cfg.AptPeriodicDir)
	default:
		return nil, fmt.Errorf("unknown backend %q", cfg.Backend)
	}
	logger.Info("service collector backend chosen", zap.String("backend", backend), zap.String("configured", cfg.Backend))
	c := newCollector(backend, src, logger)
	c.timers = timers
	return c, nil
}

func newCollector(backend string, src source, logger *zap.Logger) *Collector {
	return &Collector{backend: backend, src: src, logger: logger, absent: map[string]bool{}}
}

func unitSpecs(cfg Config) []unitSpec {
	var out []unitSpec
	for _, u := range cfg.Units {
		out = append(out, unitSpec{name: u})
	}
	for _, u := range cfg.OptionalUnits {
		out = append(out, unitSpec{name: u, optional: true})
	}
	return out
}

// Backend returns the backend in use: systemd or process.
func (c *Collector) Backend() string { return c.backend }

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, stateDesc, presentDesc, restartsDesc, startDesc, memoryDesc, cpuDesc, checkDesc)
	collectors.Describe(ch, timerDescs...)
}

// Update implements collectors.Collector.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	sts, tss, err := c.query(ctx)
	if err != nil {
		return fmt.Errorf("%s backend: %w", c.backend, err)
	}
	for _, ts := range tss {
		c.logs.Note(c.logger, "timer "+ts.Name, ts.Err, timerProblem, zap.String("timer", ts.Name))
		if ts.Success.ok && ts.Success.v == 0 {
			c.logs.Note(c.logger, "timer result "+ts.Name, fmt.Errorf("last run failed (result %q)", ts.Result), timerFailed, zap.String("timer", ts.Name))
		} else {
			c.logs.Note(c.logger, "timer result "+ts.Name, nil, timerFailed, zap.String("timer", ts.Name))
		}
		emitTimer(ch, ts)
	}
	present := 0
	for _, st := range sts {
		if st.Present {
			present++
		}
	}
	for _, st := range sts {
		// With nothing installed at all, the scheduler's one line about
		// ErrNotApplicable says it; no warning per service.
		c.note(st, present > 0)
		emit(ch, st)
	}
	if len(sts) > 0 && present == 0 {
		return fmt.Errorf("none of the %d configured services is installed: %w", len(sts), collectors.ErrNotApplicable)
	}
	return nil
}

type queryResult struct {
	sts []status
	tss []timerStatus
	err error
}

// query runs the source's Query under the guard, so that Update returns at
// the deadline even if the query is stuck in a call that ignores it (a read
// of a hung process's /proc/PID/cmdline). A new query waits for the
// previous one to return (an abandoned query normally returns right after
// its deadline), and gives up at its own deadline with collectors.ErrBusy:
// a stuck query is never started twice.
func (c *Collector) query(ctx context.Context) ([]status, []timerStatus, error) {
	if err := c.guard.Wait(ctx); err != nil {
		return nil, nil, err
	}
	r, err := c.guard.Do(ctx, func() queryResult {
		sts, err := c.src.Query(ctx)
		if err != nil || c.timers == nil {
			return queryResult{sts: sts, err: err}
		}
		tss, err := c.timers.Timers(ctx)
		return queryResult{sts: sts, tss: tss, err: err}
	})
	switch {
	case errors.Is(err, collectors.ErrBusy):
		return nil, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("no answer before the deadline: %w", err)
	}
	return r.sts, r.tss, r.err
}

func emit(ch chan<- prometheus.Metric, st status) {
	for _, s := range States {
		ch <- collectors.Gauge(stateDesc, collectors.B2F(st.State == s), st.Name, s)
	}
	ch <- collectors.Gauge(presentDesc, collectors.B2F(st.Present), st.Name)
	ch <- collectors.Gauge(checkDesc, collectors.B2F(st.Err == nil), st.Name)
	for _, f := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v optional
	}{
		{restartsDesc, prometheus.CounterValue, st.Restarts},
		{startDesc, prometheus.GaugeValue, st.StartTime},
		{memoryDesc, prometheus.GaugeValue, st.MemoryBytes},
		{cpuDesc, prometheus.CounterValue, st.CPUSeconds},
	} {
		if f.v.ok {
			ch <- collectors.Metric(f.d, f.t, f.v.v, st.Name)
		}
	}
}

// note logs what changed about a service: a required one going missing
// (a warning when loud) or coming back, and figure errors when they start,
// change or end. Optional services come and go at debug level.
func (c *Collector) note(st status, loud bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	wasAbsent, known := c.absent[st.Name]
	c.absent[st.Name] = !st.Present
	switch {
	case !st.Present && (!known || !wasAbsent):
		lvl := zap.WarnLevel
		if st.Optional || !loud {
			lvl = zap.DebugLevel
		}
		if ce := c.logger.Check(lvl, "configured service is not installed"); ce != nil {
			ce.Write(zap.String("unit", st.Name), zap.Bool("optional", st.Optional))
		}
	case st.Present && known && wasAbsent:
		lvl := zap.InfoLevel
		if st.Optional {
			lvl = zap.DebugLevel
		}
		if ce := c.logger.Check(lvl, "configured service appeared"); ce != nil {
			ce.Write(zap.String("unit", st.Name))
		}
	}
	if st.State != "" && !isState(st.State) {
		c.logger.Debug("service in a state outside the exported set", zap.String("unit", st.Name), zap.String("state", st.State))
	}
	c.logs.Note(c.logger, st.Name, st.Err, figuresProblem, zap.String("unit", st.Name))
}

var (
	timerProblem = collectors.Problem{Level: zap.WarnLevel,
		Failed: "cannot read some figures of timer", Recovered: "timer figures readable again"}
	timerFailed = collectors.Problem{Level: zap.WarnLevel,
		Failed: "the service of a timer failed", Recovered: "the service of a timer succeeded again"}
)

var figuresProblem = collectors.Problem{Level: zap.WarnLevel,
	Failed: "cannot read some figures of service", Recovered: "service figures readable again"}

func isState(s string) bool {
	for _, x := range States {
		if x == s {
			return true
		}
	}
	return false
}

// Inherit keeps the restart counts the process backend counted itself
// across a configuration reload.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok {
		return
	}
	ps, ok1 := c.src.(*processSource)
	olds, ok2 := old.src.(*processSource)
	if ok1 && ok2 {
		ps.inherit(olds)
	}
}

// Close releases the D-Bus connection, if any.
func (c *Collector) Close() error {
	if c.src == nil {
		return nil
	}
	return c.src.Close()
}

var (
	_ collectors.Collector = (*Collector)(nil)
	_ source               = (*systemdSource)(nil)
	_ source               = (*processSource)(nil)
)
