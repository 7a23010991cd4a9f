// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// TestUpdatePartial: listed, clean, error codes, SERVFAIL and a list that
// never answers, in one run.
func TestUpdatePartial(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv,
		Zone{Zone: "bl.test", Kind: KindIP},
		Zone{Zone: "public.test"},
		Zone{Zone: "quota.test", Kind: KindIP},
		Zone{Zone: "rewrite.test", Kind: KindIP},
		Zone{Zone: "slow.test", Kind: KindIP},
		Zone{Zone: "fail.test", Kind: KindIP},
		Zone{Zone: "dbl.test", Kind: KindDomain},
		Zone{Zone: "typo.test", Kind: KindDomain},
	)
	setFor(srv, cfg, "slow.test", dnstest.Hang)
	setFor(srv, cfg, "fail.test", dnstest.ServFail)
	c := collectortest.New(t, New, cfg, nil)
	collectortest.CheckGolden(t, c, "partial", false) // partial failure is data, not a failed run
}

// TestUpdateTotalFailure: when the resolver answers nothing, the run is an
// error (nothing trustworthy), and the error counters still grow.
func TestUpdateTotalFailure(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "slow.test", Kind: KindIP}, Zone{Zone: "fail.test", Kind: KindDomain})
	setFor(srv, cfg, "slow.test", dnstest.Hang)
	setFor(srv, cfg, "fail.test", dnstest.ServFail)
	c := collectortest.New(t, New, cfg, nil)
	err := collectortest.Golden(t, c, "total_failure")
	if err == nil || !strings.Contains(err.Error(), "no answer from the resolver for any of 5 queries") {
		t.Errorf("total failure: err = %v", err)
	}
}

// TestUpdateSuccessCached: a clean run; a second run within the TTLs sends
// no query at all.
func TestUpdateSuccessCached(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "bl.test", Kind: KindIP}, Zone{Zone: "dbl.test", Kind: KindDomain})
	c := collectortest.New(t, New, cfg, nil)
	if err := collectortest.Golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	sent := srv.Total()
	if sent != 5 {
		t.Errorf("first run sent %d queries, want 5 (3 addresses + 2 domains)", sent)
	}
	if err := collectortest.Golden(t, c, "success"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Total(); n != sent {
		t.Errorf("second run within the TTL sent %d queries, want 0", n-sent)
	}
}

// TestNoTargetsIsNotApplicable: the default config has no target
// (enabling it so is a config error, see TestValidate); a collector built
// from it anyway asks nobody.
func TestNoTargetsIsNotApplicable(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.ApplyDefaults()
	res := &fakeResolver{}
	c := NewWithResolver(cfg, res, nil, zap.NewNop())
	_, err := collectortest.Run(t.Context(), c)
	if !errors.Is(err, collectors.ErrNotApplicable) || res.calls.Load() != 0 {
		t.Errorf("no targets: err %v, %d queries", err, res.calls.Load())
	}
}

// TestUpdateReturnsOnCtxDone: a resolver that ignores ctx and never returns
// does not hold the run once ctx is done.
func TestUpdateReturnsOnCtxDone(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{block: make(chan struct{})}
	defer close(res.block)
	cfg := Config{Addresses: []string{"192.0.2.10"}, Zones: []Zone{{Zone: "bl.test", Kind: KindIP}}}
	c := NewWithResolver(cfg, res, nil, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan prometheus.Metric, 100)
	done := make(chan error, 1)
	go func() { done <- c.Update(ctx, ch) }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a run with every query timed out returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update did not return after ctx was cancelled")
	}
}

