// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maintenance

import (
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Name is the collector's config key and collector label.
const Name = "maintenance"

// Config is the collectors.maintenance section. It has no key of its own:
// the file lives in global.state_dir, which the config loader copies into
// StateDir.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// StateDir is global.state_dir, set by the config loader.
	StateDir string `yaml:"-"`
}

// Build makes the collector this section configures.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: reading one small local file is cheap, and a maintenance window
// should silence alerts within a scrape or two of its start.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 15 * time.Second, Timeout: 5 * time.Second, MinInterval: time.Second}
}

// ApplyDefaults has nothing to fill.
func (c *Config) ApplyDefaults() {}

// Validate has nothing to check: the state directory is checked globally.
func (c *Config) Validate() []error { return nil }
