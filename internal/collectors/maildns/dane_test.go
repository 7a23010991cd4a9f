// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnstest"
)

// testCert is a key and its certificate, signed by parent (self-signed
// when parent is nil).
type testCert struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestCert(t *testing.T, name string, parent *testCert, more ...string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     append([]string{name}, more...),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{key: key, cert: cert}
}

// tlsaRR is the zone-file TLSA record of c with the given parameters.
func tlsaRR(owner string, usage, selector, matching int, c *x509.Certificate) string {
	data := c.Raw
	if selector == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch matching {
	case 1:
		s := sha256.Sum256(data)
		data = s[:]
	case 2:
		s := sha512.Sum512(data)
		data = s[:]
	}
	return fmt.Sprintf("%s IN TLSA %d %d %d %s\n", owner, usage, selector, matching, hex.EncodeToString(data))
}

// writeChain writes a fullchain.pem as certbot does: leaf, then the rest.
func writeChain(t *testing.T, chain ...*testCert) string {
	t.Helper()
	var b strings.Builder
	for _, c := range chain {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
	}
	p := filepath.Join(t.TempDir(), "fullchain.pem")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// smtpServer is a minimal SMTP server on 127.0.0.1 that offers STARTTLS
// and serves chain (leaf first). hang: accept and never greet.
func smtpServer(t *testing.T, hang bool, chain ...*testCert) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cert := tls.Certificate{PrivateKey: chain[0].key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.cert.Raw)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if hang {
					<-done
					return
				}
				serveSMTP(conn, cfg)
			}()
		}
	}()
	return ln.Addr().String()
}

// serveSMTP plays an MX's port 25: STARTTLS with cfg, or, with a nil cfg, no
// STARTTLS in the EHLO answer, as a Postfix with smtpd_tls_security_level =
// none does.
func serveSMTP(conn net.Conn, cfg *tls.Config) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	fmt.Fprint(conn, "220 mx.dane.test ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if cfg == nil {
				fmt.Fprint(conn, "250-mx.dane.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
			} else {
				fmt.Fprint(conn, "250-mx.dane.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
			}
		case cmd == "STARTTLS" && cfg != nil:
			fmt.Fprint(conn, "220 2.0.0 Ready to start TLS\r\n")
			tc := tls.Server(conn, cfg)
			if tc.Handshake() != nil {
				return
			}
			r, conn = bufio.NewReader(tc), tc
		case cmd == "QUIT":
			fmt.Fprint(conn, "221 2.0.0 Bye\r\n")
			return
		default:
			fmt.Fprint(conn, "502 5.5.2 Error\r\n")
		}
	}
}

