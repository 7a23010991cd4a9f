// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package filesystem measures the filesystems that hold the mail spool, the
// mailboxes and the logs with statfs(2): size, available bytes, inodes and
// the read-only flag. It is meant for mail hosts that run no node_exporter,
// and is limited to the configured paths.
//
// A statfs on a stale NFS mount can block for ever. Each call runs in its own
// goroutine; when the run's deadline passes the path is reported as failed
// and marked stuck, and no new call is made for it until the stuck one
// returns, so a dead mount never piles up goroutines or stalls anything.
package filesystem

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

	mu      sync.Mutex
	stuck   map[string]bool   // a statfs for this path has not returned yet
	lastErr map[string]string // last error logged per path, to log changes only
}

// New builds the collector with the real statfs.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	return NewWithStatter(cfg, OSStatter{}, logger), nil
}

// NewWithStatter builds the collector with the given Statter (tests).
func NewWithStatter(cfg Config, s Statter, logger *zap.Logger) *Collector {
	return &Collector{
		paths:   append([]string(nil), cfg.Paths...),
		stat:    s,
		logger:  logger,
		stuck:   map[string]bool{},
		lastErr: map[string]string{},
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sizeDesc, availDesc, filesDesc, filesFreeDesc, readonlyDesc, successDesc} {
		ch <- d
	}
}

type result struct {
	path string
	u    Usage
	err  error
}

var errStuck = errors.New("an earlier statfs of this path has not returned (hung mount?)")

// Update implements collectors.Collector.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	results := make(chan result, len(c.paths))
	pending := map[string]bool{}
	var out []result
	for _, p := range c.paths {
		c.mu.Lock()
		stuck := c.stuck[p]
		if !stuck {
			c.stuck[p] = true
		}
		c.mu.Unlock()
		if stuck {
			out = append(out, result{path: p, err: errStuck})
			continue
		}
		pending[p] = true
		go func() {
			u, err := c.stat.Stat(p)
			c.mu.Lock()
			delete(c.stuck, p)
			c.mu.Unlock()
			results <- result{path: p, u: u, err: err}
		}()
	}
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.path)
			out = append(out, r)
		case <-ctx.Done():
			for p := range pending {
				out = append(out, result{path: p, err: fmt.Errorf("statfs %s: %w", p, ctx.Err())})
			}
			pending = nil
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
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.lastErr[path]
	switch {
	case err == nil && prev != "":
		c.logger.Info("path measurable again", zap.String("path", path))
		delete(c.lastErr, path)
	case err != nil && err.Error() != prev:
		lvl := zap.WarnLevel
		if errors.Is(err, fs.ErrNotExist) {
			lvl = zap.InfoLevel // absent on this host: say so once
		}
		if ce := c.logger.Check(lvl, "cannot measure path"); ce != nil {
			ce.Write(zap.String("path", path), zap.Error(err))
		}
		c.lastErr[path] = err.Error()
	}
}

var _ collectors.Collector = (*Collector)(nil)
