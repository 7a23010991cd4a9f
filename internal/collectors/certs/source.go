// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// This file is where the collector reads the host: certificate files and
// their patterns, the trust roots, the mail servers' configuration and
// postconf. The endpoints are read over the network (probe.go).

// runFunc runs a program without a shell and returns its standard output.
type runFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// runCommand is the real runFunc: the kit's collectors.Command in the C
// locale. ctx's end kills the program; its output is capped so a confused
// program cannot fill memory.
func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	return collectors.Command{Path: name, Args: args, Env: append(os.Environ(), "LC_ALL=C"), MaxOutput: 1 << 20}.Output(ctx)
}

func readConfigFile(path string) ([]byte, error) {
	return collectors.ReadFileMax(path, maxConfigSize)
}

// maxPEMSize bounds a certificate file: a full chain is a few KiB, and a
// large file is more likely a mistake (a log, a device) than a bundle.
const maxPEMSize = 1 << 20

// readBundle reads a PEM file afresh (following symlinks, as certbot's live/
// directory is made of them) and returns its certificates.
func readBundle(path string) ([]*x509.Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMSize+1))
	// A bundle may hold the private key too (Postfix smtpd_tls_chain_files):
	// wipe the bytes once parsed rather than leave them to the collector.
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxPEMSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPEMSize)
	}
	chain, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return chain, nil
}

// expandGlob returns the sorted matches of a pattern. No match is not an
// error when the directory the pattern starts from does not exist (certbot
// is not installed); it is when that directory cannot be read, because
// filepath.Glob hides permission errors and the files would silently
// vanish (certbot makes /etc/letsencrypt/live mode 0700).
func expandGlob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	if len(matches) > 0 {
		return matches, nil
	}
	dir := staticDir(pattern)
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("glob %s: %w", pattern, err)
	}
	return nil, nil
}

// roots is the trust anchor set of this run: ca_file, re-read every run
// like the certificates, or the system roots. nil when neither loads.
func (c *Collector) roots() (*x509.CertPool, error) {
	if c.caFile == "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("system roots: %w", err)
		}
		return pool, nil
	}
	f, err := os.Open(c.caFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4*maxPEMSize))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.caFile)
	}
	return pool, nil
}
