// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// maxSMTPInFlight bounds the SMTP dialogues of one run: 50 domains with 10
// MX hosts each would otherwise open 500 connections at once.
const maxSMTPInFlight = 8

// servedCerts reads the chain each MX host serves on port 25 at most once
// per run: the DANE check of a host and the MTA-STS checks of every domain
// it is an MX of share one SMTP dialogue. A host configured under dane is
// read at its configured address with its timeout; any other MX host at its
// first address from the resolver, port 25.
type servedCerts struct {
	check   checker
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	specs   map[string]daneSpec // the dane hosts, by MX name
	ehlo    string
	timeout time.Duration // of the hosts not configured under dane
	sem     chan struct{}

	mu    sync.Mutex
	reads map[string]*servedRead
}

// servedRead is one host's dialogue: done closes when chain and err are set.
type servedRead struct {
	done  chan struct{}
	chain []*x509.Certificate
	err   error
}

func newServedCerts(c checker, dial func(ctx context.Context, network, addr string) (net.Conn, error), dane []daneSpec, ehlo string, timeout time.Duration) *servedCerts {
	s := &servedCerts{check: c, dial: dial, specs: map[string]daneSpec{}, ehlo: ehlo, timeout: timeout,
		sem: make(chan struct{}, maxSMTPInFlight), reads: map[string]*servedRead{}}
	for _, d := range dane {
		s.specs[d.mx] = d
	}
	return s
}

// chain returns the chain mx serves, reading it if no caller of this run
// has; a caller that finds the read under way waits for it or for ctx.
func (s *servedCerts) chain(ctx context.Context, mx string) ([]*x509.Certificate, error) {
	mx = mxLabel(mx)
	s.mu.Lock()
	r, ok := s.reads[mx]
	if !ok {
		r = &servedRead{done: make(chan struct{})}
		s.reads[mx] = r
	}
	s.mu.Unlock()
	if !ok {
		r.chain, r.err = s.read(ctx, mx)
		close(r.done)
		return r.chain, r.err
	}
	select {
	case <-r.done:
		return r.chain, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *servedCerts) read(ctx context.Context, mx string) ([]*x509.Certificate, error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	spec, ok := s.specs[mx]
	if !ok {
		spec = daneSpec{mx: mx, ehlo: s.ehlo, timeout: s.timeout}
	}
	return s.check.servedChain(ctx, spec, s.dial)
}

// MX results of an MTA-STS domain: how an enforcing sender would judge each
// MX host (RFC 8461 sections 4.1 and 4.2). The failure names are RFC 8460's
// result types (section 4.3.1), which TLS-RPT reports use, in Prometheus'
// spelling.
const (
	stsMXOK                   = "ok"
	stsMXNotCovered           = "not_covered"               // section 4.1: no mx pattern matches the MX name
	stsMXStartTLSNotSupported = "starttls_not_supported"    // no STARTTLS in the EHLO answer
	stsMXValidationFailure    = "validation_failure"        // STARTTLS offered, the handshake fails
	stsMXHostMismatch         = "certificate_host_mismatch" // no SAN DNS-ID matches the MX name
	stsMXExpired              = "certificate_expired"       // leaf or chain outside its validity
	stsMXNotTrusted           = "certificate_not_trusted"   // no chain to the trust anchors
	stsMXUnreachable          = "unreachable"               // no SMTP dialogue: refused, timed out, no address
)

// stsMXResults are the result label values, in export order.
var stsMXResults = []string{stsMXOK, stsMXNotCovered, stsMXStartTLSNotSupported, stsMXValidationFailure,
	stsMXHostMismatch, stsMXExpired, stsMXNotTrusted, stsMXUnreachable}

// errNoSTARTTLS and errHandshake mark what servedChain found when the
// server answered SMTP but TLS could not be set up.
var (
	errNoSTARTTLS = errors.New("STARTTLS not offered")
	errHandshake  = errors.New("TLS handshake failed")
)

// judgeServed is section 4.2 for one MX host: the chain it serves must
// not be expired, must chain to a trusted root (roots; nil: the system's)
// and its leaf must carry a SAN DNS-ID that matches the MX name by the
// rules of RFC 6125 (crypto/x509's VerifyHostname: SANs only, never the
// CN; "*" only as the whole left-most label, matching exactly one label).
// That the MX name matches an mx pattern of the policy is section 4.1,
// checked before; with both, the served name matches the MX host and the
// policy. The result is one of stsMXResults and why says it for the log.
func judgeServed(chain []*x509.Certificate, readErr error, mx string, roots *x509.CertPool, now time.Time) (result, why string) {
	switch {
	case errors.Is(readErr, errNoSTARTTLS):
		return stsMXStartTLSNotSupported, readErr.Error()
	case errors.Is(readErr, errHandshake):
		return stsMXValidationFailure, readErr.Error()
	case readErr != nil:
		return stsMXUnreachable, readErr.Error()
	}
	leaf := chain[0]
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return stsMXExpired, fmt.Sprintf("certificate valid from %s to %s",
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := leaf.VerifyHostname(mx); err != nil {
		names := leaf.DNSNames
		if len(names) > 8 {
			names = append(names[:8:8], "...")
		}
		return stsMXHostMismatch, fmt.Sprintf("certificate names %s, not the MX host", orNone(strings.Join(names, ", ")))
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return stsMXOK, ""
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return stsMXExpired, fmt.Sprintf("chain: %v", err)
	default:
		return stsMXNotTrusted, err.Error()
	}
}

func orNone(s string) string {
	if s == "" {
		return "no DNS name"
	}
	return s
}
