// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package fail2ban reports, per fail2ban jail, the addresses banned now,
// the bans recorded, whether the jail runs, and the addresses failing but
// not yet banned.
//
// Where the data comes from, and why: fail2ban's control socket
// (/run/fail2ban/fail2ban.sock) is root-only, and whoever may write to it
// controls fail2ban, which can be told to run any command as root (set
// <jail> action ... actionban): granting it to a monitoring daemon grants
// root. So this collector never touches the socket. Instead it
//   - reads fail2ban's SQLite database (dbfile, /var/lib/fail2ban/
//     fail2ban.sqlite3) read-only, reopened on every run so fail2ban
//     restarts and a recreated database are picked up: the current bans
//     (table bips, by the rule fail2ban restores them with), the ban history
//     (table bans, counted as it grows) and the running jails (table jails);
//   - follows fail2ban's own log (logtarget, /var/log/fail2ban.log) for the
//     failures not yet banned, which fail2ban keeps only in memory.
//
// The driver is modernc.org/sqlite, SQLite translated to Go: no cgo (the
// daemon is built with CGO_ENABLED=0), and the same locking code as the
// libsqlite3 fail2ban's Python uses, so a read never sees half a write.
//
// Permissions: the daemon's user needs read access to the database file,
// which fail2ban creates as root 0600. Grant it with ACLs, for example
// these tmpfiles.d lines, applied at boot and skipped without fail2ban:
//
//	a+ /var/lib/fail2ban - - - - d:u::rwx,d:g::-,d:o::-,d:u:mailwatchd:r
//	a+ /var/lib/fail2ban/fail2ban.sqlite3 - - - - u:mailwatchd:r
//
// The default ACL on the directory covers a database fail2ban recreates
// (repair, upgrade); its explicit group and other entries keep that file
// from becoming world-readable, since a default ACL replaces the umask.
// Read access is all SQLite needs: no write access to the file or the
// directory. The log is root:adm 0640 on Debian; the unit's
// SupplementaryGroups=adm already covers it.
package fail2ban

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	bannedDesc = collectors.NewDesc(Name, "fail2ban", "banned",
		"Addresses fail2ban bans in the jail now (ban not run out, or permanent), from its database.", "jail")
	failedDesc = collectors.NewDesc(Name, "fail2ban", "failed",
		"Addresses with failures in the jail within find_time and no ban since, from fail2ban's log; absent when the log is not read.", "jail")
	bansDesc = collectors.NewDesc(Name, "fail2ban", "bans_total",
		"Bans fail2ban recorded in its database for the jail since mailwatchd started.", "jail")
	activeDesc = collectors.NewDesc(Name, "fail2ban", "jail_active",
		"1 if fail2ban's database marks the jail as running, 0 if stopped or unknown.", "jail")
	logOKDesc = collectors.NewDesc(Name, "fail2ban", "log_read_success",
		"1 if fail2ban's log was read in the last run, 0 if not (then mailwatch_fail2ban_failed is absent).")
)

// Collector is the fail2ban collector.
type Collector struct {
	db         Database
	log        FailureLog // nil: log_file is "none"
	configured []string   // the jails of the config; empty: discover
	maxJails   int
	now        func() time.Time
	logger     *zap.Logger

	guard collectors.Guard[reading] // the read of the database and log, which may hang
	logs  collectors.LogOnChange    // of the log
	// Below: touched only by Update, which the scheduler never runs twice
	// at once.
	mark         Mark
	totals       map[string]float64 // bans_total per label
	warnedOverfl bool
}

// New builds the collector on the files of cfg.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	var log FailureLog
	if cfg.LogFile != NoLogFile {
		log = NewLogTracker(cfg.LogFile, cfg.FindTime.D(), time.Local)
	}
	return NewWithSources(cfg, SQLiteDatabase{Path: cfg.Database}, log, time.Now, logger), nil
}

// NewWithSources builds the collector on the given sources and clock
// (tests); log may be nil.
func NewWithSources(cfg Config, db Database, log FailureLog, now func() time.Time, logger *zap.Logger) *Collector {
	return &Collector{
		db:         db,
		log:        log,
		configured: append([]string(nil), cfg.Jails...),
		maxJails:   cfg.MaxJails,
		now:        now,
		logger:     logger,
		totals:     map[string]float64{},
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, bannedDesc, failedDesc, bansDesc, activeDesc, logOKDesc)
}

type reading struct {
	snap     Snapshot
	dbErr    error
	failures Failures
	logErr   error
}

