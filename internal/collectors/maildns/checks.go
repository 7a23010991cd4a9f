// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// Check names: the check label values.
const (
	checkMX     = "mx"
	checkSPF    = "spf"
	checkDMARC  = "dmarc"
	checkDKIM   = "dkim"
	checkPTR    = "ptr"
	checkFCrDNS = "fcrdns"
)

const (
	maxMXHosts   = 10 // MX hosts tried for an address
	maxPTRNames  = 5  // PTR names tried for forward confirmation
	maxDMARCWalk = 8  // DMARCbis tree walk: at most this many names
)

// outcome is the result of one check.
type outcome struct {
	ok bool
	// queryFailed: a query got no usable answer (timeout, SERVFAIL, ...),
	// so a failure says nothing about the records.
	queryFailed bool
	// why the check failed, for the log; "" when ok.
	why string
}

func pass() outcome                        { return outcome{ok: true} }
func fail(format string, a ...any) outcome { return outcome{why: fmt.Sprintf(format, a...)} }
func unanswered(name, reason string) outcome {
	return outcome{queryFailed: true, why: "query " + name + ": " + reason}
}

// checker runs the checks of one domain against a resolver.
type checker struct {
	res Resolver
	// policyTimeout bounds one MTA-STS policy fetch; 0: policyTimeout.
	policyTimeout time.Duration
}

// query asks for name/qtype; failed is "" when the answer is usable.
func (c checker) query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, string) {
	resp, err := c.res.Query(ctx, name, qtype)
	if reason := dnsclient.FailureReason(resp, err); reason != "" {
		return nil, reason
	}
	return resp, ""
}

// mx: the domain has MX records, not only a null MX (RFC 7505), and at
// least one MX host has an address.
func (c checker) mx(ctx context.Context, domain string) outcome {
	resp, failed := c.query(ctx, domain, dns.TypeMX)
	if failed != "" {
		return unanswered(domain+" MX", failed)
	}
	if resp.Rcode == dns.RcodeNameError {
		return fail("domain does not exist (NXDOMAIN)")
	}
	mxs := resp.MX()
	slices.SortStableFunc(mxs, func(a, b dnsclient.MX) int { return int(a.Preference) - int(b.Preference) })
	var hosts []string
	for _, m := range mxs {
		if m.Host != "." && m.Host != "" {
			hosts = append(hosts, m.Host)
		}
	}
	switch {
	case len(mxs) == 0:
		return fail("no MX record")
	case len(hosts) == 0:
		return fail("null MX: the domain declares it accepts no mail")
	}
	unans := ""
	for _, h := range hosts[:min(len(hosts), maxMXHosts)] {
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			r, failed := c.query(ctx, h, qt)
			if failed != "" {
				unans = failed
				continue
			}
			if len(r.Addrs()) > 0 {
				return pass()
			}
		}
	}
	if unans != "" {
		return unanswered("MX hosts of "+domain, unans)
	}
	return fail("no MX host (%s) has an A or AAAA record", strings.Join(hosts, ", "))
}

// spfRecord fetches the one SPF record of name.
func (c checker) spfRecord(ctx context.Context, name string) (*SPFRecord, outcome) {
	resp, failed := c.query(ctx, name, dns.TypeTXT)
	if failed != "" {
		return nil, unanswered(name+" TXT", failed)
	}
	var recs []string
	for _, t := range resp.TXT() {
		if IsSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return nil, fail("%s has no SPF record", name)
	case 1:
	default:
		return nil, fail("%s has %d SPF records, must have exactly one (RFC 7208 section 4.5)", name, len(recs))
	}
	rec, err := ParseSPF(recs[0])
	if err != nil {
		return nil, fail("SPF record of %s does not parse: %v", name, err)
	}
	return rec, pass()
}

