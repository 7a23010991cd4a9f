// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// script is a fake connection: reads come from the server's bytes, writes
// are recorded.
type script struct {
	r       io.Reader
	written bytes.Buffer
}

func (s *script) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *script) Write(p []byte) (int, error) { return s.written.Write(p) }

func dialogue(proto, server string) (string, error) {
	s := &script{r: strings.NewReader(server)}
	err := protocols[proto].startTLS(newTextConn(s), &probeParams{ehlo: "probe.test"})
	return s.written.String(), err
}

func TestStartTLSDialogues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, proto, server string
		sent                string // what the client wrote
		err                 string // "" for success
	}{
		{"smtp postfix", "smtp", "220 mail.test ESMTP Postfix (Debian/GNU)\r\n250-mail.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n220 2.0.0 Ready to start TLS\r\n",
			"EHLO probe.test\r\nSTARTTLS\r\n", ""},
		{"smtp multi-line greeting, LF only", "smtp", "220-mail.test ESMTP\n220 welcome\n250-mail.test\n250 starttls\n220 go ahead\n", "EHLO probe.test\r\nSTARTTLS\r\n", ""},
		{"smtp bare code lines", "smtp", "220\r\n250-x\r\n250-STARTTLS\r\n250\r\n220\r\n", "EHLO probe.test\r\nSTARTTLS\r\n", ""},
		{"smtp 554 greeting", "smtp", "554 5.7.1 no thanks\r\n", "", `greeting is 554 "5.7.1 no thanks"`},
		{"smtp postscreen 421", "smtp", "421 4.3.2 Service currently unavailable\r\n", "", "greeting is 421"},
		{"smtp code changes", "smtp", "220-a\r\n250 b\r\n", "", "reply code changes from 220 to 250"},
		{"smtp STARTTLS in greeting only", "smtp", "220 STARTTLS\r\n250 mail.test\r\n", "EHLO probe.test\r\n", "does not offer STARTTLS"},
		{"smtp EHLO refused", "smtp", "220 x\r\n502 5.5.2 Error: command not recognized\r\n", "EHLO probe.test\r\n", "EHLO answered 502"},
		{"smtp STARTTLS refused", "smtp", "220 x\r\n250-x\r\n250 STARTTLS\r\n454 4.7.0 TLS not available due to local problem\r\n", "EHLO probe.test\r\nSTARTTLS\r\n", "STARTTLS answered 454"},
		{"smtp injected", "smtp", "220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n250 evil\r\n", "EHLO probe.test\r\nSTARTTLS\r\n", "10 bytes after its STARTTLS answer"},
		{"smtp closed", "smtp", "220 x\r\n", "EHLO probe.test\r\n", "connection closed by the server"},
		{"smtp partial line", "smtp", "220 x", "", "connection closed by the server"},
		{"smtp line too long", "smtp", "220 " + strings.Repeat("x", maxLineLen) + "\r\n", "", "line longer than 2048 bytes"},
		{"smtp endless reply", "smtp", strings.Repeat("220-x\r\n", maxLines+1), "", "longer than 64 lines"},
		{"smtp http", "smtp", "HTTP/1.1 400 Bad Request\r\n", "", "malformed SMTP reply"},

		{"imap dovecot", "imap", "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot (Debian) ready.\r\na1 OK Begin TLS negotiation now.\r\n", "a1 STARTTLS\r\n", ""},
		{"imap untagged first", "imap", "* ok hi\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na1 ok go\r\n", "a1 STARTTLS\r\n", ""},
		{"imap preauth", "imap", "* PREAUTH ready\r\n", "", "PREAUTH"},
		{"imap bye", "imap", "* BYE too many connections\r\n", "", `greeting is "* BYE too many connections"`},
		{"imap no", "imap", "* OK x\r\na1 NO not now\r\n", "a1 STARTTLS\r\n", `STARTTLS answered NO "not now"`},
		{"imap wrong tag", "imap", "* OK x\r\nb7 OK\r\n", "a1 STARTTLS\r\n", "malformed IMAP response"},
		{"imap bad status", "imap", "* OK x\r\na1 MAYBE\r\n", "a1 STARTTLS\r\n", "malformed IMAP status"},
		{"imap no greeting star", "imap", "OK x\r\n", "", "malformed IMAP greeting"},

		{"pop3 dovecot", "pop3", "+OK Dovecot (Debian) ready.\r\n+OK Begin TLS negotiation now.\r\n", "STLS\r\n", ""},
		{"pop3 bare +OK", "pop3", "+OK\r\n+OK\r\n", "STLS\r\n", ""},
		{"pop3 -ERR greeting", "pop3", "-ERR [SYS/TEMP] go away\r\n", "", "greeting answered"},
		{"pop3 +OKAY", "pop3", "+OKAY\r\n", "", "malformed POP3 response"},

		{"sieve pigeonhole", "sieve", "\"IMPLEMENTATION\" \"Dovecot (Debian) Pigeonhole\"\r\n\"SIEVE\" \"fileinto reject\"\r\n\"NOTIFY\" \"mailto\"\r\n\"SASL\" \"\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Dovecot (Debian) ready.\"\r\nOK \"Begin TLS negotiation now.\"\r\n",
			"STARTTLS\r\n", ""},
		{"sieve literal", "sieve", "\"SASL\" {5}\r\nPLAIN\r\n\"starttls\"\r\nok\r\nOK\r\n", "STARTTLS\r\n", ""},
		{"sieve no starttls", "sieve", "\"IMPLEMENTATION\" \"x\"\r\nOK\r\n", "", "does not offer STARTTLS"},
		{"sieve bye", "sieve", "BYE \"too busy\"\r\n", "", `greeting is BYE "\"too busy\""`},
		{"sieve refused", "sieve", "\"STARTTLS\"\r\nOK\r\nNO \"no TLS today\"\r\n", "STARTTLS\r\n", "STARTTLS answered NO"},
		{"sieve garbage", "sieve", "hello\r\n", "", "malformed ManageSieve response"},
		{"sieve huge literal", "sieve", "\"SASL\" {99999}\r\nxx\r\n", "", "malformed ManageSieve response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sent, err := dialogue(tc.proto, tc.server)
			if tc.err == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("got %v, want an error containing %q", err, tc.err)
			}
			if sent != tc.sent {
				t.Errorf("client sent %q, want %q", sent, tc.sent)
			}
		})
	}
}

