// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsclient

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// Defaults and limits of the resolver section.
const (
	DefaultQueryTimeout  = 5 * time.Second
	DefaultMaxConcurrent = 4
	minQueryTimeout      = 100 * time.Millisecond
	maxQueryTimeout      = time.Minute
	maxConcurrentLimit   = 32
)

// Config is the `resolver` subsection of the DNS-based collectors.
type Config struct {
	// Servers are the recursive resolvers to ask, as IP or IP:port (for
	// example a local unbound, "127.0.0.1:53"), tried in order. Empty means
	// the nameservers of /etc/resolv.conf.
	Servers []string `yaml:"servers"`
	// QueryTimeout bounds one query to one server (UDP, and TCP when the UDP
	// answer was truncated).
	QueryTimeout confval.Duration `yaml:"query_timeout"`
	// MaxConcurrent bounds the queries in flight at once.
	MaxConcurrent int `yaml:"max_concurrent"`
}

// ApplyDefaults fills the keys left at their zero value.
func (c *Config) ApplyDefaults() {
	if c.QueryTimeout == 0 {
		c.QueryTimeout = confval.Duration(DefaultQueryTimeout)
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
}

// Validate returns every problem, with paths under prefix (e.g. "resolver").
func (c *Config) Validate(prefix string) []error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range c.Servers {
		at := prefix + ".servers[" + strconv.Itoa(i) + "]"
		hp, err := ParseServer(s)
		switch {
		case err != nil:
			errs = append(errs, confval.Errorf(at, "%v", err))
		case seen[hp]:
			errs = append(errs, confval.Errorf(at, "%q is listed twice", s))
		}
		seen[hp] = true
	}
	if d := c.QueryTimeout.D(); d < minQueryTimeout || d > maxQueryTimeout {
		errs = append(errs, confval.Errorf(prefix+".query_timeout", "%s is outside %s..%s", c.QueryTimeout, minQueryTimeout, maxQueryTimeout))
	}
	if c.MaxConcurrent < 1 || c.MaxConcurrent > maxConcurrentLimit {
		errs = append(errs, confval.Errorf(prefix+".max_concurrent", "must be between 1 and %d, got %d", maxConcurrentLimit, c.MaxConcurrent))
	}
	return errs
}

// ParseServer turns "IP" or "IP:port" ("[v6]:port") into host:port. Names
// are refused: finding the resolver must not itself need a resolver.
func ParseServer(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address or IP:port", s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%q: the server must be an IP address, not a name", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("%q: port must be 1..65535", s)
	}
	return net.JoinHostPort(a.String(), port), nil
}