// spf: exactly one SPF record that parses, does not pass everyone, and
// whose includes and redirect also have one valid record each, all within
// 10 DNS-querying terms. It returns the lookups counted (-1 when unknown).
func (c checker) spf(ctx context.Context, domain string) (outcome, int) {
	rec, o := c.spfRecord(ctx, domain)
	if !o.ok {
		return o, -1
	}
	if rec.PassAll {
		return fail("SPF record ends in +all: every host may send as %s", domain), rec.Lookups
	}
	lookups := rec.Lookups
	visited := map[string]bool{domain: true}
	queue := append(append([]string(nil), rec.Includes...), nonEmpty(rec.Redirect)...)
	for len(queue) > 0 && lookups <= maxSPFLookups {
		name := queue[0]
		queue = queue[1:]
		if visited[name] {
			continue // a loop: RFC 7208 counts it until the limit; stop here
		}
		visited[name] = true
		sub, o := c.spfRecord(ctx, name)
		if !o.ok {
			o.why = "following " + name + ": " + o.why
			return o, -1
		}
		lookups += sub.Lookups
		queue = append(append(queue, sub.Includes...), nonEmpty(sub.Redirect)...)
	}
	if lookups > maxSPFLookups {
		return fail("SPF needs more than %d DNS lookups (includes followed)", maxSPFLookups), lookups
	}
	return pass(), lookups
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// dmarc: a valid DMARC record applies to the domain: at _dmarc.<domain>,
// or else at a parent (the DMARCbis tree walk), where sp= (or p=) governs.
// It returns the policy that applies, "" when none does.
func (c checker) dmarc(ctx context.Context, domain string) (outcome, string) {
	labels := strings.Split(domain, ".")
	for i := 0; i < len(labels)-1 && i < maxDMARCWalk; i++ {
		name := "_dmarc." + strings.Join(labels[i:], ".")
		resp, failed := c.query(ctx, name, dns.TypeTXT)
		if failed != "" {
			return unanswered(name+" TXT", failed), ""
		}
		var recs []string
		for _, t := range resp.TXT() {
			if IsDMARC(t) {
				recs = append(recs, t)
			}
		}
		if len(recs) == 0 {
			continue
		}
		if len(recs) > 1 {
			return fail("%s has %d DMARC records: receivers apply none", name, len(recs)), ""
		}
		rec, err := ParseDMARC(recs[0])
		if err != nil {
			return fail("DMARC record %s does not parse: %v", name, err), ""
		}
		policy := rec.Policy
		if i > 0 && rec.SubdomainPolicy != "" {
			policy = rec.SubdomainPolicy
		}
		return pass(), policy
	}
	return fail("no DMARC record at _dmarc.%s or a parent domain", domain), ""
}

// selectorSpec is a selector to check and the local key to compare with.
type selectorSpec struct {
	name string
	key  string // file path, inline key data (key table), or "" for none
}

// dkim: each selector's record exists once, parses, and holds the local
// key when one is known.
func (c checker) dkim(ctx context.Context, domain string, sels []selectorSpec, selErr error) outcome {
	if selErr != nil {
		return fail("%v", selErr)
	}
	if len(sels) == 0 {
		return fail("the key table has no selector for %s", domain)
	}
	var unans outcome
	var bad []string
	for _, s := range sels {
		name := s.name + "._domainkey." + domain
		resp, failed := c.query(ctx, name, dns.TypeTXT)
		if failed != "" {
			unans = unanswered(name+" TXT", failed)
			continue
		}
		if why := checkDKIMRecord(resp.TXT(), s); why != "" {
			bad = append(bad, name+": "+why)
		}
	}
	switch {
	case len(bad) > 0:
		return fail("%s", strings.Join(bad, "; "))
	case unans.queryFailed:
		return unans
	}
	return pass()
}

func checkDKIMRecord(txts []string, s selectorSpec) string {
	switch len(txts) {
	case 0:
		return "no DKIM key record"
	case 1:
	default:
		return fmt.Sprintf("%d TXT records, want one", len(txts))
	}
	k, err := ParseDKIMKey(txts[0])
	if err != nil {
		return "record does not parse: " + err.Error()
	}
	if s.key == "" {
		return ""
	}
	var local crypto.PublicKey
	if strings.HasPrefix(s.key, "/") {
		local, err = LoadLocalKey(s.key)
	} else {
		local, err = parseLocalKey([]byte(s.key))
	}
	if err != nil {
		return "cannot compare with the local key: " + err.Error()
	}
	if !samePublicKey(k.Public, local) {
		return "the published key is not the local signing key"
	}
	return ""
}

// reverse: every sending address has a PTR (ptr), and one of its PTR names
// resolves back to the address (fcrdns, "forward-confirmed reverse DNS").
func (c checker) reverse(ctx context.Context, ips []netip.Addr) (ptr, fcrdns outcome) {
	ptr, fcrdns = pass(), pass()
	var noPTR, unconfirmed []string
	for _, ip := range ips {
		rev, _ := dns.ReverseAddr(ip.String())
		resp, failed := c.query(ctx, rev, dns.TypePTR)
		if failed != "" {
			ptr = unanswered(ip.String()+" PTR", failed)
			fcrdns = ptr
			continue
		}
		names := resp.PTR()
		if len(names) == 0 {
			noPTR = append(noPTR, ip.String())
			unconfirmed = append(unconfirmed, ip.String()+" (no PTR)")
			continue
		}
		if ok, o := c.confirm(ctx, ip, names); !ok {
			if o.queryFailed {
				fcrdns = o
				continue
			}
			unconfirmed = append(unconfirmed, ip.String()+" ("+strings.Join(names, ", ")+" do not resolve to it)")
		}
	}
	if len(noPTR) > 0 {
		ptr = fail("no PTR record for %s", strings.Join(noPTR, ", "))
	}
	if len(unconfirmed) > 0 {
		fcrdns = fail("reverse DNS not forward-confirmed: %s", strings.Join(unconfirmed, "; "))
	}
	return ptr, fcrdns
}

func (c checker) confirm(ctx context.Context, ip netip.Addr, names []string) (bool, outcome) {
	qt := dns.TypeA
	if ip.Is6() {
		qt = dns.TypeAAAA
	}
	var o outcome
	for _, n := range names[:min(len(names), maxPTRNames)] {
		resp, failed := c.query(ctx, n, qt)
		if failed != "" {
			o = unanswered(n, failed)
			continue
		}
		if slices.Contains(resp.Addrs(), ip) {
			return true, pass()
		}
	}
	return false, o
}
