// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package dnsbl checks whether the mail host's own sending addresses and
// mail domains are on DNS block lists (DNSBLs, RFC 5782), by asking each
// configured list zone through a recursive resolver: the configured one
// (a local unbound, say) or those of /etc/resolv.conf.
//
// Answers are judged strictly (see Judge): Spamhaus's 127.255.255.x codes
// for "public resolver" or "over quota", 127.0.0.1, and NXDOMAIN rewritten
// by a resolver into an address outside 127/8 are query errors with a
// reason, never listings. The list's TXT explanation of a listing goes to
// the debug log, never into a label.
//
// The collector is off and has no targets by default, so a stock install
// sends no DNS query. Runs are rare (30 minutes by default, 5 at least),
// answers are cached for their TTL, and each query has its own deadline.
//
// A list that never answers delays nothing else. At most
// resolver.max_concurrent queries are in flight, and a free slot goes to the
// list with the fewest queries in flight (then the fewest timeouts in a row),
// so while other lists have queries left a silent list holds at most its
// share of the slots. A list whose query timed out is sent nothing more
// until its queries in flight are back, and after two timeouts in a row
// (no answer of that list between them) it is given up for the run: its
// remaining targets get query_success 0 without being asked. A run stops
// waiting a tenth of its timeout (at most 1 s) before the timeout ends and
// exports what was answered; the pairs not answered by then get
// query_success 0 (and listed 0, as every pair without a verdict).
//
// mailwatch_dnsbl_query_errors_total counts queries that were sent and gave
// no verdict. Targets not asked (a list given up, the run's deadline) and
// answers served from the cache are not counted again; every (zone, reason)
// series is exported from the first run, at 0.
//
// It needs no privileges: outgoing DNS to the resolver, and for
// auto_addresses the interface list and /proc/net/if_inet6.
package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

var (
	listedDesc = collectors.NewDesc(Name, "dnsbl", "listed",
		"1 if the DNS block list zone lists the target (a sending address or mail domain), 0 if it does not or the query gave no verdict.", "target", "zone")
	successDesc = collectors.NewDesc(Name, "dnsbl", "query_success",
		"1 if the last query of the zone for the target gave a verdict, 0 if it failed or the list answered with an error code.", "target", "zone")
	errorsDesc = collectors.NewDesc(Name, "dnsbl", "query_errors_total",
		"DNS block list queries that gave no verdict since mailwatchd started, by zone and reason.", "zone", "reason")
)

// Target is an address or a domain to look up.
type Target struct {
	Label  string     // the target label value
	Addr   netip.Addr // set for an address
	Domain string     // set for a domain
}

type zoneSpec struct {
	label string // as configured: the zone label value
	query string // the zone actually asked (differs with a DQS key)
	kind  string
}

type pair struct {
	target Target
	zone   zoneSpec
}

type pairKey struct{ target, zone string }

// Collector is the dnsbl collector.
type Collector struct {
	targets   []Target
	auto      bool
	zones     []zoneSpec
	usedZones []string // zones some target is checked against: their error counters are exported
	res       Resolver
	hostAddrs func() ([]netip.Addr, error)
	logger    *zap.Logger
	secret    string // the DQS key: part of query names, never logged
	// maxInFlight bounds the queries in flight (resolver.max_concurrent).
	// The resolver has the same bound (and stays the hard one); keeping
	// to it here means queries wait in the collector, which shares the
	// slots among the lists (see query), and not in the resolver's
	// semaphore, which serves them in arrival order whatever their list.
	maxInFlight int

	mu      sync.Mutex
	errors  map[string]map[string]float64 // zone -> reason -> count, held across runs
	state   map[pairKey]string            // last logged state: "listed", "" or a reason
	answers map[pairKey]*dnsclient.Response
	logs    collectors.LogOnChange // of the host's address listing
}

// New builds the collector with a miekg/dns resolver from cfg.Resolver.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	cfg.Resolver.ApplyDefaults()
	res, err := dnsclient.New(cfg.Resolver, nil)
	if err != nil {
		return nil, fmt.Errorf("dnsbl resolver: %w", err)
	}
	return NewWithResolver(cfg, res, hostAddresses, logger), nil
}

