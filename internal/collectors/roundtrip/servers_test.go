// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTLS is a self-signed certificate for 127.0.0.1 and "localhost",
// with its PEM file as the CA file.
type testTLS struct {
	cfg    *tls.Config
	caFile string
}

func newTestTLS(t testing.TB) testTLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testTLS{cfg: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile: caFile}
}

func writePassword(t testing.TB, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeIMAP is an IMAP server on 127.0.0.1 with the commands the probe
// uses, over implicit TLS or STARTTLS, holding its messages in memory.
type fakeIMAP struct {
	addr     string
	tls      *tls.Config
	starttls bool
	uidplus  bool
	hang     bool // accept and never answer
	user, pw string

	mu      sync.Mutex
	msgs    map[int][]byte
	deleted map[int]bool
	ghosts  []int // UIDs a search by host returns whose message is gone (a stale index)
	next    int
	cmds    []string
}

func startIMAP(t testing.TB, tt testTLS, starttls, uidplus, hang bool) *fakeIMAP {
	t.Helper()
	s := &fakeIMAP{tls: tt.cfg, starttls: starttls, uidplus: uidplus, hang: hang, user: "probe", pw: "sécret pw",
		msgs: map[int][]byte{}, deleted: map[int]bool{}, next: 1}
	s.addr = listenLoopback(t, tt, starttls, s.serve)
	return s
}

func (s *fakeIMAP) add(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[s.next] = msg
	s.next++
}

func (s *fakeIMAP) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *fakeIMAP) serve(c net.Conn) {
	defer c.Close()
	if s.hang {
		_, _ = c.Read(make([]byte, 1))
		return
	}
	r := bufio.NewReader(c)
	w := func(format string, a ...any) { _, _ = fmt.Fprintf(c, format+"\r\n", a...) }
	w("* OK fake IMAP ready")
	authed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		tag, cmd, _ := strings.Cut(line, " ")
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		s.mu.Unlock()
		upper := strings.ToUpper(cmd)
		switch {
		case upper == "STARTTLS" && s.starttls:
			w("%s OK begin TLS", tag)
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, r = tc, bufio.NewReader(tc)
		case upper == "AUTHENTICATE PLAIN":
			w("+ ")
			resp, _ := r.ReadString('\n')
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(resp))
			if string(b) == "\x00"+s.user+"\x00"+s.pw {
				authed = true
				w("%s OK logged in", tag)
			} else {
				w("%s NO [AUTHENTICATIONFAILED] Authentication failed.", tag)
			}
		case upper == "CAPABILITY":
			capa := "IMAP4rev1 AUTH=PLAIN"
			if s.uidplus {
				capa += " UIDPLUS"
			}
			w("* CAPABILITY %s", capa)
			w("%s OK done", tag)
		case upper == "LOGOUT":
			w("* BYE")
			w("%s OK bye", tag)
			return
		case !authed:
			w("%s BAD not authenticated", tag)
		case strings.HasPrefix(upper, "SELECT "):
			w("* %d EXISTS", s.count())
			w("%s OK [READ-WRITE] selected", tag)
		case strings.HasPrefix(upper, "UID SEARCH HEADER "):
			rest := cmd[len("UID SEARCH HEADER "):]
			field, q, _ := strings.Cut(rest, " ")
			q = strings.Trim(q, `"`)
			var uids []string
			s.mu.Lock()
			for uid, m := range s.msgs {
				h, _ := textproto.NewReader(bufio.NewReader(strings.NewReader(string(m)))).ReadMIMEHeader()
				if v := h.Get(field); v != "" && strings.Contains(strings.ToLower(v), strings.ToLower(q)) {
					uids = append(uids, strconv.Itoa(uid))
				}
			}
			if strings.HasPrefix(q, "host=") { // a gone probe's cached marker matches the host, not a new id
				for _, g := range s.ghosts {
					uids = append(uids, strconv.Itoa(g))
				}
			}
			s.mu.Unlock()
			w("* SEARCH %s", strings.Join(uids, " "))
			w("%s OK search done", tag)
		case strings.HasPrefix(upper, "UID FETCH "):
			uid, _ := strconv.Atoi(strings.Fields(cmd)[2])
			s.mu.Lock()
			m, ok := s.msgs[uid]
			s.mu.Unlock()
			if ok {
				_, _ = fmt.Fprintf(c, "* 1 FETCH (UID %d BODY[] {%d}\r\n%s)\r\n", uid, len(m), m)
			}
			w("%s OK fetch done", tag)
		case strings.HasPrefix(upper, "UID STORE "):
			uid, _ := strconv.Atoi(strings.Fields(cmd)[2])
			s.mu.Lock()
			s.deleted[uid] = true
			s.mu.Unlock()
			w("%s OK store done", tag)
		case strings.HasPrefix(upper, "UID EXPUNGE ") && s.uidplus:
			uid, _ := strconv.Atoi(strings.Fields(cmd)[2])
			s.mu.Lock()
			if s.deleted[uid] {
				delete(s.msgs, uid)
				w("* 1 EXPUNGE")
			}
			s.mu.Unlock()
			w("%s OK expunged", tag)
		default:
			w("%s BAD unknown command", tag)
		}
	}
}

