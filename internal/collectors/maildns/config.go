// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "mail_dns"

// Limits that keep the series (at most 6 checks × 2 + 4 per domain) and
// the queries per run bounded.
const (
	maxDomains    = 50
	maxSelectors  = 8
	maxSendingIPs = 8
	maxDANE       = 8
)

// Config is the collectors.mail_dns section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Resolver is where the queries go.
	Resolver dnsclient.Config `yaml:"resolver"`
	// OpenDKIMKeyTable is OpenDKIM's KeyTable file. When set, a domain
	// without dkim entries is checked with every selector the table has for
	// it, and a selector without key_file is compared with the table's key.
	OpenDKIMKeyTable string `yaml:"opendkim_key_table"`
	// Domains are the mail domains to check.
	Domains []Domain `yaml:"domains"`
	// DANE are the MX hosts whose TLSA records (_25._tcp.<mx>) are compared
	// with the certificate they serve on port 25 and their certificate file.
	DANE []DANETarget `yaml:"dane"`
	// MTASTSCAFile is the PEM bundle of roots the MTA-STS checks trust
	// instead of the system's: the policy host's certificate and the
	// certificates the MX hosts serve (a private CA, a test stack).
	MTASTSCAFile string `yaml:"mta_sts_ca_file"`
}

// DANETarget is one MX host checked for DANE (RFC 7672).
type DANETarget struct {
	// MX is the MX host name, as the domain's MX records name it.
	MX string `yaml:"mx"`
	// Address is the IP:port to read the served certificate from; empty:
	// the MX name's first address (from the resolver above), port 25.
	Address string `yaml:"address"`
	// CertFile is the certificate file the MTA serves (certbot's
	// fullchain.pem); empty: only the served certificate is compared.
	CertFile string `yaml:"cert_file"`
}

// Domain is one mail domain and what to check for it.
type Domain struct {
	// Domain is the mail domain (the part after @).
	Domain string `yaml:"domain"`
	// DKIM are the selectors whose key records must be published.
	DKIM []Selector `yaml:"dkim"`
	// SendingIPs are the addresses mail for the domain leaves from; each
	// must have a PTR whose name resolves back to it, and the domain's SPF
	// record is evaluated for each.
	SendingIPs []string `yaml:"sending_ips"`
	// MTASTS checks the domain's MTA-STS TXT record and fetches its policy
	// over HTTPS from mta-sts.<domain>, and its TLS-RPT record.
	MTASTS bool `yaml:"mta_sts"`
}

// Selector is one DKIM selector.
type Selector struct {
	Selector string `yaml:"selector"`
	// KeyFile is the local key the record must match: OpenDKIM's .private
	// (PEM) or its .txt record file. Empty: from opendkim_key_table when
	// set, else the record only has to parse.
	KeyFile string `yaml:"key_file"`
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: off. Records change rarely and answers are cached by TTL.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: false, Interval: 15 * time.Minute, Timeout: time.Minute, MinInterval: time.Minute}
}

// ApplyDefaults fills the resolver settings.
func (c *Config) ApplyDefaults() { c.Resolver.ApplyDefaults() }

// Validate checks domains, selectors, addresses, paths and the resolver.
func (c *Config) Validate() []error {
	errs := c.Resolver.Validate("resolver")
	if c.OpenDKIMKeyTable != "" && !filepath.IsAbs(c.OpenDKIMKeyTable) {
		errs = append(errs, confval.Errorf("opendkim_key_table", "must be an absolute path, got %q", c.OpenDKIMKeyTable))
	}
	if len(c.Domains) > maxDomains {
		errs = append(errs, confval.Errorf("domains", "%d domains, more than %d", len(c.Domains), maxDomains))
	}
	seen := map[string]bool{}
	for i, d := range c.Domains {
		at := "domains[" + strconv.Itoa(i) + "]"
		name := dnsclient.NormalizeName(d.Domain)
		switch {
		case !dnsclient.IsHostname(name):
			errs = append(errs, confval.Errorf(at+".domain", "%q is not a fully qualified domain name", d.Domain))
		case seen[name]:
			errs = append(errs, confval.Errorf(at+".domain", "%q is listed twice", d.Domain))
		}
		seen[name] = true
		errs = append(errs, validateDomain(at, d)...)
	}
	errs = append(errs, validateDANE(c.DANE)...)
	errs = append(errs, confval.CheckOptionalPath("mta_sts_ca_file", c.MTASTSCAFile)...)
	if c.IsEnabled() && len(c.Domains) == 0 && len(c.DANE) == 0 {
		errs = append(errs, confval.Errorf("domains", "enabled but no domain and no dane host to check"))
	}
	return errs
}

