// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// Reasons a DNSBL query gives no verdict: the label values of
// mailwatch_dnsbl_query_errors_total. The first five come from the resolver.
const (
	reasonInvalidAnswer  = "invalid_answer"  // 127.0.0.1, outside 127/8, or another documented error code
	reasonTypo           = "typo"            // Spamhaus 127.255.255.252: the zone name is wrong
	reasonPublicResolver = "public_resolver" // Spamhaus 127.255.255.254: query came through a public/open resolver
	reasonRateLimited    = "rate_limited"    // Spamhaus 127.255.255.255: too many queries from this resolver
)

// Reasons lists every reason, in the order they are exported.
var Reasons = []string{
	dnsclient.ReasonTimeout, dnsclient.ReasonNetwork, dnsclient.ReasonServfail,
	dnsclient.ReasonRefused, dnsclient.ReasonOtherRcode,
	reasonInvalidAnswer, reasonTypo, reasonPublicResolver, reasonRateLimited,
}

// Verdict is what one DNSBL answer means.
type Verdict struct {
	// Listed is true when the list has the target. It is never true when
	// Reason is set.
	Listed bool
	// Reason is empty when the answer is a verdict, else why it is not.
	Reason string
	// Codes are the A records of the answer, for the log.
	Codes []netip.Addr
}

var (
	loopback8       = netip.MustParsePrefix("127.0.0.0/8")
	codeNotListed   = netip.MustParseAddr("127.0.0.1")
	codeZero        = netip.MustParseAddr("127.0.0.0")
	codeTypo        = netip.MustParseAddr("127.255.255.252")
	codeUnknown253  = netip.MustParseAddr("127.255.255.253")
	codePublic      = netip.MustParseAddr("127.255.255.254")
	codeRateLimited = netip.MustParseAddr("127.255.255.255")
	// Spamhaus DBL: "IP queries prohibited", an IP was asked of a domain list.
	codeDBLIPQuery = netip.MustParseAddr("127.0.1.255")
)

// Judge reads an A answer of a DNSBL (RFC 5782 section 2.3):
//
//   - NXDOMAIN, or a name with no A record, is "not listed".
//   - An A record in 127.0.0.0/8 is a listing (Spamhaus ZEN answers
//     127.0.0.2..11, the DBL 127.0.1.2..106, URIBL/SURBL use bit masks).
//   - 127.0.0.1 is never a listing: RFC 5782 reserves it, and URIBL and
//     SURBL answer it to refused queriers. An address outside 127/8 means
//     a resolver rewrote NXDOMAIN into an ad server. Both are errors.
//   - Spamhaus's 127.255.255.252/254/255 are errors with a reason (typo in
//     the zone, public resolver, over quota), never listings; this is what
//     other exporters get wrong. 127.255.255.253 and the DBL's 127.0.1.255
//     are errors too.
//
// When any record is an error the whole answer is: a list does not mix a
// listing with a refusal.
func Judge(resp *dnsclient.Response, err error) Verdict {
	if reason := dnsclient.FailureReason(resp, err); reason != "" {
		return Verdict{Reason: reason}
	}
	if resp.Rcode == dns.RcodeNameError {
		return Verdict{}
	}
	var v Verdict
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A.To4()); ok {
				v.Codes = append(v.Codes, ip)
			}
		}
	}
	if len(v.Codes) == 0 {
		return v
	}
	v.Reason = codesReason(v.Codes)
	v.Listed = v.Reason == ""
	return v
}

func codesReason(codes []netip.Addr) string {
	reason := ""
	for _, c := range codes {
		var r string
		switch c {
		case codeTypo:
			r = reasonTypo
		case codePublic:
			r = reasonPublicResolver
		case codeRateLimited:
			r = reasonRateLimited
		case codeNotListed, codeZero, codeUnknown253, codeDBLIPQuery:
			r = reasonInvalidAnswer
		default:
			if !loopback8.Contains(c) {
				r = reasonInvalidAnswer
			}
		}
		// A specific Spamhaus reason says more than invalid_answer.
		if r != "" && (reason == "" || reason == reasonInvalidAnswer) {
			reason = r
		}
	}
	return reason
}

// queryName is the name asked of zone for target: the IPv4 octets or the
// IPv6 nibbles reversed (RFC 5782 sections 2.1 and 2.4), or the domain.
func queryName(target Target, zone string) string {
	if !target.Addr.IsValid() {
		return target.Domain + "." + zone + "."
	}
	a := target.Addr.Unmap()
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", o[3], o[2], o[1], o[0])
	} else {
		const hexdig = "0123456789abcdef"
		o := a.As16()
		for i := len(o) - 1; i >= 0; i-- {
			b.WriteByte(hexdig[o[i]&0x0f])
			b.WriteByte('.')
			b.WriteByte(hexdig[o[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(zone)
	b.WriteByte('.')
	return b.String()
}
