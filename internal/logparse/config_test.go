// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

func decode(t *testing.T, src string) (Config, error) {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

// exampleSection is the logs: section given to the lead for
// config.example.yaml, minus the comments.
const exampleSection = `
start_at: end
poll_interval: 250ms
state_save_interval: 10s
rotate_wait: 5s
max_catchup_bytes: 1GiB
sources:
  - name: mail
    type: file
    paths: [/var/log/mail.log]
  - name: fail2ban
    paths: [/var/log/fail2ban.log]
  - name: journal
    type: journal
    units: [postfix@-.service, dovecot.service, opendkim.service]
    identifiers: [opendkim]
rules:
  - name: greylisted
    program: postfix/smtp
    match: 'said: 45[0-9] .*[Gg]reylist'
providers:
  - name: google
    relay_suffixes: [google.com]
    recipient_domain_suffixes: [gmail.com, googlemail.com]
  - name: microsoft
    relay_suffixes: [outlook.com, mx.microsoft]
    recipient_domain_suffixes: [outlook.com, hotmail.com, live.com, msn.com, hotmail.co.uk, hotmail.fr, hotmail.de, hotmail.it, live.co.uk, live.fr]
  - name: yahoo
    relay_suffixes: [yahoodns.net]
    recipient_domain_suffixes: [yahoo.com, ymail.com, rocketmail.com, aol.com, yahoo.co.uk, yahoo.fr, yahoo.de]
  - name: apple
    relay_suffixes: [icloud.com]
    recipient_domain_suffixes: [icloud.com, me.com, mac.com]
`

func TestConfigDecode(t *testing.T) {
	c, err := decode(t, exampleSection)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if c.MaxCatchUp != 1<<30 || c.PollInterval.D() != 250*time.Millisecond || c.Sources[1].Type != SourceFile {
		t.Errorf("decoded %+v", c)
	}
	if c.Rules[0].Match.Regexp == nil || !c.Rules[0].Match.MatchString("said: 451 4.7.1 Greylisted") {
		t.Errorf("rule regexp not compiled")
	}
	// The example's providers are the defaults.
	if diff := cmp.Diff(DefaultProviders(), c.Providers); diff != "" {
		t.Errorf("example providers differ from the defaults (-defaults +example):\n%s", diff)
	}
}

func TestConfigUnknownKeys(t *testing.T) {
	for _, src := range []string{
		"sources:\n  - name: mail\n    path: /var/log/mail.log\n", // paths, not path
		"rules:\n  - name: x\n    regex: y\n",
		"start: end\n",
	} {
		if _, err := decode(t, src); err == nil {
			t.Errorf("unknown key accepted in %q", src)
		}
	}
	if _, err := decode(t, "max_catchup_bytes: lots\n"); err == nil {
		t.Error("bad size accepted")
	}
	if _, err := decode(t, "rules:\n  - name: x\n    match: '('\n"); err == nil {
		t.Error("bad regexp accepted")
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	c.ApplyDefaults()
	want := Config{
		Sources:           []SourceConfig{{Name: "mail", Type: SourceFile, Paths: []string{"/var/log/mail.log"}}},
		StartAt:           StartEnd,
		PollInterval:      250e6,
		StateSaveInterval: 10e9,
		RotateWait:        5e9,
		MaxCatchUp:        1 << 30,
		Providers:         DefaultProviders(),
		Services:          []string{"smtp", "submission", "submissions"},
		SASLWindow:        3600e9,
		SASLTopSenders:    5,
		SASLMaxUsers:      10000,
		SASLMaxQueueIDs:   50000,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Errorf("defaults do not validate: %v", errs)
	}
	empty, _ := decode(t, "sources: []\n")
	empty.ApplyDefaults()
	if len(empty.Sources) != 0 {
		t.Errorf("an explicit empty source list got defaults: %+v", empty.Sources)
	}
	none, _ := decode(t, "providers: []\n")
	none.ApplyDefaults()
	if len(none.Providers) != 0 || none.Providers == nil {
		t.Errorf("an explicit empty provider list got defaults: %+v", none.Providers)
	}
	noSvc, _ := decode(t, "services: []\n")
	noSvc.ApplyDefaults()
	if len(noSvc.Services) != 0 || noSvc.Services == nil {
		t.Errorf("an explicit empty service list got defaults: %+v", noSvc.Services)
	}
}

func TestConfigValidateServices(t *testing.T) {
	for _, tc := range []struct {
		services []string
		want     string // "" = valid
	}{
		{[]string{"smtp", "submission", "submissions", "smtp-amavis", "relay_in"}, ""},
		{[]string{"smtp", "smtp"}, `services[1]: duplicate service "smtp"`},
		{[]string{"other"}, `services[0]: "other" is the label of services not listed`},
		{[]string{"Submission"}, `services[0]: "Submission" has a character other than`},
		{[]string{""}, `services[0]: "" is empty`},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, "services: 9 services, at most 8"},
	} {
		c := Config{Services: tc.services}
		c.ApplyDefaults()
		errs := c.Validate()
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%v: %v", tc.services, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
			t.Errorf("%v: got %v, want one error with %q", tc.services, errs, tc.want)
		}
	}
}