// The certbot case: a new key is served and in the file, the TLSA record
// still has the old one; and the reverse (a TLSA record published for the
// new key in the file before the MTA was reloaded). DANE-EE 3 1 1, 3 0 1
// and 3 1 2 and DANE-TA 2 0 1 / 2 1 1 match; PKIX usages do not count.
func TestDANE(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t, "Test CA", nil)
	oldLeaf := newTestCert(t, "mx.dane.test", ca)
	newLeaf := newTestCert(t, "mx.dane.test", ca)
	otherCA := newTestCert(t, "Other CA", nil)

	zone := "$TTL 300\ntest. IN SOA ns.test. admin.test. 1 3600 600 86400 300\n" +
		tlsaRR("_25._tcp.ok311.test.", 3, 1, 1, oldLeaf.cert) +
		tlsaRR("_25._tcp.ok301.test.", 3, 0, 1, oldLeaf.cert) +
		tlsaRR("_25._tcp.ok312.test.", 3, 1, 2, oldLeaf.cert) +
		tlsaRR("_25._tcp.ta201.test.", 2, 0, 1, ca.cert) +
		tlsaRR("_25._tcp.ta211.test.", 2, 1, 1, ca.cert) +
		tlsaRR("_25._tcp.ta-other.test.", 2, 0, 1, otherCA.cert) +
		tlsaRR("_25._tcp.pkix.test.", 1, 1, 1, oldLeaf.cert) +
		// Rollover done right: old and new key both published.
		tlsaRR("_25._tcp.both.test.", 3, 1, 1, oldLeaf.cert) +
		tlsaRR("_25._tcp.both.test.", 3, 1, 1, newLeaf.cert) +
		"mx.byname.test. IN A 127.0.0.1\n" +
		tlsaRR("_25._tcp.mx.byname.test.", 3, 1, 1, oldLeaf.cert)
	srv := dnstest.Start(t, zone)
	srv.Set("_25._tcp.servfail.test", dnstest.ServFail)

	oldServed := smtpServer(t, false, oldLeaf, ca)
	newServed := smtpServer(t, false, newLeaf, ca)
	hung := smtpServer(t, true, oldLeaf)
	oldFile := writeChain(t, oldLeaf, ca)
	newFile := writeChain(t, newLeaf, ca)

	targets := []DANETarget{
		{MX: "ok311.test", Address: oldServed, CertFile: oldFile},
		{MX: "ok301.test", Address: oldServed},
		{MX: "ok312.test", Address: oldServed, CertFile: oldFile},
		{MX: "ta201.test", Address: newServed, CertFile: newFile},
		{MX: "ta211.test", Address: newServed},
		{MX: "ta-other.test", Address: oldServed},
		{MX: "pkix.test", Address: oldServed},
		// certbot renewed with a new key and the MTA was reloaded; the
		// TLSA record was not updated.
		{MX: "ok311.test.", Address: newServed, CertFile: newFile},
	}
	// The same name cannot be listed twice: the certbot cases get their own.
	targets[7].MX = "stale.test"
	zone2 := tlsaRR("_25._tcp.stale.test.", 3, 1, 1, oldLeaf.cert) +
		tlsaRR("_25._tcp.notreloaded.test.", 3, 1, 1, newLeaf.cert)
	srv.SetZone(t, zone+zone2)
	targets = append(targets,
		// TLSA and file have the new key; the MTA still serves the old one.
		DANETarget{MX: "notreloaded.test", Address: oldServed, CertFile: newFile},
		DANETarget{MX: "both.test", Address: newServed, CertFile: newFile},
		DANETarget{MX: "servfail.test", Address: oldServed},
		DANETarget{MX: "hung.test", Address: hung},
		DANETarget{MX: "mx.byname.test"}, // address from the resolver: 127.0.0.1, port 25 redirected below
	)
	cfg := Config{Resolver: resolverConfig(srv), DANE: targets}
	c := collectortest.New(t, New, cfg, nil)
	// Port 25 is not ours to listen on: the MX found by name is dialled
	// at the old server instead, after the resolver gave 127.0.0.1:25.
	for i := range c.dane {
		c.dane[i].timeout = time.Second // well inside the run's 3 s
	}
	dialled := make(chan string, 16)
	c.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "127.0.0.1:25" {
			dialled <- addr
			addr = oldServed
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// The hung server fails its own check (its SMTP timeout, 1 s) and the
	// run goes on: every other host has its result, and hung.test's TLSA
	// query result is there too (not "run ended before the check did").
	got, err := collectortest.Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	match := func(mx string, served, file float64) {
		want[`mailwatch_dns_dane_match{certificate="served",mx="`+mx+`"}`] = served
		if file >= 0 {
			want[`mailwatch_dns_dane_match{certificate="file",mx="`+mx+`"}`] = file
		}
	}
	match("ok311.test", 1, 1)
	match("ok301.test", 1, -1)
	match("ok312.test", 1, 1)
	match("ta201.test", 1, 1)
	match("ta211.test", 1, -1)
	match("ta-other.test", 0, -1)
	match("pkix.test", 0, -1)
	match("stale.test", 0, 0)
	match("notreloaded.test", 0, 1)
	match("both.test", 1, 1)
	match("servfail.test", 0, -1)
	match("hung.test", 0, -1)
	match("mx.byname.test", 1, -1)
	want[`mailwatch_dns_dane_tlsa_records{mx="pkix.test"}`] = 0
	want[`mailwatch_dns_dane_tlsa_records{mx="both.test"}`] = 2
	want[`mailwatch_dns_dane_query_success{mx="servfail.test"}`] = 0
	want[`mailwatch_dns_dane_query_success{mx="hung.test"}`] = 1
	want[`mailwatch_dns_dane_certificate_read_success{certificate="served",mx="hung.test"}`] = 0
	want[`mailwatch_dns_dane_certificate_read_success{certificate="served",mx="servfail.test"}`] = 1
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s absent", k)
		} else if g != v {
			t.Errorf("%s = %g, want %g", k, g, v)
		}
	}
	if _, ok := got[`mailwatch_dns_dane_tlsa_records{mx="servfail.test"}`]; ok {
		t.Error("tlsa_records exported for a failed query")
	}
	select {
	case <-dialled:
	default:
		t.Error("the MX named without address was not dialled at its resolved address, port 25")
	}
	collectortest.Lint(t, c)
}
