// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
)

// httpsServer serves handler over TLS on 127.0.0.1 with a certificate for
// names signed by ca.
func httpsServer(t *testing.T, ca *testCert, handler http.Handler, names ...string) string {
	t.Helper()
	leaf := newTestCert(t, names[0], ca, names[1:]...)
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// Policies by host name (RFC 8461 section 3.2's format).
var policies = map[string]string{
	"mta-sts.sts.test":       "version: STSv1\r\nmode: enforce\r\nmx: *.sts.test\r\nmax_age: 604800\r\n",
	"mta-sts.uncovered.test": "version: STSv1\nmode: testing\nmx: mx.uncovered.test\nmax_age: 86400\n",
	"mta-sts.badmode.test":   "version: STSv1\r\nmode: strict\r\nmx: *.badmode.test\r\nmax_age: 86400\r\n",
	"mta-sts.big.test":       "version: STSv1\r\nmode: enforce\r\nmx: *.big.test\r\nmax_age: 86400\r\n" + strings.Repeat("# padding\r\n", 7000),
}

// MTA-STS against DNS and HTTPS servers on loopback: a good policy, one
// whose mx patterns miss an MX host, bad records and policies, a redirect,
// an untrusted certificate and a hung server, which fails its own domain
// only.
func TestMTASTS(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t, "Test CA", nil)
	otherCA := newTestCert(t, "Other CA", nil)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if host == "mta-sts.redirect.test" {
			http.Redirect(w, r, "https://mta-sts.sts.test/.well-known/mta-sts.txt", http.StatusMovedPermanently)
			return
		}
		p, ok := policies[host]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(p))
	})
	names := []string{"mta-sts.sts.test", "mta-sts.uncovered.test", "mta-sts.badmode.test", "mta-sts.big.test", "mta-sts.redirect.test", "mta-sts.noid.test"}
	good := httpsServer(t, ca, handler, names...)
	untrusted := httpsServer(t, otherCA, handler, "mta-sts.untrusted.test")
	hung := httpsServer(t, ca, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }), "mta-sts.hung.test")

	var zone strings.Builder
	zone.WriteString("$TTL 300\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n")
	for _, d := range []string{"sts", "uncovered", "badmode", "big", "redirect", "untrusted", "hung"} {
		zone.WriteString(`_mta-sts.` + d + `.test. IN TXT "v=STSv1; id=20260101T000000;"` + "\n")
		zone.WriteString(d + ".test. IN MX 10 mx." + d + ".test.\n")
	}
	zone.WriteString(`_smtp._tls.sts.test. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@sts.test"` + "\n")
	zone.WriteString("uncovered.test. IN MX 20 backup.elsewhere.test.\n")
	zone.WriteString(`_mta-sts.noid.test. IN TXT "v=STSv1;"` + "\n")
	for _, n := range names {
		zone.WriteString(n + ". IN A 127.0.0.1\n")
	}
	zone.WriteString("mta-sts.untrusted.test. IN A 127.0.0.2\nmta-sts.hung.test. IN A 127.0.0.3\n")
	srv := dnstest.Start(t, zone.String())

	var domains []Domain
	for _, d := range []string{"sts", "uncovered", "badmode", "big", "redirect", "untrusted", "hung", "noid", "absent"} {
		domains = append(domains, Domain{Domain: d + ".test", MTASTS: true})
	}
	c := collectortest.New(t, New, Config{Resolver: resolverConfig(srv), Domains: domains}, nil)
	c.check.policyTimeout = time.Second // the hung server's, well inside the run's 3 s
	c.roots = x509.NewCertPool()
	c.roots.AddCert(ca.cert)
	// Every name resolves to loopback; port 443 is not ours to listen on,
	// so the dial goes to the test servers by the resolved address.
	backends := map[string]string{"127.0.0.1:443": good, "127.0.0.2:443": untrusted, "127.0.0.3:443": hung}
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		b, ok := backends[addr]
		if !ok {
			t.Errorf("dial to %s: not a test server", addr)
			return nil, net.ErrClosed
		}
		return (&net.Dialer{}).DialContext(ctx, network, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got, err := collectortest.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`mailwatch_dns_mta_sts_policy_valid{domain="sts.test"}`:              1,
		`mailwatch_dns_mta_sts_mode{domain="sts.test",mode="enforce"}`:       1,
		`mailwatch_dns_mta_sts_mode{domain="sts.test",mode="testing"}`:       0,
		`mailwatch_dns_mta_sts_max_age_seconds{domain="sts.test"}`:           604800,
		`mailwatch_dns_mta_sts_mx_covered{domain="sts.test"}`:                1,
		`mailwatch_dns_tls_rpt_record_present{domain="sts.test"}`:            1,
		`mailwatch_dns_mta_sts_policy_valid{domain="uncovered.test"}`:        1,
		`mailwatch_dns_mta_sts_mode{domain="uncovered.test",mode="testing"}`: 1,
		`mailwatch_dns_mta_sts_mx_covered{domain="uncovered.test"}`:          0, // backup.elsewhere.test
		`mailwatch_dns_tls_rpt_record_present{domain="uncovered.test"}`:      0,
		`mailwatch_dns_mta_sts_policy_valid{domain="badmode.test"}`:          0,
		`mailwatch_dns_mta_sts_policy_valid{domain="big.test"}`:              0, // more than 64 KiB
		`mailwatch_dns_mta_sts_policy_valid{domain="redirect.test"}`:         0,
		`mailwatch_dns_mta_sts_policy_valid{domain="untrusted.test"}`:        0,
		`mailwatch_dns_mta_sts_policy_valid{domain="hung.test"}`:             0,
		`mailwatch_dns_mta_sts_policy_valid{domain="noid.test"}`:             0,
		`mailwatch_dns_mta_sts_policy_valid{domain="absent.test"}`:           0,
		`mailwatch_dns_mta_sts_mode{domain="absent.test",mode="none"}`:       0,
		`mailwatch_dns_mta_sts_mx_covered{domain="redirect.test"}`:           0,
		// The hung policy server cost its own domain only.
		`mailwatch_dns_check_query_success{check="mx",domain="sts.test"}`: 1,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s absent", k)
		} else if g != v {
			t.Errorf("%s = %g, want %g", k, g, v)
		}
	}
	for _, d := range []string{"badmode", "big", "redirect", "untrusted", "hung", "noid", "absent"} {
		if _, ok := got[`mailwatch_dns_mta_sts_max_age_seconds{domain="`+d+`.test"}`]; ok {
			t.Errorf("max_age exported for %s.test, which has no valid policy", d)
		}
	}
	collectortest.Lint(t, c)
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, err string }{
		{"version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n", ""},
		{"mode: enforce\r\nmx: a.test\r\nmax_age: 1\r\n", "version"},
		{"version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n", "no mx pattern"},
		{"version: STSv1\r\nmode: enforce\r\nmx: a.test\r\nmax_age: 31557601\r\n", "max_age"},
		{"version: STSv1\r\nmode: enforce\r\nmx: a.test\r\n", "no max_age"},
		{"version: STSv1\r\ngarbage\r\n", "not key: value"},
	} {
		_, err := parsePolicy(tc.body)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parsePolicy(%q) = %v, want an error containing %q", tc.body, err, tc.err)
		}
	}
	for _, tc := range []struct {
		host string
		want bool
	}{{"mx.a.test", true}, {"MX.A.TEST.", true}, {"a.test", false}, {"x.mx.a.test", false}, {"mail.b.test", true}} {
		if got := policyCovers([]string{"*.a.test", "mail.b.test"}, tc.host); got != tc.want {
			t.Errorf("policyCovers(%s) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// A policy changed under the same _mta-sts id is flagged until the id
// changes; a change of order, case, line ends or unknown fields is none, and a policy
// changed back is no longer flagged. The id is exported.
func TestMTASTSPolicyChangedWithoutNewID(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t, "Test CA", nil)
	var mu sync.Mutex
	policy := "version: STSv1\r\nmode: testing\r\nmx: mx.id.test\r\nmax_age: 86400\r\n"
	setPolicy := func(p string) { mu.Lock(); policy = p; mu.Unlock() }
	addr := httpsServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write([]byte(policy))
	}), "mta-sts.id.test")
	zone := func(id string) string {
		return "$TTL 0\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n" +
			`_mta-sts.id.test. IN TXT "v=STSv1; id=` + id + `;"` + "\nid.test. IN MX 10 mx.id.test.\nmta-sts.id.test. IN A 127.0.0.1\n"
	}
	srv := dnstest.Start(t, zone("1"))
	c := collectortest.New(t, New, Config{Resolver: resolverConfig(srv), Domains: []Domain{{Domain: "id.test", MTASTS: true}}}, nil)
	c.roots = x509.NewCertPool()
	c.roots.AddCert(ca.cert)
	c.smtpTimeout = 200 * time.Millisecond
	c.dial = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != "127.0.0.1:443" {
			return nil, fmt.Errorf("dial %s: no MX here", a) // mx.id.test has no address anyway
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	run := func(step string, wantStale float64, wantID string) {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := got[`mailwatch_dns_mta_sts_policy_changed_without_new_id{domain="id.test"}`]; !ok || v != wantStale {
			t.Errorf("%s: changed_without_new_id = %g (%v), want %g", step, v, ok, wantStale)
		}
		if v := got[`mailwatch_dns_mta_sts_policy_id_info{domain="id.test",id="`+wantID+`"}`]; v != 1 {
			t.Errorf("%s: no id_info with id %q", step, wantID)
		}
	}
	run("first policy", 0, "1")
	setPolicy("version: STSv1\nmax_age:  86400\nx_note: reformatted\nmode: testing\nmx: MX.id.test\n")
	run("same content, other form", 0, "1")
	setPolicy("version: STSv1\r\nmode: enforce\r\nmx: mx.id.test\r\nmax_age: 86400\r\n")
	run("mode changed, same id", 1, "1")
	run("still the same id", 1, "1")
	setPolicy("version: STSv1\r\nmode: testing\r\nmx: mx.id.test\r\nmax_age: 86400\r\n")
	run("changed back", 0, "1")
	setPolicy("version: STSv1\r\nmode: enforce\r\nmx: mx.id.test\r\nmx: mx2.id.test\r\nmax_age: 86400\r\n")
	run("changed again", 1, "1")
	srv.SetZone(t, zone("2"))
	run("new id", 0, "2")
	collectortest.Lint(t, c)
}
