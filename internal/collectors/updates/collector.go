// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package updates reports, on Debian and Ubuntu, how many package upgrades
// and security upgrades are pending, how old the package lists are, and
// whether a reboot is required.
//
// The counts come from apt-get -s dist-upgrade (a simulation, run without
// a shell, with the run's deadline, its process group killed when the
// deadline passes), the lists' age from the modification times in
// /var/lib/apt/lists, the reboot flag from /var/run/reboot-required, which
// packages such as the kernel and libc create. Beside them, unattended
// upgrades: whether apt's daily job runs them (`apt-config dump`), and the
// start and result of their last run (the tail of their log). The collector never runs apt
// update (network) and never needs root: the simulation reads only
// world-readable files, so the daemon needs no group or capability.
//
// The simulation costs seconds of CPU, so the collector runs hourly by
// default, never at scrape time (the scheduler serves the last result).
package updates

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Kinds of the pending metric.
const (
	KindAll      = "all"
	KindSecurity = "security"
)

var (
	pendingDesc = collectors.NewDesc(Name, "updates", "pending",
		`Packages an apt-get dist-upgrade would install now: kind="all", or kind="security" for those from a security archive.`, "kind")
	checkDesc = collectors.NewDesc(Name, "updates", "check_success",
		"1 if the apt-get simulation succeeded, 0 if it failed or timed out (then mailwatch_updates_pending is absent).")
	listsDesc = collectors.NewDesc(Name, "updates", "apt_lists_timestamp_seconds",
		"Newest modification time of the apt package lists' Release files (the archive's publication time of the last apt update), in Unix seconds.")
	rebootDesc = collectors.NewDesc(Name, "", "reboot_required",
		"1 if /var/run/reboot-required exists: an upgraded package needs a reboot to take effect.")
	uuEnabledDesc = collectors.NewDesc(Name, "updates", "unattended_enabled",
		"1 if unattended-upgrades is installed and apt's daily job runs it (APT::Periodic::Enable and APT::Periodic::Unattended-Upgrade), 0 if not.")
	uuLastDesc = collectors.NewDesc(Name, "updates", "unattended_last_run_timestamp_seconds",
		"Unix time the last unattended-upgrades run in its log started; absent without one.")
	uuSuccessDesc = collectors.NewDesc(Name, "updates", "unattended_last_run_success",
		"1 if the last unattended-upgrades run logged no ERROR, 0 if it did; absent without a run.")
)

// Collector is the updates collector.
type Collector struct {
	src    Source
	logger *zap.Logger

	guard collectors.Guard[reading] // the check, which may hang
	logs  collectors.LogOnChange    // per part
}

// New builds the collector on the host's apt-get and files.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	src := Host{AptGet: cfg.AptGet, AptListsDir: cfg.AptListsDir, RebootRequiredFile: cfg.RebootRequiredFile,
		AptConfig: cfg.AptConfig, UnattendedUpgrade: cfg.UnattendedUpgrade, UnattendedLog: cfg.UnattendedLog}
	return NewWithSource(src, logger), nil
}

// NewWithSource builds the collector on the given Source (tests).
func NewWithSource(src Source, logger *zap.Logger) *Collector {
	return &Collector{src: src, logger: logger}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, pendingDesc, checkDesc, listsDesc, rebootDesc, uuEnabledDesc, uuLastDesc, uuSuccessDesc)
}

type reading struct {
	pending   Pending
	aptErr    error
	reboot    bool
	rebootErr error
	lists     fsTime
	uu        Unattended
	uuErr     error
}

type fsTime struct {
	unix float64
	ok   bool
	err  error
}

// Update implements collectors.Collector. The check runs under the guard:
// Update returns at ctx's end even if a file read hangs.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	r, err := c.guard.Do(ctx, func() reading { return c.read(ctx) })
	if err != nil {
		return fmt.Errorf("check pending updates: %w", err)
	}
	if errors.Is(r.aptErr, fs.ErrNotExist) {
		return fmt.Errorf("no apt-get (%w): %w", r.aptErr, collectors.ErrNotApplicable)
	}
	return c.emit(r, ch)
}

func (c *Collector) read(ctx context.Context) reading {
	var r reading
	r.pending, r.aptErr = c.src.Pending(ctx)
	r.reboot, r.rebootErr = c.src.RebootRequired()
	t, err := c.src.ListsUpdated()
	r.lists = fsTime{unix: float64(t.Unix()), ok: err == nil && !t.IsZero(), err: err}
	r.uu, r.uuErr = c.src.Unattended(ctx)
	return r
}

func (c *Collector) emit(r reading, ch chan<- prometheus.Metric) error {
	c.note("apt-get", r.aptErr)
	c.note("reboot_required", r.rebootErr)
	c.note("apt_lists", r.lists.err)
	c.note("unattended-upgrades", r.uuErr)
	if r.aptErr != nil && r.rebootErr != nil {
		return fmt.Errorf("%w; and %w", r.aptErr, r.rebootErr)
	}
	if r.aptErr == nil {
		ch <- collectors.Gauge(pendingDesc, float64(r.pending.All), KindAll)
		ch <- collectors.Gauge(pendingDesc, float64(r.pending.Security), KindSecurity)
	}
	ch <- collectors.Gauge(checkDesc, collectors.B2F(r.aptErr == nil))
	if r.rebootErr == nil {
		ch <- collectors.Gauge(rebootDesc, collectors.B2F(r.reboot))
	}
	if r.lists.ok {
		ch <- collectors.Gauge(listsDesc, r.lists.unix)
	}
	if r.uu.Known {
		ch <- collectors.Gauge(uuEnabledDesc, collectors.B2F(r.uu.Enabled))
	}
	if !r.uu.LastRun.IsZero() {
		ch <- collectors.Gauge(uuLastDesc, float64(r.uu.LastRun.Unix()))
		ch <- collectors.Gauge(uuSuccessDesc, collectors.B2F(!r.uu.Failed))
	}
	return nil
}

var partProblem = collectors.Problem{Level: zap.WarnLevel,
	Failed: "update check part failed", Recovered: "update check part works again"}

// note logs a part's failure when it starts or changes, and its recovery,
// never the same failure every interval.
func (c *Collector) note(part string, err error) {
	c.logs.Note(c.logger, part, err, partProblem, zap.String("part", part))
}

var _ collectors.Collector = (*Collector)(nil)