// NewWithResolver builds the collector with the given resolver and source
// of host addresses (for auto_addresses). cfg must be valid.
func NewWithResolver(cfg Config, res Resolver, hostAddrs func() ([]netip.Addr, error), logger *zap.Logger) *Collector {
	cfg.Zones = append([]Zone(nil), cfg.Zones...)
	cfg.ApplyDefaults()
	if hostAddrs == nil {
		hostAddrs = hostAddresses
	}
	c := &Collector{
		auto:        cfg.AutoAddresses,
		res:         res,
		hostAddrs:   hostAddrs,
		logger:      logger,
		secret:      string(cfg.SpamhausDQSKey),
		maxInFlight: max(cfg.Resolver.MaxConcurrent, 1),
		errors:      map[string]map[string]float64{},
		state:       map[pairKey]string{},
		answers:     map[pairKey]*dnsclient.Response{},
	}
	for _, s := range cfg.Addresses {
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap()
			c.targets = append(c.targets, Target{Label: a.String(), Addr: a})
		}
	}
	for _, d := range cfg.Domains {
		n := dnsclient.NormalizeName(d)
		c.targets = append(c.targets, Target{Label: n, Domain: n})
	}
	hasAddrs, hasDomains := len(cfg.Addresses) > 0 || cfg.AutoAddresses, len(cfg.Domains) > 0
	for _, z := range cfg.Zones {
		name := dnsclient.NormalizeName(z.Zone)
		zs := zoneSpec{label: name, query: name, kind: z.Kind}
		if key := string(cfg.SpamhausDQSKey); key != "" {
			if list, ok := strings.CutSuffix(name, ".spamhaus.org"); ok {
				zs.query = key + "." + list + ".dq.spamhaus.net"
			}
		}
		c.zones = append(c.zones, zs)
		if (z.Kind == KindIP && hasAddrs) || (z.Kind == KindDomain && hasDomains) {
			c.usedZones = append(c.usedZones, name)
			c.errors[name] = map[string]float64{}
		}
	}
	return c
}

// Inherit takes over what a collector built from the previous config had
// accumulated, so that a reload neither resets the error counters of zones
// that are still configured nor logs again the listings already logged.
// prev of another type is ignored. Call it before the first Update.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok || old == c {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for zone, counts := range c.errors {
		for reason, n := range old.errors[zone] {
			counts[reason] += n
		}
	}
	for k, v := range old.state {
		c.state[k] = v
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, listedDesc, successDesc, errorsDesc)
}

type result struct {
	pair
	v    Verdict
	err  error
	sent bool                // the query was handed to the resolver (false: not asked)
	resp *dnsclient.Response // the answer, nil without one
}

// Update implements collectors.Collector. It returns before ctx's deadline
// (see withEmitMargin) with every pair's series, answered or not.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	pairs := c.pairs(c.currentTargets())
	if len(pairs) == 0 {
		return fmt.Errorf("no address or domain to check (auto_addresses found no public address): %w", collectors.ErrNotApplicable)
	}
	qctx, cancel := withEmitMargin(ctx)
	defer cancel()
	return c.emit(c.query(qctx, pairs), ch)
}

// currentTargets is the configured targets plus, with auto_addresses, the
// host's public addresses not configured already.
func (c *Collector) currentTargets() []Target {
	if !c.auto {
		return c.targets
	}
	targets := append([]Target(nil), c.targets...)
	addrs, err := c.hostAddrs()
	c.noteAutoError(err)
	for _, a := range addrs {
		dup := false
		for _, t := range targets {
			dup = dup || t.Addr == a
		}
		if !dup {
			targets = append(targets, Target{Label: a.String(), Addr: a})
		}
	}
	return targets
}

func (c *Collector) pairs(targets []Target) []pair {
	var out []pair
	for _, t := range targets {
		for _, z := range c.zones {
			if (z.kind == KindIP) == t.Addr.IsValid() {
				out = append(out, pair{target: t, zone: z})
			}
		}
	}
	return out
}

// check asks one zone about one target; with debug logging on, a listing's
// TXT record (the list's explanation, often a removal URL) is logged.
func (c *Collector) check(ctx context.Context, p pair) result {
	name := queryName(p.target, p.zone.query)
	resp, err := c.res.Query(ctx, name, dns.TypeA)
	v := Judge(resp, err)
	if err != nil {
		resp = nil
	}
	if v.Listed && c.logger.Core().Enabled(zap.DebugLevel) {
		if txt, terr := c.res.Query(ctx, name, dns.TypeTXT); terr == nil {
			for _, s := range txt.TXT() {
				c.logger.Debug("dnsbl listing reason", zap.String("target", p.target.Label), zap.String("zone", p.zone.label), zap.String("txt", truncate(s, 300)))
			}
		}
	}
	return result{pair: p, v: v, err: err, sent: true, resp: resp}
}

