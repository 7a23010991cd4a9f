// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "mailbox"

// Storage formats of a root.
const (
	FormatMaildir = "maildir" // a directory with cur/ new/ tmp/ and Maildir++ or LAYOUT=fs folders
	FormatMbox    = "mbox"    // one file per mailbox, messages start with a "From " line
)

// Limits keep the label set and the work of one run bounded.
const (
	maxTop          = 500
	maxDomains      = 200
	maxMailboxLimit = 10_000_000
	maxQuotaUsers   = 1000
	defaultTop      = 10
	defaultMax      = 100_000
	defaultDoveadm  = "doveadm"
)

// Root is one configured place where mailboxes live.
type Root struct {
	// Path is an absolute glob; the parts its wildcards match, joined with
	// "/", name the mailbox (/home/*/Maildir -> "alice",
	// /var/mail/vhosts/*/* -> "example.org/alice").
	Path string `yaml:"path"`
	// Format is maildir (default) or mbox.
	Format string `yaml:"format"`
}

// Quota configures Dovecot quota usage through doveadm.
type Quota struct {
	// Enabled runs `doveadm -f tab quota get` every interval.
	Enabled bool `yaml:"enabled"`
	// Doveadm is the program, a bare name looked up in PATH or an absolute path.
	Doveadm string `yaml:"doveadm"`
	// Users, when set, are asked one by one with -u; empty means -A (all
	// users of the userdb).
	Users []string `yaml:"users"`
}

// Config is the collectors.mailbox section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Roots are the mailbox globs; nil means DefaultRoots.
	Roots []Root `yaml:"roots"`
	// Top is how many of the largest mailboxes get their own label; the
	// rest are summed as "_other".
	Top int `yaml:"top"`
	// Domains, when above 0, exports per-domain totals for that many of the
	// largest domains (the rest as "_other").
	Domains int `yaml:"domains"`
	// MaxMailboxes bounds the mailboxes measured in one run (memory bound).
	MaxMailboxes int `yaml:"max_mailboxes"`
	// Quota reads Dovecot's quota usage.
	Quota Quota `yaml:"quota"`
}

// DefaultRoots are where a stock Debian host keeps mail: mbox spool files
// written by Postfix's local(8) and Maildirs in the users' homes.
var DefaultRoots = []Root{
	{Path: "/var/mail/*", Format: FormatMbox},
	{Path: "/home/*/Maildir", Format: FormatMaildir},
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: on, every 15 minutes. Mailbox sizes change slowly, and the walk
// touches every mailbox directory; the per-directory cache makes a run over
// unchanged mailboxes cheap, but not free.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 15 * time.Minute, Timeout: 5 * time.Minute, MinInterval: time.Minute}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.Roots == nil {
		c.Roots = append([]Root(nil), DefaultRoots...)
	}
	for i := range c.Roots {
		if c.Roots[i].Format == "" {
			c.Roots[i].Format = FormatMaildir
		}
	}
	if c.Top == 0 {
		c.Top = defaultTop
	}
	if c.MaxMailboxes == 0 {
		c.MaxMailboxes = defaultMax
	}
	if c.Quota.Doveadm == "" {
		c.Quota.Doveadm = defaultDoveadm
	}
}

// Validate checks roots, bounds and the quota settings.
func (c *Config) Validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range c.Roots {
		at := "roots[" + strconv.Itoa(i) + "]"
		if perrs := confval.CheckPath(at+".path", r.Path); perrs != nil {
			errs = append(errs, perrs...)
		} else if err := validatePattern(r.Path); err != "" {
			errs = append(errs, confval.Errorf(at+".path", "%s", err))
		} else if seen[r.Path] {
			errs = append(errs, confval.Errorf(at+".path", "%q is listed twice", r.Path))
		}
		seen[r.Path] = true
		if r.Format != FormatMaildir && r.Format != FormatMbox {
			errs = append(errs, confval.Errorf(at+".format", "must be %q or %q, got %q", FormatMaildir, FormatMbox, r.Format))
		}
	}
	if c.Top < 1 || c.Top > maxTop {
		errs = append(errs, confval.Errorf("top", "must be between 1 and %d, got %d", maxTop, c.Top))
	}
	if c.Domains < 0 || c.Domains > maxDomains {
		errs = append(errs, confval.Errorf("domains", "must be between 0 (off) and %d, got %d", maxDomains, c.Domains))
	}
	if c.MaxMailboxes < 1 || c.MaxMailboxes > maxMailboxLimit {
		errs = append(errs, confval.Errorf("max_mailboxes", "must be between 1 and %d, got %d", maxMailboxLimit, c.MaxMailboxes))
	}
	return append(errs, c.Quota.validate()...)
}

func (q *Quota) validate() []error {
	var errs []error
	if d := q.Doveadm; strings.ContainsRune(d, '/') && (!filepath.IsAbs(d) || filepath.Clean(d) != d) {
		errs = append(errs, confval.Errorf("quota.doveadm", "must be a program name or a clean absolute path, got %q", d))
	}
	if len(q.Users) > maxQuotaUsers {
		errs = append(errs, confval.Errorf("quota.users", "lists %d users, at most %d (leave it empty to ask for all users with -A)", len(q.Users), maxQuotaUsers))
	}
	seen := map[string]bool{}
	for i, u := range q.Users {
		at := "quota.users[" + strconv.Itoa(i) + "]"
		switch {
		case u == "" || strings.HasPrefix(u, "-") || strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
			errs = append(errs, confval.Errorf(at, "%q is not a user name", u))
		case seen[u]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", u))
		}
		seen[u] = true
	}
	return errs
}

// validatePattern returns why a root glob, absolute and clean, is unusable,
// or "".
func validatePattern(p string) string {
	wild := 0
	for _, comp := range strings.Split(p[1:], "/") {
		if !hasMeta(comp) {
			continue
		}
		wild++
		if _, err := filepath.Match(comp, ""); err != nil {
			return "bad pattern " + strconv.Quote(comp) + " in " + strconv.Quote(p)
		}
		if comp == "**" {
			return "** is not supported; use one * per directory level in " + strconv.Quote(p)
		}
	}
	if wild == 0 {
		return strconv.Quote(p) + " has no wildcard; the parts a wildcard matches name the mailboxes (e.g. /home/*/Maildir)"
	}
	return ""
}

// hasMeta reports whether a path component is a pattern rather than a name.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }
