// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// saslLog is a submission session as Postfix logs it (smtpd's client=
// line, cleanup, qmgr's from= line, the deliveries, qmgr's removed),
// the lines of one message minutes apart and interleaved with others.
const saslLog = `2026-11-23T07:00:00Z mx1 postfix/submission/smtpd[2701]: 4F1A2B3C4D: client=unknown[198.51.100.45], sasl_method=PLAIN, sasl_username=alice@example.org
2026-11-23T07:00:00Z mx1 postfix/cleanup[2702]: 4F1A2B3C4D: message-id=<1@example.org>
2026-11-23T07:00:01Z mx1 postfix/submissions/smtpd[2704]: 5A6B7C8D9E: client=host.example.net[2001:db8::7], sasl_method=LOGIN, sasl_username=alice@example.org, sasl_sender=boss@example.org
2026-11-23T07:00:02Z mx1 postfix/submission/smtpd[2705]: 6B7C8D9E0F: client=unknown[198.51.100.46], sasl_method=PLAIN, sasl_username=bob@example.org
2026-11-23T07:00:03Z mx1 postfix/submission/smtpd[2706]: 7C8D9E0F1A: client=unknown[198.51.100.47], sasl_method=PLAIN, sasl_username=carol
2026-11-23T07:00:04Z mx1 postfix/smtpd[2707]: 8D9E0F1A2B: client=mail.example.com[203.0.113.9]
2026-11-23T07:03:00Z mx1 postfix/qmgr[1]: 4F1A2B3C4D: from=<alice@example.org>, size=2100, nrcpt=3 (queue active)
2026-11-23T07:03:01Z mx1 postfix/qmgr[1]: 5A6B7C8D9E: from=<ceo@Other.example>, size=900, nrcpt=40 (queue active)
2026-11-23T07:03:02Z mx1 postfix/qmgr[1]: 6B7C8D9E0F: from=<bob@EXAMPLE.org>, size=900, nrcpt=1 (queue active)
2026-11-23T07:03:03Z mx1 postfix/qmgr[1]: 7C8D9E0F1A: from=<carol@example.net>, size=900, nrcpt=1 (queue active)
2026-11-23T07:03:04Z mx1 postfix/qmgr[1]: 8D9E0F1A2B: from=<x@example.com>, size=900, nrcpt=1 (queue active)
2026-11-23T07:09:00Z mx1 postfix/smtp[3001]: 5A6B7C8D9E: to=<a@example.com>, relay=mx.example.com[203.0.113.20]:25, delay=480, delays=0.1/0/30/450, dsn=4.4.1, status=deferred (connect to mx.example.com[203.0.113.20]:25: Connection timed out)
2026-11-23T07:09:01Z mx1 postfix/smtp[3001]: 5A6B7C8D9E: to=<b@example.com>, relay=mx.example.com[203.0.113.20]:25, delay=481, delays=0.1/0/0.2/0.3, dsn=5.1.1, status=bounced (host mx.example.com[203.0.113.20] said: 550 5.1.1 no such user (in reply to RCPT TO command))
2026-11-23T07:10:00Z mx1 postfix/submission/smtpd[2710]: 9E0F1A2B3C: client=unknown[198.51.100.45], sasl_method=PLAIN, sasl_username=alice@example.org
2026-11-23T07:20:00Z mx1 postfix/qmgr[1]: 5A6B7C8D9E: from=<ceo@Other.example>, size=900, nrcpt=40 (queue active)
2026-11-23T07:20:01Z mx1 postfix/qmgr[1]: 4F1A2B3C4D: removed
`

