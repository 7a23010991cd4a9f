// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsclient

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

const zone = `
$TTL 300
test.               3600 IN SOA ns.test. admin.test. 1 3600 600 86400 60
a.test.             120  IN A     192.0.2.1
a.test.             300  IN AAAA  2001:db8::1
txt.test.                IN TXT   "v=spf1 " "ip4:192.0.2.0/24 -all"
txt.test.                IN TXT   "quote\"back\\slash\010tab"
mx.test.                 IN MX    10 MAIL.test.
ptr.test.                IN PTR   Host.Test.
alias.test.              IN CNAME a.test.
zero.test.          0    IN A     192.0.2.9
`

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func newClient(t *testing.T, clock func() time.Time, servers ...string) *Client {
	t.Helper()
	c, err := New(Config{Servers: servers, QueryTimeout: confval.Duration(500 * time.Millisecond), MaxConcurrent: 4}, clock)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQueryRecordsAndHelpers(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	c := newClient(t, nil, srv.Addr)
	ctx := context.Background()

	r, err := c.Query(ctx, "A.test", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("A: %v %+v", err, r)
	}
	if diff := cmp.Diff([]netip.Addr{netip.MustParseAddr("192.0.2.1")}, r.Addrs(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("A (-want +got):\n%s", diff)
	}
	r, _ = c.Query(ctx, "a.test.", dns.TypeAAAA)
	if got := r.Addrs(); len(got) != 1 || got[0] != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("AAAA = %v", got)
	}
	r, _ = c.Query(ctx, "txt.test", dns.TypeTXT)
	want := []string{"v=spf1 ip4:192.0.2.0/24 -all", "quote\"back\\slash\ntab"}
	got := r.TXT()
	if len(got) == 2 && got[0] != want[0] {
		got[0], got[1] = got[1], got[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TXT (-want +got):\n%s", diff)
	}
	r, _ = c.Query(ctx, "mx.test", dns.TypeMX)
	if diff := cmp.Diff([]MX{{10, "mail.test."}}, r.MX()); diff != "" {
		t.Errorf("MX (-want +got):\n%s", diff)
	}
	r, _ = c.Query(ctx, "ptr.test", dns.TypePTR)
	if diff := cmp.Diff([]string{"host.test."}, r.PTR()); diff != "" {
		t.Errorf("PTR (-want +got):\n%s", diff)
	}
	r, _ = c.Query(ctx, "alias.test", dns.TypeA)
	if got := r.Addrs(); len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("CNAME-followed A = %v", got)
	}
	r, err = c.Query(ctx, "missing.test", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeNameError || FailureReason(r, err) != "" {
		t.Errorf("NXDOMAIN: %v %+v", err, r)
	}
}

// TestCacheByTTL: a second query within the TTL is answered from the cache
// (the server sees one query); after the TTL it is asked again. Negative
// answers live for the SOA's negative TTL, zero TTLs are not cached.
func TestCacheByTTL(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newClient(t, clock.now, srv.Addr)
	ctx := context.Background()
	ask := func(name string, qt uint16) {
		t.Helper()
		if _, err := c.Query(ctx, name, qt); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		ask("a.test", dns.TypeA)
		ask("nx.test", dns.TypeA)
		ask("zero.test", dns.TypeA)
	}
	if n := srv.Count("a.test", dns.TypeA); n != 1 {
		t.Errorf("a.test asked %d times within its TTL, want 1", n)
	}
	if n := srv.Count("nx.test", dns.TypeA); n != 1 {
		t.Errorf("NXDOMAIN asked %d times within the negative TTL, want 1", n)
	}
	if n := srv.Count("zero.test", dns.TypeA); n != 3 {
		t.Errorf("TTL 0 asked %d times, want 3 (not cached)", n)
	}
	clock.advance(61 * time.Second) // past the SOA minimum (60), within the A TTL (120)
	ask("a.test", dns.TypeA)
	ask("nx.test", dns.TypeA)
	if a, nx := srv.Count("a.test", dns.TypeA), srv.Count("nx.test", dns.TypeA); a != 1 || nx != 2 {
		t.Errorf("after 61s: a.test %d (want 1), nx.test %d (want 2)", a, nx)
	}
	clock.advance(60 * time.Second)
	ask("a.test", dns.TypeA)
	if n := srv.Count("a.test", dns.TypeA); n != 2 {
		t.Errorf("after the TTL a.test asked %d times, want 2", n)
	}
}

func TestFailuresAndFailover(t *testing.T) {
	t.Parallel()
	bad := dnstest.Start(t, zone)
	good := dnstest.Start(t, zone)
	bad.Set("a.test", dnstest.ServFail)
	bad.Set("mx.test", dnstest.Refused)
	bad.Set("txt.test", dnstest.ServFail)
	good.Set("txt.test", dnstest.ServFail)
	c := newClient(t, nil, bad.Addr, good.Addr)
	ctx := context.Background()

	r, err := c.Query(ctx, "a.test", dns.TypeA)
	if err != nil || FailureReason(r, err) != "" || len(r.Addrs()) != 1 {
		t.Errorf("SERVFAIL from the first server should fall over to the second: %v %+v", err, r)
	}
	r, err = c.Query(ctx, "mx.test", dns.TypeMX)
	if err != nil || len(r.MX()) != 1 {
		t.Errorf("REFUSED should fall over: %v %+v", err, r)
	}
	r, err = c.Query(ctx, "txt.test", dns.TypeTXT)
	if got := FailureReason(r, err); got != ReasonServfail {
		t.Errorf("all servers SERVFAIL: reason %q, want servfail", got)
	}
	_, _ = c.Query(ctx, "txt.test", dns.TypeTXT)
	if n := good.Count("txt.test", dns.TypeTXT); n != 2 {
		t.Errorf("SERVFAIL was cached: asked %d times, want 2", n)
	}

	only := newClient(t, nil, bad.Addr)
	r, err = only.Query(ctx, "mx.test", dns.TypeMX)
	if got := FailureReason(r, err); got != ReasonRefused {
		t.Errorf("REFUSED: reason %q", got)
	}
}

func TestTruncatedRetriesOverTCP(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	srv.Set("txt.test", dnstest.Truncate)
	c := newClient(t, nil, srv.Addr)
	r, err := c.Query(context.Background(), "txt.test", dns.TypeTXT)
	if err != nil || len(r.TXT()) != 2 {
		t.Fatalf("truncated answer not retried over TCP: %v %+v", err, r)
	}
	if n := srv.Count("txt.test", dns.TypeTXT); n != 2 {
		t.Errorf("server saw %d queries, want 2 (UDP then TCP)", n)
	}
}

// TestHangingNameDoesNotStallOthers: while a query to a server that never
// answers is in flight, other queries are answered; the hanging one ends
// with a timeout at its per-query deadline.
func TestHangingNameDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	srv.Set("slow.test", dnstest.Hang)
	c, err := New(Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(time.Minute), MaxConcurrent: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slowCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slowDone := make(chan error, 1)
	go func() {
		_, err := c.Query(slowCtx, "slow.test", dns.TypeA)
		slowDone <- err
	}()
	for srv.Count("slow.test", dns.TypeA) == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, name := range []string{"a.test", "mx.test", "txt.test", "ptr.test"} {
		if _, err := c.Query(context.Background(), name, dns.TypeA); err != nil {
			t.Fatalf("%s while another query hangs: %v", name, err)
		}
	}
	select {
	case err := <-slowDone:
		t.Fatalf("query to a silent server returned before its deadline: %v", err)
	default:
	}
	cancel()
	if err := <-slowDone; FailureReason(nil, err) != ReasonTimeout {
		t.Errorf("hanging query: %v", err)
	}

	quick := newClient(t, nil, srv.Addr) // 500ms per query
	r, err := quick.Query(context.Background(), "slow.test", dns.TypeA)
	if reason := FailureReason(r, err); reason != ReasonTimeout {
		t.Errorf("per-query deadline: reason %q (%v)", reason, err)
	}
}

// TestCancelEndsQuery: cancelling the run's context (no deadline) ends a
// query that is waiting for an answer.
func TestCancelEndsQuery(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	srv.Set("slow.test", dnstest.Hang)
	c, err := New(Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(time.Minute), MaxConcurrent: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Query(ctx, "slow.test", dns.TypeA)
		done <- err
	}()
	for srv.Count("slow.test", dns.TypeA) == 0 {
		time.Sleep(time.Millisecond)
	}
	// A second query waits for the only slot; it too must end.
	done2 := make(chan error, 1)
	go func() {
		_, err := c.Query(ctx, "a.test", dns.TypeA)
		done2 <- err
	}()
	cancel()
	for _, ch := range []chan error{done, done2} {
		if err := <-ch; FailureReason(nil, err) != ReasonTimeout {
			t.Errorf("cancelled query: %v", err)
		}
	}
}

// TestInflightDeduplicated: queries for a name already in flight wait for
// that query instead of sending their own.
func TestInflightDeduplicated(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, zone)
	srv.Set("slow.test", dnstest.Hang)
	c, err := New(Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(2 * time.Second), MaxConcurrent: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Query(context.Background(), "slow.test", dns.TypeA) })
	for srv.Count("slow.test", dns.TypeA) == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 4 {
		wg.Go(func() {
			if _, err := c.Query(context.Background(), "slow.test", dns.TypeA); err == nil {
				t.Error("follower got an answer from a server that never answers")
			}
		})
	}
	wg.Wait()
	if n := srv.Count("slow.test", dns.TypeA); n != 1 {
		t.Errorf("server saw %d queries for one name in flight, want 1", n)
	}
	if n := c.Sent(); n != 1 {
		t.Errorf("client sent %d queries, want 1", n)
	}
}

