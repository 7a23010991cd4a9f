// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"fmt"
	"slices"
	"strings"
)

// MaxProviders bounds the providers of a classifier: with "other", the
// provider label has at most MaxProviders+1 values.
const MaxProviders = 16

// MaxProviderSuffixes bounds each suffix list of a provider, and so the
// work of matching a delivery line.
const MaxProviderSuffixes = 32

// Provider is a mailbox provider of the delivery metrics: a delivery goes to
// it when its relay host name matches one of RelaySuffixes or, failing that,
// its recipient's domain matches one of RecipientDomainSuffixes.
//
// A suffix "example.com" matches that name and every name below it
// (mx1.example.com); ".example.com" only the names below it. Suffixes are
// lower case; host names and domains are compared without regard to case.
type Provider struct {
	Name                    string
	RelaySuffixes           []string
	RecipientDomainSuffixes []string
}

// DefaultProviders are the big mailbox providers, with the MX host names
// their domains use (2026): Gmail and Google Workspace (gmail-smtp-in.l.google.com,
// aspmx.l.google.com, smtp.google.com); Outlook.com, Hotmail and Microsoft
// 365 (*.olc.protection.outlook.com, *.mail.protection.outlook.com, and
// *.mx.microsoft for domains provisioned since 2024); Yahoo and AOL
// (mta*.am0.yahoodns.net, mx-aol.mail.gm0.yahoodns.net); iCloud, me.com and
// mac.com (mx0*.mail.icloud.com). The recipient domains only decide when
// the line names no relay (relay=none: DNS and connection failures) or a
// relay host that is no provider's (a smarthost).
func DefaultProviders() []Provider {
	return []Provider{
		{Name: "google", RelaySuffixes: []string{"google.com"},
			RecipientDomainSuffixes: []string{"gmail.com", "googlemail.com"}},
		{Name: "microsoft", RelaySuffixes: []string{"outlook.com", "mx.microsoft"},
			RecipientDomainSuffixes: []string{"outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk",
				"hotmail.fr", "hotmail.de", "hotmail.it", "live.co.uk", "live.fr"}},
		{Name: "yahoo", RelaySuffixes: []string{"yahoodns.net"},
			RecipientDomainSuffixes: []string{"yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "yahoo.co.uk",
				"yahoo.fr", "yahoo.de"}},
		{Name: "apple", RelaySuffixes: []string{"icloud.com"},
			RecipientDomainSuffixes: []string{"icloud.com", "me.com", "mac.com"}},
	}
}

// OtherProvider is the provider label of deliveries no provider claims.
const OtherProvider = "other"

// suffix is one compiled suffix: a delivery matching it goes to provider
// (1 + the index of the provider).
type suffix struct {
	s        string
	last     byte // s's last byte, the first one compared
	below    bool // a leading dot: only names below
	provider uint8
}

// providerSet matches relay hosts and recipient domains to providers.
type providerSet struct {
	names  []string // names[0] is "other"
	relays suffixList
	rcpts  suffixList
}

// suffixList holds suffixes grouped by their last byte, in config order
// within a group: only the group of a name's last byte can match it, and
// the first match of the group is the first in config order.
type suffixList struct {
	all    []suffix
	byLast [256]struct{ lo, hi uint16 }
}

func (l *suffixList) index() {
	slices.SortStableFunc(l.all, func(a, b suffix) int { return int(a.last) - int(b.last) })
	for i := range l.all {
		g := &l.byLast[l.all[i].last]
		if g.hi == 0 {
			g.lo = uint16(i)
		}
		g.hi = uint16(i + 1)
	}
}

// CheckSuffix reports what is wrong with a provider suffix, or "".
func CheckSuffix(s string) string {
	name := strings.TrimPrefix(s, ".")
	switch {
	case name == "":
		return "is empty"
	case len(name) > 253:
		return "is longer than a domain name"
	case strings.HasSuffix(name, "."):
		return "ends with a dot"
	case strings.Contains(name, ".."):
		return "has an empty label"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			return "is not lower case"
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return fmt.Sprintf("has the character %q, which a host name or domain cannot", c)
		}
	}
	return ""
}

func newProviderSet(ps []Provider) (*providerSet, error) {
	if len(ps) > MaxProviders {
		return nil, fmt.Errorf("%d providers, at most %d", len(ps), MaxProviders)
	}
	set := &providerSet{names: []string{OtherProvider}}
	for i, p := range ps {
		if p.Name == "" || p.Name == OtherProvider {
			return nil, fmt.Errorf("provider %d: the name %q is reserved", i, p.Name)
		}
		for _, n := range set.names[1:] {
			if n == p.Name {
				return nil, fmt.Errorf("provider %d: duplicate name %q", i, p.Name)
			}
		}
		set.names = append(set.names, p.Name)
		for _, l := range []struct {
			list []string
			into *[]suffix
		}{{p.RelaySuffixes, &set.relays.all}, {p.RecipientDomainSuffixes, &set.rcpts.all}} {
			if len(l.list) > MaxProviderSuffixes {
				return nil, fmt.Errorf("provider %q: %d suffixes, at most %d", p.Name, len(l.list), MaxProviderSuffixes)
			}
			for _, s := range l.list {
				if why := CheckSuffix(s); why != "" {
					return nil, fmt.Errorf("provider %q: suffix %q %s", p.Name, s, why)
				}
				*l.into = append(*l.into, suffix{s: strings.TrimPrefix(s, "."), last: s[len(s)-1],
					below: strings.HasPrefix(s, "."), provider: uint8(i + 1)})
			}
		}
	}
	set.relays.index()
	set.rcpts.index()
	return set, nil
}

// match returns the provider of a delivery: 0 (other) or 1 + its index.
func (ps *providerSet) match(relayHost, rcptDomain []byte) uint8 {
	if p := ps.relays.match(relayHost); p != 0 {
		return p
	}
	return ps.rcpts.match(rcptDomain)
}

func (l *suffixList) match(name []byte) uint8 {
	n := len(name)
	if n == 0 {
		return 0
	}
	g := l.byLast[lowerByte(name[n-1])]
	for i := g.lo; i < g.hi; i++ {
		sf := &l.all[i]
		if len(sf.s) > n {
			continue
		}
		if !equalFoldLower(name[n-len(sf.s):], sf.s) {
			continue
		}
		if len(sf.s) == n {
			if !sf.below {
				return sf.provider
			}
			continue
		}
		if name[n-len(sf.s)-1] == '.' {
			return sf.provider
		}
	}
	return 0
}

// equalFoldLower compares b, in any case, with the lower-case s.
func equalFoldLower(b []byte, s string) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if lowerByte(b[i]) != s[i] {
			return false
		}
	}
	return true
}
