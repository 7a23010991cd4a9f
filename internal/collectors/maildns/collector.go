// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package maildns checks the DNS records a mail domain needs for its mail to
// be accepted, the checklist of every "why does my mail go to spam" guide:
// MX present and resolvable, exactly one SPF record that parses and stays
// within 10 DNS lookups, a DMARC policy, each DKIM selector's key record
// (matching the local OpenDKIM key when it can be read), and PTR records of
// the sending addresses that resolve back to them (forward-confirmed reverse
// DNS). Queries go to the configured recursive resolver or those of
// /etc/resolv.conf; answers are cached for their TTL.
//
// Labels are the configured domains and a fixed check enumeration; why a
// check fails (which record, what is wrong) goes to the log when it starts
// failing. The collector is off and has no domains by default.
//
// It also evaluates each sending address's SPF result (spfeval.go), checks
// DANE of configured MX hosts (dane.go: TLSA records against the
// certificate served on port 25 and the certificate file) and, for domains
// that ask, MTA-STS and TLS-RPT (mtasts.go: the policy fetched over HTTPS,
// its id; served.go: each MX host's certificate judged as a sender that
// applies the policy would, read once per run for DANE and MTA-STS).
//
// It needs outgoing DNS; DANE connects to port 25 of the configured MX
// hosts and MTA-STS to port 443 of mta-sts.<domain> and port 25 of the
// domain's MX hosts; comparing DKIM keys needs read access to the
// key files (OpenDKIM keeps them mode 0600 opendkim:opendkim: add the daemon
// to the opendkim group and make them 0640, or point key_file at a copy of
// the public .txt record).
package maildns

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

var (
	successDesc = collectors.NewDesc(Name, "dns", "check_success",
		"1 if the mail DNS check of the domain passes (check: mx, spf, dmarc, dkim, ptr, fcrdns), 0 if it fails or could not be made.", "domain", "check")
	querySuccessDesc = collectors.NewDesc(Name, "dns", "check_query_success",
		"1 if every DNS query of the check was answered; 0 means the resolver failed and check_success says nothing about the records.", "domain", "check")
	spfLookupsDesc = collectors.NewDesc(Name, "dns", "spf_lookups",
		"DNS-querying terms (include, a, mx, ptr, exists, redirect) the domain's SPF evaluation needs, includes and redirects followed; counting stops above 10, where receivers fail SPF.", "domain")
	daneQuerySuccessDesc = collectors.NewDesc(Name, "dns", "dane_query_success",
		"1 if the TLSA query of _25._tcp.<mx> was answered (records or none), 0 if the resolver failed.", "mx")
	daneRecordsDesc = collectors.NewDesc(Name, "dns", "dane_tlsa_records",
		"Usable TLSA records (DANE-TA 2, DANE-EE 3) at _25._tcp.<mx>; absent when the query failed.", "mx")
	daneReadDesc = collectors.NewDesc(Name, "dns", "dane_certificate_read_success",
		"1 if the certificate (served: over SMTP STARTTLS on port 25; file: the configured certificate file) could be read.", "mx", "certificate")
	daneMatchDesc = collectors.NewDesc(Name, "dns", "dane_match",
		"1 if a usable TLSA record of _25._tcp.<mx> matches the certificate (served or file), 0 if none does or it could not be read.", "mx", "certificate")
	stsValidDesc = collectors.NewDesc(Name, "dns", "mta_sts_policy_valid",
		"1 if the domain's _mta-sts TXT record is valid and its policy was fetched over HTTPS (certificate verified) and parses.", "domain")
	stsModeDesc = collectors.NewDesc(Name, "dns", "mta_sts_mode",
		"1 for the mode (enforce, testing, none) of the domain's MTA-STS policy, 0 for the others; all 0 without a valid policy.", "domain", "mode")
	stsMaxAgeDesc = collectors.NewDesc(Name, "dns", "mta_sts_max_age_seconds",
		"max_age of the domain's MTA-STS policy; absent without a valid policy.", "domain")
	stsMXCoveredDesc = collectors.NewDesc(Name, "dns", "mta_sts_mx_covered",
		"1 if every MX host of the domain matches an mx pattern of its MTA-STS policy, 0 if one does not or there is no valid policy.", "domain")
	stsIDDesc = collectors.NewDesc(Name, "dns", "mta_sts_policy_id_info",
		"1, labelled with the id of the domain's _mta-sts TXT record; absent without a valid policy.", "domain", "id")
	stsStaleDesc = collectors.NewDesc(Name, "dns", "mta_sts_policy_changed_without_new_id",
		"1 if the domain's MTA-STS policy (mode, max_age, mx) differs from the one this process first saw under the same _mta-sts id: senders keep the cached policy until the id changes or max_age ends.", "domain")
	stsMXResultDesc = collectors.NewDesc(Name, "dns", "mta_sts_mx_result",
		"1 for how a sender enforcing the domain's MTA-STS policy judges the MX host (ok; not_covered: no mx pattern matches it; starttls_not_supported, validation_failure: no TLS; certificate_host_mismatch, certificate_expired, certificate_not_trusted: its certificate served on port 25; unreachable: not checked), 0 for the others; absent without a valid policy or in mode none.", "domain", "mx", "result")
	tlsRPTDesc = collectors.NewDesc(Name, "dns", "tls_rpt_record_present",
		"1 if the domain publishes exactly one TLS-RPT record (_smtp._tls.<domain>, v=TLSRPTv1 with rua=).", "domain")
	dmarcPolicyDesc = collectors.NewDesc(Name, "dns", "dmarc_policy",
		"1 for the DMARC policy (none, quarantine, reject) that applies to the domain, 0 for the others; all 0 when no valid record applies.", "domain", "policy")
	spfResultDesc = collectors.NewDesc(Name, "dns", "spf_result",
		"1 for the result (pass, fail, softfail, neutral, none, permerror, temperror) of the domain's SPF record evaluated for the configured sending address, 0 for the others.", "domain", "address", "result")
)

