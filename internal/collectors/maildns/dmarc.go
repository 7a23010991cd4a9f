// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DMARC policies: also the policy label values of mailwatch_dns_dmarc_policy.
var dmarcPolicies = []string{"none", "quarantine", "reject"}

// DMARCRecord is a parsed DMARC policy record (RFC 7489 section 6.3).
type DMARCRecord struct {
	Policy          string // p: none, quarantine or reject
	SubdomainPolicy string // sp; "" when absent (p applies)
	Pct             int    // pct, 100 when absent
}

// IsDMARC reports whether a TXT string is meant as a DMARC record: it
// starts with the version tag "v=DMARC1" (RFC 7489 section 6.4).
func IsDMARC(txt string) bool {
	name, value, ok := strings.Cut(txt, "=")
	if !ok || strings.TrimSpace(name) != "v" {
		return false
	}
	v, _, _ := strings.Cut(value, ";")
	return strings.TrimSpace(v) == "DMARC1"
}

// ParseDMARC checks a DMARC record: the version first, a valid p, valid
// values for the tags it knows, no tag twice. Unknown tags are ignored, as
// the RFC requires.
func ParseDMARC(txt string) (*DMARCRecord, error) {
	if !IsDMARC(txt) {
		return nil, errors.New(`does not start with "v=DMARC1"`)
	}
	rec := &DMARCRecord{Pct: 100}
	seen := map[string]bool{}
	for i, part := range strings.Split(txt, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			if i == 0 {
				return nil, errors.New("empty first tag")
			}
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not tag=value", part)
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if !isTagName(name) {
			return nil, fmt.Errorf("%q is not a tag name", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("tag %s appears twice", name)
		}
		seen[name] = true
		if err := rec.tag(name, value); err != nil {
			return nil, fmt.Errorf("%s=%s: %w", name, value, err)
		}
	}
	if rec.Policy == "" {
		return nil, errors.New("no p= policy")
	}
	return rec, nil
}

func (rec *DMARCRecord) tag(name, value string) error {
	switch name {
	case "p", "sp", "np":
		p := strings.ToLower(value)
		if p != "none" && p != "quarantine" && p != "reject" {
			return errors.New("must be none, quarantine or reject")
		}
		switch name {
		case "p":
			rec.Policy = p
		case "sp":
			rec.SubdomainPolicy = p
		}
	case "adkim", "aspf":
		if v := strings.ToLower(value); v != "r" && v != "s" {
			return errors.New("must be r or s")
		}
	case "pct":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 100 {
			return errors.New("must be 0..100")
		}
		rec.Pct = n
	case "ri":
		if n, err := strconv.ParseUint(value, 10, 32); err != nil || n == 0 {
			return errors.New("must be a positive number of seconds")
		}
	case "fo":
		for o := range strings.SplitSeq(value, ":") {
			if o = strings.TrimSpace(o); o != "0" && o != "1" && o != "d" && o != "s" {
				return errors.New("options must be 0, 1, d or s")
			}
		}
	case "rua", "ruf":
		for u := range strings.SplitSeq(value, ",") {
			if err := checkReportURI(strings.TrimSpace(u)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkReportURI checks one rua/ruf entry: a URI with a scheme, and for
// mailto: an address, with an optional "!size[kmgt]" limit.
func checkReportURI(u string) error {
	if i := strings.LastIndexByte(u, '!'); i >= 0 {
		size := strings.TrimRight(strings.ToLower(u[i+1:]), "kmgt")
		if _, err := strconv.ParseUint(size, 10, 64); err != nil {
			return fmt.Errorf("bad size limit in %q", u)
		}
		u = u[:i]
	}
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || scheme == "" || rest == "" || !isAlpha(scheme[0]) {
		return fmt.Errorf("%q is not a URI", u)
	}
	if strings.EqualFold(scheme, "mailto") {
		local, domain, ok := strings.Cut(rest, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(rest, " <>") {
			return fmt.Errorf("%q is not a mailto: address", u)
		}
	}
	return nil
}

func isTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlpha(s[i]) && !isDigitByte(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}