// fakeSMTP is a submission server on 127.0.0.1 (implicit TLS or STARTTLS,
// AUTH PLAIN) that hands each message to deliver.
type fakeSMTP struct {
	addr     string
	user, pw string
	hang     bool

	mu    sync.Mutex
	auths int
	rcpts []string
}

func startSMTP(t testing.TB, tt testTLS, starttls, hang bool, deliver func([]byte)) *fakeSMTP {
	t.Helper()
	s := &fakeSMTP{user: "probe@example.org", pw: "submission pw", hang: hang}
	s.addr = listenLoopback(t, tt, starttls, func(c net.Conn) { s.serve(c, tt.cfg, starttls, deliver) })
	return s
}

func (s *fakeSMTP) serve(c net.Conn, cfg *tls.Config, starttls bool, deliver func([]byte)) {
	defer c.Close()
	if s.hang {
		_, _ = c.Read(make([]byte, 1))
		return
	}
	r := bufio.NewReader(c)
	w := func(line string) { _, _ = fmt.Fprintf(c, "%s\r\n", line) }
	w("220 fake ESMTP")
	authed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch {
		case verb == "EHLO":
			if starttls {
				w("250-fake\r\n250-STARTTLS\r\n250 AUTH PLAIN")
			} else {
				w("250-fake\r\n250 AUTH PLAIN")
			}
		case verb == "STARTTLS":
			w("220 go ahead")
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			c, r, starttls = tc, bufio.NewReader(tc), false
		case verb == "AUTH":
			f := strings.Fields(line)
			b, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			if string(b) == "\x00"+s.user+"\x00"+s.pw {
				authed = true
				s.mu.Lock()
				s.auths++
				s.mu.Unlock()
				w("235 2.7.0 Authentication successful")
			} else {
				w("535 5.7.8 Error: authentication failed")
			}
		case verb == "MAIL" && authed:
			w("250 2.1.0 Ok")
		case verb == "RCPT" && authed:
			s.mu.Lock()
			s.rcpts = append(s.rcpts, line)
			s.mu.Unlock()
			w("250 2.1.5 Ok")
		case verb == "DATA" && authed:
			w("354 End data with <CR><LF>.<CR><LF>")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, "."))
			}
			deliver([]byte(msg.String()))
			w("250 2.0.0 Ok: queued")
		case verb == "QUIT":
			w("221 2.0.0 Bye")
			return
		default:
			w("503 5.5.1 Error: authentication required")
		}
	}
}

// listenLoopback serves each connection to a new 127.0.0.1 port with serve:
// implicit TLS, or plain for a server that offers STARTTLS itself. Cleanup
// closes the listener and every connection, then waits for the servers.
func listenLoopback(t testing.TB, tt testTLS, starttls bool, serve func(net.Conn)) string {
	t.Helper()
	var ln net.Listener
	var err error
	if starttls {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	} else {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tt.cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns sync.Map
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(k, _ any) bool { _ = k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	return ln.Addr().String()
}
