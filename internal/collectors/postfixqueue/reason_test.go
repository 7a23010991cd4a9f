// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// The queue's deferred reasons come from maillog's reply classifier since
// the log pipeline classifies delivery replies with the same table. The
// queue must keep the classes it had: legacyClassify below is the queue's
// own classifier as it was before (reason.go at the commit that moved it),
// and the tests compare the two on every reply text at hand and on fuzzed
// ones.

func TestReasonNamesFollowMaillog(t *testing.T) {
	if int(numReasons) != maillog.NumQueueReasons {
		t.Fatalf("%d queue reasons, maillog has %d", numReasons, maillog.NumQueueReasons)
	}
	for r := range numReasons {
		if got := maillog.DRConnectionRefused + maillog.DeliveryReason(r); got.String() != r.String() {
			t.Errorf("reason %d is %s here and %s in maillog", r, r, got)
		}
	}
}

// replyTexts are delay reasons and delivery replies: the queue fixtures'
// and the log corpus's, and the real shapes of the big providers.
func replyTexts(t testing.TB) []string {
	t.Helper()
	texts := []string{
		"", " ", "x", "4", " said:", " said: 4", " said: 5", "refused to talk to me:",
		"connect to mx.x.test[192.0.2.1]:25: Connection refused",
		"connect to mx.x.test[192.0.2.1]:25: Connection timed out",
		"host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.650 The mail server [198.51.100.7] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to MAIL FROM command)",
		"host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)",
		"host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy. Please contact the administrator of example.org domain if this was a legitimate mail. (in reply to end of DATA command)",
		"host gmail-smtp-in.l.google.com[142.250.1.27] said: 421-4.7.28 [198.51.100.7] Our system has detected an unusual rate of 421-4.7.28 unsolicited mail originating from your IP address. To protect our 421-4.7.28 users from spam, mail sent from your IP address has been temporarily 421-4.7.28 rate limited. Please visit 421 4.7.28 https://support.google.com/mail/?p=UnsolicitedRateLimitError to review our Bulk Email Senders Guidelines. x1si2 - gsmtp (in reply to end of DATA command)",
		"host gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.1 [198.51.100.7] Our system has detected that this message is 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail, 550-5.7.1 this message has been blocked. (in reply to end of DATA command)",
		"host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Service unavailable, Client host [198.51.100.7] blocked using Spamhaus. To request removal from this list see https://www.spamhaus.org/query/ip/198.51.100.7 (AS3130) (in reply to MAIL FROM command)",
		"host hotmail-com.olc.protection.outlook.com[52.101.1.1] said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). (in reply to MAIL FROM command)",
		"host x.mail.protection.outlook.com[52.101.1.1] said: 550 5.7.606 Access denied, banned sending IP [198.51.100.7]. (in reply to MAIL FROM command)",
		"host mx01.mail.icloud.com[17.57.154.1] said: 554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137 (in reply to end of DATA command)",
		"host mx[192.0.2.3] said: 450 4.2.0 <a@b>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.html (in reply to RCPT TO command)",
		"host mx[192.0.2.3] said: 451 4.7.1 Try again later (in reply to end of DATA command)",
		"host mx[192.0.2.6] said: 452 4.2.2 Quota exceeded (a@b) (in reply to RCPT TO command)",
		"host mx[192.0.2.6] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command)",
		"TLS is required, but was not offered by host mx[192.0.2.1]",
		"Cannot start TLS: handshake failure",
		"Host or domain name not found. Name service error for name=x.test type=MX: Host not found, try again",
		"conversation with mx[192.0.2.1] timed out while receiving the initial server greeting",
		"host mx[192.0.2.10] said: 550 5.1.1 <x@y>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)",
		"User unknown in virtual mailbox table",
		"host mx[192.0.2.9] said: 451 4.3.0 Temporary lookup failure (in reply to RCPT TO command)",
		"host mx[192.0.2.9] said: 454 4.7.0 TLS not available due to local problem",
		"host mx[192.0.2.5] refused to talk to me: 421 4.7.0 Too many concurrent SMTP connections; please try again later",
		"delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2527: Connection refused",
		"host mx[10.4.2.25] said: 451 4.3.0 [10.4.2.25] busy",
		"mail transport unavailable", "message is administratively expired", "lost connection with mx[192.0.2.1] while receiving the initial server greeting",
		"unknown user: \"bob\"", "cannot update mailbox /var/mail/bob for user bob. error writing message: File too large",
		"host mx[192.0.2.1] said: 451 4.7.500 Server busy. Please try again later from [198.51.100.7]. (S77714)",
	}
	// Every reply text of the log corpus.
	files, _ := filepath.Glob("../../logparse/testdata/corpus/*.log")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			for _, st := range []string{"status=deferred (", "status=bounced ("} {
				if i := bytes.Index(line, []byte(st)); i >= 0 {
					texts = append(texts, string(bytes.TrimRight(line[i+len(st):], ")\"}")))
				}
			}
		}
	}
	return texts
}