// TestHangingZoneDelaysNothing: against a real server where one list never
// answers, every other list's answer comes back while the silent list's
// queries are still waiting for their deadline; the run then reports the
// silent list as timed out and keeps the answers.
func TestHangingZoneDelaysNothing(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "slow.test", Kind: KindIP}, Zone{Zone: "bl.test", Kind: KindIP})
	cfg.Resolver.QueryTimeout = confval.Duration(2 * time.Second)
	cfg.Domains = nil
	setFor(srv, cfg, "slow.test", dnstest.Hang)
	cfg.Resolver.ApplyDefaults()
	client, err := dnsclient.New(cfg.Resolver, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := &orderResolver{Resolver: client}
	c := NewWithResolver(cfg, res, nil, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatalf("run with answers from bl.test: %v", err)
	}
	var order []string
	for _, e := range res.events {
		rest := strings.TrimSuffix(e, ".test.") // "10.2.0.192.bl"
		order = append(order, rest[strings.LastIndexByte(rest, '.')+1:])
	}
	if diff := cmp.Diff([]string{"bl", "bl", "bl", "slow", "slow", "slow"}, order); diff != "" {
		t.Errorf("order in which queries returned (-want +got):\n%s", diff)
	}
	want := map[string]float64{
		`mailwatch_dnsbl_listed{target="192.0.2.10",zone="bl.test"}`:            1,
		`mailwatch_dnsbl_listed{target="2001:db8::25",zone="bl.test"}`:          1,
		`mailwatch_dnsbl_query_success{target="192.0.2.20",zone="bl.test"}`:     1,
		`mailwatch_dnsbl_query_success{target="192.0.2.10",zone="slow.test"}`:   0,
		`mailwatch_dnsbl_query_errors_total{reason="timeout",zone="slow.test"}`: 3,
		`mailwatch_dnsbl_query_errors_total{reason="timeout",zone="bl.test"}`:   0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestDQSKeyRewritesQueryNotLabel(t *testing.T) {
	t.Parallel()
	key := "abcdefghijklmnopqrstuvwxyz"
	srv := dnstest.Start(t, `
$TTL 60
test. IN SOA ns.test. admin.test. 1 3600 600 86400 60
10.2.0.192.`+key+`.zen.dq.spamhaus.net. IN A 127.0.0.3
`)
	cfg := testConfig(srv, Zone{Zone: "zen.spamhaus.org", Kind: KindIP}, Zone{Zone: "other.test", Kind: KindIP})
	cfg.Addresses, cfg.Domains = []string{"192.0.2.10"}, nil
	cfg.SpamhausDQSKey = confval.Secret(key)
	c := collectortest.New(t, New, cfg, nil)
	collectortest.Compare(t, c, `
# HELP mailwatch_dnsbl_listed 1 if the DNS block list zone lists the target (a sending address or mail domain), 0 if it does not or the query gave no verdict. Refreshed every collectors.dnsbl.interval.
# TYPE mailwatch_dnsbl_listed gauge
mailwatch_dnsbl_listed{target="192.0.2.10",zone="other.test"} 0
mailwatch_dnsbl_listed{target="192.0.2.10",zone="zen.spamhaus.org"} 1
`, "mailwatch_dnsbl_listed")
	if n := srv.Count("10.2.0.192.zen.spamhaus.org", dns.TypeA); n != 0 {
		t.Errorf("queried zen.spamhaus.org directly %d times despite the DQS key", n)
	}
	if n := srv.Count("10.2.0.192.other.test", dns.TypeA); n != 1 {
		t.Errorf("non-Spamhaus zone queried %d times, want 1", n)
	}

	// The key is part of the query name: it must not reach logs or errors.
	srv.Set("10.2.0.192."+key+".zen.dq.spamhaus.net", dnstest.Hang)
	srv.Set("10.2.0.192.other.test", dnstest.Hang)
	cfg.Zones = []Zone{{Zone: "zen.spamhaus.org"}}
	core, logs := observer.New(zapcore.DebugLevel)
	c = collectortest.New(t, New, cfg, zap.New(core))
	err := c.Update(context.Background(), make(chan prometheus.Metric, 100))
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("run error %v: want an error without the key", err)
	}
	if logs.Len() == 0 {
		t.Fatal("the timeout was not logged")
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if strings.Contains(strings.ToLower(fmt.Sprint(v)), key) {
				t.Errorf("log %q field %s leaks the key: %v", e.Message, k, v)
			}
		}
	}
}