func TestGoodbyes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		proto, server, sent string
	}{
		{"smtp", "221 2.0.0 Bye\r\n", "QUIT\r\n"},
		{"smtps", "220 mail.test ESMTP\r\n221 Bye\r\n", "QUIT\r\n"},
		{"smtps", "", ""}, // no greeting: nothing sent
		{"imaps", "* OK ready\r\n* BYE\r\na2 OK\r\n", "a2 LOGOUT\r\n"},
		{"pop3s", "+OK ready\r\n+OK bye\r\n", "QUIT\r\n"},
		{"sieve", "\"STARTTLS\"\r\nOK\r\nOK \"bye\"\r\n", "LOGOUT\r\n"},
	}
	for _, tc := range tests {
		s := &script{r: strings.NewReader(tc.server)}
		p := protocols[tc.proto]
		p.goodbye(newTextConn(s), p.implicit)
		if got := s.written.String(); got != tc.sent {
			t.Errorf("%s goodbye with %q: sent %q, want %q", tc.proto, tc.server, got, tc.sent)
		}
	}
}

func TestLiteralLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{`"SASL" {5}`, 5, true},
		{`"SASL" {5+}`, 5, true},
		{`"SASL" {}`, 0, false},
		{`"SASL" {+}`, 0, false},
		{`"SASL" {-1}`, 0, false},
		{`"SASL" {2049}`, 0, false},
		{`"SASL" 5}`, 0, false},
		{`}`, 0, false},
	}
	for _, tc := range tests {
		if n, ok := literalLength(tc.line); n != tc.n || ok != tc.ok {
			t.Errorf("literalLength(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}