func TestConfigValidateProviders(t *testing.T) {
	many := "providers:\n"
	for i := range maillog.MaxProviders + 1 {
		many += fmt.Sprintf("  - {name: p%d, relay_suffixes: [p%d.example]}\n", i, i)
	}
	longList := "[a0.example"
	for i := range maillog.MaxProviderSuffixes {
		longList += fmt.Sprintf(", a%d.example", i+1)
	}
	longList += "]"
	tests := []struct {
		name, src string
		want      []string // error paths
	}{
		{"defaults", "start_at: end\n", nil},
		{"none", "providers: []\n", nil},
		{"leading dot", "providers:\n  - {name: corp, relay_suffixes: [.mail.example.com]}\n", nil},
		{"too many", many, []string{"providers"}},
		{"bad names", `providers:
  - {name: Google, relay_suffixes: [a.example]}
  - {name: other, relay_suffixes: [b.example]}
  - {name: x, relay_suffixes: [c.example]}
  - {name: x, relay_suffixes: [d.example]}
`, []string{"providers[0].name", "providers[1].name", "providers[3].name"}},
		{"no suffix", "providers:\n  - {name: empty}\n", []string{"providers[0]"}},
		{"bad suffixes", `providers:
  - name: bad
    relay_suffixes: [Google.com, "", ., a..b, a.example., "a b", "*.example"]
    recipient_domain_suffixes: [gmail.com, gmail.com]
`, []string{"providers[0].relay_suffixes[0]", "providers[0].relay_suffixes[1]", "providers[0].relay_suffixes[2]",
			"providers[0].relay_suffixes[3]", "providers[0].relay_suffixes[4]", "providers[0].relay_suffixes[5]",
			"providers[0].relay_suffixes[6]", "providers[0].recipient_domain_suffixes[1]"}},
		{"suffix of two providers", `providers:
  - {name: a, relay_suffixes: [x.example]}
  - {name: b, relay_suffixes: [x.example], recipient_domain_suffixes: [x.example]}
`, []string{"providers[1].relay_suffixes[0]"}},
		{"long list", "providers:\n  - {name: a, relay_suffixes: " + longList + "}\n",
			[]string{"providers[0].relay_suffixes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := decode(t, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			c.ApplyDefaults()
			var got []string
			for _, e := range c.Validate() {
				var fe *confval.FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *confval.FieldError", e)
				}
				got = append(got, fe.Path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error paths (-want +got):\n%s", diff)
			}
			if len(tc.want) == 0 {
				if _, err := New(c, "", zap.NewNop()); err != nil {
					t.Errorf("New: %v", err)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	c, err := decode(t, `
start_at: middle
poll_interval: 1ms
state_save_interval: 100ms
sources:
  - name: Mail
    paths: [var/log/mail.log, "/var/log/[.log"]
  - name: j
    type: journal
    units: [postfix, "dovecot.service"]
    identifiers: ["a b"]
    paths: [/x]
  - name: j
    type: journal
  - name: f
    units: [x.service]
  - name: w
    type: socket
rules:
  - name: sasl_auth_failure
    match: x
  - name: ok_rule
    program: "post fix"
    match: x
  - name: ok_rule
    match: y
  - name: NoMatch
`)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	var got []string
	for _, e := range c.Validate() {
		var fe *confval.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *confval.FieldError", e)
		}
		got = append(got, fe.Path)
	}
	want := []string{
		"start_at", "poll_interval", "state_save_interval",
		"sources[0].name", "sources[0].paths[0]", "sources[0].paths[1]",
		"sources[1].units[0]", "sources[1].identifiers[0]", "sources[1].paths",
		"sources[2].name", "sources[2]",
		"sources[3].paths", "sources[3]",
		"sources[4].type",
		"rules[0].name", "rules[1].program", "rules[2].name", "rules[3].name", "rules[3].match",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error paths (-want +got):\n%s", diff)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"1024": 1024, "64KiB": 64 << 10, "1GiB": 1 << 30, "1.5MiB": 3 << 19, "2GB": 2e9, "10 MB": 10e6} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "1TiB", "-1", "1 kb"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}
	if s := ByteSize(1 << 30).String(); s != "1GiB" {
		t.Errorf("String = %q", s)
	}
}
