// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// goodbyeTimeout bounds the polite end of a session once the certificate
// is in hand: a server slow to say goodbye must not slow the run down.
const goodbyeTimeout = 2 * time.Second

// dialFunc opens a TCP connection; net.Dialer.DialContext in production.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// endpoint is a validated endpoint of the config.
type endpoint struct {
	label      string // the target as configured
	t          target
	serverName string // SNI and the name verified; may be an IP address
	expectFile string
}

func newEndpoint(e Endpoint) (endpoint, error) {
	t, err := parseTarget(e.Target)
	if err != nil {
		return endpoint{}, err
	}
	name := e.ServerName
	if name == "" {
		name = t.host
	}
	return endpoint{label: e.Target, t: t, serverName: name, expectFile: e.ExpectFile}, nil
}

// served is what an endpoint presented.
type served struct {
	chain   []*x509.Certificate // leaf first
	version uint16
}

// stageError says which step of a check failed. Its key leaves out the
// addresses a net.OpError carries (the local port changes every run), so
// that a failure is logged once, not once per run.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func (e *stageError) key() string {
	var op *net.OpError
	if errors.As(e.err, &op) && op.Err != nil {
		return e.stage + ": " + op.Err.Error()
	}
	return e.Error()
}

// probe connects to an endpoint, speaks its protocol up to TLS, and returns
// the certificate chain it serves. Every blocking step ends when ctx does.
func probe(ctx context.Context, dial dialFunc, ep endpoint, p *probeParams) (served, error) {
	fail := func(stage string, err error) (served, error) {
		if ctx.Err() != nil {
			err = ctx.Err() // the read failed because ctx closed the connection
		}
		return served{}, &stageError{stage: stage, err: err}
	}
	conn, err := dial(ctx, "tcp", ep.t.addr())
	if err != nil {
		return fail("connect", err)
	}
	defer conn.Close()
	// A deadline makes blocked reads fail with a timeout; closing the
	// connection when ctx is cancelled covers a cancel without deadline.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		if err := conn.SetDeadline(deadline); err != nil {
			return fail("connect", err)
		}
	}
	if ep.t.proto.startTLS != nil {
		if err := ep.t.proto.startTLS(newTextConn(conn), p); err != nil {
			return fail("starttls", err)
		}
	}
	sni := ep.serverName
	if net.ParseIP(sni) != nil {
		sni = "" // RFC 6066 section 3: SNI carries no IP addresses
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		// Verification is done after the handshake with x509.Verify, so
		// that an expired, self-signed or misnamed certificate is still
		// read and its dates exported; verify_success reports the verdict.
		InsecureSkipVerify: true,
		// Old servers are still measured; the version is exported.
		MinVersion: tls.VersionTLS10,
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail("tls handshake", err)
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return fail("tls handshake", errors.New("server sent no certificate"))
	}
	end := time.Now().Add(goodbyeTimeout)
	if hasDeadline && deadline.Before(end) {
		end = deadline
	}
	if conn.SetDeadline(end) == nil {
		ep.t.proto.goodbye(newTextConn(tc), ep.t.proto.implicit)
	}
	return served{chain: st.PeerCertificates, version: st.Version}, nil
}

// tlsVersion maps a negotiated version to the enum of the version label.
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return "other"
}

// verify checks the chain up to roots at now, and the name when one is
// given (an IP address is checked against the IP SANs).
func verify(chain []*x509.Certificate, name string, roots *x509.CertPool, now time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}
