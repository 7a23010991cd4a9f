// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package configdrift reports a fingerprint of the mail stack's
// configuration, so that a change nobody announced, or one host of a fleet
// that differs from the others (`count by (program, hash)
// (mailwatch_config_info)`), shows: a hash of what `postconf -n` and
// `doveconf -n` print (the settings in effect that differ from the
// defaults, whatever file they come from) and of OpenDKIM's configuration
// file, the time its files last changed, and the result of `postfix check`.
//
// The hash is the first 12 hex digits of a SHA-256: one series per
// program, never a setting's value. Before hashing, comment lines are left
// out: doveconf -n starts with "# <version>: <file>", "# OS: ..." and
// "# Hostname: ..." lines, which differ between hosts of identical
// configuration; OpenDKIM's file keeps its comments and blank lines, which
// change no setting.
package configdrift

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	infoDesc = collectors.NewDesc(Name, "config", "info",
		"1 for the hash of the program's configuration in effect (postconf -n, doveconf -n, OpenDKIM's file; comments left out): program is postfix, dovecot or opendkim.", "program", "hash")
	readDesc = collectors.NewDesc(Name, "config", "read_success",
		"1 if the program's configuration could be read and hashed in the last run, 0 if not.", "program")
	changeDesc = collectors.NewDesc(Name, "config", "change_timestamp_seconds",
		"Newest modification time of the program's configuration files (Postfix's main.cf and master.cf, the files under Dovecot's directory, OpenDKIM's file), in Unix seconds.", "program")
	checkDesc = collectors.NewDesc(Name, "postfix", "check_success",
		"1 if `postfix check` found nothing to warn about, 0 if it failed or warned; absent when the daemon is not root (Postfix runs it only for root).")
)

// Programs, the values of the program label.
const (
	Postfix  = "postfix"
	Dovecot  = "dovecot"
	OpenDKIM = "opendkim"
)

// Reading is what one run learned about one program.
type Reading struct {
	Program string
	// Hash is empty when the configuration could not be read (Err).
	Hash string
	Err  error
	// Changed is the newest modification time, zero when unknown.
	Changed float64
}

// Source reads the host. Absent programs are left out of Read's answer.
type Source interface {
	Read(ctx context.Context) []Reading
	// PostfixCheck runs postfix check: ok, or ran false when it was not
	// run (not root, not configured, no Postfix).
	PostfixCheck(ctx context.Context) (ran, ok bool, err error)
}

// Collector is the config_drift collector.
type Collector struct {
	src    Source
	logger *zap.Logger
	guard  collectors.Guard[result]
	logs   collectors.LogOnChange
}

type result struct {
	rs           []Reading
	ran, checkOK bool
	checkErr     error
}

// New builds the collector on the host.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	h := &Host{Postconf: cfg.Postconf, PostfixDir: cfg.PostfixConfigDir, Doveconf: cfg.Doveconf,
		DovecotDir: cfg.DovecotConfigDir, Opendkim: cfg.OpendkimConfig, Postfix: cfg.PostfixCheck, Root: os.Geteuid() == 0}
	return NewWithSource(h, logger), nil
}

// NewWithSource builds the collector on src (tests).
func NewWithSource(src Source, logger *zap.Logger) *Collector {
	return &Collector{src: src, logger: logger}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, infoDesc, readDesc, changeDesc, checkDesc)
}

var readProblem = collectors.Problem{Level: zap.WarnLevel,
	Failed: "cannot read a program's configuration", Recovered: "program's configuration readable again"}

// Update implements collectors.Collector.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	r, err := c.guard.Do(ctx, func() result {
		var r result
		r.rs = c.src.Read(ctx)
		r.ran, r.checkOK, r.checkErr = c.src.PostfixCheck(ctx)
		return r
	})
	if err != nil {
		return fmt.Errorf("read configurations: %w", err)
	}
	if len(r.rs) == 0 && !r.ran {
		return fmt.Errorf("none of postfix, dovecot, opendkim: %w", collectors.ErrNotApplicable)
	}
	for _, x := range r.rs {
		c.logs.Note(c.logger, x.Program, x.Err, readProblem, zap.String("program", x.Program))
		ch <- collectors.Gauge(readDesc, collectors.B2F(x.Hash != ""), x.Program)
		if x.Hash != "" {
			ch <- collectors.Gauge(infoDesc, 1, x.Program, x.Hash)
		}
		if x.Changed > 0 {
			ch <- collectors.Gauge(changeDesc, x.Changed, x.Program)
		}
	}
	if r.ran {
		c.logs.Note(c.logger, "postfix check", r.checkErr, collectors.Problem{Level: zap.WarnLevel,
			Failed: "postfix check reports a problem", Recovered: "postfix check passes again"})
		ch <- collectors.Gauge(checkDesc, collectors.B2F(r.checkOK))
	}
	return nil
}

var _ collectors.Collector = (*Collector)(nil)
