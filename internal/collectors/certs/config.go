// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "certs"

// Defaults and limits.
const (
	// DefaultGlob is where certbot keeps the certificate a mail host serves.
	DefaultGlob = "/etc/letsencrypt/live/*/fullchain.pem"
	// DefaultPostconf is Postfix's configuration utility on Debian.
	DefaultPostconf = "/usr/sbin/postconf"
	// DefaultDovecotConfig is Dovecot's main configuration file on Debian.
	DefaultDovecotConfig = "/etc/dovecot/dovecot.conf"

	defaultMaxFiles        = 32
	defaultEndpointTimeout = 10 * time.Second
	// maxMaxFiles and maxEndpoints bound the series: at most six per target.
	maxMaxFiles  = 256
	maxEndpoints = 64
)

// Config is the collectors.certs section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Files are PEM files or glob patterns; nil means DefaultGlob. A glob
	// that matches nothing is not an error: the software is not installed.
	Files []string `yaml:"files"`
	// MaxFiles caps the file targets (files, glob matches and discovered
	// files together); the rest are skipped with a warning.
	MaxFiles int `yaml:"max_files"`
	// Discover adds the files Postfix and Dovecot are configured to serve.
	Discover Discover `yaml:"discover"`
	// CAFile, when set, is the PEM bundle of roots used for verification
	// instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// EHLOName is the name sent in SMTP EHLO; empty means the host name.
	EHLOName string `yaml:"ehlo_name"`
	// EndpointTimeout bounds one endpoint check (connect, dialogue, handshake).
	EndpointTimeout confval.Duration `yaml:"endpoint_timeout"`
	// Endpoints are the TLS services to connect to; none by default.
	Endpoints []Endpoint `yaml:"endpoints"`
}

// Discover says where to look for the certificates Postfix and Dovecot serve.
type Discover struct {
	// Postfix runs `postconf -x` for smtpd_tls_cert_file, _eccert_file,
	// _dcert_file, _chain_files and their master.cf overrides. Default true.
	Postfix *bool `yaml:"postfix"`
	// Postconf is the postconf binary.
	Postconf string `yaml:"postconf"`
	// Dovecot reads DovecotConfig and its includes for ssl_cert (2.3) and
	// ssl_server_cert_file (2.4). Default true.
	Dovecot *bool `yaml:"dovecot"`
	// DovecotConfig is Dovecot's main configuration file.
	DovecotConfig string `yaml:"dovecot_config"`
}

// Endpoint is one TLS service.
type Endpoint struct {
	// Target is PROTO://HOST:PORT, also the target label. PROTO is smtp,
	// imap, pop3, sieve (STARTTLS) or smtps, imaps, pop3s (TLS from the
	// first byte).
	Target string `yaml:"target"`
	// ServerName is sent as SNI and verified against the certificate; empty
	// means HOST.
	ServerName string `yaml:"server_name"`
	// ExpectFile is the PEM file whose leaf the endpoint should be serving.
	ExpectFile string `yaml:"expect_file"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: certificates last months and alerts fire weeks ahead, so every
// ten minutes is plenty and still notices a forgotten reload the same hour.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: true, Interval: 10 * time.Minute, Timeout: 30 * time.Second, MinInterval: time.Minute}
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.Files == nil {
		c.Files = []string{DefaultGlob}
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = defaultMaxFiles
	}
	on := true
	if c.Discover.Postfix == nil {
		c.Discover.Postfix = &on
	}
	if c.Discover.Dovecot == nil {
		c.Discover.Dovecot = &on
	}
	if c.Discover.Postconf == "" {
		c.Discover.Postconf = DefaultPostconf
	}
	if c.Discover.DovecotConfig == "" {
		c.Discover.DovecotConfig = DefaultDovecotConfig
	}
	if c.EndpointTimeout == 0 {
		c.EndpointTimeout = confval.Duration(defaultEndpointTimeout)
		if t := c.Timeout.D(); t > 0 && t <= defaultEndpointTimeout {
			c.EndpointTimeout = confval.Duration(t * 2 / 3)
		}
	}
}

// Validate returns every problem of the section.
func (c *Config) Validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, f := range c.Files {
		at := "files[" + strconv.Itoa(i) + "]"
		errs = append(errs, confval.CheckPath(at, f)...)
		if _, err := filepath.Match(f, ""); err != nil {
			errs = append(errs, confval.Errorf(at, "%q is not a valid glob pattern", f))
		}
		if seen[f] {
			errs = append(errs, confval.Errorf(at, "%q is listed twice", f))
		}
		seen[f] = true
	}
	if c.MaxFiles < 1 || c.MaxFiles > maxMaxFiles {
		errs = append(errs, confval.Errorf("max_files", "must be between 1 and %d, got %d", maxMaxFiles, c.MaxFiles))
	}
	errs = append(errs, confval.CheckOptionalPath("discover.postconf", c.Discover.Postconf)...)
	errs = append(errs, confval.CheckOptionalPath("discover.dovecot_config", c.Discover.DovecotConfig)...)
	errs = append(errs, confval.CheckOptionalPath("ca_file", c.CAFile)...)
	if c.EHLOName != "" && !isHostname(c.EHLOName) {
		errs = append(errs, confval.Errorf("ehlo_name", "%q is not a host name", c.EHLOName))
	}
	switch et := c.EndpointTimeout.D(); {
	case et <= 0:
		errs = append(errs, confval.Errorf("endpoint_timeout", "must be positive"))
	case c.Timeout.D() > 0 && et > c.Timeout.D():
		errs = append(errs, confval.Errorf("endpoint_timeout", "%s is longer than timeout (%s)", c.EndpointTimeout, c.Timeout))
	}
	if len(c.Endpoints) > maxEndpoints {
		errs = append(errs, confval.Errorf("endpoints", "%d endpoints, more than %d", len(c.Endpoints), maxEndpoints))
	}
	targets := map[string]bool{}
	for i, e := range c.Endpoints {
		at := "endpoints[" + strconv.Itoa(i) + "]"
		if _, err := parseTarget(e.Target); err != nil {
			errs = append(errs, confval.Errorf(at+".target", "%v", err))
		} else if targets[e.Target] {
			errs = append(errs, confval.Errorf(at+".target", "%q is listed twice", e.Target))
		}
		targets[e.Target] = true
		if e.ServerName != "" && (!isHostname(e.ServerName) || net.ParseIP(e.ServerName) != nil) {
			errs = append(errs, confval.Errorf(at+".server_name", "%q is not a DNS name", e.ServerName))
		}
		errs = append(errs, confval.CheckOptionalPath(at+".expect_file", e.ExpectFile)...)
	}
	return errs
}

// isHostname accepts letters, digits, hyphens and dots, 1 to 253 bytes,
// labels of 1 to 63 bytes. A trailing dot is refused: SNI carries none.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
