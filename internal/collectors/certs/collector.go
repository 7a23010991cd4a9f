// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package certs watches the TLS certificates of a mail host from both
// sides: the PEM files on disk (certbot's live/ directory, and the files
// Postfix and Dovecot are configured to serve, found through postconf and
// dovecot.conf) and what the mail ports really present over SMTP, IMAP,
// POP3 and ManageSieve with STARTTLS, or over implicit TLS. It exports the
// leaf's validity dates, whether the chain and name verify, and whether an
// endpoint serves the same leaf as the file it should: the classic outage
// is a renewed file that Postfix or Dovecot was never reloaded to serve.
//
// Permissions: read access to the certificate files and the directories on
// their path (certbot makes /etc/letsencrypt/live and archive mode 0700, so
// grant the daemon's user or group access, e.g. with an ACL; files that
// bundle the private key, such as Postfix smtpd_tls_chain_files, need read
// access to the key too). Discovery runs /usr/sbin/postconf as the daemon's
// user and reads /etc/dovecot (world-readable on Debian). Endpoints need
// outbound TCP to the configured addresses only; none are configured by
// default.
package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

var (
	notAfterDesc = collectors.NewDesc(Name, "cert", "not_after_timestamp_seconds",
		"Time after which the target's leaf certificate is no longer valid, in Unix seconds.", "target")
	notBeforeDesc = collectors.NewDesc(Name, "cert", "not_before_timestamp_seconds",
		"Time before which the target's leaf certificate is not yet valid, in Unix seconds.", "target")
	checkDesc = collectors.NewDesc(Name, "cert", "check_success",
		"1 if the target's certificate was read: the file parsed, or the endpoint completed the TLS handshake.", "target")
	verifyDesc = collectors.NewDesc(Name, "cert", "verify_success",
		"1 if the target's leaf chains to a trusted root (system roots or ca_file) at check time and, for an endpoint, is valid for its server name.", "target")
	matchesDesc = collectors.NewDesc(Name, "cert", "endpoint_matches_file",
		"1 if the endpoint serves the same leaf certificate as its expect_file, 0 if not (renewed but not reloaded).", "target")
	versionDesc = collectors.NewDesc(Name, "cert", "endpoint_tls_version_info",
		"TLS version negotiated with the endpoint (1.0, 1.1, 1.2, 1.3); the value is always 1.", "target", "version")
	discoveryDesc = collectors.NewDesc(Name, "cert", "discovery_success",
		"1 if the certificate files configured in the source (postfix, dovecot) were found; absent when the software is not installed.", "source")
)

// Collector is the certificate collector.
type Collector struct {
	files           []string
	maxFiles        int
	postconf        string // empty: no Postfix discovery
	dovecotConfig   string // empty: no Dovecot discovery
	caFile          string
	endpoints       []endpoint
	endpointTimeout time.Duration
	params          probeParams
	logger          *zap.Logger

	// Replaced in tests.
	dial dialFunc
	run  runFunc
	now  func() time.Time

	logs collectors.LogOnChange // by kind:target
	// Touched only by Update, which is never called concurrently.
	lastDropped int
}

// New builds the collector from a validated config.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	c := &Collector{
		files:           append([]string(nil), cfg.Files...),
		maxFiles:        cfg.MaxFiles,
		caFile:          cfg.CAFile,
		endpointTimeout: cfg.EndpointTimeout.D(),
		params:          probeParams{ehlo: cfg.EHLOName},
		logger:          logger,
		dial:            (&net.Dialer{}).DialContext,
		run:             runCommand,
		now:             time.Now,
	}
	if c.maxFiles <= 0 {
		c.maxFiles = defaultMaxFiles
	}
	if c.endpointTimeout <= 0 {
		c.endpointTimeout = defaultEndpointTimeout
	}
	if cfg.Discover.Postfix == nil || *cfg.Discover.Postfix {
		c.postconf = cmpOr(cfg.Discover.Postconf, DefaultPostconf)
	}
	if cfg.Discover.Dovecot == nil || *cfg.Discover.Dovecot {
		c.dovecotConfig = cmpOr(cfg.Discover.DovecotConfig, DefaultDovecotConfig)
	}
	if c.params.ehlo == "" {
		c.params.ehlo = "localhost"
		if h, err := os.Hostname(); err == nil && isHostname(h) {
			c.params.ehlo = h
		}
	}
	for i, e := range cfg.Endpoints {
		ep, err := newEndpoint(e)
		if err != nil {
			return nil, fmt.Errorf("endpoints[%d]: %w", i, err)
		}
		c.endpoints = append(c.endpoints, ep)
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, notAfterDesc, notBeforeDesc, checkDesc, verifyDesc, matchesDesc, versionDesc, discoveryDesc)
}