// TestNetworkErrorReason: a closed UDP port answers with ICMP port
// unreachable, which is a network error, not a DNS answer.
func TestNetworkErrorReason(t *testing.T) {
	t.Parallel()
	closed := newClient(t, nil, "127.0.0.1:9") // discard port: nothing listens on loopback here
	r, err := closed.Query(context.Background(), "a.test", dns.TypeA)
	if reason := FailureReason(r, err); reason != ReasonNetwork && reason != ReasonTimeout {
		t.Errorf("closed port: reason %q (%v)", reason, err)
	}
}

func TestSystemServers(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("search example\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := systemServers(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.53:53", "[::1]:53"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := os.WriteFile(p, []byte("search example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := systemServers(p); err == nil {
		t.Error("resolv.conf without nameserver accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	c := Config{Servers: []string{"127.0.0.1", "127.0.0.1:53", "unbound.local:53", "[::1]:70000", "[fe80::1%eth0]:53"}, QueryTimeout: confval.Duration(time.Millisecond), MaxConcurrent: 99}
	var msgs []string
	for _, e := range c.Validate("resolver") {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{
		`resolver.servers[1]: "127.0.0.1:53" is listed twice`,
		`resolver.servers[2]: "unbound.local:53": the server must be an IP address`,
		`resolver.servers[3]: "[::1]:70000": port must be 1..65535`,
		`resolver.servers[4]:`,
		`resolver.query_timeout: 1ms is outside`,
		`resolver.max_concurrent: must be between 1 and 32, got 99`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(msgs) != 6 {
		t.Errorf("got %d problems, want 6:\n%s", len(msgs), got)
	}
	ok := Config{}
	ok.ApplyDefaults()
	if errs := ok.Validate("resolver"); len(errs) != 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
}

func TestUnescape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`plain`:       "plain",
		`a\"b`:        `a"b`,
		`a\\b`:        `a\b`,
		`\009x`:       "\tx",
		`\256`:        "256",
		`trailing\`:   `trailing\`,
		`\0`:          "0",
		`semi\;colon`: "semi;colon",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
