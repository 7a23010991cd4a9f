// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// testNow is the clock of the tests: the certificates' dates are fixed
// around it so that verification and the golden files never drift.
var testNow = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// ---- a test PKI ----

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial atomic.Int64

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func createCert(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// newCA makes a root; with parent, an intermediate signed by it.
func newCA(t *testing.T, cn string, parent *testCA) *testCA {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, NotBefore: day(2020, 1, 1), NotAfter: day(2040, 1, 1),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	var c *x509.Certificate
	if parent == nil {
		c = createCert(t, tmpl, nil, &k.PublicKey, k)
	} else {
		c = createCert(t, tmpl, parent.cert, &k.PublicKey, parent.key)
	}
	return &testCA{cert: c, key: k, pem: certPEM(c)}
}

// leaf is a server certificate with its key and the chain to serve.
type leaf struct {
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate // leaf first, then intermediates
}

// fullchain is certbot's fullchain.pem.
func (l leaf) fullchain() []byte {
	var b []byte
	for _, c := range l.chain {
		b = append(b, certPEM(c)...)
	}
	return b
}

func (l leaf) tls() *tls.Certificate {
	tc := &tls.Certificate{PrivateKey: l.key, Leaf: l.cert}
	for _, c := range l.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// issue makes a leaf for mail.test and 127.0.0.1; ca nil makes it
// self-signed; intermediates are appended to the chain.
func issue(t *testing.T, ca *testCA, from, to time.Time, intermediates ...*testCA) leaf {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{
		Subject: pkix.Name{CommonName: "mail.test"}, NotBefore: from, NotAfter: to,
		DNSNames: []string{"mail.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	var c *x509.Certificate
	if ca == nil {
		c = createCert(t, tmpl, nil, &k.PublicKey, k)
	} else {
		c = createCert(t, tmpl, ca.cert, &k.PublicKey, ca.key)
	}
	l := leaf{cert: c, key: k, chain: []*x509.Certificate{c}}
	for _, i := range intermediates {
		l.chain = append(l.chain, i.cert)
	}
	return l
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// symlinkSwap points link at dest atomically, as certbot does on renewal.
func symlinkSwap(t *testing.T, dest, link string) {
	t.Helper()
	tmp := link + ".new"
	if err := os.Symlink(dest, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// ---- in-process mail servers ----

// step is one move of a scripted server: wait for a client line that
// starts with expect (when set), then write reply (when set).
type step struct{ expect, reply string }

// Fault modes of a test server.
const (
	modeOK         = ""
	modeSilent     = "silent"      // accepts and never speaks
	modeGarbage    = "garbage"     // answers with HTTP
	modeNoSTARTTLS = "no-starttls" // does not offer or refuses STARTTLS
	modeReset      = "reset"       // resets the connection in the handshake
	modeInject     = "inject"      // sends bytes after its STARTTLS answer
)

const sieveCaps = "\"IMPLEMENTATION\" \"Test Pigeonhole\"\r\n\"SIEVE\" \"fileinto reject envelope\"\r\n" +
	"\"SASL\" {5}\r\nPLAIN\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n"

// scripts are the dialogues before and after the handshake, shaped on
// what Postfix, Dovecot and Pigeonhole send.
func scripts(proto, mode string) (pre, post []step) {
	switch proto {
	case "smtp":
		caps := "250-mail.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"
		ready := "220 2.0.0 Ready to start TLS\r\n"
		switch mode {
		case modeNoSTARTTLS:
			caps = "250-mail.test\r\n250 PIPELINING\r\n"
		case modeInject:
			ready += "250 injected\r\n"
		}
		pre = []step{{reply: "220 mail.test ESMTP Postfix\r\n"}, {"EHLO ", caps}, {"STARTTLS", ready}}
		post = []step{{"QUIT", "221 2.0.0 Bye\r\n"}}
	case "smtps":
		post = []step{{reply: "220 mail.test ESMTP Postfix\r\n"}, {"QUIT", "221 2.0.0 Bye\r\n"}}
	case "imap":
		answer := "a1 OK Begin TLS negotiation now.\r\n"
		if mode == modeNoSTARTTLS {
			answer = "a1 BAD Unknown command.\r\n"
		}
		pre = []step{{reply: "* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED] Dovecot ready.\r\n"}, {"a1 STARTTLS", answer}}
		post = []step{{"a2 LOGOUT", "* BYE Logging out\r\na2 OK Logout completed.\r\n"}}
	case "imaps":
		post = []step{{reply: "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"}, {"a2 LOGOUT", "* BYE Logging out\r\na2 OK Logout completed.\r\n"}}
	case "pop3":
		answer := "+OK Begin TLS negotiation now.\r\n"
		if mode == modeNoSTARTTLS {
			answer = "-ERR Unknown command.\r\n"
		}
		pre = []step{{reply: "+OK Dovecot ready.\r\n"}, {"STLS", answer}}
		post = []step{{"QUIT", "+OK Logging out.\r\n"}}
	case "pop3s":
		post = []step{{reply: "+OK Dovecot ready.\r\n"}, {"QUIT", "+OK Logging out.\r\n"}}
	case "sieve":
		caps := sieveCaps
		if mode == modeNoSTARTTLS {
			caps = strings.Replace(caps, "\"STARTTLS\"\r\n", "", 1)
		}
		pre = []step{{reply: caps}, {"STARTTLS", "OK \"Begin TLS negotiation now.\"\r\n"}}
		post = []step{{reply: sieveCaps}, {"LOGOUT", "OK \"Logout completed.\"\r\n"}}
	}
	return pre, post
}

// mailServer is a loopback server speaking one protocol with a
// certificate that can be swapped while it runs (a reload).
type mailServer struct {
	t     *testing.T
	ln    net.Listener
	proto string
	mode  atomic.Value // string, read by each new connection
	cert  atomic.Pointer[tls.Certificate]

	mu       sync.Mutex
	lines    []string // client lines, plaintext and TLS
	conns    []net.Conn
	accepted chan struct{}
	wg       sync.WaitGroup
	done     chan struct{}
}

func startServer(t *testing.T, proto, mode string, l leaf) *mailServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailServer{t: t, ln: ln, proto: proto, accepted: make(chan struct{}, 16), done: make(chan struct{})}
	s.mode.Store(mode)
	s.cert.Store(l.tls())
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *mailServer) addr() string { return s.ln.Addr().String() }

func (s *mailServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *mailServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.mu.Unlock()
		select {
		case s.accepted <- struct{}{}:
		default:
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.handle(conn)
		}()
	}
}

func (s *mailServer) handle(conn net.Conn) {
	mode := s.mode.Load().(string)
	switch mode {
	case modeSilent:
		<-s.done
		return
	case modeGarbage:
		_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	pre, post := scripts(s.proto, mode)
	r := bufio.NewReader(conn)
	if !s.play(conn, r, pre) {
		return
	}
	if mode == modeReset {
		buf := make([]byte, 1)
		_, _ = r.Read(buf) // the ClientHello has begun
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		return
	}
	tconn := tls.Server(&bufferedConn{Conn: conn, r: r}, &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil },
	})
	if err := tconn.Handshake(); err != nil {
		return
	}
	s.play(tconn, bufio.NewReader(tconn), post)
}

// play runs a script; it reports whether the client followed it.
func (s *mailServer) play(w net.Conn, r *bufio.Reader, steps []step) bool {
	for _, st := range steps {
		if st.expect != "" {
			line, err := r.ReadString('\n')
			if err != nil {
				return false
			}
			line = strings.TrimRight(line, "\r\n")
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
			if !strings.HasPrefix(line, st.expect) {
				_, _ = w.Write([]byte("500 unexpected\r\n"))
				return false
			}
		}
		if st.reply != "" {
			if _, err := w.Write([]byte(st.reply)); err != nil {
				return false
			}
		}
	}
	return true
}

// bufferedConn hands the TLS server the bytes its reader has buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// mapDial sends the targets' HOST:PORT to the loopback servers, so golden
// files can name stable targets; unknown addresses are dialled as they are.
func mapDial(m map[string]string) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := m[addr]; ok {
			addr = to
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// newTestCollector builds a collector for tests: no discovery unless set,
// the fixed clock, and the given dialer.
func newTestCollector(t *testing.T, cfg Config, dial dialFunc) *Collector {
	t.Helper()
	f := false
	if cfg.Discover.Postfix == nil {
		cfg.Discover.Postfix = &f
	}
	if cfg.Discover.Dovecot == nil {
		cfg.Discover.Dovecot = &f
	}
	if cfg.Files == nil {
		cfg.Files = []string{}
	}
	cfg.ApplyDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("invalid test config: %v", errs)
	}
	c := collectortest.New(t, New, cfg, nil)
	c.now = func() time.Time { return testNow }
	if dial != nil {
		c.dial = dial
	}
	return c
}
