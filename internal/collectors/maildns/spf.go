// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// maxSPFLookups is RFC 7208 section 4.6.4's limit on terms that cause DNS
// queries (include, a, mx, ptr, exists, redirect) over the whole
// evaluation, includes and redirects followed.
const maxSPFLookups = 10

// SPFRecord is a parsed SPF record (RFC 7208 section 12, syntax only).
type SPFRecord struct {
	// Lookups counts this record's terms that cause DNS queries.
	Lookups int
	// Includes are the include: targets that contain no macro, in order.
	Includes []string
	// Redirect is the redirect= target ("" when absent or when "all" makes
	// it irrelevant, RFC 7208 section 6.1).
	Redirect string
	// PassAll is true for "all" or "+all": every host on the Internet may
	// send as the domain.
	PassAll bool
}

// IsSPF reports whether a TXT string is an SPF record: "v=spf1" followed by
// a space or nothing (RFC 7208 section 4.5), in any case.
func IsSPF(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// ParseSPF checks the syntax of an SPF record and counts its lookups.
func ParseSPF(txt string) (*SPFRecord, error) {
	if !IsSPF(txt) {
		return nil, errors.New(`does not start with "v=spf1"`)
	}
	rec := &SPFRecord{}
	seenAll, seen := false, map[string]bool{}
	redirect := ""
	for term := range strings.FieldsSeq(txt[6:]) {
		if strings.ContainsAny(term, "\t\r\n") {
			return nil, fmt.Errorf("term %q contains white space other than spaces", term)
		}
		if name, value, ok := modifier(term); ok {
			lname := strings.ToLower(name)
			if (lname == "redirect" || lname == "exp") && seen[lname] {
				return nil, fmt.Errorf("%s= appears twice", lname)
			}
			seen[lname] = true
			if lname == "redirect" || lname == "exp" {
				if err := checkDomainSpec(value); err != nil {
					return nil, fmt.Errorf("%s=: %w", lname, err)
				}
			} else if err := checkMacroString(value); err != nil {
				return nil, fmt.Errorf("%s=: %w", name, err)
			}
			if lname == "redirect" {
				redirect = value
				rec.Lookups++
			}
			continue
		}
		if err := rec.directive(term, &seenAll); err != nil {
			return nil, err
		}
	}
	if !seenAll {
		rec.Redirect = plainDomain(redirect)
	}
	return rec, nil
}

// modifier splits name=value when term is a modifier: a name of letters,
// digits, "-", "_" and "." starting with a letter, then "=".
func modifier(term string) (string, string, bool) {
	name, value, ok := strings.Cut(term, "=")
	if !ok || name == "" || !isAlpha(name[0]) {
		return "", "", false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !isAlpha(c) && !isDigitByte(c) && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return name, value, true
}

func (rec *SPFRecord) directive(term string, seenAll *bool) error {
	qual := byte('+')
	if strings.IndexByte("+-~?", term[0]) >= 0 {
		qual, term = term[0], term[1:]
	}
	mech, arg, hasArg := cutAny(term, ":/")
	switch strings.ToLower(mech) {
	case "all":
		if hasArg {
			return fmt.Errorf("%q: all takes no argument", term)
		}
		if !*seenAll && qual == '+' {
			rec.PassAll = true
		}
		*seenAll = true
	case "include", "exists":
		if !hasArg || arg[0] != ':' {
			return fmt.Errorf("%q: %s needs a domain", term, mech)
		}
		if err := checkDomainSpec(arg[1:]); err != nil {
			return fmt.Errorf("%q: %w", term, err)
		}
		rec.Lookups++
		if strings.EqualFold(mech, "include") {
			if d := plainDomain(arg[1:]); d != "" {
				rec.Includes = append(rec.Includes, d)
			}
		}
	case "a", "mx":
		if err := checkDomainAndCIDR(arg); err != nil {
			return fmt.Errorf("%q: %w", term, err)
		}
		rec.Lookups++
	case "ptr":
		if hasArg {
			if arg[0] != ':' {
				return fmt.Errorf("%q: ptr takes no CIDR", term)
			}
			if err := checkDomainSpec(arg[1:]); err != nil {
				return fmt.Errorf("%q: %w", term, err)
			}
		}
		rec.Lookups++
	case "ip4", "ip6":
		if !hasArg || arg[0] != ':' {
			return fmt.Errorf("%q: %s needs an address", term, mech)
		}
		if err := checkNetwork(strings.ToLower(mech), arg[1:]); err != nil {
			return fmt.Errorf("%q: %w", term, err)
		}
	default:
		return fmt.Errorf("unknown mechanism %q", term)
	}
	return nil
}

// cutAny splits s before the first byte of seps; the separator stays with
// the rest.
func cutAny(s, seps string) (string, string, bool) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i:], true
	}
	return s, "", false
}