type domainSpec struct {
	name string
	sels []selectorSpec // configured selectors
	ips  []netip.Addr
	sts  bool // check MTA-STS and TLS-RPT
}

// Collector is the mail_dns collector.
type Collector struct {
	domains []domainSpec
	dane    []daneSpec
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	// roots are the MTA-STS trust anchors (policy host and MX
	// certificates) when caFile is empty; nil: the system's.
	roots  *x509.CertPool
	caFile string // mta_sts_ca_file, read every run
	// ehlo and smtpTimeout: the SMTP dialogue with an MX host that is not
	// configured under dane.
	ehlo        string
	smtpTimeout time.Duration
	now         func() time.Time
	keyTable    string
	check       checker
	logger      *zap.Logger

	logs collectors.LogOnChange // per domain and check: the failure last logged

	stsMu   sync.Mutex
	stsSeen map[string]stsBaseline // per MTA-STS domain: the policy first seen under its id
}

// New builds the collector with a miekg/dns resolver from cfg.Resolver.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	cfg.Resolver.ApplyDefaults()
	res, err := dnsclient.New(cfg.Resolver, nil)
	if err != nil {
		return nil, fmt.Errorf("mail_dns resolver: %w", err)
	}
	return NewWithResolver(cfg, res, logger), nil
}

// NewWithResolver builds the collector with the given resolver; cfg must be
// valid.
func NewWithResolver(cfg Config, res Resolver, logger *zap.Logger) *Collector {
	c := &Collector{keyTable: cfg.OpenDKIMKeyTable, check: checker{res: res}, logger: logger, dial: (&net.Dialer{}).DialContext,
		caFile: cfg.MTASTSCAFile, smtpTimeout: smtpTimeout, now: time.Now, stsSeen: map[string]stsBaseline{}}
	ehlo, err := os.Hostname()
	if err != nil || !dnsclient.IsHostname(ehlo) {
		ehlo = "localhost"
	}
	c.ehlo = ehlo
	for _, t := range cfg.DANE {
		c.dane = append(c.dane, daneSpec{mx: mxLabel(t.MX), address: t.Address, certFile: t.CertFile, ehlo: ehlo, timeout: smtpTimeout})
	}
	for _, d := range cfg.Domains {
		ds := domainSpec{name: dnsclient.NormalizeName(d.Domain), sts: d.MTASTS}
		for _, s := range d.DKIM {
			ds.sels = append(ds.sels, selectorSpec{name: strings.ToLower(s.Selector), key: s.KeyFile})
		}
		for _, s := range d.SendingIPs {
			if a, err := netip.ParseAddr(s); err == nil {
				ds.ips = append(ds.ips, a.Unmap())
			}
		}
		c.domains = append(c.domains, ds)
	}
	return c
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, successDesc, querySuccessDesc, spfLookupsDesc, dmarcPolicyDesc, spfResultDesc,
		daneQuerySuccessDesc, daneRecordsDesc, daneReadDesc, daneMatchDesc,
		stsValidDesc, stsModeDesc, stsMaxAgeDesc, stsMXCoveredDesc, stsMXResultDesc, stsIDDesc, stsStaleDesc, tlsRPTDesc)
}

