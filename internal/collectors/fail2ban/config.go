// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "fail2ban"

// Defaults of the keys, as Debian's fail2ban package sets them up.
const (
	DefaultDatabase = "/var/lib/fail2ban/fail2ban.sqlite3" // dbfile in fail2ban.conf
	DefaultLogFile  = "/var/log/fail2ban.log"              // logtarget in fail2ban.conf
	DefaultFindTime = 10 * time.Minute                     // findtime in jail.conf
	DefaultMaxJails = 16
	// NoLogFile as log_file turns the failure count off (fail2ban logging
	// to syslog or the journal, whose lines this collector does not read).
	NoLogFile = "none"
	// OtherJail is the label of the jails beyond max_jails when the jails
	// are discovered.
	OtherJail = "_other"
)

// Limits.
const (
	maxJailsLimit = 64
	maxJailName   = 64
	maxFindTime   = 7 * 24 * time.Hour
)

// Config is the collectors.fail2ban section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Database is fail2ban's SQLite database (dbfile in fail2ban.conf).
	Database string `yaml:"database"`
	// LogFile is fail2ban's own log (logtarget in fail2ban.conf), read for
	// the failures not yet banned; "none" turns that off.
	LogFile string `yaml:"log_file"`
	// FindTime is fail2ban's findtime: how long a failure counts.
	FindTime confval.Duration `yaml:"find_time"`
	// Jails are the jails reported. Empty: the jails fail2ban's database
	// knows, the first MaxJails by name, the rest summed as "_other".
	Jails []string `yaml:"jails"`
	// MaxJails bounds the discovered jails.
	MaxJails int `yaml:"max_jails"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: a few indexed queries on a small database and a read of the
// log's new lines: cheap enough for every 30 seconds. The timeout leaves the
// busy-wait on fail2ban's write lock room to succeed.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second}
}

// ApplyDefaults fills the keys left empty.
func (c *Config) ApplyDefaults() {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.LogFile == "" {
		c.LogFile = DefaultLogFile
	}
	if c.FindTime == 0 {
		c.FindTime = confval.Duration(DefaultFindTime)
	}
	if c.Jails == nil {
		c.Jails = []string{}
	}
	if c.MaxJails == 0 {
		c.MaxJails = DefaultMaxJails
	}
}

// Validate checks paths, durations and jail names.
func (c *Config) Validate() []error {
	var errs []error
	errs = append(errs, confval.CheckPath("database", c.Database)...)
	if c.LogFile != NoLogFile {
		errs = append(errs, confval.CheckPath("log_file", c.LogFile)...)
	}
	if d := c.FindTime.D(); d <= 0 || d > maxFindTime {
		errs = append(errs, confval.Errorf("find_time", "must be between 1s and 7d, got %s", c.FindTime))
	}
	if c.MaxJails < 1 || c.MaxJails > maxJailsLimit {
		errs = append(errs, confval.Errorf("max_jails", "must be between 1 and %d, got %d", maxJailsLimit, c.MaxJails))
	}
	if len(c.Jails) > maxJailsLimit {
		errs = append(errs, confval.Errorf("jails", "%d jails, more than %d", len(c.Jails), maxJailsLimit))
	}
	seen := map[string]bool{}
	for i, j := range c.Jails {
		at := "jails[" + strconv.Itoa(i) + "]"
		switch {
		case !validJailName(j):
			errs = append(errs, confval.Errorf(at, "%q is not a jail name (1 to %d printable characters, no spaces)", j, maxJailName))
		case j == OtherJail:
			errs = append(errs, confval.Errorf(at, "%q is reserved for the jails beyond max_jails", j))
		case seen[j]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", j))
		}
		seen[j] = true
	}
	return errs
}

// validJailName accepts what a fail2ban jail section can be called and a
// label can carry without surprise: printable, no spaces, not too long. The
// discovered jails go through the same check; a name that fails it is
// counted as "_other".
func validJailName(s string) bool {
	if s == "" || len(s) > maxJailName || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