// TestLogsOnChangeOnly: a listing is logged at warn once, with the TXT
// reason at debug; an error is logged once with a hint; nothing repeats.
func TestLogsOnChangeOnly(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "bl.test", Kind: KindIP}, Zone{Zone: "public.test", Kind: KindIP})
	cfg.Addresses, cfg.Domains = []string{"192.0.2.10"}, nil
	core, logs := observer.New(zapcore.DebugLevel)
	c := collectortest.New(t, New, cfg, zap.New(core))
	for range 3 {
		if err := c.Update(context.Background(), make(chan prometheus.Metric, 100)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range logs.All() {
		line := e.Level.String() + " " + e.Message
		for _, f := range e.Context {
			if f.Key == "txt" || f.Key == "reason" || f.Key == "zone" {
				line += " " + f.Key + "=" + f.String
			}
		}
		got = append(got, line)
	}
	want := []string{
		"warn target is listed on dns block list zone=bl.test",
		"warn dns block list query gave no verdict zone=public.test reason=public_resolver",
	}
	debug := 0
	var rest []string
	for _, l := range got {
		if strings.HasPrefix(l, "debug dnsbl listing reason zone=bl.test txt=Listed: see https://bl.test/lookup?ip=192.0.2.10") {
			debug++
			continue
		}
		rest = append(rest, l)
	}
	if diff := cmp.Diff(want, rest, cmp.Transformer("sort", sortStrings)); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if debug != 3 {
		t.Errorf("TXT reason logged %d times at debug, want once per run (3)", debug)
	}
}

func TestAutoAddresses(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "bl.test", Kind: KindIP})
	cfg.Addresses, cfg.Domains, cfg.AutoAddresses = []string{"192.0.2.20"}, nil, true
	cfg.Resolver.ApplyDefaults()
	res, err := dnsclient.New(cfg.Resolver, nil)
	if err != nil {
		t.Fatal(err)
	}
	host := func() ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.20")}, nil
	}
	c := NewWithResolver(cfg, res, host, zap.NewNop())
	collectortest.Compare(t, c, `
# HELP mailwatch_dnsbl_listed 1 if the DNS block list zone lists the target (a sending address or mail domain), 0 if it does not or the query gave no verdict. Refreshed every collectors.dnsbl.interval.
# TYPE mailwatch_dnsbl_listed gauge
mailwatch_dnsbl_listed{target="192.0.2.10",zone="bl.test"} 1
mailwatch_dnsbl_listed{target="192.0.2.20",zone="bl.test"} 0
`, "mailwatch_dnsbl_listed")

	cfg.Addresses = nil
	none := NewWithResolver(cfg, res, func() ([]netip.Addr, error) { return nil, errors.New("no interfaces") }, zap.NewNop())
	if err := none.Update(context.Background(), make(chan prometheus.Metric, 10)); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("auto with no public address: %v, want ErrNotApplicable", err)
	}
}