// domainResult is everything measured for one domain.
type domainResult struct {
	checks     map[string]outcome
	order      []string
	spfLookups int             // -1: unknown
	policy     string          // "": none applies
	spfEval    []spfEvalResult // per sending address, in config order
	sts        *mtaSTSResult   // nil: not checked
}

// Update implements collectors.Collector.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if len(c.domains) == 0 && len(c.dane) == 0 {
		return fmt.Errorf("no domain configured: %w", collectors.ErrNotApplicable)
	}
	table, tableErr := c.readKeyTable()
	// Jobs 0..len(domains)-1 are the domains, the rest the DANE hosts.
	jobs := len(c.domains) + len(c.dane)
	done := make(chan int, jobs)
	results := make([]domainResult, len(c.domains))
	daneResults := make([]daneResult, len(c.dane))
	// One SMTP dialogue per MX host and run, shared by DANE and MTA-STS.
	served := newServedCerts(c.check, c.dial, c.dane, c.ehlo, c.smtpTimeout)
	sts := stsTools{served: served, now: c.now()}
	sts.roots, sts.rootsErr = c.trustRoots()
	sts.client = c.check.policyClient(c.dial, sts.roots)
	defer sts.client.CloseIdleConnections()
	for i, d := range c.domains {
		sels, selErr := c.selectors(d, table, tableErr)
		go func() {
			results[i] = c.run(ctx, d, sels, selErr, sts)
			done <- i
		}()
	}
	for i, s := range c.dane {
		go func() {
			daneResults[i] = c.check.daneCheck(ctx, s, served)
			done <- len(c.domains) + i
		}()
	}
	finished := make([]bool, jobs)
	for n := 0; n < jobs; n++ {
		select {
		case i := <-done:
			finished[i] = true
		case <-ctx.Done():
			n = jobs
			// Finished just before the deadline: keep.
			collectors.DrainReady(done, func(i int) { finished[i] = true })
		}
	}
	out := make([]domainResult, len(c.domains))
	for i, d := range c.domains {
		if finished[i] {
			out[i] = results[i]
		} else {
			out[i] = c.timedOut(d, ctx.Err())
		}
	}
	daneOut := make([]daneResult, len(c.dane))
	for i := range c.dane {
		if finished[len(c.domains)+i] {
			daneOut[i] = daneResults[i]
		} else {
			daneOut[i] = daneResult{why: fmt.Sprintf("run ended before the check did: %v", ctx.Err()),
				read: map[string]bool{}, match: map[string]bool{}}
		}
	}
	c.emitDANE(daneOut, ch)
	return c.emit(out, ch)
}

func (c *Collector) emitDANE(results []daneResult, ch chan<- prometheus.Metric) {
	for i, r := range results {
		s := c.dane[i]
		c.noteDANE(s.mx, r.why)
		ch <- collectors.Gauge(daneQuerySuccessDesc, collectors.B2F(r.queryOK), s.mx)
		if r.queryOK {
			ch <- collectors.Gauge(daneRecordsDesc, float64(r.records), s.mx)
		}
		which := []string{daneServed}
		if s.certFile != "" {
			which = append(which, daneFile)
		}
		for _, w := range which {
			ch <- collectors.Gauge(daneReadDesc, collectors.B2F(r.read[w]), s.mx, w)
			ch <- collectors.Gauge(daneMatchDesc, collectors.B2F(r.match[w]), s.mx, w)
		}
	}
}

// noteSTS logs a domain's MTA-STS or TLS-RPT problem when it starts or
// changes, and its recovery once.
func (c *Collector) noteSTS(domain, why string) {
	if _, changed := c.logs.Change("mta-sts "+domain, why); !changed {
		return
	}
	if why == "" {
		c.logger.Info("mta-sts check passes again", zap.String("domain", domain))
		return
	}
	c.logger.Warn("mta-sts check fails", zap.String("domain", domain), zap.String("why", why))
}

// noteDANE logs an MX host's DANE problem when it starts or changes, and
// its recovery once.
func (c *Collector) noteDANE(mx, why string) {
	if _, changed := c.logs.Change("dane "+mx, why); !changed {
		return
	}
	if why == "" {
		c.logger.Info("dane check passes again", zap.String("mx", mx))
		return
	}
	c.logger.Warn("dane check fails", zap.String("mx", mx), zap.String("why", why))
}

