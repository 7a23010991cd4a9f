// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// SPF results (RFC 7208 section 2.6), the result label values.
const (
	spfPass      = "pass"
	spfFail      = "fail"
	spfSoftfail  = "softfail"
	spfNeutral   = "neutral"
	spfNone      = "none"
	spfPermerror = "permerror"
	spfTemperror = "temperror"
)

// spfResults are the result label values, in export order.
var spfResults = []string{spfPass, spfFail, spfSoftfail, spfNeutral, spfNone, spfPermerror, spfTemperror}

// RFC 7208 section 4.6.4: at most 2 lookups that return no record ("void
// lookups"), at most 10 MX names looked up for one mx mechanism and at most
// 10 PTR names for one ptr mechanism.
const (
	maxSPFVoid     = 2
	maxSPFMXNames  = 10
	maxSPFPTRNames = 10
)

// spfEval is one check_host() evaluation (RFC 7208 section 4) of a sending
// address. The sender is postmaster@<domain>, as for the HELO identity
// (section 2.3): a receiver evaluates the envelope sender's domain, and
// only the %{s} and %{l} macros, rare in published records, can tell the
// two apart.
type spfEval struct {
	c       checker
	ip      netip.Addr
	sender  string // domain of the evaluation's start: postmaster@sender
	lookups int
	voids   int
}

// spfEvalResult is a result and, unless it is pass, why.
type spfEvalResult struct {
	result, why string
}

// evalSPF evaluates the SPF record of domain for ip.
func (c checker) evalSPF(ctx context.Context, domain string, ip netip.Addr) spfEvalResult {
	e := &spfEval{c: c, ip: ip.Unmap(), sender: domain}
	return e.checkHost(ctx, domain)
}

func spfRes(result, format string, a ...any) spfEvalResult {
	return spfEvalResult{result: result, why: fmt.Sprintf(format, a...)}
}

