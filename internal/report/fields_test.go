// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import "testing"

func TestClientDomain(t *testing.T) {
	// pflogsumm's gimme_domain on the same inputs.
	for in, want := range map[string]string{
		"unknown[192.0.2.1]":                  "192.0.2.1",
		"unknown[2001:db8::1]":                "2001:db8::1",
		"[192.0.2.1]":                         "192.0.2.1",
		"mail.example.com[192.0.2.1]":         "example.com",
		"a.b.Example.COM[192.0.2.1]":          "example.com",
		"mx.example.co.uk[192.0.2.1]":         "example.co.uk",
		"mail.example.test[127.0.0.1]":        "mail.example.test", // a four-letter TLD is left alone
		"mx.example.de[192.0.2.1]":            "mx.example.de",
		"example.com[192.0.2.1]":              "example.com",
		"localhost[127.0.0.1]":                "localhost",
		"mail.example.com[192.0.2.1]:25":      "example.com",
		"Bounce.Newsletter.Example[10.0.0.1]": "Bounce.Newsletter.Example",
	} {
		if got := clientDomain([]byte(in)); got != want {
			t.Errorf("clientDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRejectParts(t *testing.T) {
	for _, c := range []struct{ body, stage, client, reply string }{
		{"reject: RCPT from unknown[127.0.1.2]: 554 5.7.1 <victim1@elsewhere.test>: Relay access denied; from=<promo1@spam.test> to=<victim1@elsewhere.test> proto=ESMTP helo=<bulk1.spam.test>",
			"RCPT", "unknown[127.0.1.2]", "554 5.7.1 <victim1@elsewhere.test>: Relay access denied"},
		{"milter-reject: END-OF-MESSAGE from unknown[127.0.0.1]: 4.7.1 Service unavailable - try again later; from=<app1@broken.example.test> to=<ops1@relay.example.test> proto=ESMTP helo=<app.example.test>",
			"END-OF-MESSAGE", "unknown[127.0.0.1]", "4.7.1 Service unavailable - try again later"},
		{"reject: header Subject: hello from the team from mail.example.com[192.0.2.1]; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<mail.example.com>: 5.7.1 no spam here",
			"header", "mail.example.com[192.0.2.1]", "Subject: hello from the team: 5.7.1 no spam here"},
		{"reject: CONNECT from unknown[192.0.2.7]: 554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; from=<> proto=SMTP",
			"CONNECT", "unknown[192.0.2.7]", "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org"},
	} {
		stage, client, reply := rejectParts([]byte(c.body))
		if string(stage) != c.stage || string(client) != c.client || string(reply) != c.reply {
			t.Errorf("rejectParts(%q) = %q, %q, %q; want %q, %q, %q", c.body, stage, client, reply, c.stage, c.client, c.reply)
		}
	}
}

func TestNormalizeReply(t *testing.T) {
	for in, want := range map[string]string{
		"554 5.7.1 <victim1@elsewhere.test>: Relay access denied":                                    "554 5.7.1 <*>: Relay access denied",
		"host mx.partner-a.test[127.0.0.1] said: 450 4.7.1 Greylisted (in reply to RCPT TO command)": "host mx.partner-a.test[127.0.0.1] said: 450 4.7.1 Greylisted (in reply to RCPT TO command)",
		"nosuchuser1@example.test (in reply to RCPT TO command)":                                     "*@example.test (in reply to RCPT TO command)",
		"host mx.google.com[192.0.2.1] said: 550-5.7.1 rejected x23si1234567abc.12 - gsmtp":          "host mx.google.com[192.0.2.1] said: 550-5.7.1 rejected ID - gsmtp",
		"queued as 4B1C2C0001 by the next hop":                                                       "queued as QID by the next hop",
		"bad\x00byte":                                                                                "bad?byte",
	} {
		if got := normalizeReply([]byte(in)); got != want {
			t.Errorf("normalizeReply(%q) = %q, want %q", in, got, want)
		}
	}
	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'a' + byte(i%7)
		if i%9 == 0 {
			long[i] = ' '
		}
	}
	if got := normalizeReply(long); len(got) != maxReason {
		t.Errorf("a long reply is cut at %d bytes, got %d", maxReason, len(got))
	}
}

func TestAuthFields(t *testing.T) {
	_, body := postfixBody([]byte("warning: unknown[127.0.0.66]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=admin"))
	if u, c := saslFailure(body); string(u) != "admin" || string(c) != "127.0.0.66" {
		t.Errorf("saslFailure = %q, %q", u, c)
	}
	_, body = postfixBody([]byte("warning: unknown[2001:db8::5]: SASL PLAIN authentication failed: UGFzc3dvcmQ6"))
	if u, c := saslFailure(body); string(u) != "" || string(c) != "2001:db8::5" {
		t.Errorf("saslFailure without a user = %q, %q", u, c)
	}
	u, c := dovecotFailure([]byte("imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 4 secs): user=<bob>, method=PLAIN, rip=127.0.0.154, lip=127.0.0.1, TLS, session=<Ui5An/BhFZN/AACa>"))
	if string(u) != "bob" || string(c) != "127.0.0.154" {
		t.Errorf("dovecotFailure = %q, %q", u, c)
	}
	if j := fail2banJail([]byte("[postfix-sasl] Ban 192.0.2.1")); j != "postfix-sasl" {
		t.Errorf("fail2banJail = %q", j)
	}
}

func TestPostfixBody(t *testing.T) {
	for in, want := range map[string][2]string{
		"4B1C2C0001: removed":                   {"4B1C2C0001", "removed"},
		"NOQUEUE: reject: RCPT from x":          {"", "reject: RCPT from x"},
		"warning: 4B1C2C0001: lost":             {"4B1C2C0001", "lost"},
		"connect from unknown[192.0.2.1]":       {"", "connect from unknown[192.0.2.1]"},
		"4Bnpy46sVdz3wBZ: to=<a@b>, relay=none": {"4Bnpy46sVdz3wBZ", "to=<a@b>, relay=none"},
		"statistics: max connection rate 1/60s": {"", "statistics: max connection rate 1/60s"},
	} {
		q, b := postfixBody([]byte(in))
		if string(q) != want[0] || string(b) != want[1] {
			t.Errorf("postfixBody(%q) = %q, %q", in, q, b)
		}
	}
}