// run makes the checks of one domain, concurrently (the resolver bounds
// how many queries are in flight).
func (c *Collector) run(ctx context.Context, d domainSpec, sels []selectorSpec, selErr error, sts stsTools) domainResult {
	r := domainResult{checks: map[string]outcome{}, order: c.checksOf(d), spfLookups: -1}
	var mu sync.Mutex
	var wg sync.WaitGroup
	set := func(name string, o outcome) {
		mu.Lock()
		r.checks[name] = o
		mu.Unlock()
	}
	wg.Go(func() { set(checkMX, c.check.mx(ctx, d.name)) })
	wg.Go(func() {
		o, n := c.check.spf(ctx, d.name)
		set(checkSPF, o)
		mu.Lock()
		r.spfLookups = n
		mu.Unlock()
	})
	wg.Go(func() {
		o, p := c.check.dmarc(ctx, d.name)
		set(checkDMARC, o)
		mu.Lock()
		r.policy = p
		mu.Unlock()
	})
	if c.hasDKIM(d) {
		wg.Go(func() { set(checkDKIM, c.check.dkim(ctx, d.name, sels, selErr)) })
	}
	if d.sts {
		wg.Go(func() {
			r2 := c.check.mtaSTS(ctx, d.name, sts)
			mu.Lock()
			r.sts = &r2
			mu.Unlock()
		})
	}
	if len(d.ips) > 0 {
		wg.Go(func() {
			ptr, fc := c.check.reverse(ctx, d.ips)
			set(checkPTR, ptr)
			set(checkFCrDNS, fc)
		})
		wg.Go(func() {
			evals := make([]spfEvalResult, len(d.ips))
			for i, ip := range d.ips {
				evals[i] = c.check.evalSPF(ctx, d.name, ip)
			}
			mu.Lock()
			r.spfEval = evals
			mu.Unlock()
		})
	}
	wg.Wait()
	return r
}

// checksOf lists the checks made for d, in export order.
func (c *Collector) checksOf(d domainSpec) []string {
	out := []string{checkMX, checkSPF, checkDMARC}
	if c.hasDKIM(d) {
		out = append(out, checkDKIM)
	}
	if len(d.ips) > 0 {
		out = append(out, checkPTR, checkFCrDNS)
	}
	return out
}

func (c *Collector) hasDKIM(d domainSpec) bool { return len(d.sels) > 0 || c.keyTable != "" }

func (c *Collector) timedOut(d domainSpec, err error) domainResult {
	r := domainResult{checks: map[string]outcome{}, order: c.checksOf(d), spfLookups: -1}
	for _, name := range r.order {
		r.checks[name] = outcome{queryFailed: true, why: fmt.Sprintf("run ended before the check did: %v", err)}
	}
	for range d.ips {
		r.spfEval = append(r.spfEval, spfRes(spfTemperror, "run ended before the evaluation did: %v", err))
	}
	if d.sts {
		r.sts = &mtaSTSResult{why: fmt.Sprintf("run ended before the MTA-STS check did: %v", err)}
	}
	return r
}

// maxCAFile bounds mta_sts_ca_file: a bundle of every public root is
// about 200 KiB.
const maxCAFile = 1 << 20

// trustRoots are the MTA-STS trust anchors of this run: mta_sts_ca_file,
// re-read every run (a renewed private CA is picked up), or c.roots.
func (c *Collector) trustRoots() (*x509.CertPool, error) {
	if c.caFile == "" {
		return c.roots, nil
	}
	data, err := collectors.ReadFileMax(c.caFile, maxCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.caFile)
	}
	return pool, nil
}

// readKeyTable reads the OpenDKIM key table when one is configured.
func (c *Collector) readKeyTable() ([]keyTableEntry, error) {
	if c.keyTable == "" {
		return nil, nil
	}
	return readKeyTable(c.keyTable)
}

// selectors: the configured ones, with key files from the key table where
// none is set; or, with none configured, every selector of the key table
// for the domain.
func (c *Collector) selectors(d domainSpec, table []keyTableEntry, tableErr error) ([]selectorSpec, error) {
	if c.keyTable == "" {
		return d.sels, nil
	}
	if tableErr != nil && len(d.sels) == 0 {
		return nil, tableErr
	}
	if len(d.sels) == 0 {
		var out []selectorSpec
		for _, e := range table {
			if e.domain == d.name && len(out) < maxSelectors {
				out = append(out, selectorSpec{name: strings.ToLower(e.selector), key: e.key})
			}
		}
		return out, nil
	}
	out := append([]selectorSpec(nil), d.sels...)
	for i := range out {
		for _, e := range table {
			if out[i].key == "" && e.domain == d.name && strings.EqualFold(e.selector, out[i].name) {
				out[i].key = e.key
			}
		}
	}
	return out, nil
}