// checkHost is check_host(ip, domain, sender), section 4.
func (e *spfEval) checkHost(ctx context.Context, domain string) spfEvalResult {
	resp, failed := e.c.query(ctx, domain, dns.TypeTXT)
	if failed != "" {
		return spfRes(spfTemperror, "query %s TXT: %s", domain, failed)
	}
	var recs []string
	for _, t := range resp.TXT() {
		if IsSPF(t) {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return spfRes(spfNone, "%s has no SPF record", domain)
	case 1:
	default:
		return spfRes(spfPermerror, "%s has %d SPF records", domain, len(recs))
	}
	// Section 4.6: a syntax error anywhere is a permerror before any
	// mechanism is evaluated.
	if _, err := ParseSPF(recs[0]); err != nil {
		return spfRes(spfPermerror, "SPF record of %s does not parse: %v", domain, err)
	}
	terms := strings.Fields(recs[0][6:])
	redirect := ""
	for _, term := range terms {
		if name, value, ok := modifier(term); ok {
			if strings.EqualFold(name, "redirect") {
				redirect = value
			}
			continue
		}
		qual := byte('+')
		if strings.IndexByte("+-~?", term[0]) >= 0 {
			qual, term = term[0], term[1:]
		}
		match, r := e.mechanism(ctx, domain, term)
		if r.result != "" {
			return r
		}
		if match {
			return qualResult(qual, domain, term)
		}
	}
	if redirect == "" {
		return spfRes(spfNeutral, "no mechanism of %s's SPF record matches", domain)
	}
	// Section 6.1: redirect counts as a lookup; a target without a record
	// is a permerror.
	if r := e.count(); r.result != "" {
		return r
	}
	target, err := e.expand(redirect, domain)
	if err != nil {
		return spfRes(spfPermerror, "redirect=%s: %v", redirect, err)
	}
	r := e.checkHost(ctx, target)
	if r.result == spfNone {
		return spfRes(spfPermerror, "redirect=%s: %s", target, r.why)
	}
	return r
}

func qualResult(qual byte, domain, term string) spfEvalResult {
	why := fmt.Sprintf("%s matches %q", domain, term)
	switch qual {
	case '-':
		return spfRes(spfFail, "%s", why)
	case '~':
		return spfRes(spfSoftfail, "%s", why)
	case '?':
		return spfRes(spfNeutral, "%s", why)
	}
	return spfEvalResult{result: spfPass}
}

// count counts a DNS-querying term against the limit of 10.
func (e *spfEval) count() spfEvalResult {
	e.lookups++
	if e.lookups > maxSPFLookups {
		return spfRes(spfPermerror, "more than %d DNS-querying terms", maxSPFLookups)
	}
	return spfEvalResult{}
}

// void counts a lookup that found no record (NXDOMAIN or no answer).
func (e *spfEval) void() spfEvalResult {
	e.voids++
	if e.voids > maxSPFVoid {
		return spfRes(spfPermerror, "more than %d DNS lookups found no record", maxSPFVoid)
	}
	return spfEvalResult{}
}

// mechanism evaluates one mechanism (section 5): whether it matches, or a
// result that ends the evaluation (an error, or an include's error).
func (e *spfEval) mechanism(ctx context.Context, domain, term string) (bool, spfEvalResult) {
	mech, arg, _ := cutAny(term, ":/")
	switch strings.ToLower(mech) {
	case "all":
		return true, spfEvalResult{}
	case "ip4", "ip6":
		return matchNetwork(e.ip, arg[1:]), spfEvalResult{}
	case "include":
		if r := e.count(); r.result != "" {
			return false, r
		}
		target, err := e.expand(arg[1:], domain)
		if err != nil {
			return false, spfRes(spfPermerror, "%q: %v", term, err)
		}
		// Section 5.2's table.
		switch r := e.checkHost(ctx, target); r.result {
		case spfPass:
			return true, spfEvalResult{}
		case spfFail, spfSoftfail, spfNeutral:
			return false, spfEvalResult{}
		case spfNone:
			return false, spfRes(spfPermerror, "include:%s: %s", target, r.why)
		default:
			return false, r
		}
	case "a", "mx":
		if r := e.count(); r.result != "" {
			return false, r
		}
		target, v4, v6, err := e.domainCIDR(arg, domain)
		if err != nil {
			return false, spfRes(spfPermerror, "%q: %v", term, err)
		}
		hosts := []string{target}
		if strings.EqualFold(mech, "mx") {
			var r spfEvalResult
			if hosts, r = e.mxHosts(ctx, target); r.result != "" {
				return false, r
			}
		}
		return e.matchHosts(ctx, hosts, v4, v6, !strings.EqualFold(mech, "mx"))
	case "ptr":
		if r := e.count(); r.result != "" {
			return false, r
		}
		target := domain
		if arg != "" {
			t, err := e.expand(arg[1:], domain)
			if err != nil {
				return false, spfRes(spfPermerror, "%q: %v", term, err)
			}
			target = t
		}
		return e.matchPTR(ctx, target)
	case "exists":
		if r := e.count(); r.result != "" {
			return false, r
		}
		target, err := e.expand(arg[1:], domain)
		if err != nil {
			return false, spfRes(spfPermerror, "%q: %v", term, err)
		}
		// Section 5.7: an A query whatever the address family.
		resp, failed := e.c.query(ctx, target, dns.TypeA)
		if failed != "" {
			return false, spfRes(spfTemperror, "query %s A: %s", target, failed)
		}
		if len(resp.Addrs()) == 0 {
			return false, e.void()
		}
		return true, spfEvalResult{}
	}
	return false, spfRes(spfPermerror, "unknown mechanism %q", term)
}

// mxHosts: the MX hosts of target, at most 10 (section 4.6.4: more is a
// permerror).
func (e *spfEval) mxHosts(ctx context.Context, target string) ([]string, spfEvalResult) {
	resp, failed := e.c.query(ctx, target, dns.TypeMX)
	if failed != "" {
		return nil, spfRes(spfTemperror, "query %s MX: %s", target, failed)
	}
	mxs := resp.MX()
	if len(mxs) == 0 {
		return nil, e.void()
	}
	if len(mxs) > maxSPFMXNames {
		return nil, spfRes(spfPermerror, "%s has %d MX records, more than %d", target, len(mxs), maxSPFMXNames)
	}
	var hosts []string
	for _, m := range mxs {
		if m.Host != "" && m.Host != "." {
			hosts = append(hosts, m.Host)
		}
	}
	return hosts, spfEvalResult{}
}

// matchHosts: an address of one of hosts, of the evaluated address's
// family, is within the CIDR length of the address.
func (e *spfEval) matchHosts(ctx context.Context, hosts []string, v4, v6 int, countVoid bool) (bool, spfEvalResult) {
	qt, bits := dns.TypeA, v4
	if e.ip.Is6() {
		qt, bits = dns.TypeAAAA, v6
	}
	for _, h := range hosts {
		resp, failed := e.c.query(ctx, h, qt)
		if failed != "" {
			return false, spfRes(spfTemperror, "query %s %s: %s", h, dns.TypeToString[qt], failed)
		}
		addrs := resp.Addrs()
		if len(addrs) == 0 && countVoid {
			// Only the a mechanism's own name counts as a void lookup; the
			// MX hosts' addresses are not "DNS-querying terms".
			if r := e.void(); r.result != "" {
				return false, r
			}
		}
		for _, a := range addrs {
			if p, err := a.Prefix(bits); err == nil && a.Is6() == e.ip.Is6() && p.Contains(e.ip) {
				return true, spfEvalResult{}
			}
		}
	}
	return false, spfEvalResult{}
}

// matchPTR is section 5.5: a PTR name of the address that resolves back to
// it and is target or below it.
func (e *spfEval) matchPTR(ctx context.Context, target string) (bool, spfEvalResult) {
	rev, _ := dns.ReverseAddr(e.ip.String())
	resp, failed := e.c.query(ctx, rev, dns.TypePTR)
	if failed != "" {
		// Section 5.5: a failed PTR lookup is no match, not an error.
		return false, spfEvalResult{}
	}
	names := resp.PTR()
	if len(names) == 0 {
		return false, e.void()
	}
	target = dnsclient.NormalizeName(target)
	for _, n := range names[:min(len(names), maxSPFPTRNames)] {
		n = dnsclient.NormalizeName(n)
		if n != target && !strings.HasSuffix(n, "."+target) {
			continue
		}
		if ok, _ := e.c.confirm(ctx, e.ip, []string{n}); ok {
			return true, spfEvalResult{}
		}
	}
	return false, spfEvalResult{}
}

// domainCIDR splits the argument of a or mx: [":" domain-spec] ["/" ip4]
// ["//" ip6]; the domain defaults to the current one and the lengths to 32
// and 128. ParseSPF has checked the syntax.
func (e *spfEval) domainCIDR(arg, domain string) (string, int, int, error) {
	target, v4, v6 := domain, 32, 128
	spec, cidr := "", arg
	if strings.HasPrefix(arg, ":") {
		spec, cidr, _ = strings.Cut(arg[1:], "/")
		if cidr != "" || strings.Contains(arg, "/") {
			cidr = "/" + cidr
		}
	}
	if spec != "" {
		t, err := e.expand(spec, domain)
		if err != nil {
			return "", 0, 0, err
		}
		target = t
	}
	if cidr != "" {
		a, b, dual := strings.Cut(cidr[1:], "//")
		if strings.HasPrefix(cidr, "//") {
			a, b, dual = "", cidr[2:], true
		}
		if a != "" {
			v4, _ = strconv.Atoi(a)
		}
		if dual {
			v6, _ = strconv.Atoi(b)
		}
	}
	return target, v4, v6, nil
}

// matchNetwork: ip is within the ip4/ip6 network s (an address, or an
// address/length). An IPv4 address never matches ip6 and vice versa
// (section 5.6).
func matchNetwork(ip netip.Addr, s string) bool {
	addr, cidr, hasCIDR := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() != ip.Is4() {
		return false
	}
	bits := a.BitLen()
	if hasCIDR {
		if bits, err = strconv.Atoi(cidr); err != nil {
			return false
		}
	}
	p, err := a.Prefix(bits)
	return err == nil && p.Contains(ip)
}

// expand expands the macros of a domain-spec (section 7) and shortens the
// result to 253 characters by dropping labels from the left (section 7.3).
func (e *spfEval) expand(spec, domain string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(spec); i++ {
		c := spec[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		switch spec[i+1] {
		case '%':
			b.WriteByte('%')
			i++
			continue
		case '_':
			b.WriteByte(' ')
			i++
			continue
		case '-':
			b.WriteString("%20")
			i++
			continue
		}
		end := strings.IndexByte(spec[i:], '}')
		v, err := e.macro(spec[i+2:i+end], domain)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i += end
	}
	out := strings.TrimSuffix(b.String(), ".")
	for len(out) > 253 {
		_, rest, ok := strings.Cut(out, ".")
		if !ok {
			break
		}
		out = rest
	}
	if !dnsclient.IsHostname(out) {
		return "", fmt.Errorf("%q expands to %q, not a domain name", spec, out)
	}
	return dnsclient.NormalizeName(out), nil
}

// macro expands one %{...} body: a letter, optional digits (keep that many
// parts from the right), optional "r" (reverse), optional delimiters
// (default "."); the parts are joined with ".".
func (e *spfEval) macro(m, domain string) (string, error) {
	var v string
	switch m[0] | 0x20 { // lower case
	case 's':
		v = "postmaster@" + e.sender
	case 'l':
		v = "postmaster"
	case 'o', 'h':
		v = e.sender
	case 'd':
		v = domain
	case 'i':
		v = macroIP(e.ip)
	case 'p':
		v = "unknown" // section 7.3: no validated name is known
	case 'v':
		v = "in-addr"
		if e.ip.Is6() {
			v = "ip6"
		}
	default: // c, r, t: only allowed in exp= (section 7.3)
		return "", fmt.Errorf("macro %%{%s} is only allowed in exp=", m)
	}
	rest := m[1:]
	n := 0
	for rest != "" && isDigitByte(rest[0]) {
		n = n*10 + int(rest[0]-'0')
		rest = rest[1:]
		if n > 128 {
			n = 128
		}
	}
	reverse := false
	if rest != "" && rest[0]|0x20 == 'r' {
		reverse, rest = true, rest[1:]
	}
	delims := rest
	if delims == "" {
		delims = "."
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if reverse {
		slices.Reverse(parts)
	}
	if n > 0 && n < len(parts) {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "."), nil
}

// macroIP is %{i}: dotted quad, or for IPv6 the dot-separated nibbles.
func macroIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789abcdef"
	b16 := ip.As16()
	nibbles := make([]string, 0, 32)
	for _, x := range b16 {
		nibbles = append(nibbles, string(hex[x>>4]), string(hex[x&15]))
	}
	return strings.Join(nibbles, ".")
}
