// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package collectors defines the contract every mailwatchd collector meets:
// it gathers one area of a mail host (queue, services, storage, ...) on its
// own schedule and hands the scheduler a complete set of const metrics. The
// list of collectors is config.Collectors: each section builds its collector.
//
// Next to the contract is the kit the collectors share (node_exporter keeps
// its helpers the same way): metrics with valid label values (metric.go),
// logging on change (log.go), the busy guard (guard.go), running a program
// (exec.go) and the file system of directory walks (fs.go).
package collectors

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Namespace is the prefix of every metric mailwatchd exports.
const Namespace = "mailwatch"

// Collector gathers one area of the host.
//
// Describe sends every descriptor the collector can ever emit; it does no I/O
// and is called once when the collector is registered.
//
// Update performs one measurement. It must return promptly once ctx is done,
// must not use ch after it returns, and sends only const metrics, built with
// Gauge, Counter or Metric so that every label value is valid UTF-8 (see
// LabelValue). The scheduler calls Update from one goroutine at a time,
// never concurrently with itself. Update returns an error only when the run
// produced nothing trustworthy; per-target failures are reported as data (a
// _success gauge at 0). ErrNotApplicable (possibly wrapped) means the thing
// it watches is not on this host.
//
// What the scheduler guarantees, and what it leaves to the collector: it
// bounds each run by the job's timeout; a run still in Update at the
// deadline is abandoned and counted as failed (so is one that returns data
// after it), and the job starts no other run until that Update has
// returned. So runs of one collector never overlap (a reload builds new
// collectors and does not wait for an old one's Update). But an Update that
// does not return stops its job: no run is recorded while it hangs
// (runs_total and failures_total stand still, the only error shown is the
// timeout). That is the backstop for a bug, not the design.
//
// Busy guards, settled: work that can block in a call that ignores ctx (a
// read on a dead NFS mount, statfs, a D-Bus peer) runs under a Guard. The
// Guard returns at ctx's end and, until the abandoned call returns, fails
// later runs at once with ErrBusy rather than start the work again (or
// makes them Wait for it within their own deadline): one failed run per
// interval with its reason, and one goroutine per stuck call, never one
// per run. A Guard is the only busy guard a collector keeps: one for the
// run, or one per target that can hang on its own (filesystem keeps one
// per path, so the other paths are still measured). A program runs through
// Command, which the context kills.
//
// The rest of the kit: LogOnChange logs a problem when it starts, changes
// and ends, never every run; FS is the file system of the collectors that
// walk directories; DrainReady keeps the results that came in just before
// the deadline; B2F and SafeCall.
type Collector interface {
	Describe(ch chan<- *prometheus.Desc)
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// ErrNotApplicable marks a run whose target does not exist on this host (no
// Postfix spool, no ClamAV). The scheduler counts it as a failed run but logs
// it once rather than every interval.
var ErrNotApplicable = errors.New("not present on this host")

// Settings are the scheduling keys every collector section has. They are
// inlined into each collector's config struct.
type Settings struct {
	// Enabled switches the collector on or off; nil means its default.
	Enabled *bool `yaml:"enabled"`
	// Interval is the delay between the end of one run and the start of the next.
	Interval confval.Duration `yaml:"interval"`
	// Timeout bounds one run; it must be shorter than Interval.
	Timeout confval.Duration `yaml:"timeout"`
}

// IsEnabled reports whether the collector should run.
func (s *Settings) IsEnabled() bool { return s.Enabled != nil && *s.Enabled }

// Common returns the settings themselves: a config struct that inlines
// Settings has Section's Common through it.
func (s *Settings) Common() *Settings { return s }

// Defaults are a collector's scheduling defaults and limits.
type Defaults struct {
	Enabled     bool
	Interval    time.Duration
	Timeout     time.Duration
	MinInterval time.Duration
}

// Section is implemented by every collector's config struct. The config
// loader finds the sections by reflection over config.Collectors, applies
// the defaults, and validates them; paths in the errors returned by Validate
// are relative to the section (for example "paths[2]").
type Section interface {
	Common() *Settings
	Defaults() Defaults
	// ApplyDefaults fills collector-specific keys left at their zero value.
	ApplyDefaults()
	// Validate returns every problem of the section; it does no I/O.
	Validate() []error
	// Build makes the collector from the validated, defaulted section. It
	// may check the host (a missing tool is an error) but starts nothing.
	Build(logger *zap.Logger) (Collector, error)
}

// Help builds the HELP text of a metric refreshed by a scheduled collector:
// the fixed phrase tells readers the value is cached, not measured at scrape.
func Help(collector, text string) string {
	return text + " Refreshed every collectors." + collector + ".interval."
}

// Describe sends descs on ch: the body of a collector's Describe.
func Describe(ch chan<- *prometheus.Desc, descs ...*prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// NewDesc builds a descriptor named mailwatch_<subsystem>_<name> whose help
// carries the refresh phrase of the collector.
func NewDesc(collector, subsystem, name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, subsystem, name), Help(collector, help), labels, nil)
}
