// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package quarantine watches the admin's named quarantines: amavis's
// virusmails/ (or any directory where a filter keeps what it withheld),
// spam quarantine directories, and Maildir folders such as every user's
// .Junk. Per set: messages, bytes, the oldest message's modification time
// and the directories matched, so that a quarantine that fills up or is
// never emptied is seen.
//
// A set is a list of absolute directory globs. A matched directory that is
// a Maildir folder (it has cur/ or new/) counts the files of cur/ and new/;
// any other counts its regular files and those of its subdirectories down
// to max_depth (amavis's $quarantine_subdir_levels spreads files over
// one-character subdirectories). Names starting with "." are skipped.
//
// Cost, as in the mailbox collector: every directory's listing is cached
// with its stamp (mtime, inode, size); a file added, released or deleted
// moves the directory's mtime, so an unchanged directory costs one stat
// and nothing is read. A changed directory is listed again with one lstat
// per file (for its size and time). The cache holds one entry per
// directory visited, at most max_directories.
//
// Label values are the configured set names. Permissions: amavis's
// quarantine is amavis's (0750): add mailwatchd to group amavis; other
// users' Maildirs need root or CAP_DAC_READ_SEARCH.
package quarantine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	msgsDesc = collectors.NewDesc(Name, "quarantine", "messages",
		"Messages (files) in the quarantine set's directories.", "quarantine")
	bytesDesc = collectors.NewDesc(Name, "quarantine", "bytes",
		"Bytes of the messages in the quarantine set's directories.", "quarantine")
	oldestDesc = collectors.NewDesc(Name, "quarantine", "oldest_message_timestamp_seconds",
		"Modification time of the oldest message in the quarantine set, as a Unix timestamp; absent when the set is empty.", "quarantine")
	dirsDesc = collectors.NewDesc(Name, "quarantine", "directories",
		"Directories the quarantine set's globs matched.", "quarantine")
	successDesc = collectors.NewDesc(Name, "quarantine", "scan_success",
		"1 if every directory of the quarantine set could be listed within the bounds.", "quarantine")
)

// Collector is the quarantine collector. Its cache belongs to the scan in
// flight under the guard, and there is at most one.
type Collector struct {
	sets   []Set
	scan   *scanner
	logger *zap.Logger
	logs   collectors.LogOnChange // per set
	guard  collectors.Guard[[]setResult]
}

// New builds the collector on the real file system.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return newCollector(cfg, collectors.OSFS{}, time.Now, logger), nil
}

func newCollector(cfg Config, fsys collectors.FS, now func() time.Time, logger *zap.Logger) *Collector {
	return &Collector{
		sets:   append([]Set(nil), cfg.Sets...),
		scan:   &scanner{fsys: fsys, cache: &cache{dirs: map[string]*dirEntry{}}, now: now, maxDirs: cfg.MaxDirectories, maxDepth: cfg.MaxDepth},
		logger: logger,
	}
}

// Inherit takes over the cache of the collector this one replaces on a
// reload (entries are keyed by absolute path, so they stay right whatever
// the new sets), unless its scan is stuck and still uses it.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok || old == c || !old.guard.Retire() {
		return
	}
	c.scan.cache = old.scan.cache
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, msgsDesc, bytesDesc, oldestDesc, dirsDesc, successDesc)
}

type setResult struct {
	t    tally
	dirs int
	err  error
}

// Update implements collectors.Collector. The scan runs under the guard
// (a dead NFS mount costs one goroutine, never a stuck run) and owns the
// cache until it returns.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if len(c.sets) == 0 {
		return fmt.Errorf("no quarantine sets configured: %w", collectors.ErrNotApplicable)
	}
	res, err := c.guard.Do(ctx, func() []setResult { return c.scanAll(ctx) })
	if err != nil {
		return fmt.Errorf("quarantine scan: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("quarantine scan cut short (what was listed is cached for the next run): %w", err)
	}
	failed := 0
	for i, s := range c.sets {
		r := res[i]
		c.logs.Note(c.logger, s.Name, r.err, collectors.Problem{Level: zap.WarnLevel, Failed: "cannot scan quarantine set", Recovered: "quarantine set scannable again"}, zap.String("quarantine", s.Name))
		if r.err != nil {
			failed++
		}
		ch <- collectors.Gauge(successDesc, collectors.B2F(r.err == nil), s.Name)
		ch <- collectors.Gauge(dirsDesc, float64(r.dirs), s.Name)
		ch <- collectors.Gauge(msgsDesc, float64(r.t.msgs), s.Name)
		ch <- collectors.Gauge(bytesDesc, float64(r.t.bytes), s.Name)
		if r.t.msgs > 0 {
			ch <- collectors.Gauge(oldestDesc, float64(r.t.oldest)/1e9, s.Name)
		}
	}
	if failed == len(c.sets) {
		return fmt.Errorf("no quarantine set could be scanned: %w", res[0].err)
	}
	return nil
}

// scanAll tallies every set; after a complete run the cache forgets the
// directories no longer visited.
func (c *Collector) scanAll(ctx context.Context) []setResult {
	s := c.scan
	s.cache.gen++
	s.visited = 0
	out := make([]setResult, len(c.sets))
	for i, set := range c.sets {
		var errs []error
		seen := map[string]bool{}
		for _, pat := range set.Paths {
			err := expand(ctx, s.fsys, pat, func(dir string) error {
				if seen[dir] {
					return nil // two globs of the set match it: once
				}
				seen[dir] = true
				t, found, err := s.dir(ctx, dir)
				out[i].t.add(t)
				if found {
					out[i].dirs++
				}
				return err
			})
			if err != nil {
				errs = append(errs, err)
			}
			if ctx.Err() != nil {
				return out
			}
		}
		out[i].err = errors.Join(errs...)
	}
	s.cache.sweep()
	return out
}

var _ collectors.Collector = (*Collector)(nil)
