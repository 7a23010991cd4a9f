// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package filesystem measures the filesystems that hold the mail spool, the
// mailboxes and the logs with statfs(2): size, available bytes, inodes and
// the read-only flag. It is meant for mail hosts that run no node_exporter,
// and is limited to the configured paths.
//
// A statfs on a stale NFS mount can block for ever. Each path has its own
// collectors.Guard: its call runs in its own goroutine; when the run's
// deadline passes the path is reported as failed, and no new call is made
// for it until the stuck one returns (the path fails with
// collectors.ErrBusy meanwhile), so a dead mount never piles up goroutines
// or stalls anything, and the other paths are still measured.
package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	labels = []string{"path", "mountpoint"}

	sizeDesc      = collectors.NewDesc(Name, "filesystem", "size_bytes", "Size of the filesystem holding the path, in bytes.", labels...)
	availDesc     = collectors.NewDesc(Name, "filesystem", "avail_bytes", "Bytes available to unprivileged users on the filesystem holding the path.", labels...)
	filesDesc     = collectors.NewDesc(Name, "filesystem", "files", "Total inodes of the filesystem holding the path.", labels...)
	filesFreeDesc = collectors.NewDesc(Name, "filesystem", "files_free", "Free inodes of the filesystem holding the path.", labels...)
	readonlyDesc  = collectors.NewDesc(Name, "filesystem", "readonly", "1 if the filesystem holding the path is mounted read-only.", labels...)
	successDesc   = collectors.NewDesc(Name, "filesystem", "stat_success", "1 if the last statfs of the path succeeded, 0 if it failed or hung.", "path")
)

// Collector is the filesystem collector.
type Collector struct {
	paths  []string
	stat   Statter
	logger *zap.Logger

	guards map[string]*collectors.Guard[result] // per path: its statfs may hang
	logs   collectors.LogOnChange               // per path
}

// New builds the collector with the real statfs.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return NewWithStatter(cfg, OSStatter{}, logger), nil
}

// NewWithStatter builds the collector with the given Statter (tests).
func NewWithStatter(cfg Config, s Statter, logger *zap.Logger) *Collector {
	c := &Collector{
		paths:  append([]string(nil), cfg.Paths...),
		stat:   s,
		logger: logger,
		guards: map[string]*collectors.Guard[result]{},
	}
	for _, p := range c.paths {
		c.guards[p] = &collectors.Guard[result]{}
	}
	return c
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, sizeDesc, availDesc, filesDesc, filesFreeDesc, readonlyDesc, successDesc)
}

type result struct {
	path string
	u    Usage
	err  error
}

// Update implements collectors.Collector. Every path's statfs is started at
// once, each under the path's guard; a path whose earlier statfs has not
// returned fails at once, and those still running at ctx's end fail then.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	out := make([]result, len(c.paths))
	running := make([]<-chan result, len(c.paths))
	for i, p := range c.paths {
		r, err := c.guards[p].Start(func() result {
			u, err := c.stat.Stat(p)
			return result{path: p, u: u, err: err}
		})
		if err != nil {
			out[i] = result{path: p, err: fmt.Errorf("statfs %s: %w", p, err)}
		}
		running[i] = r
	}
	for i, r := range running {
		if r == nil {
			continue
		}
		select {
		case out[i] = <-r: // returned before the deadline, even if seen after it
			continue
		default:
		}
		select {
		case out[i] = <-r:
		case <-ctx.Done():
			out[i] = result{path: c.paths[i], err: fmt.Errorf("statfs %s: %w", c.paths[i], ctx.Err())}
		}
	}
	return c.emit(out, ch)
}

func (c *Collector) emit(results []result, ch chan<- prometheus.Metric) error {
	ok, absent := 0, 0
	for _, r := range results {
		c.noteError(r.path, r.err)
		if r.err != nil {
			if errors.Is(r.err, fs.ErrNotExist) {
				absent++
			}
			ch <- collectors.Gauge(successDesc, 0, r.path)
			continue
		}
		ok++
		lv := []string{r.path, r.u.Mountpoint}
		ch <- collectors.Gauge(sizeDesc, r.u.SizeBytes, lv...)
		ch <- collectors.Gauge(availDesc, r.u.AvailBytes, lv...)
		ch <- collectors.Gauge(filesDesc, r.u.Files, lv...)
		ch <- collectors.Gauge(filesFreeDesc, r.u.FilesFree, lv...)
		ch <- collectors.Gauge(readonlyDesc, collectors.B2F(r.u.ReadOnly), lv...)
		ch <- collectors.Gauge(successDesc, 1, r.path)
	}
	switch {
	case len(results) == 0 || ok > 0:
		return nil
	case absent == len(results):
		return fmt.Errorf("none of the %d configured paths exists: %w", len(results), collectors.ErrNotApplicable)
	default:
		return fmt.Errorf("statfs failed for all %d configured paths", len(results))
	}
}

// noteError logs a path's failure when it starts or changes, and its
// recovery, never the same failure every interval.
func (c *Collector) noteError(path string, err error) {
	p := collectors.Problem{Level: zap.WarnLevel, Failed: "cannot measure path", Recovered: "path measurable again"}
	if errors.Is(err, fs.ErrNotExist) {
		p.Level = zap.InfoLevel // absent on this host: say so once
	}
	c.logs.Note(c.logger, path, err, p, zap.String("path", path))
}

var _ collectors.Collector = (*Collector)(nil)
