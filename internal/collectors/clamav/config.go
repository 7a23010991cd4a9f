// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package clamav

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "clamav"

// DefaultDir is freshclam's DatabaseDirectory on Debian and Ubuntu.
const DefaultDir = "/var/lib/clamav"

// DefaultDatabases are the three official databases freshclam keeps.
var DefaultDatabases = []string{"main", "daily", "bytecode"}

// maxDatabases bounds the database label (four series each).
const maxDatabases = 16

// databaseName is what a database may be called: the file name without its
// .cvd/.cld extension, never a path.
var databaseName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Config is the collectors.clamav section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// DatabaseDir is where freshclam writes the databases
	// (DatabaseDirectory in freshclam.conf).
	DatabaseDir string `yaml:"database_dir"`
	// Databases are the databases read, by name without extension; each is
	// looked up as <name>.cvd, <name>.cld and <name>.cud.
	Databases []string `yaml:"databases"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: three 512-byte reads cost nothing, and freshclam updates a few
// times a day, so a few minutes of lag is plenty. A host without ClamAV gets
// a quiet "not present".
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: 10 * time.Second, MinInterval: 10 * time.Second}
}

// ApplyDefaults fills DatabaseDir and Databases.
func (c *Config) ApplyDefaults() {
	if c.DatabaseDir == "" {
		c.DatabaseDir = DefaultDir
	}
	if c.Databases == nil {
		c.Databases = append([]string(nil), DefaultDatabases...)
	}
}

// Validate checks the directory and the database names.
func (c *Config) Validate() []error {
	var errs []error
	errs = append(errs, confval.CheckPath("database_dir", c.DatabaseDir)...)
	if len(c.Databases) > maxDatabases {
		errs = append(errs, confval.Errorf("databases", "%d databases, more than %d", len(c.Databases), maxDatabases))
	}
	seen := map[string]bool{}
	for i, db := range c.Databases {
		at := "databases[" + strconv.Itoa(i) + "]"
		switch {
		case strings.HasSuffix(db, ".cvd") || strings.HasSuffix(db, ".cld") || strings.HasSuffix(db, ".cud"):
			errs = append(errs, confval.Errorf(at, "%q: write the name without extension (%q)", db, db[:len(db)-4]))
		case !databaseName.MatchString(db):
			errs = append(errs, confval.Errorf(at, "%q is not a database name (letters, digits, '_', '-', '.')", db))
		case seen[db]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", db))
		}
		seen[db] = true
	}
	return errs
}