func validateDANE(targets []DANETarget) []error {
	var errs []error
	if len(targets) > maxDANE {
		errs = append(errs, confval.Errorf("dane", "%d hosts, more than %d", len(targets), maxDANE))
	}
	seen := map[string]bool{}
	for i, t := range targets {
		at := "dane[" + strconv.Itoa(i) + "]"
		name := dnsclient.NormalizeName(t.MX)
		switch {
		case !dnsclient.IsHostname(name):
			errs = append(errs, confval.Errorf(at+".mx", "%q is not a fully qualified host name", t.MX))
		case seen[name]:
			errs = append(errs, confval.Errorf(at+".mx", "%q is listed twice", t.MX))
		}
		seen[name] = true
		if t.Address != "" {
			// An IP, not a name: a name would be resolved by the system's
			// resolver, not the collector's.
			if ap, err := netip.ParseAddrPort(t.Address); err != nil || ap.Port() == 0 {
				errs = append(errs, confval.Errorf(at+".address", "%q is not IP:port", t.Address))
			}
		}
		if t.CertFile != "" && !filepath.IsAbs(t.CertFile) {
			errs = append(errs, confval.Errorf(at+".cert_file", "must be an absolute path, got %q", t.CertFile))
		}
	}
	return errs
}

func validateDomain(at string, d Domain) []error {
	var errs []error
	if len(d.DKIM) > maxSelectors {
		errs = append(errs, confval.Errorf(at+".dkim", "%d selectors, more than %d", len(d.DKIM), maxSelectors))
	}
	sels := map[string]bool{}
	for j, s := range d.DKIM {
		sat := at + ".dkim[" + strconv.Itoa(j) + "]"
		sel := strings.ToLower(s.Selector)
		switch {
		case !isSelector(sel):
			errs = append(errs, confval.Errorf(sat+".selector", "%q is not a DKIM selector", s.Selector))
		case sels[sel]:
			errs = append(errs, confval.Errorf(sat+".selector", "%q is listed twice", s.Selector))
		}
		sels[sel] = true
		if s.KeyFile != "" && !filepath.IsAbs(s.KeyFile) {
			errs = append(errs, confval.Errorf(sat+".key_file", "must be an absolute path, got %q", s.KeyFile))
		}
	}
	if len(d.SendingIPs) > maxSendingIPs {
		errs = append(errs, confval.Errorf(at+".sending_ips", "%d addresses, more than %d", len(d.SendingIPs), maxSendingIPs))
	}
	ips := map[netip.Addr]bool{}
	for j, s := range d.SendingIPs {
		iat := at + ".sending_ips[" + strconv.Itoa(j) + "]"
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil || a.Zone() != "":
			errs = append(errs, confval.Errorf(iat, "%q is not an IP address", s))
		case ips[a.Unmap()]:
			errs = append(errs, confval.Errorf(iat, "%q is listed twice", s))
		}
		ips[a.Unmap()] = true
	}
	return errs
}

// isSelector: one or more DNS labels (RFC 6376 section 3.1 allows dots).
func isSelector(s string) bool {
	if strings.Contains(s, ".") {
		return dnsclient.IsHostname(s)
	}
	return dnsclient.IsHostname(s + ".x")
}

var _ collectors.Section = (*Config)(nil)
