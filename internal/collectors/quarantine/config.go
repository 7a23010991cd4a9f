// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "quarantine"

const (
	maxSets              = 100
	maxPathsPerSet       = 20
	defaultMaxDirs       = 100_000
	maxMaxDirs           = 10_000_000
	defaultMaxDepthLimit = 3
)

// Set is one named quarantine.
type Set struct {
	// Name is the quarantine label (snake_case).
	Name string `yaml:"name"`
	// Paths are absolute directory globs (wildcards in any component):
	// /var/lib/amavis/virusmails, /var/mail/vhosts/*/*/.Junk.
	Paths []string `yaml:"paths"`
}

// Config is the collectors.quarantine section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Sets are the quarantines; none by default.
	Sets []Set `yaml:"sets"`
	// MaxDirectories bounds the directories one run visits (and the cache
	// keeps), over all sets.
	MaxDirectories int `yaml:"max_directories"`
	// MaxDepth is how deep under a matched directory that is not a Maildir
	// folder files are counted (amavis's $quarantine_subdir_levels).
	MaxDepth int `yaml:"max_depth"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: on (with no sets it reports that it has nothing to watch),
// every 5 minutes; an unchanged directory costs one stat.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: time.Minute, MinInterval: 30 * time.Second}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.MaxDirectories == 0 {
		c.MaxDirectories = defaultMaxDirs
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = defaultMaxDepthLimit
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks the sets and the bounds.
func (c *Config) Validate() []error {
	var errs []error
	if len(c.Sets) > maxSets {
		errs = append(errs, confval.Errorf("sets", "lists %d sets, at most %d", len(c.Sets), maxSets))
	}
	names := map[string]bool{}
	for i, s := range c.Sets {
		at := "sets[" + strconv.Itoa(i) + "]"
		switch {
		case !snakeCase.MatchString(s.Name):
			errs = append(errs, confval.Errorf(at+".name", "must be snake_case, got %q", s.Name))
		case names[s.Name]:
			errs = append(errs, confval.Errorf(at+".name", "%q is used twice", s.Name))
		}
		names[s.Name] = true
		if len(s.Paths) == 0 || len(s.Paths) > maxPathsPerSet {
			errs = append(errs, confval.Errorf(at+".paths", "must list 1 to %d directories, got %d", maxPathsPerSet, len(s.Paths)))
		}
		seen := map[string]bool{}
		for j, p := range s.Paths {
			pat := at + ".paths[" + strconv.Itoa(j) + "]"
			if perrs := confval.CheckPath(pat, p); perrs != nil {
				errs = append(errs, perrs...)
				continue
			}
			if msg := badPattern(p); msg != "" {
				errs = append(errs, confval.Errorf(pat, "%s", msg))
			} else if seen[p] {
				errs = append(errs, confval.Errorf(pat, "%q is listed twice", p))
			}
			seen[p] = true
		}
	}
	if c.MaxDirectories < 1 || c.MaxDirectories > maxMaxDirs {
		errs = append(errs, confval.Errorf("max_directories", "must be between 1 and %d, got %d", maxMaxDirs, c.MaxDirectories))
	}
	if c.MaxDepth < 1 || c.MaxDepth > 8 {
		errs = append(errs, confval.Errorf("max_depth", "must be between 1 and 8, got %d", c.MaxDepth))
	}
	return errs
}

// badPattern says why a clean absolute glob is unusable, or "".
func badPattern(p string) string {
	for _, comp := range strings.Split(p[1:], "/") {
		if comp == "**" {
			return "** is not supported; use one * per directory level in " + strconv.Quote(p)
		}
		if _, err := filepath.Match(comp, ""); err != nil {
			return "bad pattern " + strconv.Quote(comp) + " in " + strconv.Quote(p)
		}
	}
	return ""
}