func (c *Collector) emit(results []result, ch chan<- prometheus.Metric) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	resolverDown := 0
	first := -1 // the first failure of a query sent, for the run's error
	for i, r := range results {
		c.noteState(r)
		cached := c.fromCache(r)
		lv := []string{r.target.Label, r.zone.label}
		ch <- collectors.Gauge(listedDesc, collectors.B2F(r.v.Listed), lv...)
		ch <- collectors.Gauge(successDesc, collectors.B2F(r.v.Reason == ""), lv...)
		if r.v.Reason == "" {
			continue
		}
		// Only a query sent counts; a cached answer was counted when it came.
		if m := c.errors[r.zone.label]; m != nil && r.sent && !cached {
			m[r.v.Reason]++
		}
		if isResolverReason(r.v.Reason) {
			resolverDown++
		}
		if first < 0 && r.sent {
			first = i
		}
	}
	for _, z := range c.usedZones {
		for _, reason := range Reasons {
			ch <- collectors.Counter(errorsDesc, c.errors[z][reason], z, reason)
		}
	}
	if resolverDown == len(results) {
		return fmt.Errorf("no answer from the resolver for any of %d queries (first: %s)", len(results), c.redact(describe(results[max(first, 0)])))
	}
	return nil
}

// fromCache reports whether r's answer is the one this pair got in an
// earlier run, served again from the resolver's cache without a query: the
// dnsclient cache hands out the very Response it stored (it is shared, see
// dnsclient.Client.Query), and every answer from the wire is a new one. It
// remembers r's answer for the next run; c.mu is held.
func (c *Collector) fromCache(r result) bool {
	k := pairKey{r.target.Label, r.zone.label}
	prev := c.answers[k]
	if r.resp == nil {
		if r.sent {
			delete(c.answers, k)
		}
		return false
	}
	c.answers[k] = r.resp
	return prev == r.resp
}

// isResolverReason: the failure says nothing about the list, only that the
// resolver (or the path to it) did not answer.
func isResolverReason(r string) bool {
	switch r {
	case dnsclient.ReasonTimeout, dnsclient.ReasonNetwork, dnsclient.ReasonServfail, dnsclient.ReasonRefused, dnsclient.ReasonOtherRcode:
		return true
	}
	return false
}

// noteState logs a pair when its state changes, not every run; c.mu is held.
func (c *Collector) noteState(r result) {
	k := pairKey{r.target.Label, r.zone.label}
	now := r.v.Reason
	if r.v.Listed {
		now = "listed"
	}
	prev, seen := c.state[k]
	c.state[k] = now
	if seen && prev == now || !seen && now == "" {
		return
	}
	fields := []zap.Field{zap.String("target", r.target.Label), zap.String("zone", r.zone.label)}
	switch {
	case now == "listed":
		c.logger.Warn("target is listed on dns block list", append(fields, zap.Stringers("codes", r.v.Codes))...)
	case now == "" && prev == "listed":
		c.logger.Info("target no longer listed on dns block list", fields...)
	case now == "":
		c.logger.Info("dns block list query answered again", fields...)
	default:
		fields = append(fields, zap.String("reason", now))
		if r.err != nil {
			fields = append(fields, zap.String("error", c.redact(r.err.Error())))
		}
		if len(r.v.Codes) > 0 {
			fields = append(fields, zap.Stringers("codes", r.v.Codes))
		}
		if h := hints[now]; h != "" {
			fields = append(fields, zap.String("hint", h))
		}
		c.logger.Warn("dns block list query gave no verdict", fields...)
	}
}

var hints = map[string]string{
	reasonPublicResolver: "the list refuses queries relayed by public resolvers: set resolver.servers to a local recursive resolver, or use spamhaus_dqs_key",
	reasonRateLimited:    "the resolver's address is over the list's free query quota: use a local recursive resolver or spamhaus_dqs_key",
	reasonTypo:           "the zone name is wrong",
	reasonInvalidAnswer:  "the answer is not a DNSBL code: a resolver rewriting NXDOMAIN, or the list refusing this querier",
}

func (c *Collector) noteAutoError(err error) {
	c.logs.Note(c.logger, "auto_addresses", err, collectors.Problem{Level: zap.WarnLevel, Failed: "cannot list the host's addresses"})
}

// redact hides the DQS key, which is part of every Spamhaus query name.
func (c *Collector) redact(s string) string {
	if c.secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.secret, "<dqs-key>")
	return strings.ReplaceAll(s, strings.ToLower(c.secret), "<dqs-key>")
}

func describe(r result) string {
	if r.err != nil {
		return r.err.Error()
	}
	return r.v.Reason
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var _ collectors.Collector = (*Collector)(nil)
