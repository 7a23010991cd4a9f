// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package clamav reports the age, version and size of ClamAV's signature
// databases (main, daily, bytecode by default) from the 512-byte header of
// each .cvd, .cld (or unsigned .cud) file in freshclam's database
// directory. It needs neither clamd nor freshclam to be running, and no
// exec: an old build time is the alert, since freshclam failing quietly
// (network, mirror blocks, a full disk) is the usual way a mail host ends up
// scanning with stale signatures.
//
// Permissions: read access to the database directory and files. Debian
// installs them world-readable (clamav:clamav 0644 in a 0755 directory), so
// no group is needed. A host without the directory reports "not present".
package clamav

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	buildDesc = collectors.NewDesc(Name, "clamav", "database_build_timestamp_seconds",
		"Build time of the ClamAV signature database, from its header, in Unix seconds.", "database")
	versionDesc = collectors.NewDesc(Name, "clamav", "database_version",
		"Version number of the ClamAV signature database, from its header.", "database")
	sigsDesc = collectors.NewDesc(Name, "clamav", "database_signatures",
		"Number of signatures in the ClamAV signature database, from its header.", "database")
	successDesc = collectors.NewDesc(Name, "clamav", "database_read_success",
		"1 if the header of the ClamAV signature database was read, 0 if the file is missing, unreadable or corrupt.", "database")
)

// Collector is the clamav collector.
type Collector struct {
	dir    string
	names  []string
	src    Source
	logger *zap.Logger

	guard collectors.Guard[reading] // the read of the directory, which may hang
	logs  collectors.LogOnChange    // per database
}

// New builds the collector reading the files on disk.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return NewWithSource(cfg, FileSource{}, logger), nil
}

// NewWithSource builds the collector with the given Source (tests).
func NewWithSource(cfg Config, src Source, logger *zap.Logger) *Collector {
	return &Collector{
		dir:    cfg.DatabaseDir,
		names:  append([]string(nil), cfg.Databases...),
		src:    src,
		logger: logger,
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, buildDesc, versionDesc, sigsDesc, successDesc)
}

type result struct {
	name string
	db   Database
	err  error
}

type reading struct {
	dirErr  error
	results []result
}

func (c *Collector) read() reading {
	if err := c.src.CheckDir(c.dir); err != nil {
		return reading{dirErr: err}
	}
	out := make([]result, 0, len(c.names))
	for _, n := range c.names {
		db, err := c.src.Read(c.dir, n)
		out = append(out, result{name: n, db: db, err: err})
	}
	return reading{results: out}
}

// Update implements collectors.Collector. The read runs under the guard:
// Update returns at ctx's end even if a read hangs.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	r, err := c.guard.Do(ctx, c.read)
	if err != nil {
		return fmt.Errorf("read databases in %s: %w", c.dir, err)
	}
	if r.dirErr != nil {
		if errors.Is(r.dirErr, fs.ErrNotExist) {
			return fmt.Errorf("no ClamAV database directory %s: %w", c.dir, collectors.ErrNotApplicable)
		}
		return r.dirErr
	}
	return c.emit(r.results, ch)
}

func (c *Collector) emit(results []result, ch chan<- prometheus.Metric) error {
	var failed []string
	for _, r := range results {
		// Logged when it starts or changes, and its recovery, never every run.
		c.logs.Note(c.logger, r.name, r.err, readProblem, zap.String("database", r.name))
		if r.err != nil {
			failed = append(failed, r.name+": "+r.err.Error())
			ch <- collectors.Gauge(successDesc, 0, r.name)
			continue
		}
		h := r.db.Header
		ch <- collectors.Gauge(buildDesc, float64(h.BuildTime.Unix()), r.name)
		ch <- collectors.Gauge(versionDesc, float64(h.Version), r.name)
		ch <- collectors.Gauge(sigsDesc, float64(h.Signatures), r.name)
		ch <- collectors.Gauge(successDesc, 1, r.name)
	}
	if len(results) > 0 && len(failed) == len(results) {
		return fmt.Errorf("no database readable in %s: %s", c.dir, strings.Join(failed, "; "))
	}
	return nil
}

var readProblem = collectors.Problem{Level: zap.WarnLevel,
	Failed: "cannot read clamav database header", Recovered: "clamav database readable again"}

var _ collectors.Collector = (*Collector)(nil)
