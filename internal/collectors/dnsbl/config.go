// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"net/netip"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Name is the collector's config key and collector label.
const Name = "dnsbl"

// Zone kinds.
const (
	KindIP     = "ip"     // lists addresses: the query is the reversed address
	KindDomain = "domain" // lists domains (Spamhaus DBL, SURBL): the query is the domain
)

// Limits.
const (
	// maxPairs bounds target×zone pairs, so the two per-pair series stay
	// well inside the series budget of the whole daemon.
	maxPairs = 250
	// maxAutoAddresses bounds the addresses auto_addresses may add.
	maxAutoAddresses = 8
	// maxZones bounds the zones, hence the error counters (9 per zone).
	maxZones = 32
)

// Zone is one DNS list.
type Zone struct {
	// Zone is the list's DNS zone, e.g. zen.spamhaus.org.
	Zone string `yaml:"zone"`
	// Kind is "ip" (default) or "domain".
	Kind string `yaml:"kind"`
}

// Config is the collectors.dnsbl section.
type Config struct {
	collectors.Settings `yaml:",inline"`
	// Resolver is where the queries go. Spamhaus refuses queries that come
	// through public resolvers (8.8.8.8, 1.1.1.1): use a local one.
	Resolver dnsclient.Config `yaml:"resolver"`
	// Addresses are the host's sending IPv4/IPv6 addresses.
	Addresses []string `yaml:"addresses"`
	// AutoAddresses adds the host's public interface addresses (not private,
	// loopback, link-local, nor temporary IPv6 addresses) to Addresses.
	AutoAddresses bool `yaml:"auto_addresses"`
	// Domains are the mail domains, checked against the domain lists.
	Domains []string `yaml:"domains"`
	// Zones are the lists to check; nil means DefaultZones.
	Zones []Zone `yaml:"zones"`
	// SpamhausDQSKey, when set, sends the queries for *.spamhaus.org zones
	// to Spamhaus's Data Query Service (<key>.<list>.dq.spamhaus.net), which
	// answers whatever resolver is used.
	SpamhausDQSKey confval.Secret `yaml:"spamhaus_dqs_key"`
}

// DefaultZones are well-known lists that are free for a small mail host's
// own checks. They are only queried once addresses or domains are set.
var DefaultZones = []Zone{
	{Zone: "zen.spamhaus.org", Kind: KindIP},
	{Zone: "bl.spamcop.net", Kind: KindIP},
	{Zone: "psbl.surriel.com", Kind: KindIP},
	{Zone: "bl.mailspike.net", Kind: KindIP},
	{Zone: "dbl.spamhaus.org", Kind: KindDomain},
	{Zone: "multi.surbl.org", Kind: KindDomain},
}

// Build makes the collector this section configures; the config loader
// calls it for every enabled section.
func (c *Config) Build(logger *zap.Logger) (collectors.Collector, error) { return New(*c, logger) }

// Defaults: off, and every 30 minutes at most every 5: list operators block
// resolvers that ask too often, and listings change slowly.
func (c *Config) Defaults() collectors.Defaults {
	return collectors.Defaults{Enabled: false, Interval: 30 * time.Minute, Timeout: 2 * time.Minute, MinInterval: 5 * time.Minute}
}

// ApplyDefaults fills Zones, zone kinds and the resolver settings.
func (c *Config) ApplyDefaults() {
	if c.Zones == nil {
		c.Zones = append([]Zone(nil), DefaultZones...)
	}
	for i := range c.Zones {
		if c.Zones[i].Kind == "" {
			c.Zones[i].Kind = KindIP
		}
	}
	c.Resolver.ApplyDefaults()
}

// Validate checks addresses, domains, zones, the key and the resolver.
func (c *Config) Validate() []error {
	errs := c.Resolver.Validate("resolver")
	seen := map[string]bool{}
	for i, s := range c.Addresses {
		at := "addresses[" + strconv.Itoa(i) + "]"
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil || a.Zone() != "":
			errs = append(errs, confval.Errorf(at, "%q is not an IP address", s))
		// Loopback stays allowed: 127.0.0.2 is the test entry every list
		// must carry (RFC 5782 section 5), a canary that the list answers.
		case a.IsUnspecified() || a.IsMulticast():
			errs = append(errs, confval.Errorf(at, "%q is not a sending address", s))
		case seen[a.Unmap().String()]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", s))
		default:
			seen[a.Unmap().String()] = true
		}
	}
	errs = append(errs, validateNames("domains", c.Domains)...)
	if len(c.Zones) > maxZones {
		errs = append(errs, confval.Errorf("zones", "%d zones, more than %d", len(c.Zones), maxZones))
	}
	zseen := map[string]bool{}
	ipZones, domainZones := 0, 0
	for i, z := range c.Zones {
		at := "zones[" + strconv.Itoa(i) + "]"
		name := dnsclient.NormalizeName(z.Zone)
		switch {
		case !dnsclient.IsHostname(name):
			errs = append(errs, confval.Errorf(at+".zone", "%q is not a fully qualified zone", z.Zone))
		case zseen[name]:
			errs = append(errs, confval.Errorf(at+".zone", "%q is listed twice", z.Zone))
		}
		zseen[name] = true
		switch z.Kind {
		case KindIP:
			ipZones++
		case KindDomain:
			domainZones++
		default:
			errs = append(errs, confval.Errorf(at+".kind", "must be %q or %q, got %q", KindIP, KindDomain, z.Kind))
		}
	}
	if k := string(c.SpamhausDQSKey); k != "" && !isDQSKey(k) {
		errs = append(errs, confval.Errorf("spamhaus_dqs_key", "must be 16 to 64 letters and digits"))
	}
	addrs := len(c.Addresses)
	if c.AutoAddresses {
		addrs += maxAutoAddresses
	}
	if pairs := addrs*ipZones + len(c.Domains)*domainZones; pairs > maxPairs {
		errs = append(errs, confval.Errorf("", "%d addresses × %d ip zones + %d domains × %d domain zones = %d queries per run, more than %d", addrs, ipZones, len(c.Domains), domainZones, pairs, maxPairs))
	}
	if c.IsEnabled() && len(c.Addresses) == 0 && len(c.Domains) == 0 && !c.AutoAddresses {
		errs = append(errs, confval.Errorf("", "enabled but nothing to check: set addresses, domains or auto_addresses"))
	}
	return errs
}

func validateNames(key string, names []string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, d := range names {
		at := key + "[" + strconv.Itoa(i) + "]"
		n := dnsclient.NormalizeName(d)
		switch {
		case !dnsclient.IsHostname(n):
			errs = append(errs, confval.Errorf(at, "%q is not a fully qualified domain name", d))
		case seen[n]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", d))
		}
		seen[n] = true
	}
	return errs
}

func isDQSKey(k string) bool {
	if len(k) < 16 || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var _ collectors.Section = (*Config)(nil)