// fileResult is one file read in this run.
type fileResult struct {
	chain []*x509.Certificate
	err   error
}

type probeResult struct {
	i   int
	s   served
	err error
}

// Update implements collectors.Collector. Endpoints are checked in
// parallel, each within endpoint_timeout, while the files are read.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := c.now()
	probes := make(chan probeResult, len(c.endpoints))
	for i, ep := range c.endpoints {
		go func() {
			pctx, cancel := context.WithTimeout(ctx, c.endpointTimeout)
			defer cancel()
			// Unrecovered, a panic in this goroutine would end the process.
			s, err := guarded(func() (served, error) { return probe(pctx, c.dial, ep, &c.params) })
			probes <- probeResult{i: i, s: s, err: err}
		}()
	}
	set, discovery := c.resolveFiles(ctx)
	files := map[string]fileResult{}
	for _, p := range set.paths {
		files[p] = readFile(ctx, p)
	}
	for _, ep := range c.endpoints {
		if _, ok := files[ep.expectFile]; ep.expectFile != "" && !ok {
			files[ep.expectFile] = readFile(ctx, ep.expectFile)
		}
	}
	roots, err := c.roots()
	r := &run{c: c, ch: ch, now: now, roots: roots, seen: map[string]bool{}}
	r.note("roots", cmpOr(c.caFile, "system"), err)
	r.emitFiles(set, files)
	r.emitEndpoints(c.waitProbes(ctx, probes), files)
	discErr := r.emitDiscovery(discovery)
	c.noteDropped(set)
	c.logs.Retain(func(k string) bool { return r.seen[k] }) // forget targets that went away
	switch {
	case r.total == 0 && discErr != nil:
		return discErr
	case r.total == 0:
		return fmt.Errorf("no certificate file found and no endpoint configured: %w", collectors.ErrNotApplicable)
	case r.ok == 0:
		return fmt.Errorf("all %d certificate checks failed", r.total)
	}
	return nil
}

func readFile(ctx context.Context, path string) fileResult {
	if err := ctx.Err(); err != nil {
		return fileResult{err: fmt.Errorf("%s: %w", path, err)}
	}
	chain, err := guarded(func() ([]*x509.Certificate, error) { return readBundle(path) })
	return fileResult{chain: chain, err: err}
}

// guarded calls f and returns a panic in it as its error, so that the panic
// fails only the target, pattern or discovery source f works on.
func guarded[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	if p := collectors.SafeCall(func() { v, err = f() }); p != nil {
		var zero T
		return zero, p
	}
	return v, err
}

// resolveFiles expands the globs and runs discovery. The map holds the
// outcome of each discovery source present on the host.
func (c *Collector) resolveFiles(ctx context.Context) (fileSet, map[string]error) {
	set := fileSet{globErrs: map[string]error{}}
	for _, f := range c.files {
		if !isGlob(f) {
			set.add(f, c.maxFiles)
			continue
		}
		matches, err := guarded(func() ([]string, error) { return expandGlob(f) })
		if err != nil {
			set.globErrs[f] = err
		}
		for _, m := range matches {
			set.add(m, c.maxFiles)
		}
	}
	discovery := map[string]error{}
	if c.postconf != "" {
		dctx, cancel := context.WithTimeout(ctx, c.endpointTimeout)
		found, err := guarded(func() ([]string, error) { return discoverPostfix(dctx, c.run, c.postconf) })
		cancel()
		if !errors.Is(err, errAbsent) {
			discovery[sourcePostfix] = err
		}
		for _, f := range found {
			set.add(f, c.maxFiles)
		}
	}
	if c.dovecotConfig != "" {
		found, err := guarded(func() ([]string, error) { return discoverDovecot(c.dovecotConfig) })
		if !errors.Is(err, errAbsent) {
			discovery[sourceDovecot] = err
		}
		for _, f := range found {
			set.add(f, c.maxFiles)
		}
	}
	return set, discovery
}

