// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
)

// leafCert is a server certificate for names, signed by ca, valid from
// notBefore to notAfter.
func leafCert(t *testing.T, ca *testCert, notBefore, notAfter time.Time, names ...string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{key: key, cert: cert}
}

// mxServer is an SMTP server on 127.0.0.1 serving chain (leaf first) after
// STARTTLS; noTLS: EHLO offers no STARTTLS; hang: accept and never greet.
// It counts the connections it accepts.
type mxServer struct {
	addr     string
	accepted atomic.Int32
}

func startMX(t *testing.T, noTLS, hang bool, chain ...*testCert) *mxServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mxServer{addr: ln.Addr().String()}
	var cfg *tls.Config
	if len(chain) > 0 {
		cert := tls.Certificate{PrivateKey: chain[0].key}
		for _, c := range chain {
			cert.Certificate = append(cert.Certificate, c.cert.Raw)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			wg.Go(func() {
				defer conn.Close()
				switch {
				case hang:
					<-done
				case noTLS:
					serveSMTP(conn, nil)
				default:
					serveSMTP(conn, cfg)
				}
			})
		}
	})
	return s
}

// The certificates the MX hosts of MTA-STS domains serve on port 25, judged
// as an enforcing sender would (RFC 8461 section 4): a matching name, a
// wildcard, a wildcard one label too short, a name missing, expired,
// untrusted, no STARTTLS, a hung server (its own timeout, the rest of the
// run goes on), an MX the policy does not cover (never dialled), mode none
// (not judged). The MX host that is also a DANE host and the MX of two
// domains is read over one connection per run.
func TestMTASTSServedCertificates(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t, "Test CA", nil)
	otherCA := newTestCert(t, "Other CA", nil)
	now := time.Now()
	valid := func(c *testCert, names ...string) *testCert {
		return leafCert(t, c, now.Add(-time.Hour), now.Add(24*time.Hour), names...)
	}
	servers := map[string]*mxServer{
		"mx.ok.test":        startMX(t, false, false, valid(ca, "mx.ok.test")),
		"mx1.wild.test":     startMX(t, false, false, valid(ca, "*.wild.test")),
		"a.mx.deep.test":    startMX(t, false, false, valid(ca, "*.deep.test")),
		"mx.nameless.test":  startMX(t, false, false, valid(ca, "mail.elsewhere.test", "www.nameless.test")),
		"mx.expired.test":   startMX(t, false, false, leafCert(t, ca, now.Add(-48*time.Hour), now.Add(-time.Hour), "mx.expired.test")),
		"mx.untrusted.test": startMX(t, false, false, valid(otherCA, "mx.untrusted.test")),
		"mx.plain.test":     startMX(t, true, false),
		"mx.hung.test":      startMX(t, false, true),
		"mx.uncovered.test": startMX(t, false, false, valid(ca, "mx.uncovered.test")),
		"mx.none.test":      startMX(t, false, false, valid(ca, "mx.none.test")),
	}
	// domain -> policy; each domain's MX is the server of the same name
	// part, alias.test shares mx.ok.test.
	pol := func(mode string, mx ...string) string {
		s := "version: STSv1\r\nmode: " + mode + "\r\nmax_age: 86400\r\n"
		for _, m := range mx {
			s += "mx: " + m + "\r\n"
		}
		return s
	}
	policies := map[string]string{
		"ok.test":        pol("enforce", "mx.ok.test"),
		"alias.test":     pol("enforce", "mx.ok.test"),
		"wild.test":      pol("enforce", "*.wild.test"),
		"deep.test":      pol("testing", "a.mx.deep.test"),
		"nameless.test":  pol("enforce", "mx.nameless.test"),
		"expired.test":   pol("enforce", "mx.expired.test"),
		"untrusted.test": pol("enforce", "mx.untrusted.test"),
		"plain.test":     pol("enforce", "mx.plain.test"),
		"hung.test":      pol("enforce", "mx.hung.test"),
		"uncovered.test": pol("enforce", "mx.uncovered.test"),
		"none.test":      pol("none"),
	}
	mxOf := map[string][]string{
		"ok.test": {"mx.ok.test"}, "alias.test": {"mx.ok.test"}, "wild.test": {"mx1.wild.test"},
		"deep.test": {"a.mx.deep.test"}, "nameless.test": {"mx.nameless.test"}, "expired.test": {"mx.expired.test"},
		"untrusted.test": {"mx.untrusted.test"}, "plain.test": {"mx.plain.test"}, "hung.test": {"mx.hung.test"},
		// the backup MX comes first by preference, and the policy misses it
		"uncovered.test": {"backup.elsewhere.test", "mx.uncovered.test"}, "none.test": {"mx.none.test"},
	}
	var names []string
	var zone strings.Builder
	zone.WriteString("$TTL 300\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n")
	backends := map[string]string{}
	n := 0
	for d, mxs := range mxOf {
		names = append(names, "mta-sts."+d)
		zone.WriteString(`_mta-sts.` + d + `. IN TXT "v=STSv1; id=1;"` + "\n")
		zone.WriteString(`_smtp._tls.` + d + `. IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@` + d + `"` + "\n")
		zone.WriteString("mta-sts." + d + ". IN A 127.0.0.1\n")
		for i, mx := range mxs {
			zone.WriteString(fmt.Sprintf("%s. IN MX %d %s.\n", d, 20-10*i, mx))
		}
	}
	for mx, s := range servers {
		n++
		ip := fmt.Sprintf("127.0.1.%d", n)
		zone.WriteString(mx + ". IN A " + ip + "\n")
		backends[ip+":25"] = s.addr
	}
	zone.WriteString("backup.elsewhere.test. IN A 127.0.2.1\n")
	srv := dnstest.Start(t, zone.String())
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		p, ok := policies[strings.TrimPrefix(host, "mta-sts.")]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(p))
	})
	backends["127.0.0.1:443"] = httpsServer(t, ca, handler, names...)

	// The CA comes from mta_sts_ca_file, for the policy host and the MX
	// hosts alike.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	var domains []Domain
	for d := range mxOf {
		domains = append(domains, Domain{Domain: d, MTASTS: true})
	}
	cfg := Config{Resolver: resolverConfig(srv), Domains: domains, MTASTSCAFile: caFile,
		// mx.ok.test is a DANE host too, found by name like the MX hosts.
		DANE: []DANETarget{{MX: "mx.ok.test"}}}
	c := collectortest.New(t, New, cfg, nil)
	c.smtpTimeout = time.Second // the hung server's, well inside the run's 3 s
	c.dane[0].timeout = time.Second
	var dialMu sync.Mutex
	dialled := map[string]int{}
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialMu.Lock()
		dialled[addr]++
		dialMu.Unlock()
		b, ok := backends[addr]
		if !ok {
			return nil, fmt.Errorf("dial %s: not a test server", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got, err := collectortest.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]string{
		{"ok.test", "mx.ok.test"}:                   stsMXOK,
		{"alias.test", "mx.ok.test"}:                stsMXOK,
		{"wild.test", "mx1.wild.test"}:              stsMXOK,
		{"deep.test", "a.mx.deep.test"}:             stsMXHostMismatch, // "*" stands for one label only
		{"nameless.test", "mx.nameless.test"}:       stsMXHostMismatch,
		{"expired.test", "mx.expired.test"}:         stsMXExpired,
		{"untrusted.test", "mx.untrusted.test"}:     stsMXNotTrusted,
		{"plain.test", "mx.plain.test"}:             stsMXStartTLSNotSupported,
		{"hung.test", "mx.hung.test"}:               stsMXUnreachable,
		{"uncovered.test", "mx.uncovered.test"}:     stsMXOK,
		{"uncovered.test", "backup.elsewhere.test"}: stsMXNotCovered,
	}
	for k, res := range want {
		for _, r := range stsMXResults {
			name := fmt.Sprintf(`mailwatch_dns_mta_sts_mx_result{domain=%q,mx=%q,result=%q}`, k[0], k[1], r)
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s absent", name)
			case r == res && g != 1:
				t.Errorf("%s = %g, want 1", name, g)
			case r != res && g != 0:
				t.Errorf("%s = %g, want 0", name, g)
			}
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "mailwatch_dns_mta_sts_mx_result{") && strings.Contains(name, `domain="none.test"`) {
			t.Errorf("%s exported in mode none", name)
		}
	}
	for _, d := range []string{"ok.test", "wild.test", "expired.test", "hung.test"} {
		if v := got[`mailwatch_dns_mta_sts_policy_valid{domain="`+d+`"}`]; v != 1 {
			t.Errorf("policy of %s valid = %g, want 1 (fetched with the CA of mta_sts_ca_file)", d, v)
		}
	}
	if v := got[`mailwatch_dns_dane_certificate_read_success{certificate="served",mx="mx.ok.test"}`]; v != 1 {
		t.Errorf("DANE read of mx.ok.test = %g, want 1", v)
	}
	// DANE and two MTA-STS domains, one SMTP dialogue.
	if a := servers["mx.ok.test"].accepted.Load(); a != 1 {
		t.Errorf("mx.ok.test accepted %d connections in one run, want 1", a)
	}
	dialMu.Lock()
	if dialled["127.0.2.1:25"] != 0 {
		t.Error("the MX host the policy does not cover was dialled")
	}
	dialMu.Unlock()
	// The next run reads it again: the sharing is per run, not a cache of
	// a certificate that may have been replaced meanwhile.
	if _, err := collectortest.Run(ctx, c); err != nil {
		t.Fatal(err)
	}
	if a := servers["mx.ok.test"].accepted.Load(); a != 2 {
		t.Errorf("mx.ok.test accepted %d connections in two runs, want 2", a)
	}
	collectortest.Lint(t, c)
}