func (c *Collector) emit(results []domainResult, ch chan<- prometheus.Metric) error {
	total, unanswered := 0, 0
	for i, r := range results {
		domain := c.domains[i].name
		for _, name := range r.order {
			o := r.checks[name]
			c.note(domain, name, o)
			total++
			if o.queryFailed {
				unanswered++
			}
			ch <- collectors.Gauge(successDesc, collectors.B2F(o.ok), domain, name)
			ch <- collectors.Gauge(querySuccessDesc, collectors.B2F(!o.queryFailed), domain, name)
		}
		if r.spfLookups >= 0 {
			ch <- collectors.Gauge(spfLookupsDesc, float64(r.spfLookups), domain)
		}
		for _, p := range dmarcPolicies {
			ch <- collectors.Gauge(dmarcPolicyDesc, collectors.B2F(r.policy == p), domain, p)
		}
		if r.sts != nil {
			stale := c.policyStale(domain, r.sts)
			why := r.sts.why
			if stale && why == "" {
				why = "the policy changed but the _mta-sts id " + r.sts.id + " did not: senders that cached the old one keep it"
			}
			c.noteSTS(domain, why)
			ch <- collectors.Gauge(stsValidDesc, collectors.B2F(r.sts.ok), domain)
			for _, m := range mtaSTSModes {
				ch <- collectors.Gauge(stsModeDesc, collectors.B2F(r.sts.mode == m), domain, m)
			}
			if r.sts.ok {
				ch <- collectors.Gauge(stsMaxAgeDesc, r.sts.maxAge, domain)
				ch <- collectors.Gauge(stsIDDesc, 1, domain, r.sts.id)
				ch <- collectors.Gauge(stsStaleDesc, collectors.B2F(stale), domain)
			}
			ch <- collectors.Gauge(stsMXCoveredDesc, collectors.B2F(r.sts.mxCovered), domain)
			for _, m := range r.sts.mxs {
				for _, res := range stsMXResults {
					ch <- collectors.Gauge(stsMXResultDesc, collectors.B2F(m.result == res), domain, m.host, res)
				}
			}
			ch <- collectors.Gauge(tlsRPTDesc, collectors.B2F(r.sts.tlsRPT), domain)
		}
		for j, ev := range r.spfEval {
			addr := c.domains[i].ips[j].String()
			c.noteSPF(domain, addr, ev)
			for _, res := range spfResults {
				ch <- collectors.Gauge(spfResultDesc, collectors.B2F(ev.result == res), domain, addr, res)
			}
		}
	}
	if total > 0 && unanswered == total && len(c.dane) == 0 {
		return fmt.Errorf("no DNS answer for any of %d checks (first: %s)", total, results[0].checks[results[0].order[0]].why)
	}
	return nil
}

// note logs a check when it starts failing, fails differently, or
// recovers; never the same failure every run.
func (c *Collector) note(domain, check string, o outcome) {
	if _, changed := c.logs.Change(domain+" "+check, o.why); !changed {
		return
	}
	switch {
	case o.ok:
		c.logger.Info("mail dns check passes again", zap.String("domain", domain), zap.String("check", check))
	case o.queryFailed:
		c.logger.Warn("mail dns check could not query", zap.String("domain", domain), zap.String("check", check), zap.String("why", o.why))
	default:
		c.logger.Warn("mail dns check fails", zap.String("domain", domain), zap.String("check", check), zap.String("why", o.why))
	}
}

// noteSPF logs a sending address's SPF result when it stops being pass,
// changes, or is pass again.
func (c *Collector) noteSPF(domain, addr string, ev spfEvalResult) {
	state := ""
	if ev.result != spfPass {
		state = ev.result + ": " + ev.why
	}
	if _, changed := c.logs.Change(domain+" spf "+addr, state); !changed {
		return
	}
	if ev.result == spfPass {
		c.logger.Info("spf passes for the sending address again", zap.String("domain", domain), zap.String("address", addr))
		return
	}
	c.logger.Warn("spf does not pass for a sending address", zap.String("domain", domain), zap.String("address", addr),
		zap.String("result", ev.result), zap.String("why", ev.why))
}

var _ collectors.Collector = (*Collector)(nil)
