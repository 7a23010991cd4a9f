// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// protocol says how a service starts TLS.
type protocol struct {
	name string
	// implicit: TLS from the first byte (smtps, imaps, pop3s).
	implicit bool
	// startTLS runs the plaintext dialogue up to the point where the server
	// expects a ClientHello; nil for implicit TLS.
	startTLS func(tc *textConn, p *probeParams) error
	// goodbye ends the session politely over TLS, so that the server logs
	// a normal disconnect rather than a lost connection. Best effort.
	goodbye func(tc *textConn, implicit bool)
}

// protocols are the schemes an endpoint target may have.
var protocols = map[string]protocol{
	"smtp":  {name: "smtp", startTLS: smtpStartTLS, goodbye: smtpGoodbye},
	"smtps": {name: "smtps", implicit: true, goodbye: smtpGoodbye},
	"imap":  {name: "imap", startTLS: imapStartTLS, goodbye: imapGoodbye},
	"imaps": {name: "imaps", implicit: true, goodbye: imapGoodbye},
	"pop3":  {name: "pop3", startTLS: pop3StartTLS, goodbye: pop3Goodbye},
	"pop3s": {name: "pop3s", implicit: true, goodbye: pop3Goodbye},
	"sieve": {name: "sieve", startTLS: sieveStartTLS, goodbye: sieveGoodbye},
}

// target is a parsed endpoint target.
type target struct {
	proto protocol
	host  string // without brackets
	port  string
}

// addr is host:port for dialing.
func (t target) addr() string { return net.JoinHostPort(t.host, t.port) }

// parseTarget parses PROTO://HOST:PORT and insists on the canonical
// spelling, because the string is also the target label: one endpoint must
// not be reachable under two label values.
func parseTarget(s string) (target, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return target{}, fmt.Errorf("%q is not PROTO://HOST:PORT", s)
	}
	p, ok := protocols[scheme]
	if !ok {
		return target{}, fmt.Errorf("%q: unknown protocol %q (want smtp, smtps, imap, imaps, pop3, pop3s or sieve)", s, scheme)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return target{}, fmt.Errorf("%q is not PROTO://HOST:PORT (the port is required, e.g. smtp://127.0.0.1:25)", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return target{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
	}
	if ip := net.ParseIP(host); ip == nil && !isHostname(host) {
		return target{}, fmt.Errorf("%q: %q is neither an IP address nor a host name", s, host)
	}
	canon := scheme + "://" + net.JoinHostPort(host, port)
	if canon != s {
		return target{}, fmt.Errorf("%q is not in canonical form; write %q", s, canon)
	}
	return target{proto: p, host: host, port: port}, nil
}