func TestQueueReasonsUnchanged(t *testing.T) {
	t.Parallel()
	for _, why := range replyTexts(t) {
		if got, want := classifyReason(why), legacyClassify(why); got != want {
			t.Errorf("%q: %s, before %s", why, got, want)
		}
	}
}

// FuzzQueueReasonsUnchanged: the queue's classes are those of the legacy
// classifier for any text.
//
//	go test -run '^$' -fuzz FuzzQueueReasonsUnchanged -fuzztime 30s ./internal/collectors/postfixqueue/
func FuzzQueueReasonsUnchanged(f *testing.F) {
	for _, why := range replyTexts(f) {
		f.Add(why)
	}
	f.Fuzz(func(t *testing.T, why string) {
		if got, want := classifyReason(why), legacyClassify(why); got != want {
			t.Errorf("%q: %s, before %s", why, got, want)
		}
	})
}

// legacyClassify is the queue's classifier before it moved to maillog,
// unchanged but for its names.
func legacyClassify(why string) reason {
	return legacyClassifyLower(legacyAppendLower(nil, []byte(why)))
}

var legacyRemoteMarkers = [][]byte{[]byte(" said:"), []byte("refused to talk to me:")}

type legacyPattern struct {
	class reason
	words [][]byte
}

func legacyWords(ws ...string) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = []byte(w)
	}
	return out
}

// legacyRemotePatterns are tried in order on a remote reply. Mailbox and rate
// problems come first: their replies often also say "try again later".
// Rspamd and many other greylisters answer a plain "451 4.7.1 Try again
// later", so that phrase counts as greylisting.
var legacyRemotePatterns = []legacyPattern{
	{rMailboxFull, legacyWords("mailbox full", "mailbox is full", "quota", "4.2.2", "insufficient storage", "mailbox size limit", "storage limit")},
	{rRateLimited, legacyWords("rate limit", "ratelimit", "rate-limit", "too many", "throttl", "4.7.28", "sending rate", "unusual rate")},
	{rGreylisted, legacyWords("greylist", "graylist", "grey-list", "gray-list", "try again later", "try later")},
	{rTLSFailure, legacyWords("starttls", "tls")},
}

// legacyLocalPatterns are tried in order on Postfix's own text. A timeout during
// the TLS handshake is a timeout: the network is the first thing to check.
var legacyLocalPatterns = []legacyPattern{
	{rConnectionRefused, legacyWords("connection refused")},
	{rTimedOut, legacyWords("timed out", "connection timeout")},
	{rTLSFailure, legacyWords("tls is required", "cannot start tls", "tls handshake", "tls library problem", "starttls", "certificate verification failed", "server certificate not verified", "untrusted issuer", "tls session")},
	{rDNSFailure, legacyWords("host or domain name not found", "name service error", "domain not found", "host not found", "no mx host", "nxdomain", "servfail", "dns lookup", "name or service not known", "temporary failure in name resolution", "dnssec")},
}

func legacyClassifyLower(s []byte) reason {
	if len(bytes.TrimSpace(s)) == 0 {
		return rOther
	}
	for _, m := range legacyRemoteMarkers {
		if i := bytes.Index(s, m); i >= 0 {
			return legacyClassifyRemote(s[i+len(m):])
		}
	}
	for _, p := range legacyLocalPatterns {
		if legacyContainsAny(s, p.words) {
			return p.class
		}
	}
	return rOther
}

func legacyClassifyRemote(reply []byte) reason {
	for _, p := range legacyRemotePatterns {
		if legacyContainsAny(reply, p.words) {
			return p.class
		}
	}
	if reply = bytes.TrimLeft(reply, " "); len(reply) > 0 && reply[0] == '4' {
		return rRemote4xx
	}
	return rOther
}

func legacyContainsAny(s []byte, ws [][]byte) bool {
	for _, w := range ws {
		if bytes.Contains(s, w) {
			return true
		}
	}
	return false
}

func legacyAppendLower(dst, s []byte) []byte {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
