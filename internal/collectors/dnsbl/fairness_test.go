// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// The set-up of the head-of-line report: twelve sending addresses, a live
// list (live.test, which lists 192.0.2.3 and 192.0.2.7) and a dead one
// (dead.test, whose every query the server reads and never answers).
const (
	liveZone = "live.test"
	deadZone = "dead.test"
)

var liveListed = map[string]bool{"192.0.2.3": true, "192.0.2.7": true}

func twelveAddresses() []string {
	var out []string
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("192.0.2.%d", i))
	}
	return out
}

// startLiveDead serves live.test and makes every query of dead.test hang.
func startLiveDead(t *testing.T) (*dnstest.Server, Config) {
	t.Helper()
	zone := "$TTL 300\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n"
	for a := range liveListed {
		zone += queryName(Target{Addr: netip.MustParseAddr(a)}, liveZone) + " IN A 127.0.0.2\n"
	}
	srv := dnstest.Start(t, zone)
	cfg := Config{
		Resolver:  dnsclient.Config{Servers: []string{srv.Addr}},
		Addresses: twelveAddresses(),
		Zones:     []Zone{{Zone: deadZone, Kind: KindIP}, {Zone: liveZone, Kind: KindIP}},
	}
	setFor(srv, cfg, deadZone, dnstest.Hang)
	return srv, cfg
}

// deadSent is how many queries of dead.test reached the server.
func deadSent(srv *dnstest.Server) int {
	n := 0
	for _, a := range twelveAddresses() {
		n += srv.Count(queryName(Target{Addr: netip.MustParseAddr(a)}, deadZone), dns.TypeA)
	}
	return n
}

// checkLiveDead asserts what the report found missing: every live pair
// with its verdict, every dead pair at query_success 0 and listed 0, and
// every (zone, reason) counter, timeout of dead.test at deadTimeouts and all
// others at 0.
func checkLiveDead(t *testing.T, got map[string]float64, deadTimeouts int) {
	t.Helper()
	want := map[string]float64{}
	for _, a := range twelveAddresses() {
		want[`mailwatch_dnsbl_query_success{target="`+a+`",zone="`+liveZone+`"}`] = 1
		want[`mailwatch_dnsbl_listed{target="`+a+`",zone="`+liveZone+`"}`] = collectors.B2F(liveListed[a])
		want[`mailwatch_dnsbl_query_success{target="`+a+`",zone="`+deadZone+`"}`] = 0
		want[`mailwatch_dnsbl_listed{target="`+a+`",zone="`+deadZone+`"}`] = 0
	}
	for _, z := range []string{liveZone, deadZone} {
		for _, r := range Reasons {
			v := 0.0
			if z == deadZone && r == dnsclient.ReasonTimeout {
				v = float64(deadTimeouts)
			}
			want[fmt.Sprintf("mailwatch_dnsbl_query_errors_total{reason=%q,zone=%q}", r, z)] = v
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "mailwatch_dnsbl_") {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("%d mailwatch_dnsbl_ series, want %d", n, len(want))
	}
}

// TestDeadZoneUnderRunDeadline is the head-of-line report, run through the
// scheduler with the default query settings (5 s per query, 4 in flight)
// and a run timeout far shorter than the dead list's query timeout: the
// live list's twelve verdicts, the dead list's failures and every error
// counter are exported, and the run counts as a success. The dead list's
// queries were cut by the run's deadline, so its timeout counter holds
// exactly the queries that reached the server.
func TestDeadZoneUnderRunDeadline(t *testing.T) {
	t.Parallel()
	srv, cfg := startLiveDead(t)
	c := collectortest.New(t, New, cfg, nil)
	s := scheduler.New(zap.NewNop())
	scheduler.RunOnce(context.Background(), s, []scheduler.Job{{
		Name: Name, Collector: c, Interval: time.Hour, Timeout: time.Second, StaleAfter: time.Hour,
	}})
	st := s.Statuses()
	if len(st) != 1 || !st[0].Success {
		t.Fatalf("run status %+v: want a successful run", st)
	}
	ch := make(chan prometheus.Metric, 1000)
	s.Collect(ch)
	close(ch)
	got := map[string]float64{}
	for m := range ch {
		k, v := collectortest.Sample(m)
		got[k] = v
	}
	sent := deadSent(srv)
	if sent < 1 || sent > 4 {
		t.Errorf("%d queries of the dead list sent, want 1..max_concurrent (4)", sent)
	}
	checkLiveDead(t, got, sent)
}

// TestDeadZoneGivenUp: without a run deadline, the dead list is given up
// after its queries time out, instead of being sent all twelve; the ones
// not sent are reported failed but not counted as query errors.
func TestDeadZoneGivenUp(t *testing.T) {
	t.Parallel()
	srv, cfg := startLiveDead(t)
	cfg.Resolver.QueryTimeout = confval.Duration(200 * time.Millisecond)
	c := collectortest.New(t, New, cfg, nil)
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	sent := deadSent(srv)
	if sent < 2 || sent > 4 {
		t.Errorf("%d queries of the dead list sent, want 2..max_concurrent (4)", sent)
	}
	checkLiveDead(t, got, sent)
}

// TestUpdateEndsBeforeDeadline: with a resolver that ignores ctx for one
// list, Update still returns before its ctx's deadline (else the scheduler
// would throw the run away), with the other list's verdicts and no error.
func TestUpdateEndsBeforeDeadline(t *testing.T) {
	t.Parallel()
	res := &zoneResolver{hang: deadZone, stop: make(chan struct{})}
	defer close(res.stop)
	cfg := Config{Addresses: twelveAddresses(), Zones: []Zone{{Zone: deadZone}, {Zone: liveZone}}}
	c := NewWithResolver(cfg, res, nil, zap.NewNop())
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	got, err := collectortest.Run(ctx, c)
	if ctx.Err() != nil {
		t.Fatal("Update returned after its ctx's deadline: the scheduler discards such a run")
	}
	if err != nil {
		t.Fatalf("run with twelve verdicts: %v", err)
	}
	for _, a := range twelveAddresses() {
		if k := `mailwatch_dnsbl_query_success{target="` + a + `",zone="` + liveZone + `"}`; got[k] != 1 {
			t.Errorf("%s = %v, want 1", k, got[k])
		}
		if k := `mailwatch_dnsbl_query_success{target="` + a + `",zone="` + deadZone + `"}`; got[k] != 0 {
			t.Errorf("%s = %v, want 0", k, got[k])
		}
	}
	// The fake is sent at most max_concurrent (4) queries of the dead list:
	// they are in flight at the deadline and count as timeouts.
	if k := `mailwatch_dnsbl_query_errors_total{reason="timeout",zone="` + deadZone + `"}`; got[k] < 1 || got[k] > 4 {
		t.Errorf("%s = %v, want 1..4", k, got[k])
	}
}

// TestErrorCountersCountQueries: every (zone, reason) counter is exported
// at 0 from the first run, and a run whose answers all come from the cache
// (no query sent) leaves the counters where they were, even when the cached
// answers are error codes.
func TestErrorCountersCountQueries(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	cfg := testConfig(srv,
		Zone{Zone: "public.test", Kind: KindIP},
		Zone{Zone: "quota.test", Kind: KindIP},
		Zone{Zone: "rewrite.test", Kind: KindIP},
		Zone{Zone: "typo.test", Kind: KindDomain},
	)
	c := collectortest.New(t, New, cfg, nil)
	want := counterLines("public.test", map[string]int{reasonPublicResolver: 2}) +
		counterLines("quota.test", map[string]int{reasonRateLimited: 2}) +
		counterLines("rewrite.test", map[string]int{reasonInvalidAnswer: 2}) +
		counterLines("typo.test", map[string]int{reasonTypo: 1})
	got := func() string {
		samples, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for k, v := range samples {
			if strings.HasPrefix(k, "mailwatch_dnsbl_query_errors_total") {
				lines = append(lines, fmt.Sprintf("%s %v", k, v))
			}
		}
		return strings.Join(sortStrings(lines), "\n") + "\n"
	}
	norm := func(s string) string {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			lines = append(lines, l)
		}
		return strings.Join(sortStrings(lines), "\n") + "\n"
	}
	if g, w := got(), norm(want); g != w {
		t.Errorf("first run counters:\n%s\nwant:\n%s", g, w)
	}
	sent := srv.Total()
	if g, w := got(), norm(want); g != w {
		t.Errorf("counters after a run served from the cache:\n%s\nwant (unchanged):\n%s", g, w)
	}
	if n := srv.Total(); n != sent {
		t.Fatalf("second run sent %d queries; the test needs it served from the cache", n-sent)
	}
}

