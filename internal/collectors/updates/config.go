// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "updates"

// Defaults of the keys, for Debian and Ubuntu.
const (
	DefaultAptGet             = "/usr/bin/apt-get"
	DefaultAptListsDir        = "/var/lib/apt/lists"
	DefaultRebootRequiredFile = "/var/run/reboot-required"
	DefaultAptConfig          = "/usr/bin/apt-config"
	DefaultUnattendedUpgrade  = "/usr/bin/unattended-upgrade"
	DefaultUnattendedLog      = "/var/log/unattended-upgrades/unattended-upgrades.log"
)

// commandName is a program name looked up in PATH.
var commandName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

// Config is the collectors.updates section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// AptGet is the apt-get run (without a shell) to simulate the upgrade:
	// an absolute path, or a bare name looked up in the daemon's PATH.
	AptGet string `yaml:"apt_get"`
	// AptListsDir holds the package lists apt update downloads; the newest
	// Release file's time shows whether apt update still runs.
	AptListsDir string `yaml:"apt_lists_dir"`
	// RebootRequiredFile is created by packages (kernel, libc, ...) whose
	// upgrade needs a reboot to take effect.
	RebootRequiredFile string `yaml:"reboot_required_file"`
	// AptConfig is run as `apt-config dump` to read whether apt's daily job
	// runs unattended-upgrade (APT::Periodic::Unattended-Upgrade).
	AptConfig string `yaml:"apt_config"`
	// UnattendedUpgrade is the program; where it is missing, unattended
	// upgrades are off.
	UnattendedUpgrade string `yaml:"unattended_upgrade"`
	// UnattendedLog is unattended-upgrades' log: time and result of its
	// last run.
	UnattendedLog string `yaml:"unattended_log"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: apt-get's dependency solver takes seconds of CPU and about
// 70 MiB (5 s on a Debian 12 host with 136 pending upgrades), and the lists
// it reads change only when apt update runs (daily on a default install),
// so hourly is plenty and every 10 minutes the most that makes sense.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: time.Hour, Timeout: 2 * time.Minute, MinInterval: 10 * time.Minute}
}

// ApplyDefaults fills the keys left empty.
func (c *Config) ApplyDefaults() {
	if c.AptGet == "" {
		c.AptGet = DefaultAptGet
	}
	if c.AptListsDir == "" {
		c.AptListsDir = DefaultAptListsDir
	}
	if c.RebootRequiredFile == "" {
		c.RebootRequiredFile = DefaultRebootRequiredFile
	}
	if c.AptConfig == "" {
		c.AptConfig = DefaultAptConfig
	}
	if c.UnattendedUpgrade == "" {
		c.UnattendedUpgrade = DefaultUnattendedUpgrade
	}
	if c.UnattendedLog == "" {
		c.UnattendedLog = DefaultUnattendedLog
	}
}

// Validate checks the paths.
func (c *Config) Validate() []error {
	var errs []error
	if strings.Contains(c.AptGet, "/") {
		errs = append(errs, confval.CheckPath("apt_get", c.AptGet)...)
	} else if !commandName.MatchString(c.AptGet) {
		errs = append(errs, confval.Errorf("apt_get", "%q is neither an absolute path nor a command name (it is run without a shell: no arguments)", c.AptGet))
	}
	errs = append(errs, confval.CheckPath("apt_lists_dir", c.AptListsDir)...)
	errs = append(errs, confval.CheckPath("reboot_required_file", c.RebootRequiredFile)...)
	errs = append(errs, confval.CheckPath("apt_config", c.AptConfig)...)
	errs = append(errs, confval.CheckPath("unattended_upgrade", c.UnattendedUpgrade)...)
	errs = append(errs, confval.CheckPath("unattended_log", c.UnattendedLog)...)
	return errs
}
