// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import (
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "filesystem"

// Config is the collectors.filesystem section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Paths are the directories whose filesystems are measured.
	Paths []string `yaml:"paths"`
}

// DefaultPaths are where a Debian mail host keeps its queue, mail and logs.
var DefaultPaths = []string{"/var/spool/postfix", "/var/mail", "/var/log"}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: statfs is cheap, but a stale NFS mount can hang it, so the
// timeout is short and a stuck path is not retried until its call returns.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second}
}

// ApplyDefaults fills Paths.
func (c *Config) ApplyDefaults() {
	if c.Paths == nil {
		c.Paths = append([]string(nil), DefaultPaths...)
	}
}

// Validate checks that paths are absolute, clean and unique.
func (c *Config) Validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range c.Paths {
		at := "paths[" + strconv.Itoa(i) + "]"
		if perrs := confval.CheckPath(at, p); perrs != nil {
			errs = append(errs, perrs...)
		} else if seen[p] {
			errs = append(errs, confval.Errorf(at, "%q is listed twice", p))
		}
		seen[p] = true
	}
	return errs
}