func saslGauge(mfs map[string]*dto.MetricFamily, name, rank string) float64 {
	for _, m := range mfs[name].GetMetric() {
		if len(m.GetLabel()) == 0 && rank == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == rank {
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestSASLWindowFromLog: the counts of each user over the window, their
// ranks, and the window sliding past them.
func TestSASLWindowFromLog(t *testing.T) {
	r := mustReplayer(t, Config{}, saslLog)
	mfs := gather(t, r)
	for _, c := range []struct {
		name, rank string
		want       float64
	}{
		{"mailwatch_postfix_sasl_top_sender_messages", "1", 3}, // alice
		{"mailwatch_postfix_sasl_top_sender_messages", "2", 1}, // bob
		{"mailwatch_postfix_sasl_top_sender_messages", "3", 1}, // carol
		{"mailwatch_postfix_sasl_top_sender_messages", "4", 0},
		{"mailwatch_postfix_sasl_top_sender_messages", "5", 0},
		{"mailwatch_postfix_sasl_top_sender_client_ips", "1", 2}, // alice: 198.51.100.45 twice, 2001:db8::7
		{"mailwatch_postfix_sasl_top_sender_client_ips", "2", 1},
		{"mailwatch_postfix_sasl_top_sender_client_ips", "4", 0},
		{"mailwatch_postfix_sasl_active_senders", "", 3},
		// alice's 5A6B7C8D9E (other.example), counted once though qmgr
		// logged it twice; bob's differs only in case, carol has no domain.
		{"mailwatch_postfix_sasl_sender_mismatch_total", "", 1},
		{"mailwatch_postfix_sasl_tracking_dropped_total", "user", 0},
	} {
		if got := saslGauge(mfs, c.name, c.rank); got != c.want {
			t.Errorf("%s{rank=%q} = %v, want %v", c.name, c.rank, got, c.want)
		}
	}
	if n := len(mfs["mailwatch_postfix_sasl_top_sender_messages"].GetMetric()); n != DefaultSASLTopSenders {
		t.Errorf("%d rank slots, want %d", n, DefaultSASLTopSenders)
	}
	top := r.counters.sasl.window()
	want := []SASLSender{
		{User: "alice@example.org", Messages: 3, Recipients: 43, Deferred: 1, Bounced: 1, ClientIPs: 2},
		{User: "bob@example.org", Messages: 1, Recipients: 1, ClientIPs: 1},
		{User: "carol", Messages: 1, Recipients: 1, ClientIPs: 1},
	}
	if fmt.Sprint(top) != fmt.Sprint(want) {
		t.Errorf("window %+v\nwant   %+v", top, want)
	}

	// At 08:05 the 1h window, in 5-minute slots, starts at 07:10: only
	// alice's submission of 07:10 is still in it.
	if err := r.Feed(t.Context(), strings.NewReader("2026-11-23T08:05:00Z mx1 postfix/submission/smtpd[2711]: AB12CD34EF: client=unknown[198.51.100.48], sasl_method=PLAIN, sasl_username=dave@example.org\n")); err != nil {
		t.Fatal(err)
	}
	top = r.counters.sasl.window()
	want = []SASLSender{
		{User: "alice@example.org", Messages: 1, ClientIPs: 1},
		{User: "dave@example.org", Messages: 1, ClientIPs: 1},
	}
	if fmt.Sprint(top) != fmt.Sprint(want) {
		t.Errorf("window later %+v\nwant         %+v", top, want)
	}
	if got := saslGauge(gather(t, r), "mailwatch_postfix_sasl_active_senders", ""); got != 2 {
		t.Errorf("active senders later %v, want 2", got)
	}
}

// TestSASLClientIPRanks: the client address rank is its own order, so a
// user logging in from many addresses with few messages is rank 1 there.
func TestSASLClientIPRanks(t *testing.T) {
	var b strings.Builder
	for i := range 7 {
		fmt.Fprintf(&b, "2026-11-23T07:00:%02dZ mx1 postfix/submission/smtpd[1]: A%dBCDEF: client=unknown[192.0.2.%d], sasl_method=PLAIN, sasl_username=mallory@example.org\n", i, i, i+1)
	}
	for i := range 20 {
		fmt.Fprintf(&b, "2026-11-23T07:01:%02dZ mx1 postfix/submission/smtpd[1]: B%dBCDEF: client=unknown[192.0.2.200], sasl_method=PLAIN, sasl_username=news@example.org\n", i, i)
	}
	mfs := gather(t, mustReplayer(t, Config{SASLTopSenders: 2}, b.String()))
	if m, ips := saslGauge(mfs, "mailwatch_postfix_sasl_top_sender_messages", "1"), saslGauge(mfs, "mailwatch_postfix_sasl_top_sender_client_ips", "1"); m != 20 || ips != 7 {
		t.Errorf("rank 1: %v messages, %v client IPs; want 20, 7", m, ips)
	}
	if n := len(mfs["mailwatch_postfix_sasl_top_sender_client_ips"].GetMetric()); n != 2 {
		t.Errorf("%d rank slots, want 2", n)
	}
}

// TestSASLClientIPsSaturate: a user's distinct addresses are counted up
// to saslMaxIPs.
func TestSASLClientIPsSaturate(t *testing.T) {
	tr := newSASLTracker(func() time.Time { return time.Unix(0, 0) })
	ts := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	for i := range 100 {
		tr.submission(nil, []byte("u@example.org"), qidHash(fmt.Appendf(nil, "10.0.0.%d", i)), ts)
	}
	if got := tr.window()[0]; got.ClientIPs != saslMaxIPs || got.Messages != 100 {
		t.Errorf("%+v, want %d client IPs, 100 messages", got, saslMaxIPs)
	}
}

// TestSASLWindowSurvivesRestart: the window and the queue ids in it are
// saved with the counters (through JSON, as in the state file): after a
// restart, a queue id submitted before it is still attributed when its
// qmgr and delivery lines come.
func TestSASLWindowSurvivesRestart(t *testing.T) {
	head, tail, _ := strings.Cut(saslLog, "2026-11-23T07:03:00Z")
	tail = "2026-11-23T07:03:00Z" + tail
	r := mustReplayer(t, Config{}, head)
	b, err := json.Marshal(r.counters.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var st counterState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	r2 := mustReplayer(t, Config{}, "")
	r2.counters.restore(st)
	if err := r2.Feed(t.Context(), strings.NewReader(tail)); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(r2.counters.sasl.window()), fmt.Sprint(mustReplayer(t, Config{}, saslLog).counters.sasl.window()); got != want {
		t.Errorf("after restart %s\nwithout       %s", got, want)
	}
	if r2.counters.sasl.mismatch.Load() != 1 {
		t.Errorf("mismatch %d after restart, want 1", r2.counters.sasl.mismatch.Load())
	}
	// A window saved with another slot length is dropped.
	st.SASLWindow.SlotNanos++
	r3 := mustReplayer(t, Config{}, "")
	r3.counters.restore(st)
	if w := r3.counters.sasl.window(); len(w) != 0 {
		t.Errorf("window of another length restored: %v", w)
	}
}

// TestSASLMillionUsersMemory: a million distinct users, each with a queue
// id, then the worst case of every tracked user at saslMaxIPs addresses:
// the tables stay at their caps, the rest is counted as dropped, and the
// heap they hold stays under SASLMemoryBound.
func TestSASLMillionUsersMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million lines")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := newSASLTracker(func() time.Time { return time.Unix(0, 0) })
	ts := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	const n = 1_000_000
	user := make([]byte, 0, 64)
	qid := make([]byte, 0, 16)
	ip := make([]byte, 0, 16)
	for i := range n {
		user = fmt.Appendf(user[:0], "user%07d@example.org", i)
		qid = fmt.Appendf(qid[:0], "%010X", i)
		tr.submission(qid, user, qidHash(fmt.Appendf(ip[:0], "10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i))), ts)
	}
	const more = 100_000 // messages of tracked users: the queue id table fills
	for i := range more {
		user = fmt.Appendf(user[:0], "user%07d@example.org", i%DefaultSASLMaxUsers)
		qid = fmt.Appendf(qid[:0], "%010X", n+i)
		tr.submission(qid, user, 0, ts)
	}
	for i := range DefaultSASLMaxUsers {
		user = fmt.Appendf(user[:0], "user%07d@example.org", i)
		for j := range saslMaxIPs {
			tr.submission(nil, user, qidHash(fmt.Appendf(ip[:0], "172.16.%d.1", j)), ts)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(tr.users) != DefaultSASLMaxUsers || len(tr.qids) != DefaultSASLMaxQueueIDs {
		t.Errorf("tracked %d users, %d queue ids; want the caps %d, %d", len(tr.users), len(tr.qids), DefaultSASLMaxUsers, DefaultSASLMaxQueueIDs)
	}
	if d := tr.droppedUser.Load(); d != n-DefaultSASLMaxUsers {
		t.Errorf("dropped users %d, want %d", d, n-DefaultSASLMaxUsers)
	}
	// A dropped user's queue id is not tracked either: the ids of the
	// 10000 tracked users, then of their messages until the cap.
	if d, want := tr.droppedQID.Load(), uint64(DefaultSASLMaxUsers+more-DefaultSASLMaxQueueIDs); d != want {
		t.Errorf("dropped queue ids %d, want %d", d, want)
	}
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc) //nolint:gosec // heap sizes
	t.Logf("tables hold %.1f MiB of heap (bound %d MiB)", float64(held)/(1<<20), SASLMemoryBound>>20)
	if held > SASLMemoryBound {
		t.Errorf("tables hold %d bytes, above the bound %d", held, SASLMemoryBound)
	}
	runtime.KeepAlive(tr)
}
