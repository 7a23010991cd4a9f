// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"path/filepath"
	"strings"
	"testing"
)

var fuzzProtos = []string{"smtp", "imap", "pop3", "sieve"}

// FuzzStartTLS feeds arbitrary server bytes to each STARTTLS dialogue and
// the goodbyes: no panic, and the client never writes more than its few
// fixed commands, whatever the server says.
func FuzzStartTLS(f *testing.F) {
	f.Add(uint8(0), []byte("220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n"))
	f.Add(uint8(0), []byte("220-a\r\n220 b\r\n250 starttls\r\n220\r\n250 evil\r\n"))
	f.Add(uint8(1), []byte("* OK x\r\n* CAPABILITY STARTTLS\r\na1 OK go\r\n"))
	f.Add(uint8(1), []byte("* PREAUTH\r\n"))
	f.Add(uint8(2), []byte("+OK\r\n+OK\r\n"))
	f.Add(uint8(3), []byte("\"SASL\" {5}\r\nPLAIN\r\n\"STARTTLS\"\r\nOK\r\nOK\r\n"))
	f.Add(uint8(3), []byte("\"X\" {2048+}\r\n"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		proto := fuzzProtos[int(which)%len(fuzzProtos)]
		s := &script{r: strings.NewReader(string(data))}
		err := protocols[proto].startTLS(newTextConn(s), &probeParams{ehlo: "probe.test"})
		if s.written.Len() > 64 {
			t.Fatalf("%s: client wrote %q", proto, s.written.String())
		}
		if err == nil && len(data) == 0 {
			t.Fatalf("%s: success on an empty stream", proto)
		}
		s = &script{r: strings.NewReader(string(data))}
		p := protocols[proto]
		p.goodbye(newTextConn(s), true)
	})
}

// FuzzParseBundle: arbitrary file contents give certificates or an error,
// never a panic or an empty success.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("junk\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		chain, err := parseBundle(data)
		if err == nil && len(chain) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}

// FuzzDovecotConf: any config text yields absolute, clean paths only, and
// the walk stays bounded however the text includes itself.
func FuzzDovecotConf(f *testing.F) {
	f.Add("ssl_cert = </etc/ssl/a.pem\nlocal_name x {\n ssl_cert = <\"/b.pem\"\n}\n")
	f.Add("!include conf.d/*.conf\n!include_try local.conf\nssl_server {\ncert_file = /c.pem\n}\n")
	f.Add("}\n}\n{\nssl_alt_cert = <relative.pem # x\n\"#\" = 1\n")
	f.Fuzz(func(t *testing.T, conf string) {
		d := &dovecotConf{
			global: map[string]string{},
			read:   func(string) ([]byte, error) { return []byte(conf), nil }, // every include is this text
			glob:   func(p string) ([]string, error) { return []string{p + ".1", p + ".2"}, nil },
		}
		_ = d.parseFile("/etc/dovecot/dovecot.conf", 0, false)
		for _, p := range d.result() {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p {
				t.Fatalf("path %q", p)
			}
		}
		if len(d.result()) > 2*maxDiscovered {
			t.Fatal("unbounded result")
		}
	})
}

// FuzzParsePostconf: only absolute, clean, unique paths come out.
func FuzzParsePostconf(f *testing.F) {
	f.Add("smtpd_tls_cert_file = /a.pem\nsubmission/inet/smtpd_tls_chain_files = /b.pem,/c.pem\n")
	f.Add("smtpd_tls_chain_files = ,, ,/x/../y.pem\n")
	f.Fuzz(func(t *testing.T, out string) {
		seen := map[string]bool{}
		for _, p := range parsePostconf([]byte(out)) {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p || seen[p] {
				t.Fatalf("path %q", p)
			}
			seen[p] = true
		}
	})
}

// FuzzParseTarget: an accepted target is canonical and round-trips.
func FuzzParseTarget(f *testing.F) {
	f.Add("smtp://127.0.0.1:25")
	f.Add("imaps://[::1]:993")
	f.Add("sieve://mail.example.org:4190")
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := parseTarget(s)
		if err != nil {
			return
		}
		if got := tg.proto.name + "://" + tg.addr(); got != s {
			t.Fatalf("%q parsed to %q", s, got)
		}
	})
}