// TestQueriesInFlightBounded: with more lists than slots, four of them
// dead, the collector itself never has more than max_concurrent queries in
// flight, every live list answers for every target, and each dead list is
// given up instead of being sent its twelve queries.
func TestQueriesInFlightBounded(t *testing.T) {
	t.Parallel()
	dead := map[string]bool{"d1.test": true, "d2.test": true, "d3.test": true, "d4.test": true}
	res := &slowResolver{dead: dead, sent: map[string]int{}}
	cfg := Config{
		Resolver:  dnsclient.Config{MaxConcurrent: 4},
		Addresses: twelveAddresses(),
		Zones:     []Zone{{Zone: "d1.test"}, {Zone: "d2.test"}, {Zone: "d3.test"}, {Zone: "d4.test"}, {Zone: "l1.test"}, {Zone: "l2.test"}},
	}
	c := NewWithResolver(cfg, res, nil, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range twelveAddresses() {
		for _, z := range cfg.Zones {
			k := `mailwatch_dnsbl_query_success{target="` + a + `",zone="` + z.Zone + `"}`
			if want := collectors.B2F(!dead[z.Zone]); got[k] != want {
				t.Errorf("%s = %v, want %v", k, got[k], want)
			}
		}
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.maxIn > 4 {
		t.Errorf("%d queries in flight at once, want at most max_concurrent (4)", res.maxIn)
	}
	for z := range dead {
		if n := res.sent[z]; n < giveUpAfter || n > 4 {
			t.Errorf("dead list %s sent %d queries, want %d..4", z, n, giveUpAfter)
		}
		k := `mailwatch_dnsbl_query_errors_total{reason="timeout",zone="` + z + `"}`
		if got[k] != float64(res.sent[z]) {
			t.Errorf("%s = %v, want the %d queries sent", k, got[k], res.sent[z])
		}
	}
}
