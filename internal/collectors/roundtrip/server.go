// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

const (
	maxPasswordFile = 4096
	maxCAFile       = 1 << 20
)

// ReadPassword returns the first line of a password file (a trailing CR
// and LF dropped). doctor calls it too.
func ReadPassword(path string) (string, error) {
	b, err := collectors.ReadFileMax(path, maxPasswordFile)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", fmt.Errorf("password file %s: empty first line", path)
	}
	return string(b), nil
}

// tlsConfig verifies the server's certificate (always) against ca_file or
// the system's roots, for server_name or the host of address.
func (s Server) tlsConfig() (*tls.Config, error) {
	name := s.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(s.Address)
		if err != nil {
			return nil, err
		}
		name = host
	}
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := collectors.ReadFileMax(s.CAFile, maxCAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// dial connects to the server: with TLS at once for implicit TLS, in plain
// text for STARTTLS (the caller upgrades). The connection's deadline is
// ctx's, and it is cut when ctx ends, so that no read or write outlives
// the run.
func (s Server) dial(ctx context.Context, cfg *tls.Config) (net.Conn, error) {
	var (
		conn net.Conn
		err  error
	)
	d := &net.Dialer{}
	if s.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", s.Address)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Address)
	}
	if err != nil {
		return nil, err
	}
	bind(ctx, conn)
	return conn, nil
}

// bind makes conn's I/O end with ctx.
func bind(ctx context.Context, conn net.Conn) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
}