func TestIsPublic(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"8.8.8.8":           true,
		"2a01:4f8::1":       true,
		"::ffff:8.8.4.4":    true,
		"10.1.2.3":          false,
		"172.16.0.1":        false,
		"192.168.1.1":       false,
		"127.0.0.1":         false,
		"169.254.1.1":       false,
		"100.64.0.1":        false,
		"192.0.2.1":         false,
		"::1":               false,
		"fe80::1":           false,
		"fd00::1":           false,
		"2001:db8::1":       false,
		"224.0.0.1":         false,
		"0.0.0.0":           false,
		"255.255.255.255":   false,
		"fe80::1%eth0":      false,
		"2002:c000:0204::1": true,
	} {
		if got := isPublic(netip.MustParseAddr(s)); got != want {
			t.Errorf("isPublic(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestSkippedIPv6(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "if_inet6")
	data := `2a0100000000000000000000000000aa 02 40 00 80     eth0
2a0100000000000000000000000000bb 02 40 00 01     eth0
2a0100000000000000000000000000cc 02 40 00 20     eth0
00000000000000000000000000000001 01 80 10 80       lo
garbage
`
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := skippedIPv6(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]bool{netip.MustParseAddr("2a01::bb"): true, netip.MustParseAddr("2a01::cc"): true}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := hostAddresses(); err != nil {
		t.Errorf("hostAddresses on this machine: %v", err)
	}
}

func TestQueryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target Target
		want   string
	}{
		// RFC 5782 section 2.1 and 2.4 examples.
		{Target{Addr: netip.MustParseAddr("192.0.2.99")}, "99.2.0.192.bl.example."},
		{Target{Addr: netip.MustParseAddr("2001:db8:1:2:3:4:567:89ab")}, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example."},
		{Target{Addr: netip.MustParseAddr("::ffff:192.0.2.99")}, "99.2.0.192.bl.example."},
		{Target{Domain: "example.org"}, "example.org.bl.example."},
	}
	for _, tc := range tests {
		if got := queryName(tc.target, "bl.example"); got != tc.want {
			t.Errorf("queryName(%+v) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	a := func(ips ...string) *dnsclient.Response {
		var rrs []dns.RR
		for _, ip := range ips {
			rr, err := dns.NewRR("x.test. 60 IN A " + ip)
			if err != nil {
				t.Fatal(err)
			}
			rrs = append(rrs, rr)
		}
		return dnsclient.NewResponse(dns.RcodeSuccess, rrs...)
	}
	txtOnly, _ := dns.NewRR(`x.test. 60 IN TXT "hello"`)
	tests := []struct {
		name       string
		resp       *dnsclient.Response
		err        error
		listed     bool
		wantReason string
	}{
		{"nxdomain", dnsclient.NewResponse(dns.RcodeNameError), nil, false, ""},
		{"nodata", dnsclient.NewResponse(dns.RcodeSuccess, txtOnly), nil, false, ""},
		{"listed 127.0.0.2", a("127.0.0.2"), nil, true, ""},
		{"listed pbl 127.0.0.11", a("127.0.0.11"), nil, true, ""},
		{"listed dbl 127.0.1.2", a("127.0.1.2"), nil, true, ""},
		{"listed several", a("127.0.0.2", "127.0.0.4", "127.0.0.10"), nil, true, ""},
		{"listed top of range", a("127.255.255.251"), nil, true, ""},
		{"127.0.0.1 is never a listing", a("127.0.0.1"), nil, false, reasonInvalidAnswer},
		{"127.0.0.0", a("127.0.0.0"), nil, false, reasonInvalidAnswer},
		{"rewritten nxdomain", a("198.51.100.80"), nil, false, reasonInvalidAnswer},
		{"typo", a("127.255.255.252"), nil, false, reasonTypo},
		{"253 undefined", a("127.255.255.253"), nil, false, reasonInvalidAnswer},
		{"public resolver", a("127.255.255.254"), nil, false, reasonPublicResolver},
		{"rate limited", a("127.255.255.255"), nil, false, reasonRateLimited},
		{"dbl ip query", a("127.0.1.255"), nil, false, reasonInvalidAnswer},
		{"error wins over listing", a("127.0.0.2", "127.255.255.254"), nil, false, reasonPublicResolver},
		{"specific reason wins", a("10.0.0.1", "127.255.255.255"), nil, false, reasonRateLimited},
		{"servfail", dnsclient.NewResponse(dns.RcodeServerFailure), nil, false, dnsclient.ReasonServfail},
		{"refused", dnsclient.NewResponse(dns.RcodeRefused), nil, false, dnsclient.ReasonRefused},
		{"formerr", dnsclient.NewResponse(dns.RcodeFormatError), nil, false, dnsclient.ReasonOtherRcode},
		{"timeout", nil, context.DeadlineExceeded, false, dnsclient.ReasonTimeout},
		{"network", nil, errors.New("connection refused"), false, dnsclient.ReasonNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.resp, tc.err)
			if v.Listed != tc.listed || v.Reason != tc.wantReason {
				t.Errorf("Judge = listed %v reason %q, want %v %q", v.Listed, v.Reason, tc.listed, tc.wantReason)
			}
		})
	}
}

// BenchmarkUpdate measures a run of 3 addresses × 2 ip zones + 2 domains ×
// 1 domain zone against the in-process server: cold (every answer fetched)
// and cached (every answer within its TTL).
func BenchmarkUpdate(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "cold"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			srv := dnstest.Start(b, testZone)
			cfg := testConfig(srv, Zone{Zone: "bl.test", Kind: KindIP}, Zone{Zone: "quota.test", Kind: KindIP}, Zone{Zone: "dbl.test", Kind: KindDomain})
			ch := make(chan prometheus.Metric, 1000)
			var c *Collector
			fresh := func() {
				var err error
				if c, err = New(cfg, zap.NewNop()); err != nil {
					b.Fatal(err)
				}
			}
			fresh()
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					b.StopTimer()
					fresh()
					b.StartTimer()
				}
				if err := c.Update(context.Background(), ch); err != nil {
					b.Fatal(err)
				}
				for len(ch) > 0 {
					<-ch
				}
			}
		})
	}
}

// TestInheritKeepsCounters: a collector rebuilt on reload continues the
// error counters of the zones it still has.
func TestInheritKeepsCounters(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv, Zone{Zone: "public.test", Kind: KindIP}, Zone{Zone: "quota.test", Kind: KindIP})
	cfg.Domains = nil
	old := collectortest.New(t, New, cfg, nil)
	if err := old.Update(context.Background(), make(chan prometheus.Metric, 100)); err != nil {
		t.Fatal(err)
	}
	cfg.Zones = []Zone{{Zone: "public.test", Kind: KindIP}, {Zone: "bl.test", Kind: KindIP}}
	core, logs := observer.New(zapcore.InfoLevel)
	c := collectortest.New(t, New, cfg, zap.New(core))
	c.Inherit(old)
	c.Inherit(zapCollector{})
	collectortest.Compare(t, c, `
# HELP mailwatch_dnsbl_query_errors_total DNS block list queries that gave no verdict since mailwatchd started, by zone and reason. Refreshed every collectors.dnsbl.interval.
# TYPE mailwatch_dnsbl_query_errors_total counter
`+counterLines("bl.test", nil)+counterLines("public.test", map[string]int{reasonPublicResolver: 4}), "mailwatch_dnsbl_query_errors_total")
	for _, e := range logs.All() {
		if e.ContextMap()["zone"] == "public.test" {
			t.Errorf("already-logged failure logged again after reload: %s %v", e.Message, e.ContextMap())
		}
	}
}