// Update implements collectors.Collector. The read runs under the guard:
// Update returns at ctx's end even if a read hangs, and a read that ends
// after that is dropped whole (its bans are counted by the next one).
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	now, from := c.now(), c.mark
	r, err := c.guard.Do(ctx, func() reading {
		var r reading
		r.snap, r.dbErr = c.db.Read(ctx, now, from)
		if r.dbErr == nil && c.log != nil {
			r.failures, r.logErr = c.log.Poll(now)
		}
		return r
	})
	if err != nil {
		return fmt.Errorf("read fail2ban state: %w", err)
	}
	if r.dbErr != nil {
		if errors.Is(r.dbErr, fs.ErrNotExist) {
			return fmt.Errorf("no fail2ban database: %w (%w)", r.dbErr, collectors.ErrNotApplicable)
		}
		if errors.Is(r.dbErr, fs.ErrPermission) {
			return fmt.Errorf("%w (grant the daemon's user read access, e.g. an ACL u:<user>:r on the file)", r.dbErr)
		}
		return r.dbErr
	}
	c.mark = r.snap.Mark
	c.emit(r, ch)
	return nil
}

func (c *Collector) emit(r reading, ch chan<- prometheus.Metric) {
	labels, labelOf := c.labels(r.snap.Jails)
	banned := sumByLabel(r.snap.Banned, labelOf)
	for label, n := range sumByLabel(r.snap.NewBans, labelOf) {
		c.totals[label] += float64(n)
	}
	for label := range c.totals {
		if !slices.Contains(labels, label) {
			delete(c.totals, label) // a jail gone from the label set starts again at 0
		}
	}
	active := map[string]bool{}
	for _, j := range r.snap.Jails {
		active[j.Name] = j.Active
	}
	for _, l := range labels {
		ch <- collectors.Gauge(bannedDesc, float64(banned[l]), l)
		ch <- collectors.Counter(bansDesc, c.totals[l], l)
		if l != OtherJail {
			ch <- collectors.Gauge(activeDesc, collectors.B2F(active[l]), l)
		}
	}
	if c.log == nil {
		return
	}
	c.noteLogError(r.logErr)
	if r.logErr != nil {
		ch <- collectors.Gauge(logOKDesc, 0)
		return
	}
	if r.failures.Overflowed && !c.warnedOverfl {
		c.logger.Warn("too many failing addresses to track; fail2ban failed counts are lower bounds", zap.Int("max_tracked", maxTracked))
		c.warnedOverfl = true
	}
	failed := sumByLabel(r.failures.ByJail, labelOf)
	for _, l := range labels {
		ch <- collectors.Gauge(failedDesc, float64(failed[l]), l)
	}
	ch <- collectors.Gauge(logOKDesc, 1)
}

// labels returns the jail label values of this run and how a jail name
// maps to one ("" when the jail is not reported).
//
// With jails configured, exactly those, always present. Otherwise the
// jails in fail2ban's database: their names are section names the admin
// wrote in jail.local, a handful on a mail host, not values an attacker
// controls. Listing them twice (fail2ban and here) is how a new jail ends up
// unwatched, so they are discovered; max_jails (by name) bounds them, and
// the rest, with any name unfit for a label, are summed as "_other".
func (c *Collector) labels(jails []Jail) ([]string, func(string) string) {
	if len(c.configured) > 0 {
		set := map[string]bool{}
		for _, j := range c.configured {
			set[j] = true
		}
		return c.configured, func(j string) string {
			if set[j] {
				return j
			}
			return ""
		}
	}
	names := make([]string, 0, len(jails))
	for _, j := range jails {
		names = append(names, j.Name)
	}
	slices.Sort(names)
	own := map[string]bool{}
	var labels []string
	other := false
	for _, n := range names {
		if validJailName(n) && n != OtherJail && len(labels) < c.maxJails {
			own[n] = true
			labels = append(labels, n)
			continue
		}
		other = true
	}
	if other {
		labels = append(labels, OtherJail)
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	return labels, func(j string) string {
		switch {
		case own[j]:
			return j
		case known[j]:
			return OtherJail
		}
		return "" // in the log but not in the database: not a current jail
	}
}

func sumByLabel(byJail map[string]int, labelOf func(string) string) map[string]int {
	out := map[string]int{}
	for j, n := range byJail {
		if l := labelOf(j); l != "" {
			out[l] += n
		}
	}
	return out
}

var logProblem = collectors.Problem{Level: zap.WarnLevel,
	Failed:    "cannot read fail2ban log; failed counts absent (log_file: none turns this off)",
	Recovered: "fail2ban log readable again"}

// noteLogError logs a log read failure when it starts or changes, and the
// recovery, never the same failure every interval.
func (c *Collector) noteLogError(err error) {
	c.logs.Note(c.logger, "log", err, logProblem)
}

var _ collectors.Collector = (*Collector)(nil)
