// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package configdrift

import (
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "config_drift"

// Config is the collectors.config_drift section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Postconf is run as `postconf -n` (Postfix's settings that differ
	// from the defaults); empty: Postfix is not watched.
	Postconf string `yaml:"postconf"`
	// PostfixConfigDir holds main.cf and master.cf, whose newest change is
	// Postfix's change time.
	PostfixConfigDir string `yaml:"postfix_config_dir"`
	// Doveconf is run as `doveconf -n`; empty: Dovecot is not watched.
	Doveconf string `yaml:"doveconf"`
	// DovecotConfigDir is walked for the newest change of Dovecot's files.
	DovecotConfigDir string `yaml:"dovecot_config_dir"`
	// OpendkimConfig is OpenDKIM's configuration file; empty: not watched.
	OpendkimConfig string `yaml:"opendkim_config"`
	// PostfixCheck runs `postfix check` (Postfix's own audit of its files
	// and permissions) through the Postfix command here. Postfix runs it
	// only for root, so it is skipped when the daemon is not root; empty:
	// never run.
	PostfixCheck string `yaml:"postfix_check"`
}

// Defaults of the keys, Debian's paths.
const (
	DefaultPostconf         = "/usr/sbin/postconf"
	DefaultPostfixConfigDir = "/etc/postfix"
	DefaultDoveconf         = "/usr/bin/doveconf"
	DefaultDovecotConfigDir = "/etc/dovecot"
	DefaultOpendkimConfig   = "/etc/opendkim.conf"
	DefaultPostfixCheck     = "/usr/sbin/postfix"
)

// Build makes the collector this section configures.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: configurations change by hand, rarely; postconf and doveconf
// each take some 10 ms, so every 5 minutes costs nothing and shows a
// change within one.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: time.Minute, MinInterval: 30 * time.Second}
}

// ApplyDefaults fills the keys left unset.
func (c *Config) ApplyDefaults() {
	for _, f := range []struct {
		p *string
		d string
	}{
		{&c.Postconf, DefaultPostconf}, {&c.PostfixConfigDir, DefaultPostfixConfigDir},
		{&c.Doveconf, DefaultDoveconf}, {&c.DovecotConfigDir, DefaultDovecotConfigDir},
		{&c.OpendkimConfig, DefaultOpendkimConfig}, {&c.PostfixCheck, DefaultPostfixCheck},
	} {
		if *f.p == "" {
			*f.p = f.d
		}
	}
}

// Validate checks the paths; "off" turns a program off.
func (c *Config) Validate() []error {
	var errs []error
	for _, f := range []struct{ key, path string }{
		{"postconf", c.Postconf}, {"postfix_config_dir", c.PostfixConfigDir},
		{"doveconf", c.Doveconf}, {"dovecot_config_dir", c.DovecotConfigDir},
		{"opendkim_config", c.OpendkimConfig}, {"postfix_check", c.PostfixCheck},
	} {
		if f.path == Off {
			continue
		}
		if !strings.HasPrefix(f.path, "/") {
			errs = append(errs, confval.Errorf(f.key, "must be an absolute path or %q, got %q", Off, f.path))
			continue
		}
		errs = append(errs, confval.CheckPath(f.key, f.path)...)
	}
	return errs
}

// Off turns a program's check off.
const Off = "off"
