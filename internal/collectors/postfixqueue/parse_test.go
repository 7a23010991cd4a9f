// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// captureTime is shortly after the real fixtures were captured; the text
// fixture was printed with TZ=UTC.
var captureTime = time.Date(2026, 11, 23, 8, 3, 0, 0, time.UTC)

func TestParseShowq(t *testing.T) {
	t.Parallel()
	utc := textOptions{Now: captureTime, Loc: time.UTC}
	feb2025 := textOptions{Now: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Loc: time.UTC}
	tests := []struct {
		name string
		file string
		opt  textOptions
		topN int
		want summary
	}{
		{name: "postfix 3.7 attribute stream (real capture)", file: "showq-3.7.bin", topN: 5, want: realQueue},
		{name: "postfix 3.7 postqueue -p text (real capture)", file: "postqueue-p-3.7.txt", opt: utc, topN: 5, want: realQueue},
		{name: "postfix 3.x empty queue", file: "showq-3.7-empty.bin", want: summary{Queues: map[string]queueStats{}, Deferred: map[string]int64{}}},
		{name: "postfix 2.x empty queue", file: "showq-2.11-empty.txt", want: summary{Queues: map[string]queueStats{}, Deferred: map[string]int64{}}},
		{
			name: "postfix 2.x text", file: "showq-2.11.txt", opt: feb2025, topN: 1,
			want: summary{
				Queues: map[string]queueStats{
					"active":   {Messages: 1, Recipients: 1, SizeBytes: 4387, Oldest: unix(2025, 2, 24, 13, 35, 18)},
					"deferred": {Messages: 2, Recipients: 4, SizeBytes: 8921, Oldest: unix(2025, 2, 22, 0, 44, 54)},
					"hold":     {Messages: 1, Recipients: 1, SizeBytes: 4088, Oldest: unix(2025, 2, 22, 0, 34, 11)},
				},
				Deferred: map[string]int64{"mailbox_full": 1, "connection_refused": 2, "timed_out": 1},
				Domains:  []domainCount{{"example.se", 3}, {"_other", 1}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tl := newTally(tc.topN > 0)
			if err := parseShowq(bytes.NewReader(readFixture(t, tc.file)), tl, tc.opt); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, summarize(tl, tc.topN)); diff != "" {
				t.Errorf("tally (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePostqueueJSON(t *testing.T) {
	t.Parallel()
	tl := newTally(true)
	if err := parsePostqueueJSON(bytes.NewReader(readFixture(t, "postqueue-j-3.7.jsonl")), tl); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(realQueue, summarize(tl, 5)); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"queue_name":"deferred"}`, `{"queue_name":"elsewhere","arrival_time":1,"message_size":1}`, `{"queue_name":`} {
		if err := parsePostqueueJSON(strings.NewReader(bad), newTally(false)); err == nil {
			t.Errorf("parsePostqueueJSON(%s): want an error", bad)
		}
	}
}

func unix(y int, mo time.Month, d, h, mi, s int) int64 {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC).Unix()
}

// TestParseShowqBroken: every broken stream is an error, never a panic, a
// hang or a partial count presented as the queue.
func TestParseShowqBroken(t *testing.T) {
	t.Parallel()
	capture := readFixture(t, "showq-3.7.bin")
	text := readFixture(t, "showq-2.11.txt")
	midRecord := bytes.Index(capture, []byte("recipient")) + 4
	lastBoundary := len(capture) - 1 // everything but the end-of-list record
	tests := []struct {
		name    string
		in      []byte
		wantIs  error
		wantSub string
	}{
		{name: "empty", in: nil, wantIs: errEmpty},
		{name: "closed mid-record", in: capture[:midRecord], wantIs: errTruncated},
		{name: "closed mid-name", in: []byte("protocol\x00mail_queue_list_protocol\x00\x00queue_na"), wantIs: errTruncated},
		{name: "closed before end-of-list", in: capture[:lastBoundary], wantIs: errTruncated},
		{name: "closed before a value", in: []byte("queue_name\x00hold\x00time\x00"), wantIs: errTruncated},
		{name: "unknown protocol", in: []byte("protocol\x00other\x00\x00\x00"), wantSub: "unexpected protocol"},
		{name: "unknown queue", in: []byte("queue_name\x00elsewhere\x00time\x001\x00size\x001\x00\x00\x00"), wantSub: "unknown queue"},
		{name: "bad time", in: []byte("queue_name\x00hold\x00time\x00-5\x00size\x001\x00\x00\x00"), wantSub: "time is not"},
		{name: "missing size", in: []byte("queue_name\x00hold\x00time\x001\x00\x00\x00"), wantSub: "without queue_name, time or size"},
		{name: "recipient before queue", in: []byte("recipient\x00a@b\x00\x00\x00"), wantSub: "recipient before queue_name"},
		{name: "reason without recipient", in: []byte("queue_name\x00hold\x00reason\x00x\x00\x00\x00"), wantSub: "reason without a recipient"},
		{name: "name too long", in: []byte("queue_name\x00hold\x00" + strings.Repeat("n", 100) + "\x00"), wantSub: "longer than"},
		{name: "binary garbage", in: []byte{0xff, 0x00, 0x01, 0x02, 0x00, 0xfe}, wantIs: errTruncated},
		{name: "text without totals line", in: text[:bytes.LastIndex(text, []byte("--"))], wantIs: errTruncated},
		{name: "text cut mid-line", in: text[:80], wantIs: errTruncated},
		{name: "text garbage", in: []byte("hello world\n"), wantSub: "not a message line"},
		{name: "text recipient outside message", in: []byte("            someone@example\n"), wantSub: "outside a message"},
		{name: "text bad date", in: []byte("ABCDEF1234     100 Xyz Foo 99 99:99:99  a@b\n"), wantSub: "arrival time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := parseShowq(bytes.NewReader(tc.in), newTally(true), textOptions{Now: captureTime, Loc: time.UTC})
			switch {
			case err == nil:
				t.Fatal("want an error, got none")
			case tc.wantIs != nil && !errors.Is(err, tc.wantIs):
				t.Errorf("got %v, want %v", err, tc.wantIs)
			case tc.wantSub != "" && !strings.Contains(err.Error(), tc.wantSub):
				t.Errorf("got %v, want it to mention %q", err, tc.wantSub)
			}
		})
	}
}

// TestParseShowqLongValues: values longer than the read buffer are joined,
// and a recipient without a reason attribute still counts.
func TestParseShowqLongValues(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*readBufSize) + " Connection refused"
	in := "queue_name\x00deferred\x00queue_id\x00" + strings.Repeat("q", 2*readBufSize) + "\x00time\x0042\x00size\x007\x00" +
		"recipient\x00a@one.example\x00reason\x00" + long + "\x00recipient\x00b@two.example\x00\x00\x00"
	tl := newTally(true)
	if err := parseShowq(strings.NewReader(in), tl, textOptions{}); err != nil {
		t.Fatal(err)
	}
	want := summary{
		Queues:   map[string]queueStats{"deferred": {Messages: 1, Recipients: 2, SizeBytes: 7, Oldest: 42}},
		Deferred: map[string]int64{"connection_refused": 1, "other": 1},
		Domains:  []domainCount{{"one.example", 1}, {"two.example", 1}, {"_other", 0}},
	}
	if diff := cmp.Diff(want, summarize(tl, 5)); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
}

func TestClassifyReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		why  string
		want reason
	}{
		{"empty", "", rOther},
		{"refused", "connect to mx.example.com[192.0.2.1]:25: Connection refused", rConnectionRefused},
		{"suspended refused", "delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2527: Connection refused", rConnectionRefused},
		{"connect timeout", "connect to mx.example.com[192.0.2.1]:25: Connection timed out", rTimedOut},
		{"conversation timeout", "conversation with 127.0.0.1[127.0.0.1] timed out while performing the EHLO handshake", rTimedOut},
		{"dns", "Host or domain name not found. Name service error for name=example.invalid type=MX: Host not found, try again", rDNSFailure},
		{"dns host name in refused", "connect to dns1.example.com[192.0.2.1]:25: Connection refused", rConnectionRefused},
		{"tls required", "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]", rTLSFailure},
		{"tls handshake", "Cannot start TLS: handshake failure", rTLSFailure},
		{"tls host name in refused", "connect to tlsreq.example.test[192.0.2.2]:25: Connection refused", rConnectionRefused},
		{"greylisted", "host 127.0.0.1[127.0.0.1] said: 451 4.7.1 Greylisted, please try again later (in reply to RCPT TO command)", rGreylisted},
		{"rspamd greylist", "host mx[192.0.2.3] said: 451 4.7.1 Try again later (in reply to end of DATA command)", rGreylisted},
		{"postgrey", "host mx[192.0.2.3] said: 450 4.2.0 <a@b>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.html", rGreylisted},
		{"rate", "host gmail-smtp-in.l.google.com[192.0.2.4] said: 421-4.7.28 Our system has detected an unusual rate of unsolicited mail", rRateLimited},
		{"too many connections", "host mx[192.0.2.5] refused to talk to me: 421 4.7.0 Too many concurrent SMTP connections; please try again later", rRateLimited},
		{"quota", "host mx[192.0.2.6] said: 452 4.2.2 Quota exceeded (a@b) (in reply to RCPT TO command)", rMailboxFull},
		{"mailbox full beats try again", "host mx[192.0.2.7] said: 452 4.2.2 Mailbox full, please try again later", rMailboxFull},
		{"quota host name is not a remote reply", "connect to quota.example[192.0.2.8]:25: Connection refused", rConnectionRefused},
		{"other 4xx", "host mx[192.0.2.9] said: 451 4.3.0 Temporary lookup failure (in reply to RCPT TO command)", rRemote4xx},
		{"remote tls", "host mx[192.0.2.9] said: 454 4.7.0 TLS not available due to local problem", rTLSFailure},
		{"remote 5xx under soft_bounce", "host mx[192.0.2.10] said: 550 5.1.1 User unknown", rOther},
		{"local other", "mail transport unavailable", rOther},
		{"case", "CONNECT TO X[192.0.2.1]:25: CONNECTION REFUSED", rConnectionRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classifyReason(tc.why); got != tc.want {
				t.Errorf("classifyReason(%q) = %s, want %s", tc.why, got, tc.want)
			}
			var c classifier
			for range 2 { // cold and cached
				if got := c.classify([]byte(tc.why)); got != tc.want {
					t.Errorf("classifier.classify(%q) = %s, want %s", tc.why, got, tc.want)
				}
			}
		})
	}
}

func TestTextArrival(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"same year", "Sat Jan 10 11:00:00", time.Date(2026, 1, 10, 11, 0, 0, 0, time.UTC)},
		{"last year", "Wed Dec 31 23:59:59", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"clock skew tomorrow", "Sun Jan 11 01:00:00", time.Date(2026, 1, 11, 1, 0, 0, 0, time.UTC)},
		{"weekday picks an older year", "Tue Dec 31 10:00:00", time.Date(2024, 12, 31, 10, 0, 0, 0, time.UTC)},
		{"feb 29 of the last leap year", "Thu Feb 29 08:00:00", time.Date(2024, 2, 29, 8, 0, 0, 0, time.UTC)},
		{"space-padded day", "Fri Jan  2 03:04:05", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"weekday matches no year: latest past date", "Mon Feb 29 03:04:05", time.Date(2024, 2, 29, 3, 4, 5, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := textArrival(tc.in, now, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("textArrival(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestAppendDomain(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"a@Example.COM", "example.com"},
		{"a@example.com.", "example.com"},
		{"\"odd@local\"@mx.example", "mx.example"},
		{"root", ""},
		{"a@[192.0.2.1]", ""},
		{"a@under_score.example", ""},
		{"a@", ""},
		{"a@-bad.example", ""},
		{"a@xn--bcher-kva.example", "xn--bcher-kva.example"},
	}
	for _, tc := range tests {
		if got := string(appendDomain(nil, []byte(tc.addr))); got != tc.want {
			t.Errorf("appendDomain(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestTopDomains(t *testing.T) {
	t.Parallel()
	tl := newTally(true)
	for _, a := range []string{"a@x.example", "b@x.example", "c@y.example", "d@z.example", "e@z.example", "root", "f@[192.0.2.1]"} {
		tl.recipient(qDeferred, []byte(a), nil)
	}
	tl.recipient(qHold, []byte("g@x.example"), nil) // not deferred: not counted
	want := []domainCount{{"x.example", 2}, {"z.example", 2}, {"_other", 3}}
	if diff := cmp.Diff(want, tl.topDomains(2)); diff != "" {
		t.Errorf("topDomains (-want +got):\n%s", diff)
	}
	// Past the cap, new domains are summed as _other; known ones still count.
	for i := range maxTrackedDomains {
		tl.recipient(qDeferred, []byte("u@d"+strconv.Itoa(i)+".example"), nil)
	}
	tl.recipient(qDeferred, []byte("h@x.example"), nil)
	top := tl.topDomains(1)
	if top[0] != (domainCount{"x.example", 3}) {
		t.Errorf("top domain after the cap = %v, want x.example 3", top[0])
	}
	var sum int64
	for _, d := range tl.topDomains(MaxTopDomains) {
		sum += d.Count
	}
	if sum != tl.queues[qDeferred].Recipients {
		t.Errorf("domain series sum to %d, want the deferred recipients %d", sum, tl.queues[qDeferred].Recipients)
	}
}
