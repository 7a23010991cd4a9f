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
// packages such as the kernel and libc create. The collector never runs apt
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
	"sync"

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
)

// Collector is the updates collector.
type Collector struct {
	src    Source
	logger *zap.Logger

	mu      sync.Mutex
	busy    bool              // a check started by an earlier run has not returned
	lastErr map[string]string // last error logged per part
}

// New builds the collector on the host's apt-get and files.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	src := Host{AptGet: cfg.AptGet, AptListsDir: cfg.AptListsDir, RebootRequiredFile: cfg.RebootRequiredFile}
	return NewWithSource(src, logger), nil
}

// NewWithSource builds the collector on the given Source (tests).
func NewWithSource(src Source, logger *zap.Logger) *Collector {
	return &Collector{src: src, logger: logger, lastErr: map[string]string{}}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pendingDesc, checkDesc, listsDesc, rebootDesc} {
		ch <- d
	}
}

type reading struct {
	pending   Pending
	aptErr    error
	reboot    bool
	rebootErr error
	lists     fsTime
}

type fsTime struct {
	unix float64
	ok   bool
	err  error
}

var errBusy = errors.New("an apt-get check started by an earlier run has not returned")

// Update implements collectors.Collector.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	if c.busy {
		c.mu.Unlock()
		return errBusy
	}
	c.busy = true
	c.mu.Unlock()

	done := make(chan reading, 1)
	go func() {
		r := c.read(ctx)
		// Not busy before the result is out: the next run may start as soon
		// as this one returns.
		c.mu.Lock()
		c.busy = false
		c.mu.Unlock()
		done <- r
	}()
	var r reading
	select {
	case r = <-done:
	case <-ctx.Done():
		return fmt.Errorf("check pending updates: %w", ctx.Err())
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
	return r
}

func (c *Collector) emit(r reading, ch chan<- prometheus.Metric) error {
	c.note("apt-get", r.aptErr)
	c.note("reboot_required", r.rebootErr)
	c.note("apt_lists", r.lists.err)
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
	return nil
}

// note logs a part's failure when it starts or changes, and its recovery,
// never the same failure every interval.
func (c *Collector) note(part string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.lastErr[part]
	switch {
	case err == nil && prev != "":
		c.logger.Info("update check part works again", zap.String("part", part))
		delete(c.lastErr, part)
	case err != nil && err.Error() != prev:
		c.logger.Warn("update check part failed", zap.String("part", part), zap.Error(err))
		c.lastErr[part] = err.Error()
	}
}

var _ collectors.Collector = (*Collector)(nil)
