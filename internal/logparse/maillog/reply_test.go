// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"strings"
	"testing"
)

// replyCase is a reply text as Postfix logs it (the text in parentheses
// after status=), its dsn=, and the classes the log and the queue give it.
type replyCase struct {
	name      string
	dsn, text string
	log       DeliveryReason
	queue     DeliveryReason
}

// replyCases are the real shapes: Postfix's own texts (smtp(8), error(8),
// local(8), virtual(8)) and what the big providers and common filters
// answer, as they appear in deferred and bounced lines.
var replyCases = []replyCase{
	// Postfix's own texts.
	{"refused", "4.4.1", "connect to mx.x.test[192.0.2.1]:25: Connection refused", DRConnectionRefused, DRConnectionRefused},
	{"refused suspended", "4.4.1", "delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2527: Connection refused", DRConnectionRefused, DRConnectionRefused},
	{"refused upper case", "4.4.1", "CONNECT TO X[192.0.2.1]:25: CONNECTION REFUSED", DRConnectionRefused, DRConnectionRefused},
	{"connect timeout", "4.4.1", "connect to mx.h.test[192.0.2.10]:25: Connection timed out", DRTimedOut, DRTimedOut},
	{"greeting timeout", "4.4.2", "conversation with mx.g.test[192.0.2.9] timed out while receiving the initial server greeting", DRTimedOut, DRTimedOut},
	{"dns", "4.4.3", "Host or domain name not found. Name service error for name=f.test type=MX: Host not found, try again", DRDNSFailure, DRDNSFailure},
	{"tls required", "4.7.4", "TLS is required, but was not offered by host mx.e.test[192.0.2.8]", DRTLSFailure, DRTLSFailure},
	{"tls handshake", "4.7.5", "Cannot start TLS: handshake failure", DRTLSFailure, DRTLSFailure},
	{"virtual unknown", "5.1.1", "User unknown in virtual mailbox table", DRUnknownUser, DROther},
	{"local unknown", "5.1.1", `unknown user: "bob"`, DRUnknownUser, DROther},
	{"local file too large", "5.2.2", "cannot update mailbox /var/mail/bob for user bob. error writing message: File too large", DRMailboxFull, DROther},
	{"loop", "5.4.6", "mail for example.org loops back to myself", DROther, DROther},
	{"admin expired", "4.7.0", "message is administratively expired", DROther, DROther},
	{"empty", "", "", DROther, DROther},
	// Remote replies.
	{"remote unknown", "5.1.1", "host mx.y.test[192.0.2.2] said: 550 5.1.1 <x@y>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)", DRUnknownUser, DROther},
	{"gmail no such account", "5.1.1", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. (in reply to RCPT TO command)", DRUnknownUser, DROther},
	{"outlook reputation rate limit", "4.7.650", "host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.650 The mail server [198.51.100.7] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to MAIL FROM command)", DRReputation, DRRateLimited},
	{"outlook spamhaus", "5.7.1", "host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Service unavailable, Client host [198.51.100.7] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/198.51.100.7 (AS3130) (in reply to MAIL FROM command)", DRReputation, DROther},
	{"outlook S3140", "5.7.1", "host hotmail-com.olc.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). (in reply to MAIL FROM command)", DRReputation, DROther},
	{"outlook banned ip", "5.7.606", "host contoso-com.mail.protection.outlook.com[52.101.1.1] said: 550 5.7.606 Access denied, banned sending IP [198.51.100.7]. To request removal from this list please visit https://sender.office.com/ and follow the directions. (in reply to RCPT TO command)", DRReputation, DROther},
	{"outlook dmarc", "5.7.509", "host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.7.509 Access denied, sending domain [EXAMPLE.ORG] does not pass DMARC verification and has a DMARC policy of reject. (in reply to end of DATA command)", DRAuthPolicy, DROther},
	{"outlook busy", "4.7.500", "host x.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.500 Server busy. Please try again later from [198.51.100.7]. (S77714) (in reply to RCPT TO command)", DRRateLimited, DRGreylisted},
	{"yahoo TSS04", "4.7.0", "host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)", DRReputation, DRRemote4xx},
	{"yahoo unauthenticated", "5.7.9", "host mta5.am0.yahoodns.net[67.195.204.72] said: 550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM. (in reply to end of DATA command)", DRAuthPolicy, DROther},
	{"gmail dmarc", "5.7.26", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy. Please contact the administrator of example.org domain if this was a legitimate mail. (in reply to end of DATA command)", DRAuthPolicy, DROther},
	{"gmail authentication", "5.7.1", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.1 This message does not have authentication information or fails to 550-5.7.1 pass authentication checks. To best protect our users from spam, the 550-5.7.1 message has been blocked. (in reply to end of DATA command)", DRAuthPolicy, DROther},
	{"gmail rate of unsolicited", "4.7.28", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 [198.51.100.7] Our system has detected an unusual rate of 421-4.7.28 unsolicited mail originating from your IP address. To protect our 421-4.7.28 users from spam, mail sent from your IP address has been temporarily 421-4.7.28 rate limited. (in reply to end of DATA command)", DRReputation, DRRateLimited},
	{"gmail spf domain rate", "4.7.28", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 Gmail has detected an unusual rate of unsolicited mail containing your SPF domain example.org. To protect our users from spam, mail has been temporarily rate limited. (in reply to end of DATA command)", DRReputation, DRRateLimited},
	{"gmail unsolicited", "5.7.1", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.1 [198.51.100.7] Our system has detected that this message is 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail, 550-5.7.1 this message has been blocked. (in reply to end of DATA command)", DRReputation, DROther},
	{"gmail recipient rate", "4.2.1", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 450-4.2.1 The user you are trying to contact is receiving mail at a rate that 450-4.2.1 prevents additional messages from being delivered. (in reply to RCPT TO command)", DRRateLimited, DRRemote4xx},
	{"gmail over quota", "4.2.2", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 452-4.2.2 The email account that you tried to reach is over quota. (in reply to RCPT TO command)", DRMailboxFull, DRMailboxFull},
	{"icloud CS01", "5.7.1", "host mx01.mail.icloud.com[17.57.154.6] said: 554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137 (in reply to end of DATA command)", DRReputation, DROther},
	{"barracuda", "5.7.1", "host mx.b.test[192.0.2.5] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using b.barracudacentral.org (in reply to RCPT TO command)", DRReputation, DROther},
	{"postgrey", "4.2.0", "host mx.c.test[192.0.2.6] said: 450 4.2.0 <a@c.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/c.test.html (in reply to RCPT TO command)", DRGreylisted, DRGreylisted},
	{"try again later", "4.7.1", "host mx.c.test[192.0.2.6] said: 451 4.7.1 Please try again later (in reply to RCPT TO command)", DRGreylisted, DRGreylisted},
	{"mailbox full", "4.2.2", "host mx.d.test[192.0.2.7] said: 452 4.2.2 Mailbox full (in reply to RCPT TO command)", DRMailboxFull, DRMailboxFull},
	{"quota exceeded", "5.2.2", "host mx.d.test[192.0.2.7] said: 552 5.2.2 <a@d.test>: quota exceeded (in reply to RCPT TO command)", DRMailboxFull, DRMailboxFull},
	{"lmtp quota", "5.2.2", "host mail.local.test[private/dovecot-lmtp] said: 552 5.2.2 <f@local.test> Quota exceeded (mailbox for user is full) (in reply to end of DATA command)", DRMailboxFull, DRMailboxFull},
	{"remote tls", "4.7.0", "host mx[192.0.2.9] said: 454 4.7.0 TLS not available due to local problem (in reply to STARTTLS command)", DRTLSFailure, DRTLSFailure},
	{"too many connections", "4.7.0", "host mx[192.0.2.5] refused to talk to me: 421 4.7.0 Too many concurrent SMTP connections; please try again later", DRRateLimited, DRRateLimited},
	{"other 4xx", "4.3.0", "host mx.i.test[192.0.2.11] said: 451 4.3.0 Temporary lookup failure (in reply to RCPT TO command)", DRRemote4xx, DRRemote4xx},
	{"other 5xx", "5.0.0", "host mx.i.test[192.0.2.11] said: 550 Rejected (in reply to end of DATA command)", DRRemote5xx, DROther},
	{"no code, dsn 5", "5.0.0", "host mx.i.test[192.0.2.11] said: Go away (in reply to end of DATA command)", DRRemote5xx, DROther},
	{"dsn 5.1.1 decides", "5.1.1", "host mx.i.test[192.0.2.11] said: 550 Rejected (in reply to RCPT TO command)", DRUnknownUser, DROther},
	{"dsn 5.1.1 before the text", "5.1.1", "host mx.i.test[192.0.2.11] said: 550 5.1.1 Mailbox full (in reply to RCPT TO command)", DRUnknownUser, DRMailboxFull},
	{"dsn 5.7.23 decides", "5.7.23", "host mx.i.test[192.0.2.11] said: 550 Rejected (in reply to end of DATA command)", DRAuthPolicy, DROther},
	{"dsn 4.7.25 decides", "4.7.25", "host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.25 The IP address sending this message does not have a PTR record setup (in reply to MAIL FROM command)", DRAuthPolicy, DRRemote4xx},
	{"dsn 2.1.1 is no failure", "2.1.1", "host mx.i.test[192.0.2.11] said: 550 Rejected (in reply to RCPT TO command)", DRRemote5xx, DROther},
	{"soft_bounce 5xx", "4.1.1", "host mx[192.0.2.10] said: 550 5.1.1 User unknown", DRUnknownUser, DROther},
	{"host name is not the reply", "4.4.1", "connect to quota.example[192.0.2.8]:25: Connection refused", DRConnectionRefused, DRConnectionRefused},
	{"said is the marker", "4.4.2", "lost connection with mx[192.0.2.1] while sending RCPT TO", DROther, DROther},
}

func TestClassifyReply(t *testing.T) {
	for _, tc := range replyCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassifyReply([]byte(tc.dsn), []byte(tc.text)); got != tc.log {
				t.Errorf("ClassifyReply = %s, want %s", got, tc.log)
			}
			if got := ClassifyQueueReason([]byte(tc.text)); got != tc.queue {
				t.Errorf("ClassifyQueueReason = %s, want %s", got, tc.queue)
			}
			// Case does not matter.
			if got := ClassifyReply([]byte(tc.dsn), bytes.ToUpper([]byte(tc.text))); got != tc.log {
				t.Errorf("upper case: ClassifyReply = %s, want %s", got, tc.log)
			}
		})
	}
}

// naiveClassify is the definition the word tables implement: each entry's
// words, in table order, searched with bytes.Contains in the lower-cased
// text.
func naiveClassify(dsn, text []byte, queue bool) DeliveryReason {
	if !queue {
		if r := reasonOfDSN(dsn); r != DRNone {
			return r
		}
	}
	s := bytes.ToLower(text) // also lowers non-ASCII letters: only used on ASCII here
	match := func(ps []replyPattern, s []byte) DeliveryReason {
		for _, p := range ps {
			if queue && p.logOnly {
				continue
			}
			for _, w := range p.words {
				if bytes.Contains(s, w) {
					return p.class
				}
			}
		}
		return DRNone
	}
	var r DeliveryReason
	if len(bytes.TrimSpace(s)) == 0 {
		r = DROther
	} else if i := bytes.Index(s, []byte(" said:")); i >= 0 {
		r = naiveRemote(match(remotePatterns, s[i+6:]), s[i+6:], dsn, queue)
	} else if i := bytes.Index(s, []byte("refused to talk to me:")); i >= 0 {
		r = naiveRemote(match(remotePatterns, s[i+22:]), s[i+22:], dsn, queue)
	} else if r = match(localPatterns, s); r == DRNone {
		r = DROther
	}
	return r
}

func naiveRemote(r DeliveryReason, reply, dsn []byte, queue bool) DeliveryReason {
	if r != DRNone {
		return r
	}
	reply = bytes.TrimLeft(reply, " ")
	code := byte(0)
	if len(reply) > 0 {
		code = reply[0]
	}
	if !queue && code != '4' && code != '5' && len(dsn) > 0 {
		code = dsn[0]
	}
	switch {
	case code == '4':
		return DRRemote4xx
	case code == '5' && !queue:
		return DRRemote5xx
	}
	return DROther
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func TestClassifyReplyIsTheNaiveTable(t *testing.T) {
	for _, tc := range replyCases {
		for _, queue := range []bool{false, true} {
			dsn, got := []byte(tc.dsn), ClassifyReply([]byte(tc.dsn), []byte(tc.text))
			if queue {
				dsn, got = nil, ClassifyQueueReason([]byte(tc.text))
			}
			if want := naiveClassify(dsn, []byte(tc.text), queue); got != want {
				t.Errorf("%s (queue %v): %s, the naive table says %s", tc.name, queue, got, want)
			}
		}
	}
}

// FuzzClassifyReply: the word tables find what a search of every word in
// turn finds, for the log and the queue; the result is in the enumeration,
// never none, and one of the nine for the queue.
//
//	go test -run '^$' -fuzz FuzzClassifyReply -fuzztime 30s ./internal/logparse/maillog/
func FuzzClassifyReply(f *testing.F) {
	for _, tc := range replyCases {
		f.Add(tc.dsn, tc.text)
	}
	f.Add("5.7.26", "x said: tls spamhaus 4.2.2 dmarc")
	f.Add("", "said: ")
	f.Fuzz(func(t *testing.T, dsn, text string) {
		log := ClassifyReply([]byte(dsn), []byte(text))
		queue := ClassifyQueueReason([]byte(text))
		if log == DRNone || log >= NumDeliveryReasons {
			t.Fatalf("ClassifyReply = %d", log)
		}
		if queue < DRConnectionRefused || queue > DROther {
			t.Fatalf("ClassifyQueueReason = %s, not a queue class", queue)
		}
		if !isASCII([]byte(text)) {
			return // the naive version lowers more than ASCII
		}
		if want := naiveClassify([]byte(dsn), []byte(text), false); log != want {
			t.Errorf("ClassifyReply(%q, %q) = %s, naive %s", dsn, text, log, want)
		}
		if want := naiveClassify(nil, []byte(text), true); queue != want {
			t.Errorf("ClassifyQueueReason(%q) = %s, naive %s", text, queue, want)
		}
	})
}

func TestParseDSN(t *testing.T) {
	for in, want := range map[string][2]int{"5.1.1": {1, 1}, "4.7.26": {7, 26}, "4.0.0": {0, 0}, "5.7.650": {7, 650}} {
		s, d, ok := parseDSN([]byte(in))
		if !ok || s != want[0] || d != want[1] {
			t.Errorf("parseDSN(%q) = %d, %d, %v", in, s, d, ok)
		}
	}
	for _, in := range []string{"", "5", "5.1", "5.1.", "3.1.1", "2.1.1", "5.1.1x", "5..1", "5.1234.1", "x.1.1"} {
		if _, _, ok := parseDSN([]byte(in)); ok {
			t.Errorf("parseDSN(%q) accepted", in)
		}
	}
}

func TestReplyWordsAreLowerCase(t *testing.T) {
	for _, ps := range [][]replyPattern{remotePatterns, localPatterns} {
		for _, p := range ps {
			for _, w := range p.words {
				if string(w) != strings.ToLower(string(w)) || len(w) < 3 {
					t.Errorf("word %q: must be lower case and at least three bytes", w)
				}
			}
		}
	}
}

func TestClassifyReplyDoesNotAllocate(t *testing.T) {
	for _, tc := range replyCases {
		dsn, text := []byte(tc.dsn), []byte(tc.text)
		if n := testing.AllocsPerRun(10, func() { ClassifyReply(dsn, text) }); n != 0 {
			t.Errorf("%s: %v allocations", tc.name, n)
		}
	}
}

// BenchmarkClassifyReply is the cost of one reply, by shape.
func BenchmarkClassifyReply(b *testing.B) {
	for _, name := range []string{"refused", "tls required", "remote unknown", "postgrey", "outlook reputation rate limit", "gmail rate of unsolicited"} {
		for _, tc := range replyCases {
			if tc.name != name {
				continue
			}
			dsn, text := []byte(tc.dsn), []byte(tc.text)
			b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
				for b.Loop() {
					ClassifyReply(dsn, text)
				}
			})
		}
	}
}