// checkDomainAndCIDR checks the optional ":domain-spec" and dual CIDR of
// a and mx: [":" domain] ["/" ip4-cidr] ["//" ip6-cidr].
func checkDomainAndCIDR(arg string) error {
	if arg == "" {
		return nil
	}
	rest := arg
	if rest[0] == ':' {
		i := strings.Index(rest, "/")
		if i < 0 {
			i = len(rest)
		}
		if err := checkDomainSpec(rest[1:i]); err != nil {
			return err
		}
		rest = rest[i:]
	}
	if rest == "" {
		return nil
	}
	v4, v6, dual := strings.Cut(rest[1:], "//")
	if strings.HasPrefix(rest, "//") {
		v4, v6, dual = "", rest[2:], true
	}
	if v4 != "" {
		if err := checkCIDR(v4, 32); err != nil {
			return err
		}
	}
	if dual {
		return checkCIDR(v6, 128)
	}
	if v4 == "" {
		return errors.New("empty CIDR length")
	}
	return nil
}

func checkCIDR(s string, max int) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max || (len(s) > 1 && s[0] == '0') {
		return fmt.Errorf("CIDR length %q is not 0..%d", s, max)
	}
	return nil
}

func checkNetwork(kind, s string) error {
	addr, cidr, hasCIDR := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("%q is not an address", addr)
	}
	if kind == "ip4" && !a.Is4() {
		return fmt.Errorf("%q is not an IPv4 address", addr)
	}
	if kind == "ip6" && !a.Is6() {
		return fmt.Errorf("%q is not an IPv6 address", addr)
	}
	if !hasCIDR {
		return nil
	}
	if kind == "ip4" {
		return checkCIDR(cidr, 32)
	}
	return checkCIDR(cidr, 128)
}

// checkDomainSpec checks a domain-spec: a macro-string that, when it holds
// no macro, must be a domain name.
func checkDomainSpec(s string) error {
	if s == "" {
		return errors.New("empty domain")
	}
	if err := checkMacroString(s); err != nil {
		return err
	}
	if !strings.Contains(s, "%") && !dnsclient.IsHostname(strings.TrimSuffix(s, ".")) {
		return fmt.Errorf("%q is not a domain name", s)
	}
	return nil
}

// checkMacroString checks RFC 7208 section 7.1: visible characters, with
// "%" only in %%, %_, %- or %{letter digits [r] delimiters}.
func checkMacroString(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("character %q is not allowed", c)
		}
		if c != '%' {
			continue
		}
		if i+1 >= len(s) {
			return errors.New("% at the end")
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return fmt.Errorf("bad macro %q", s[i:min(i+2, len(s))])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return errors.New("unterminated macro")
		}
		if err := checkMacro(s[i+2 : i+end]); err != nil {
			return err
		}
		i += end
	}
	return nil
}

func checkMacro(m string) error {
	if m == "" || strings.IndexByte("slodiphcrtvSLODIPHCRTV", m[0]) < 0 {
		return fmt.Errorf("bad macro letter in %%{%s}", m)
	}
	rest := m[1:]
	for rest != "" && isDigitByte(rest[0]) {
		rest = rest[1:]
	}
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(".-+,/_=", rest[i]) < 0 {
			return fmt.Errorf("bad delimiter in %%{%s}", m)
		}
	}
	return nil
}

// plainDomain returns s lower-cased without its trailing dot when it has no
// macro, else "" (a macro target depends on the message: it cannot be
// followed without one).
func plainDomain(s string) string {
	if s == "" || strings.Contains(s, "%") {
		return ""
	}
	return dnsclient.NormalizeName(s)
}

func isAlpha(c byte) bool     { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }
