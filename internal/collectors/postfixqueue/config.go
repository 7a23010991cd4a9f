// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "postfix_queue"

// Source names, as written in the sources key.
const (
	SourceShowq     = "showq"
	SourcePostqueue = "postqueue"
	SourceWalk      = "walk"
)

// DefaultSpool is Debian's queue_directory of the default Postfix instance.
const DefaultSpool = "/var/spool/postfix"

// DefaultPostqueue is where Debian installs postqueue(1).
const DefaultPostqueue = "/usr/sbin/postqueue"

// MaxTopDomains bounds top_deferred_domains: each domain is a series per
// instance, and the names come from recipient addresses, not from config.
const MaxTopDomains = 50

// Config is the collectors.postfix_queue section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Spools are the Postfix instances to watch (one for a plain install,
	// one per postmulti instance).
	Spools []Spool `yaml:"spools"`
	// Sources are tried in order for each instance until one reads the
	// whole queue: showq (the socket), postqueue (exec postqueue -j) and
	// walk (read the queue directories; needs root or the postfix user).
	Sources []string `yaml:"sources"`
	// PostqueuePath is the postqueue binary used by the postqueue source.
	PostqueuePath string `yaml:"postqueue_path"`
	// TopDeferredDomains exports the N recipient domains with the most
	// deferred recipients, the rest summed as _other; 0 turns it off.
	TopDeferredDomains int `yaml:"top_deferred_domains"`
}

// Spool is one Postfix instance.
type Spool struct {
	// Path is the instance's queue_directory.
	Path string `yaml:"path"`
	// Name is the postfix_instance label; default: the base name of Path.
	Name string `yaml:"name"`
	// ConfigDirectory is passed to postqueue -c (postqueue source only);
	// empty means postqueue's own default.
	ConfigDirectory string `yaml:"config_directory"`
}

// DefaultSources is the order used when sources is not set: the socket
// needs only the postdrop group; the walk is the fallback for a host where
// the daemon runs as root or postfix and Postfix is down.
var DefaultSources = []string{SourceShowq, SourceWalk}

var instanceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: showq reads every queue file, so a big queue costs Postfix real
// I/O; 30s keeps the numbers fresh for alerting without doing that work on
// every 15s scrape, and 10s is the floor.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 20 * time.Second, MinInterval: 10 * time.Second}
}

// ApplyDefaults fills Spools, Sources, PostqueuePath and the instance names.
func (c *Config) ApplyDefaults() {
	if c.Spools == nil {
		c.Spools = []Spool{{Path: DefaultSpool}}
	}
	for i := range c.Spools {
		if c.Spools[i].Name == "" && c.Spools[i].Path != "" {
			c.Spools[i].Name = filepath.Base(filepath.Clean(c.Spools[i].Path))
		}
	}
	if c.Sources == nil {
		c.Sources = append([]string(nil), DefaultSources...)
	}
	if c.PostqueuePath == "" {
		c.PostqueuePath = DefaultPostqueue
	}
}

// Validate checks paths, names, sources and the top-N bound; it does no I/O.
func (c *Config) Validate() []error {
	var errs []error
	if len(c.Spools) == 0 {
		errs = append(errs, confval.Errorf("spools", "must list at least one spool directory"))
	}
	paths, names := map[string]bool{}, map[string]bool{}
	for i, s := range c.Spools {
		at := "spools[" + strconv.Itoa(i) + "]"
		errs = append(errs, confval.CheckPath(at+".path", s.Path)...)
		errs = append(errs, confval.CheckOptionalPath(at+".config_directory", s.ConfigDirectory)...)
		switch {
		case !instanceNameRE.MatchString(s.Name):
			errs = append(errs, confval.Errorf(at+".name", "%q is not a valid instance name (letters, digits, '_', '.', '-'; 63 at most)", s.Name))
		case names[s.Name]:
			errs = append(errs, confval.Errorf(at+".name", "instance name %q is used twice; set name to tell the spools apart", s.Name))
		}
		if s.Path != "" && paths[s.Path] {
			errs = append(errs, confval.Errorf(at+".path", "%q is listed twice", s.Path))
		}
		names[s.Name], paths[s.Path] = true, true
	}
	errs = append(errs, c.validateSources()...)
	errs = append(errs, confval.CheckPath("postqueue_path", c.PostqueuePath)...)
	if c.TopDeferredDomains < 0 || c.TopDeferredDomains > MaxTopDomains {
		errs = append(errs, confval.Errorf("top_deferred_domains", "must be between 0 (off) and %d, got %d", MaxTopDomains, c.TopDeferredDomains))
	}
	return errs
}

func (c *Config) validateSources() []error {
	var errs []error
	if len(c.Sources) == 0 {
		errs = append(errs, confval.Errorf("sources", "must name at least one of showq, postqueue, walk"))
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		at := "sources[" + strconv.Itoa(i) + "]"
		switch {
		case s != SourceShowq && s != SourcePostqueue && s != SourceWalk:
			errs = append(errs, confval.Errorf(at, "unknown source %q (want showq, postqueue or walk)", s))
		case seen[s]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", s))
		}
		seen[s] = true
	}
	return errs
}
