// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

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
const Name = "saturation"

// Limits of the label set and of the configuration.
const (
	defaultMaxServices = 40
	maxMaxServices     = 200
	maxInstances       = 20
	maxDovecotServices = 50
)

// Config is the collectors.saturation section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Postfix is the Postfix part: master.cf services of each instance.
	Postfix Postfix `yaml:"postfix"`
	// Dovecot is the Dovecot part: the listed services.
	Dovecot Dovecot `yaml:"dovecot"`
	// MaxServices bounds the services labelled per Postfix instance; the
	// services after the first max_services of master.cf are summed as
	// "_other".
	MaxServices int `yaml:"max_services"`
}

// Postfix configures the Postfix part.
type Postfix struct {
	// Enabled reads the Postfix instances; on by default.
	Enabled *bool `yaml:"enabled"`
	// Postconf is the program, a name looked up in PATH or an absolute path.
	Postconf string `yaml:"postconf"`
	// Instances are the Postfix instances (postmulti); one for a plain
	// install.
	Instances []Instance `yaml:"instances"`
}

// Instance is one Postfix instance.
type Instance struct {
	// ConfigDirectory holds its main.cf and master.cf (postconf -c).
	ConfigDirectory string `yaml:"config_directory"`
	// Name is the postfix_instance label; default: the base name of
	// ConfigDirectory ("postfix" for /etc/postfix, as postfix_queue names
	// /var/spool/postfix).
	Name string `yaml:"name"`
}

// Dovecot configures the Dovecot part.
type Dovecot struct {
	// Enabled reads Dovecot's services; on by default.
	Enabled *bool `yaml:"enabled"`
	// Doveconf is the program, a name looked up in PATH or an absolute path.
	Doveconf string `yaml:"doveconf"`
	// Services are the Dovecot services (service blocks) exported.
	Services []string `yaml:"services"`
}

// DefaultDovecotServices are the services whose limits clients run into.
var DefaultDovecotServices = []string{"imap-login", "pop3-login", "submission-login", "managesieve-login", "imap", "pop3", "lmtp", "auth"}

// DefaultInstances is the default instance of a Debian install.
var DefaultInstances = []Instance{{ConfigDirectory: "/etc/postfix"}}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: on, every 30s. A run reads /proc (stat of every process,
// cmdline of Postfix's and Dovecot's children) and runs postconf twice per
// instance and doveconf once, each a few milliseconds.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second, MinInterval: 5 * time.Second}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	on := true
	if c.Postfix.Enabled == nil {
		c.Postfix.Enabled = &on
	}
	if c.Postfix.Postconf == "" {
		c.Postfix.Postconf = "postconf"
	}
	if c.Postfix.Instances == nil {
		c.Postfix.Instances = append([]Instance(nil), DefaultInstances...)
	}
	for i := range c.Postfix.Instances {
		if c.Postfix.Instances[i].Name == "" {
			c.Postfix.Instances[i].Name = filepath.Base(c.Postfix.Instances[i].ConfigDirectory)
		}
	}
	if c.Dovecot.Enabled == nil {
		c.Dovecot.Enabled = &on
	}
	if c.Dovecot.Doveconf == "" {
		c.Dovecot.Doveconf = "doveconf"
	}
	if c.Dovecot.Services == nil {
		c.Dovecot.Services = append([]string(nil), DefaultDovecotServices...)
	}
	if c.MaxServices == 0 {
		c.MaxServices = defaultMaxServices
	}
}

var (
	instanceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	// Dovecot service names: letters, digits and '-' (doveconf(1) prints
	// them as "service NAME {").
	dovecotServiceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// Validate checks the programs, instances, services and the bound.
func (c *Config) Validate() []error {
	var errs []error
	errs = append(errs, checkProgram("postfix.postconf", c.Postfix.Postconf)...)
	errs = append(errs, checkProgram("dovecot.doveconf", c.Dovecot.Doveconf)...)
	if len(c.Postfix.Instances) > maxInstances {
		errs = append(errs, confval.Errorf("postfix.instances", "lists %d instances, at most %d", len(c.Postfix.Instances), maxInstances))
	}
	names, dirs := map[string]bool{}, map[string]bool{}
	for i, in := range c.Postfix.Instances {
		at := "postfix.instances[" + strconv.Itoa(i) + "]"
		if perrs := confval.CheckPath(at+".config_directory", in.ConfigDirectory); perrs != nil {
			errs = append(errs, perrs...)
		} else if dirs[in.ConfigDirectory] {
			errs = append(errs, confval.Errorf(at+".config_directory", "%q is listed twice", in.ConfigDirectory))
		}
		dirs[in.ConfigDirectory] = true
		switch {
		case !instanceNameRE.MatchString(in.Name):
			errs = append(errs, confval.Errorf(at+".name", "%q is not a valid instance name (letters, digits, '_', '.', '-'; 63 at most)", in.Name))
		case names[in.Name]:
			errs = append(errs, confval.Errorf(at+".name", "instance name %q is used twice; set name to tell the instances apart", in.Name))
		}
		names[in.Name] = true
	}
	if len(c.Dovecot.Services) > maxDovecotServices {
		errs = append(errs, confval.Errorf("dovecot.services", "lists %d services, at most %d", len(c.Dovecot.Services), maxDovecotServices))
	}
	seen := map[string]bool{}
	for i, s := range c.Dovecot.Services {
		at := "dovecot.services[" + strconv.Itoa(i) + "]"
		switch {
		case !dovecotServiceRE.MatchString(s):
			errs = append(errs, confval.Errorf(at, "%q is not a Dovecot service name", s))
		case seen[s]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", s))
		}
		seen[s] = true
	}
	if c.MaxServices < 1 || c.MaxServices > maxMaxServices {
		errs = append(errs, confval.Errorf("max_services", "must be between 1 and %d, got %d", maxMaxServices, c.MaxServices))
	}
	if c.IsEnabled() && !*c.Postfix.Enabled && !*c.Dovecot.Enabled {
		errs = append(errs, confval.Errorf("", "enabled but postfix and dovecot are both off"))
	}
	return errs
}

func checkProgram(at, p string) []error {
	if strings.ContainsRune(p, '/') && (!filepath.IsAbs(p) || filepath.Clean(p) != p) {
		return []error{confval.Errorf(at, "must be a program name or a clean absolute path, got %q", p)}
	}
	return nil
}
