// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsclient

import (
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Response is the part of a DNS answer the collectors use.
type Response struct {
	// Rcode is the response code (dns.RcodeSuccess, dns.RcodeNameError, ...).
	Rcode  int
	Answer []dns.RR
	ttl    time.Duration // how long it may be cached; 0: not at all
}

func newResponse(m *dns.Msg) *Response {
	return &Response{Rcode: m.Rcode, Answer: m.Answer, ttl: cacheTTL(m)}
}

// NewResponse builds a Response by hand (fake resolvers in tests).
func NewResponse(rcode int, answer ...dns.RR) *Response {
	return &Response{Rcode: rcode, Answer: answer}
}

// cacheTTL is the smallest TTL of the answer records, or for a negative
// answer the SOA's negative TTL (RFC 2308 section 5: the smaller of the SOA
// record's TTL and its MINIMUM field). Failures are not cached.
func cacheTTL(m *dns.Msg) time.Duration {
	var ttl uint32
	switch {
	case m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0:
		ttl = m.Answer[0].Header().Ttl
		for _, rr := range m.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
	case m.Rcode == dns.RcodeSuccess || m.Rcode == dns.RcodeNameError:
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl = min(soa.Hdr.Ttl, soa.Minttl)
				break
			}
		}
	}
	return min(time.Duration(ttl)*time.Second, maxCacheTTL)
}

// Addrs returns the addresses of the A and AAAA records in the answer.
func (r *Response) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
				out = append(out, a)
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// TXT returns one string per TXT record of the answer: the record's
// character-strings concatenated without separator (RFC 7208 section 3.3,
// RFC 6376 section 3.6.2.2), with miekg/dns's presentation escapes undone.
func (r *Response) TXT() []string {
	var out []string
	for _, rr := range r.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			var b strings.Builder
			for _, s := range t.Txt {
				b.WriteString(unescape(s))
			}
			out = append(out, b.String())
		}
	}
	return out
}

// MX is one mail exchanger.
type MX struct {
	Preference uint16
	Host       string // lower case, fully qualified
}

// MX returns the MX records of the answer.
func (r *Response) MX() []MX {
	var out []MX
	for _, rr := range r.Answer {
		if m, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Preference: m.Preference, Host: strings.ToLower(m.Mx)})
		}
	}
	return out
}

// PTR returns the names of the PTR records of the answer, lower case and
// fully qualified.
func (r *Response) PTR() []string {
	var out []string
	for _, rr := range r.Answer {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, strings.ToLower(p.Ptr))
		}
	}
	return out
}

// unescape undoes the escaping miekg/dns applies to character-strings:
// \" and \\ for the quote and backslash, \DDD for other bytes.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v <= 255 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