// An unreadable mta_sts_ca_file fails the policy check with the reason, and
// judges no MX host against roots it does not have.
func TestMTASTSCAFileMissing(t *testing.T) {
	t.Parallel()
	srv := dnstest.Start(t, "$TTL 300\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n"+
		`_mta-sts.ca.test. IN TXT "v=STSv1; id=1;"`+"\nca.test. IN MX 10 mx.ca.test.\n")
	cfg := Config{Resolver: resolverConfig(srv), Domains: []Domain{{Domain: "ca.test", MTASTS: true}},
		MTASTSCAFile: filepath.Join(t.TempDir(), "absent.pem")}
	c := collectortest.New(t, New, cfg, nil)
	c.dial = func(_ context.Context, _, addr string) (net.Conn, error) {
		t.Errorf("dialled %s without trust roots", addr)
		return nil, net.ErrClosed
	}
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got[`mailwatch_dns_mta_sts_policy_valid{domain="ca.test"}`]; !ok || v != 0 {
		t.Errorf("policy_valid = %g (%v), want 0", v, ok)
	}
	for name := range got {
		if strings.HasPrefix(name, "mailwatch_dns_mta_sts_mx_result{") {
			t.Errorf("%s exported without trust roots", name)
		}
	}
}

// judgeServed on chains built here: the order of the verdicts (expiry before
// name before trust) and an expired intermediate.
func TestJudgeServed(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := newTestCert(t, "Test CA", nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	leaf := leafCert(t, ca, now.Add(-time.Hour), now.Add(time.Hour), "mx.a.test")
	for _, tc := range []struct {
		name, mx, want string
		chain          []*x509.Certificate
		err            error
	}{
		{"match", "mx.a.test", stsMXOK, []*x509.Certificate{leaf.cert}, nil},
		{"match, upper case and root sent along", "MX.A.TEST", stsMXOK, []*x509.Certificate{leaf.cert, ca.cert}, nil},
		{"other name", "mx.b.test", stsMXHostMismatch, []*x509.Certificate{leaf.cert}, nil},
		{"expired and other name: expiry first", "mx.b.test", stsMXExpired,
			[]*x509.Certificate{leafCert(t, ca, now.Add(-2*time.Hour), now.Add(-time.Hour), "mx.a.test").cert}, nil},
		{"not yet valid", "mx.a.test", stsMXExpired,
			[]*x509.Certificate{leafCert(t, ca, now.Add(time.Hour), now.Add(2*time.Hour), "mx.a.test").cert}, nil},
		{"no STARTTLS", "mx.a.test", stsMXStartTLSNotSupported, nil, fmt.Errorf("%w: 127.0.0.1:25", errNoSTARTTLS)},
		{"handshake", "mx.a.test", stsMXValidationFailure, nil, fmt.Errorf("%w: remote error", errHandshake)},
		{"refused", "mx.a.test", stsMXUnreachable, nil, fmt.Errorf("connection refused")},
	} {
		got, why := judgeServed(tc.chain, tc.err, tc.mx, roots, now)
		if got != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, why, tc.want)
		}
		if (got == stsMXOK) != (why == "") {
			t.Errorf("%s: result %s with why %q", tc.name, got, why)
		}
	}
	// A chain through an intermediate that expired: the leaf is within its
	// dates, the chain is not.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Old Intermediate"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	l := leafCert(t, &testCert{key: key, cert: inter}, now.Add(-2*time.Hour), now.Add(time.Hour), "mx.a.test")
	if got, why := judgeServed([]*x509.Certificate{l.cert, inter}, nil, "mx.a.test", roots, now); got != stsMXExpired {
		t.Errorf("chain through an expired intermediate: %s (%s), want %s", got, why, stsMXExpired)
	}
}
