// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

// testZone holds the lists of the tests: bl.test lists 192.0.2.10 and
// 2001:db8::25, dbl.test lists example.org; public.test, quota.test,
// typo.test and rewrite.test answer with error codes.
const testZone = `
$TTL 300
test.                                  IN SOA ns.test. admin.test. 1 3600 600 86400 300
10.2.0.192.bl.test.                    IN A   127.0.0.2
10.2.0.192.bl.test.                    IN TXT "Listed: see https://bl.test/lookup?ip=192.0.2.10"
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test. IN A 127.0.0.4
example.org.dbl.test.                  IN A   127.0.1.2
10.2.0.192.public.test.                IN A   127.255.255.254
20.2.0.192.public.test.                IN A   127.255.255.254
10.2.0.192.quota.test.                 IN A   127.255.255.255
20.2.0.192.quota.test.                 IN A   127.255.255.255
10.2.0.192.rewrite.test.               IN A   198.51.100.80
20.2.0.192.rewrite.test.               IN A   127.0.0.1
example.org.typo.test.                 IN A   127.255.255.252
`

func startServer(t *testing.T) *dnstest.Server {
	t.Helper()
	return dnstest.Start(t, testZone)
}

func testConfig(srv *dnstest.Server, zones ...Zone) Config {
	return Config{
		Resolver:  dnsclient.Config{Servers: []string{srv.Addr}, QueryTimeout: confval.Duration(300 * time.Millisecond), MaxConcurrent: 4},
		Addresses: []string{"192.0.2.10", "192.0.2.20", "2001:db8::25"},
		Domains:   []string{"Example.org.", "clean.example"},
		Zones:     zones,
	}
}

// setFor makes every query of zone behave as b.
func setFor(srv *dnstest.Server, cfg Config, zone string, b dnstest.Behaviour) {
	for _, a := range cfg.Addresses {
		srv.Set(queryName(Target{Addr: netip.MustParseAddr(a)}, zone), b)
	}
	for _, d := range cfg.Domains {
		srv.Set(queryName(Target{Domain: dnsclient.NormalizeName(d)}, zone), b)
	}
}

type fakeResolver struct {
	calls atomic.Int32
	block chan struct{} // when set, Query waits on it and ignores ctx
}

func (f *fakeResolver) Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	f.calls.Add(1)
	if f.block != nil {
		<-f.block
	}
	return dnsclient.NewResponse(dns.RcodeNameError), nil
}

// orderResolver records the order in which queries return.
type orderResolver struct {
	Resolver
	mu     sync.Mutex
	events []string
}

func (o *orderResolver) Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	r, err := o.Resolver.Query(ctx, name, qtype)
	o.mu.Lock()
	o.events = append(o.events, name)
	o.mu.Unlock()
	return r, err
}

func sortStrings(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

type zapCollector struct{ collectors.Collector }

func counterLines(zone string, nonzero map[string]int) string {
	var b strings.Builder
	sorted := append([]string(nil), Reasons...)
	sort.Strings(sorted)
	for _, r := range sorted {
		fmt.Fprintf(&b, "mailwatch_dnsbl_query_errors_total{reason=%q,zone=%q} %d\n", r, zone, nonzero[r])
	}
	return b.String()
}

// zoneResolver answers NXDOMAIN for every name but those under hang, for
// which it blocks until the test ends, ignoring ctx.
type zoneResolver struct {
	hang string
	stop chan struct{}
}

func (z *zoneResolver) Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	if strings.HasSuffix(name, "."+z.hang+".") {
		<-z.stop
		return nil, context.DeadlineExceeded
	}
	return dnsclient.NewResponse(dns.RcodeNameError), nil
}

// slowResolver answers NXDOMAIN after a millisecond, except for names under
// the dead zones: those time out after 50 ms (or when ctx is done). It
// records how many queries are in flight at once, in all and per zone.
type slowResolver struct {
	dead map[string]bool

	mu       sync.Mutex
	inflight int
	maxIn    int
	sent     map[string]int
}

func (s *slowResolver) Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error) {
	zone := strings.TrimSuffix(name, ".")
	zone = zone[strings.LastIndexByte(strings.TrimSuffix(zone, ".test"), '.')+1:]
	s.mu.Lock()
	s.inflight++
	s.maxIn = max(s.maxIn, s.inflight)
	s.sent[zone]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	if !s.dead[zone] {
		time.Sleep(time.Millisecond)
		return dnsclient.NewResponse(dns.RcodeNameError), nil
	}
	select {
	case <-time.After(50 * time.Millisecond):
		return nil, fmt.Errorf("query %s: %w", name, context.DeadlineExceeded)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
