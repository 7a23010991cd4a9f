// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
)

func TestUpdateSuccessCached(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	private, txt := writeKeys(t)
	c := collectortest.New(t, New, Config{Resolver: resolverConfig(srv), Domains: []Domain{goodDomain(private, txt)}}, nil)
	if err := collectortest.Golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	sent := srv.Total()
	if err := collectortest.Golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Total(); n != sent {
		t.Errorf("second run within the TTLs sent %d queries, want 0", n-sent)
	}
	collectortest.Lint(t, c)
}

func TestUpdatePartial(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	for _, n := range []string{"fail.test", "_dmarc.fail.test"} {
		srv.Set(n, dnstest.ServFail)
	}
	private, txt := writeKeys(t)
	good := goodDomain(private, txt)
	good.DKIM[1].KeyFile = txt // txt._domainkey publishes the other key
	cfg := Config{Resolver: resolverConfig(srv), Domains: []Domain{
		good,
		{Domain: "sub.good.test"},
		{Domain: "Bad.Test.", DKIM: []Selector{{Selector: "mail", KeyFile: private}, {Selector: "gone"}}, SendingIPs: []string{"192.0.2.26", "192.0.2.27"}},
		{Domain: "nullmx.test"},
		{Domain: "fail.test"},
	}}
	core, logs := observer.New(zapcore.InfoLevel)
	c := collectortest.New(t, New, cfg, zap.New(core))
	if err := collectortest.Golden(t, c, "partial"); err != nil {
		t.Errorf("failing checks are data, not a failed run: %v", err)
	}
	collectortest.Lint(t, c)

	whys := map[string]string{}
	for _, e := range logs.FilterMessage("mail dns check fails").All() {
		f := e.ContextMap()
		whys[f["domain"].(string)+"/"+f["check"].(string)] = f["why"].(string)
	}
	for key, want := range map[string]string{
		"good.test/dkim":      "txt._domainkey.good.test: the published key is not the local signing key",
		"sub.good.test/spf":   "SPF needs more than 10 DNS lookups",
		"bad.test/mx":         "no MX record",
		"bad.test/spf":        "bad.test has 2 SPF records",
		"bad.test/dmarc":      "p=bogus: must be none, quarantine or reject",
		"bad.test/dkim":       "mail._domainkey.bad.test: the published key is not the local signing key; gone._domainkey.bad.test: no DKIM key record",
		"bad.test/ptr":        "no PTR record for 192.0.2.27",
		"bad.test/fcrdns":     "192.0.2.26 (other.bad.test. do not resolve to it); 192.0.2.27 (no PTR)",
		"nullmx.test/mx":      "null MX",
		"nullmx.test/spf":     "+all",
		"nullmx.test/dmarc":   "no DMARC record at _dmarc.nullmx.test",
		"sub.good.test/dmarc": "",
		"good.test/spf":       "",
		"fail.test/mx":        "",
	} {
		got, logged := whys[key]
		if want == "" {
			if logged {
				t.Errorf("%s logged as failing: %s", key, got)
			}
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: logged why %q, want it to contain %q", key, got, want)
		}
	}
	if n := logs.FilterMessage("mail dns check could not query").Len(); n != 3 {
		t.Errorf("fail.test: %d 'could not query' logs, want 3 (mx, spf, dmarc)", n)
	}
	// The same failures again: nothing new is logged.
	before := logs.Len()
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 200)); err != nil {
		t.Fatal(err)
	}
	if n := logs.Len(); n != before {
		t.Errorf("second run logged %d more lines, want 0: %v", n-before, logs.All()[before:])
	}
}