// waitProbes collects the endpoint results; those still running when ctx
// ends are failures of this run (they return soon after, as ctx closes
// their connections, into a buffered channel).
func (c *Collector) waitProbes(ctx context.Context, probes <-chan probeResult) []probeResult {
	out := make([]probeResult, len(c.endpoints))
	done := make([]bool, len(c.endpoints))
	for pending := len(c.endpoints); pending > 0; {
		select {
		case r := <-probes:
			out[r.i], done[r.i] = r, true
			pending--
		case <-ctx.Done():
			for i := range out {
				if !done[i] {
					out[i] = probeResult{i: i, err: &stageError{stage: "check", err: ctx.Err()}}
				}
			}
			pending = 0
		}
	}
	return out
}

// run holds the state of one emission.
type run struct {
	c         *Collector
	ch        chan<- prometheus.Metric
	now       time.Time
	roots     *x509.CertPool
	seen      map[string]bool
	total, ok int
	buf       []prometheus.Metric // the metrics of the target being emitted
}

func (r *run) gauge(d *prometheus.Desc, v float64, lv ...string) {
	r.buf = append(r.buf, collectors.Gauge(d, v, lv...))
}

func (r *run) note(kind, target string, err error) {
	r.seen[kind+":"+target] = true
	r.c.note(kind, target, err)
}

// target emits the metrics of one target, made by emit, which reports
// whether the target's certificate was read. A panic in emit costs this
// target only: what it made is dropped, the target is exported as
// check_success 0 and the panic is logged as its error.
func (r *run) target(label string, emit func() bool) {
	r.total++
	r.buf = r.buf[:0]
	var ok bool
	err := collectors.SafeCall(func() { ok = emit() })
	r.note("panic", label, err)
	if err != nil {
		ok = false
		r.buf = append(r.buf[:0], collectors.Gauge(checkDesc, 0, label))
	}
	for _, m := range r.buf {
		r.ch <- m
	}
	r.buf = r.buf[:0]
	if ok {
		r.ok++
	}
}

// leaf makes the dates and the verification of a certificate chain.
func (r *run) leaf(label string, chain []*x509.Certificate, name string) {
	r.gauge(notAfterDesc, float64(chain[0].NotAfter.Unix()), label)
	r.gauge(notBeforeDesc, float64(chain[0].NotBefore.Unix()), label)
	r.gauge(checkDesc, 1, label)
	if r.roots == nil {
		return
	}
	err := verify(chain, name, r.roots, r.now)
	r.note("verify", label, err)
	r.gauge(verifyDesc, collectors.B2F(err == nil), label)
}

func (r *run) emitFiles(set fileSet, files map[string]fileResult) {
	for pattern, err := range set.globErrs {
		r.target(pattern, func() bool {
			r.note("glob", pattern, err)
			r.gauge(checkDesc, 0, pattern)
			return false
		})
	}
	for _, p := range set.paths {
		r.target(p, func() bool {
			res := files[p]
			r.note("file", p, res.err)
			if res.err != nil {
				r.gauge(checkDesc, 0, p)
				return false
			}
			r.leaf(p, res.chain, "")
			return true
		})
	}
}

func (r *run) emitEndpoints(results []probeResult, files map[string]fileResult) {
	for i, ep := range r.c.endpoints {
		res := results[i]
		r.target(ep.label, func() bool {
			r.note("endpoint", ep.label, res.err)
			if res.err != nil {
				r.gauge(checkDesc, 0, ep.label)
				return false
			}
			r.leaf(ep.label, res.s.chain, ep.serverName)
			r.gauge(versionDesc, 1, ep.label, tlsVersion(res.s.version))
			if ep.expectFile == "" {
				return true
			}
			f := files[ep.expectFile]
			r.note("expect", ep.label, f.err)
			if f.err == nil {
				r.gauge(matchesDesc, collectors.B2F(bytes.Equal(f.chain[0].Raw, res.s.chain[0].Raw)), ep.label)
			}
			return true
		})
	}
}

// emitDiscovery reports the sources and returns the first failure.
func (r *run) emitDiscovery(discovery map[string]error) error {
	var first error
	for _, src := range []string{sourcePostfix, sourceDovecot} {
		err, ok := discovery[src]
		if !ok {
			continue
		}
		r.note("discovery", src, err)
		r.ch <- collectors.Gauge(discoveryDesc, collectors.B2F(err == nil), src)
		if err != nil && first == nil {
			first = fmt.Errorf("%s certificate discovery: %w", src, err)
		}
	}
	return first
}

var _ collectors.Collector = (*Collector)(nil)
