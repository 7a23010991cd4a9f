// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"fmt"
	"strings"
	"testing"
)

func TestProviderMatch(t *testing.T) {
	ps, err := newProviderSet(append(DefaultProviders(),
		Provider{Name: "corp", RelaySuffixes: []string{".relay.corp.example"}, RecipientDomainSuffixes: []string{"corp.example"}},
		Provider{Name: "late", RelaySuffixes: []string{"google.com"}}, // google claims these first
	))
	if err != nil {
		t.Fatal(err)
	}
	name := func(p uint8) string { return ps.names[p] }
	tests := []struct{ relay, domain, want string }{
		{"gmail-smtp-in.l.google.com", "gmail.com", "google"},
		{"aspmx.l.google.com", "workspace.example", "google"}, // a Google Workspace domain: by its MX
		{"smtp.google.com", "", "google"},
		{"GMAIL-SMTP-IN.L.GOOGLE.COM", "", "google"},
		{"google.com", "", "google"},   // the name itself
		{"notgoogle.com", "", "other"}, // not a label boundary
		{"google.com.evil.example", "", "other"},
		{"outlook-com.olc.protection.outlook.com", "outlook.com", "microsoft"},
		{"hotmail-com.olc.protection.outlook.com", "hotmail.com", "microsoft"},
		{"contoso-com.mail.protection.outlook.com", "contoso.com", "microsoft"},
		{"contoso-com.a-v1.mx.microsoft", "contoso.com", "microsoft"},
		{"mta7.am0.yahoodns.net", "yahoo.com", "yahoo"},
		{"mx-aol.mail.gm0.yahoodns.net", "aol.com", "yahoo"},
		{"mx01.mail.icloud.com", "me.com", "apple"},
		{"", "gmail.com", "google"},      // relay=none
		{"", "Gmail.Com", "google"},      // domains in any case
		{"", "mail.gmail.com", "google"}, // below a domain suffix
		{"", "hotmail.co.uk", "microsoft"},
		{"", "example.org", "other"},
		{"", "", "other"},
		{"smarthost.isp.example", "yahoo.fr", "yahoo"}, // relay no provider's: the domain decides
		{"mx01.mail.icloud.com", "gmail.com", "apple"}, // the relay first
		{"a.relay.corp.example", "", "corp"},
		{"relay.corp.example", "", "other"}, // ".x" only below x
		{"", "corp.example", "corp"},
	}
	for _, tc := range tests {
		if got := name(ps.match([]byte(tc.relay), []byte(tc.domain))); got != tc.want {
			t.Errorf("match(%q, %q) = %s, want %s", tc.relay, tc.domain, got, tc.want)
		}
	}
}

func TestProviderSetLimits(t *testing.T) {
	var many []Provider
	for i := range MaxProviders + 1 {
		many = append(many, Provider{Name: fmt.Sprintf("p%d", i), RelaySuffixes: []string{fmt.Sprintf("p%d.example", i)}})
	}
	long := make([]string, MaxProviderSuffixes+1)
	for i := range long {
		long[i] = fmt.Sprintf("s%d.example", i)
	}
	for name, ps := range map[string][]Provider{
		"too many":      many,
		"other":         {{Name: "other", RelaySuffixes: []string{"x.example"}}},
		"empty name":    {{Name: "", RelaySuffixes: []string{"x.example"}}},
		"duplicate":     {{Name: "a", RelaySuffixes: []string{"x.example"}}, {Name: "a", RelaySuffixes: []string{"y.example"}}},
		"upper case":    {{Name: "a", RelaySuffixes: []string{"X.example"}}},
		"empty suffix":  {{Name: "a", RecipientDomainSuffixes: []string{""}}},
		"dot":           {{Name: "a", RecipientDomainSuffixes: []string{"."}}},
		"trailing dot":  {{Name: "a", RecipientDomainSuffixes: []string{"x.example."}}},
		"wildcard":      {{Name: "a", RecipientDomainSuffixes: []string{"*.example"}}},
		"long list":     {{Name: "a", RelaySuffixes: long}},
		"too long name": {{Name: "a", RelaySuffixes: []string{strings.Repeat("a.", 127) + "ab"}}},
	} {
		if _, err := NewClassifier(nil, ps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewClassifier(nil, many[:MaxProviders]); err != nil {
		t.Errorf("%d providers: %v", MaxProviders, err)
	}
	for _, p := range DefaultProviders() {
		for _, s := range append(p.RelaySuffixes, p.RecipientDomainSuffixes...) {
			if why := CheckSuffix(s); why != "" {
				t.Errorf("default %s suffix %q %s", p.Name, s, why)
			}
		}
	}
}