func TestUpdateTotalFailure(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	srv.Set("good.test", dnstest.ServFail)
	srv.Set("_dmarc.good.test", dnstest.Hang)
	srv.Set("25.2.0.192.in-addr.arpa", dnstest.Refused)
	c := collectortest.New(t, New, Config{Resolver: resolverConfig(srv), Domains: []Domain{{Domain: "good.test", SendingIPs: []string{"192.0.2.25"}}}}, nil)
	err := collectortest.Golden(t, c, "total_failure")
	if err == nil || !strings.Contains(err.Error(), "no DNS answer for any of 5 checks") {
		t.Errorf("total failure: err = %v", err)
	}
}

// TestKeyTable: with OpenDKIM's KeyTable and no selector configured, the
// table's selectors for the domain are checked against its keys.
func TestKeyTable(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, testZone())
	private, _ := writeKeys(t)
	dir := t.TempDir()
	table := filepath.Join(dir, "key.table")
	data := "# comment\nmail._domainkey.good.test  good.test:mail:" + private + "\n" +
		"mail._domainkey.bad.test bad.test:mail:" + private + "\n\nbroken line\n"
	if err := os.WriteFile(table, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Resolver: resolverConfig(srv), OpenDKIMKeyTable: table, Domains: []Domain{{Domain: "good.test"}, {Domain: "bad.test"}, {Domain: "nullmx.test"}}}
	c := collectortest.New(t, New, cfg, nil)
	const want = `
# HELP mailwatch_dns_check_success 1 if the mail DNS check of the domain passes (check: mx, spf, dmarc, dkim, ptr, fcrdns), 0 if it fails or could not be made. Refreshed every collectors.mail_dns.interval.
# TYPE mailwatch_dns_check_success gauge
mailwatch_dns_check_success{check="dkim",domain="bad.test"} 0
mailwatch_dns_check_success{check="dkim",domain="good.test"} 1
mailwatch_dns_check_success{check="dkim",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="dmarc",domain="bad.test"} 0
mailwatch_dns_check_success{check="dmarc",domain="good.test"} 1
mailwatch_dns_check_success{check="dmarc",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="mx",domain="bad.test"} 0
mailwatch_dns_check_success{check="mx",domain="good.test"} 1
mailwatch_dns_check_success{check="mx",domain="nullmx.test"} 0
mailwatch_dns_check_success{check="spf",domain="bad.test"} 0
mailwatch_dns_check_success{check="spf",domain="good.test"} 1
mailwatch_dns_check_success{check="spf",domain="nullmx.test"} 0
`
	collectortest.Compare(t, c, want, "mailwatch_dns_check_success")

	if err := os.Remove(table); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	gone := NewWithResolver(cfg, c.check.res, zap.New(core))
	if err := gone.Update(context.Background(), make(chan prometheus.Metric, 200)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range logs.All() {
		if e.ContextMap()["check"] == "dkim" && strings.Contains(fmt.Sprint(e.ContextMap()["why"]), "read key table") {
			found = true
		}
	}
	if !found {
		t.Errorf("unreadable key table not logged: %v", logs.All())
	}
}

// TestUpdateReturnsOnCtxDone: a resolver that ignores ctx and never returns
// does not hold the run once ctx is done; everything is reported unanswered.
func TestUpdateReturnsOnCtxDone(t *testing.T) {
	t.Parallel()
	res := blockingResolver{release: make(chan struct{})}
	defer close(res.release)
	c := NewWithResolver(Config{Domains: []Domain{{Domain: "good.test"}}}, res, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan prometheus.Metric, 100)
	done := make(chan error, 1)
	go func() { done <- c.Update(ctx, ch) }()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no DNS answer for any of 3 checks") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update did not return after ctx was cancelled")
	}
}

// TestNoDomainsIsNotApplicable: the default config has no domain (enabling
// it so is a config error, see TestValidate); a collector built from it
// anyway checks nothing.
func TestNoDomainsIsNotApplicable(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.ApplyDefaults()
	c := NewWithResolver(cfg, blockingResolver{}, zap.NewNop())
	if _, err := collectortest.Run(t.Context(), c); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("no domains: %v", err)
	}
}
