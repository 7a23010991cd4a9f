// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusLines returns the lines of the log corpus.
func corpusLines(t *testing.T) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(corpusGlob)
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Split(data, []byte{'\n'})...)
	}
	return out
}

// gotDelivery is a Delivery in comparable form.
type gotDelivery struct {
	Action    string
	Status    string
	Transport string
	Reason    string
	Provider  string
	HasDelay  bool
	DelayUS   uint64
	StagesUS  [NumStages]uint64
}

func classifyDelivery(t *testing.T, c *Classifier, line string) gotDelivery {
	t.Helper()
	e, ok := Parse([]byte(line))
	if !ok {
		t.Fatalf("Parse(%q) malformed", line)
	}
	var r Result
	c.Classify(&e, &r)
	d := r.Delivery
	g := gotDelivery{Status: d.Status.String(), HasDelay: d.HasDelay, DelayUS: d.Delay, StagesUS: d.Stages}
	if r.Action != ActNone {
		g.Action = r.Action.String()
	}
	if d.Status != StatusNone {
		g.Transport, g.Reason = d.Transport.String(), d.Reason.String()
		g.Provider = c.ProviderNames()[d.Provider]
	}
	return g
}

// The delivery lines of the issue: the shapes Postfix's log_adhoc() and
// qmgr write, with real relay host names and replies.
func TestDeliveryLines(t *testing.T) {
	c, err := NewClassifier(nil, DefaultProviders())
	if err != nil {
		t.Fatal(err)
	}
	const pre = "Dec  6 10:00:01 mx "
	tests := []struct {
		name, line string
		want       gotDelivery
	}{
		{"gmail sent", pre + "postfix/smtp[123]: 4Bnpy46sVdz3wBZ: to=<a@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0.01/0.5/0.59, dsn=2.0.0, status=sent (250 2.0.0 OK  1700000000 x1si2)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "smtp", Reason: "none", Provider: "google", HasDelay: true,
				DelayUS: 1_200_000, StagesUS: [4]uint64{100_000, 10_000, 500_000, 590_000}}},
		{"outlook reputation", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<b@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.1.1]:25, delay=0.9, delays=0.01/0/0.5/0.4, dsn=4.7.650, status=deferred (host outlook-com.olc.protection.outlook.com[52.101.1.1] said: 451 4.7.650 The mail server [198.51.100.7] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to MAIL FROM command))",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "smtp", Reason: "reputation", Provider: "microsoft", HasDelay: true,
				DelayUS: 900_000, StagesUS: [4]uint64{10_000, 0, 500_000, 400_000}}},
		{"yahoo TSS04", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<c@yahoo.com>, relay=mta7.am0.yahoodns.net[67.195.204.72]:25, delay=2, delays=0.2/0/1.3/0.5, dsn=4.7.0, status=deferred (host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "smtp", Reason: "reputation", Provider: "yahoo", HasDelay: true,
				DelayUS: 2_000_000, StagesUS: [4]uint64{200_000, 0, 1_300_000, 500_000}}},
		{"gmail dmarc bounce", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<d@gmail.com>, relay=alt1.gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=3.4, delays=0.1/0/1.2/2.1, dsn=5.7.26, status=bounced (host alt1.gmail-smtp-in.l.google.com[142.250.1.27] said: 550-5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy. Please contact the administrator of example.org domain if this was a legitimate mail. (in reply to end of DATA command))",
			gotDelivery{Action: "bounced", Status: "bounced", Transport: "smtp", Reason: "auth_policy", Provider: "google", HasDelay: true,
				DelayUS: 3_400_000, StagesUS: [4]uint64{100_000, 0, 1_200_000, 2_100_000}}},
		{"refused, relay none", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<e@x.test>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.x.test[192.0.2.1]:25: Connection refused)",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "smtp", Reason: "connection_refused", Provider: "other", HasDelay: true,
				DelayUS: 30_000_000, StagesUS: [4]uint64{100_000, 0, 30_000_000, 0}}},
		{"relay none, provider by domain", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<e@Hotmail.CO.UK>, relay=none, delay=0.5, delays=0.1/0/0.4/0, dsn=4.4.3, status=deferred (Host or domain name not found. Name service error for name=hotmail.co.uk type=MX: Host not found, try again)",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "smtp", Reason: "dns_failure", Provider: "microsoft", HasDelay: true,
				DelayUS: 500_000, StagesUS: [4]uint64{100_000, 0, 400_000, 0}}},
		{"lmtp", pre + "postfix/lmtp[1]: 4Bnpy46sVdz3wBZ: to=<f@local.test>, relay=mail.local.test[private/dovecot-lmtp], delay=0.05, delays=0.01/0/0.01/0.03, dsn=2.0.0, status=sent (250 2.0.0 <f@local.test> abc Saved)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "lmtp", Reason: "none", Provider: "other", HasDelay: true,
				DelayUS: 50_000, StagesUS: [4]uint64{10_000, 0, 10_000, 30_000}}},
		{"local with orig_to", pre + "postfix/local[1]: 4Bnpy46sVdz3wBZ: to=<root@mx>, orig_to=<postmaster>, relay=local, delay=0.02, delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "local", Reason: "none", Provider: "other", HasDelay: true,
				DelayUS: 20_000, StagesUS: [4]uint64{10_000, 0, 0, 10_000}}},
		{"local forwarded to gmail", pre + "postfix/local[1]: 4Bnpy46sVdz3wBZ: to=<bob@gmail.com>, orig_to=<bob@example.org>, relay=local, delay=0.4, delays=0.3/0.01/0/0.09, dsn=2.0.0, status=sent (forwarded as 5F6A7B8C9D)",
			gotDelivery{Action: "forwarded", Status: "sent", Transport: "local", Reason: "none", Provider: "google", HasDelay: true,
				DelayUS: 400_000, StagesUS: [4]uint64{300_000, 10_000, 0, 90_000}}},
		{"error unknown user", pre + "postfix/error[1]: 4Bnpy46sVdz3wBZ: to=<x@example.org>, relay=none, delay=0.01, delays=0/0/0/0.01, dsn=5.1.1, status=bounced (User unknown in virtual mailbox table)",
			gotDelivery{Action: "bounced", Status: "bounced", Transport: "error", Reason: "unknown_user", Provider: "other", HasDelay: true,
				DelayUS: 10_000, StagesUS: [4]uint64{0, 0, 0, 10_000}}},
		{"remote unknown user, conn_use", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<x@y.test>, relay=mx.y.test[192.0.2.2]:25, conn_use=2, delay=0.3, delays=0.1/0/0.1/0.1, dsn=5.1.1, status=bounced (host mx.y.test[192.0.2.2] said: 550 5.1.1 <x@y.test>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
			gotDelivery{Action: "bounced", Status: "bounced", Transport: "smtp", Reason: "unknown_user", Provider: "other", HasDelay: true,
				DelayUS: 300_000, StagesUS: [4]uint64{100_000, 0, 100_000, 100_000}}},
		{"slow/smtp to icloud, Postfix 3.10 tls= field", pre + "postfix/slow/smtp[1]: 4Bnpy46sVdz3wBZ: to=<g@me.com>, relay=mx01.mail.icloud.com[17.57.154.6]:25, delay=4000, delays=3990/0.2/5.1/4.7, tls=may/dane, dsn=4.7.1, status=deferred (host mx01.mail.icloud.com[17.57.154.6] said: 451 4.7.1 Please try again later (in reply to RCPT TO command))",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "smtp", Reason: "greylisted", Provider: "apple", HasDelay: true,
				DelayUS: 4000_000_000, StagesUS: [4]uint64{3990_000_000, 200_000, 5_100_000, 4_700_000}}},
		{"microsoft 365 new mx", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<h@contoso.com>, relay=contoso-com.a-v1.mx.microsoft[52.101.1.1]:25, delay=0.123456, delays=0.000001/0/0.1/0.023455, dsn=2.6.0, status=sent (250 2.6.0 <id@example.org> Queued mail for delivery)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "smtp", Reason: "none", Provider: "microsoft", HasDelay: true,
				DelayUS: 123_456, StagesUS: [4]uint64{1, 0, 100_000, 23_455}}},
		{"pipe", pre + "postfix/pipe[1]: 4Bnpy46sVdz3wBZ: to=<i@example.org>, relay=dovecot, delay=0.1, delays=0.05/0/0/0.05, dsn=2.0.0, status=sent (delivered via dovecot service)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "pipe", Reason: "none", Provider: "other", HasDelay: true,
				DelayUS: 100_000, StagesUS: [4]uint64{50_000, 0, 0, 50_000}}},
		{"qmgr transport error", pre + "postfix/qmgr[1]: 4Bnpy46sVdz3wBZ: to=<j@example.org>, relay=none, delay=0.5, delays=0.5/0/0/0, dsn=4.3.0, status=deferred (mail transport unavailable)",
			gotDelivery{Action: "deferred", Status: "deferred", Transport: "other", Reason: "other", Provider: "other", HasDelay: true,
				DelayUS: 500_000, StagesUS: [4]uint64{500_000, 0, 0, 0}}},
		{"expired", pre + "postfix/qmgr[1]: 4Bnpy46sVdz3wBZ: from=<s@x.test>, status=expired, returned to sender",
			gotDelivery{Action: "expired", Status: "expired", Transport: "other", Reason: "none", Provider: "other"}},
		{"force-expired", pre + "postfix/qmgr[1]: 4Bnpy46sVdz3wBZ: from=<s@x.test>, status=force-expired, returned to sender",
			gotDelivery{Action: "expired", Status: "expired", Transport: "other", Reason: "none", Provider: "other"}},
		{"verify probe is no delivery", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<k@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.3, delays=0.1/0/0.1/0.1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
			gotDelivery{Status: ""}},
		{"unparsable delays", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<l@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=x, delays=0.1/0/0.1, dsn=2.0.0, status=sent (250 Ok)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "smtp", Reason: "none", Provider: "other"}},
		{"delays of three parts", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<l@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=1, delays=0.1/0/0.1, dsn=2.0.0, status=sent (250 Ok)",
			gotDelivery{Action: "delivered", Status: "sent", Transport: "smtp", Reason: "none", Provider: "other"}},
		{"no delay= is no delivery (pflogsumm)", pre + "postfix/smtp[1]: 4Bnpy46sVdz3wBZ: to=<l@example.net>, relay=mx.example.net[203.0.113.5]:25, dsn=2.0.0, status=sent (250 Ok)",
			gotDelivery{Status: ""}},
		{"smtpd is no delivery", pre + "postfix/smtpd[1]: 4Bnpy46sVdz3wBZ: to=<m@example.net>, relay=none, delay=1, delays=1/0/0/0, dsn=5.0.0, status=bounced (x)",
			gotDelivery{Status: ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, classifyDelivery(t, c, tc.line)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every action a status= or expired line counts is a delivery of the same
// status, and no other line is one: the delivery counts per status equal
// pflogsumm's.
func TestDeliveryFollowsAction(t *testing.T) {
	c, err := NewClassifier(nil, DefaultProviders())
	if err != nil {
		t.Fatal(err)
	}
	want := map[Action]DeliveryStatus{ActDelivered: StatusSent, ActForwarded: StatusSent, ActDeferred: StatusDeferred,
		ActBounced: StatusBounced, ActExpired: StatusExpired}
	var r Result
	n := 0
	for _, line := range corpusLines(t) {
		e, ok := Parse(line)
		if !ok {
			continue
		}
		c.Classify(&e, &r)
		if got := r.Delivery.Status; got != want[r.Action] {
			t.Errorf("%s: action %v, delivery status %v", line, r.Action, got)
		}
		if r.Delivery.Status != StatusNone {
			n++
			if r.Delivery.Status != StatusExpired && !r.Delivery.HasDelay {
				t.Errorf("%s: no delay read", line)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d deliveries in the corpus", n)
	}
}

func TestScanSeconds(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "193": 193e6, "0.05": 50_000, "1.2": 1_200_000, "0.000001": 1,
		"1.2345678": 1_234_567, "432000": 432000e6, "316224000": 316224000e6} {
		us, n, ok := scanSeconds([]byte(in + ","))
		if !ok || us != want || n != len(in) {
			t.Errorf("scanSeconds(%q) = %d, %d, %v; want %d", in, us, n, ok, want)
		}
	}
	for _, in := range []string{"", ".5", "x", "1.", "316224001", "99999999999999999999"} {
		if _, _, ok := scanSeconds([]byte(in)); ok {
			t.Errorf("scanSeconds(%q) accepted", in)
		}
	}
}

func TestRecipientDomainAndRelayHost(t *testing.T) {
	for in, want := range map[string]string{
		"to=<a@gmail.com>,":                          "gmail.com",
		"to=<a@b@example.org>,":                      "example.org",
		"to=<root@mx>, orig_to=<postmaster@x.test>,": "mx",
		"to=<postmaster>, orig_to=<p@x.test>,":       "",
		"to=<>,":                                     "",
		"to=<\"a>b\"@x.test>,":                       "",
	} {
		if got := string(recipientDomain([]byte(in))); got != want {
			t.Errorf("recipientDomain(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"gmail-smtp-in.l.google.com[142.250.1.27]:25": "gmail-smtp-in.l.google.com",
		"mail.local.test[private/dovecot-lmtp]":       "mail.local.test",
		"none":                                        "",
		"local":                                       "",
		"dovecot":                                     "dovecot",
	} {
		if got := string(relayHost([]byte(in))); got != want {
			t.Errorf("relayHost(%q) = %q, want %q", in, got, want)
		}
	}
}
