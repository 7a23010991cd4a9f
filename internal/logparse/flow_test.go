// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// TestFlowCountsMatchTheLog: on the whole corpus, every flow counter
// equals what a plain pattern finds in the same lines (the e2e test does
// the same with grep on the real stack's log).
func TestFlowCountsMatchTheLog(t *testing.T) {
	cfg := Config{}
	cfg.ApplyDefaults()
	r := replayCorpus(t, cfg)
	mfs := gather(t, r)
	tags, msgs := corpusMessages(t)
	// Rspamd's own log file: "DATE TIME[.frac] [[severity] ]#PID(type) MESSAGE".
	rspamdFile := regexp.MustCompile(`^\d{4}-\d\d-\d\d [\d:.]+ (?:\[\w+\] )?#\d+\([\w_]+\) (.*)$`)
	files, _ := filepath.Glob("testdata/corpus/*.log")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			if m := rspamdFile.FindStringSubmatch(line); m != nil {
				tags, msgs = append(tags, "rspamd"), append(msgs, m[1])
			}
		}
	}
	count := func(tagRe, msgRe string) float64 {
		tr, mr := regexp.MustCompile(tagRe), regexp.MustCompile(msgRe)
		n := 0.0
		for i := range tags {
			if tr.MatchString(tags[i]) && mr.MatchString(msgs[i]) {
				n++
			}
		}
		return n
	}
	smtpd := `^postfix[^/]*(/[^/]+)?/smtpd$`
	conns := sumBy(mfs["mailwatch_postfix_smtpd_connections_total"], "service")
	if got, want := conns["smtp"]+conns["submission"]+conns["submissions"]+conns["other"], count(smtpd, `^connect from `); got != want || want == 0 {
		t.Errorf("connections %v, grep %v", conns, want)
	}
	if got, want := conns["submission"], count(`^postfix[^/]*/submission/smtpd$`, `^connect from `); got != want || want == 0 {
		t.Errorf("submission connections %v, grep %v", got, want)
	}
	lost := sumBy(mfs["mailwatch_postfix_smtpd_lost_connections_total"], "after")
	var lostSum float64
	for _, v := range lost {
		lostSum += v
	}
	if want := count(smtpd, `^lost connection after `); lostSum != want || want == 0 {
		t.Errorf("lost connections %v, grep %v", lost, want)
	}
	if got, want := lost["starttls"], count(smtpd, `^lost connection after STARTTLS `); got != want || want == 0 {
		t.Errorf("lost after starttls %v, grep %v", got, want)
	}
	tls := sumBy(mfs["mailwatch_postfix_tls_connections_total"], "direction")
	if got, want := tls["in"], count(`^postfix`, `^\w+ TLS connection established from `); got != want || want == 0 {
		t.Errorf("tls in %v, grep %v", got, want)
	}
	if got, want := tls["out"], count(`^postfix`, `^\w+ TLS connection established to `); got != want || want == 0 {
		t.Errorf("tls out %v, grep %v", got, want)
	}
	ps := sumBy(mfs["mailwatch_postfix_postscreen_events_total"], "event")
	for event, re := range map[string]string{
		"pass_new": `^PASS NEW `, "pregreet": `^PREGREET `, "dnsbl": `^DNSBL rank `, "reject": `^NOQUEUE: reject: `,
		"allowlisted": `^(WHITE|ALLOW)LISTED `, "denylisted": `^(BLACK|DENY)LISTED `,
	} {
		if got, want := ps[event], count(`/postscreen$`, re); got != want || want == 0 {
			t.Errorf("postscreen %s %v, grep %v", event, got, want)
		}
	}
	verdicts := map[string]float64{}
	for _, m := range mfs["mailwatch_antispam_verdicts_total"].GetMetric() {
		l := labelsOf(m)
		verdicts[l["scanner"]] += m.GetCounter().GetValue()
	}
	for scanner, want := range map[string]float64{
		"rspamd":       count(`^rspamd$`, `rspamd_task_write_log: .*\(default: [TF] \(`),
		"amavis":       count(`^amavis`, `^(\(\S+\) )?(Passed|Blocked) `),
		"spamassassin": count(`^spamd$`, `^spamd: result: [Y.] `),
		"clamav":       count(`^clam`, `( FOUND$| infected by )`),
	} {
		if verdicts[scanner] != want || want == 0 {
			t.Errorf("%s verdicts %v, grep %v", scanner, verdicts[scanner], want)
		}
	}
	// Sizes: one observation per queue id of the qmgr size lines, from the
	// first one to the id's "removed" line.
	sizeRe := regexp.MustCompile(`^([0-9A-Za-z]+): from=<[^>]*>, size=(\d+), nrcpt=\d+ \(queue active\)$`)
	removedRe := regexp.MustCompile(`^([0-9A-Za-z]+): removed$`)
	seen := map[string]bool{}
	var n, sum float64
	for i := range tags {
		if m := removedRe.FindStringSubmatch(msgs[i]); m != nil && strings.HasSuffix(tags[i], "/qmgr") {
			delete(seen, m[1])
		}
		m := sizeRe.FindStringSubmatch(msgs[i])
		if m == nil || !strings.HasSuffix(tags[i], "/qmgr") || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		n++
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	h := mfs["mailwatch_postfix_message_size_bytes"].GetMetric()[0].GetHistogram()
	if float64(h.GetSampleCount()) != n || h.GetSampleSum() != sum || n == 0 {
		t.Errorf("size histogram %d / %v, log %v / %v", h.GetSampleCount(), h.GetSampleSum(), n, sum)
	}
}

// TestMessageSizeOncePerQueueID: qmgr's size line of a deferred message
// that is retried counts once; after the id's removal a new message that
// reuses it counts again.
func TestMessageSizeOncePerQueueID(t *testing.T) {
	size := func(ts, qid string, n int) string {
		return ts + " mx1 postfix/qmgr[1]: " + qid + ": from=<a@example.org>, size=" + itoa(n) + ", nrcpt=3 (queue active)\n"
	}
	r := mustReplayer(t, Config{}, size("2026-11-23T07:00:00Z", "0B1C2D3E4F", 2000)+
		size("2026-11-23T07:05:00Z", "0B1C2D3E4F", 2000)+size("2026-11-23T07:06:00Z", "4Bnpy46sVdz3wBZ", 70000)+
		size("2026-11-23T07:15:00Z", "0B1C2D3E4F", 2000)+
		"2026-11-23T07:15:01Z mx1 postfix/qmgr[1]: 0B1C2D3E4F: removed\n"+
		size("2026-11-23T08:00:00Z", "0B1C2D3E4F", 500))
	h := gather(t, r)["mailwatch_postfix_message_size_bytes"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 72500 {
		t.Errorf("size: %d observations, sum %v; want 3, 72500", h.GetSampleCount(), h.GetSampleSum())
	}
	b := h.GetBucket()
	if b[0].GetUpperBound() != 1024 || b[0].GetCumulativeCount() != 1 || b[1].GetCumulativeCount() != 2 ||
		b[3].GetCumulativeCount() != 2 || b[4].GetCumulativeCount() != 3 {
		t.Errorf("size buckets %v", b)
	}
	rc := gather(t, r)["mailwatch_postfix_message_recipients"].GetMetric()[0].GetHistogram()
	if rc.GetSampleCount() != 3 || rc.GetSampleSum() != 9 || rc.GetBucket()[1].GetCumulativeCount() != 0 ||
		rc.GetBucket()[2].GetCumulativeCount() != 3 {
		t.Errorf("recipients %v", rc)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestQueueIDSetBounded: the set holds at most qidSlots ids whatever comes
// in, the newest id is always there, and a removed one is gone.
func TestQueueIDSetBounded(t *testing.T) {
	var s queueIDSet
	for i := range 3 * qidSlots {
		h := qidHash([]byte("QID" + itoa(i)))
		if !s.add(h) {
			t.Fatalf("id %d seen before", i)
		}
		if s.add(h) {
			t.Fatalf("id %d not remembered", i)
		}
	}
	if n := len(s.snapshot()); n > qidSlots {
		t.Errorf("%d ids kept, at most %d", n, qidSlots)
	}
	h := qidHash([]byte("last"))
	s.add(h)
	s.remove(h)
	if !s.add(h) {
		t.Error("a removed id is still there")
	}
	if qidHash(nil) == 0 {
		t.Error("hash 0 is the free slot")
	}
}

// TestLastEventTimestamps: the time written in the newest line of each
// event and action; an older line read later does not move it back.
func TestLastEventTimestamps(t *testing.T) {
	r := mustReplayer(t, Config{}, "2026-11-23T07:00:01Z mx1 postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: x\n"+
		"2026-11-23T07:00:09Z mx1 postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: x\n"+
		"2026-11-23T07:00:05Z mx1 opendkim[2]: 0B1C2D3E4F: DKIM-Signature field added (s=mail, d=example.org)\n"+
		"2026-11-23T07:00:07Z mx1 postfix/smtpd[1]: 0B1C2D3E4F: client=unknown[192.0.2.10]\n")
	if err := r.Feed(context.Background(), strings.NewReader(
		"2026-11-23T06:00:00Z mx1 postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: x\n")); err != nil {
		t.Fatal(err)
	}
	at := func(sec int) float64 { return float64(time.Date(2026, 11, 23, 7, 0, sec, 0, time.UTC).Unix()) }
	want := map[string]float64{"sasl_auth_failure": at(9), "postfix_warning": at(9), "dkim_signed": at(5)}
	got := map[string]float64{}
	for _, m := range gather(t, r)["mailwatch_log_last_event_timestamp_seconds"].GetMetric() {
		got[labelsOf(m)["event"]] = m.GetGauge().GetValue()
	}
	if len(got) != len(want) {
		t.Errorf("last event series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	acts := gather(t, r)["mailwatch_postfix_last_action_timestamp_seconds"].GetMetric()
	if len(acts) != 1 || labelsOf(acts[0])["action"] != "received" || acts[0].GetGauge().GetValue() != at(7) {
		t.Errorf("last action %v", acts)
	}
}

// TestFlowStateSurvivesRestart: the flow counters, histograms, timestamps
// and remembered queue ids are saved with the positions: after a restart
// the counts continue, and a retried message is still observed once.
func TestFlowStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "mail.log")
	const qmgr = "2026-11-23T07:00:02Z mx1 postfix/qmgr[1]: 0B1C2D3E4F: from=<a@example.org>, size=4000, nrcpt=1 (queue active)\n"
	appendFile(t, path, "2026-11-23T07:00:01Z mx1 postfix/submission/smtpd[1]: connect from unknown[192.0.2.1]\n"+
		"2026-11-23T07:00:01Z mx1 postfix/submission/smtpd[1]: lost connection after AUTH from unknown[192.0.2.1]\n"+
		qmgr+
		"2026-11-23T07:00:03Z mx1 postfix/smtp[2]: Verified TLS connection established to mx.example.net[203.0.113.5]:25: TLSv1.3\n"+
		"2026-11-23T07:00:04Z mx1 postfix/postscreen[3]: PASS NEW [192.0.2.30]:41000\n"+
		"2026-11-23T07:00:05Z mx1 spamd[4]: spamd: result: Y 15 - X scantime=1\n")
	h := start(t, testConfig(path), state)
	h.wantLines(6)
	h.stop()

	b, err := os.ReadFile(filepath.Join(state, stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	c := st.Counters
	if c.Services["submission"].Connections != 1 || c.Services["submission"].Lost["auth"] != 1 || c.TLS["out/verified"] != 1 ||
		c.Postscreen["pass_new"] != 1 || c.Verdicts["spamassassin/spam"] != 1 || c.MessageSize.Sum != 4000 ||
		len(c.QueueIDs) != 1 || c.LastAction["received"] != 0 || c.LastEvent["sasl_auth_failure"] != 0 {
		t.Fatalf("state %s", b)
	}

	appendFile(t, path, strings.Replace(qmgr, "07:00:02", "07:10:02", 1)+
		"2026-11-23T07:10:03Z mx1 postfix/submission/smtpd[1]: connect from unknown[192.0.2.1]\n")
	h = start(t, testConfig(path), state)
	h.wantLines(8)
	mfs := gather(t, h.p)
	if got := sumBy(mfs["mailwatch_postfix_smtpd_connections_total"], "service"); got["submission"] != 2 {
		t.Errorf("connections after restart %v", got)
	}
	if hs := mfs["mailwatch_postfix_message_size_bytes"].GetMetric()[0].GetHistogram(); hs.GetSampleCount() != 1 || hs.GetSampleSum() != 4000 {
		t.Errorf("size after restart and retry: %v", hs)
	}
	if got := sumBy(mfs["mailwatch_postfix_smtpd_lost_connections_total"], "after"); got["auth"] != 1 {
		t.Errorf("lost after restart %v", got)
	}
	h.stop()
}

// TestOldStateFileLoads: a state file written before the flow metrics
// existed loads: its counts continue, the flow series start at zero and the
// timestamps are absent.
func TestOldStateFileLoads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, "Nov 23 07:00:01 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]\n")
	old := `{"version":1,"sources":{"mail":{"kind":"file","files":[],"counters":{"lines":7,"malformed":0,"skipped_bytes":0,"last_line_timestamp":1795400000}}},` +
		`"counters":{"events":{"sasl_auth_failure":5},"actions":{"received":3},"deliveries":{"smtp/sent/none":2},` +
		`"providers":{"google":{"deliveries":{"sent/none":2},"last_sent_timestamp":1795400000}}}}`
	if err := os.WriteFile(filepath.Join(dir, stateFileName), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(testConfig(path), dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if !p.restored {
		t.Fatal("the old state file was not loaded")
	}
	mfs := gather(t, p)
	if got := sumBy(mfs["mailwatch_log_events_total"], "event"); got["sasl_auth_failure"] != 5 {
		t.Errorf("events %v", got["sasl_auth_failure"])
	}
	if got := sumBy(mfs["mailwatch_postfix_smtpd_connections_total"], "service"); got["smtp"] != 0 || len(got) != 4 {
		t.Errorf("connections %v", got)
	}
	if mfs["mailwatch_log_last_event_timestamp_seconds"] != nil || mfs["mailwatch_postfix_last_action_timestamp_seconds"] != nil {
		t.Error("timestamps from nowhere")
	}
	if hs := mfs["mailwatch_postfix_message_size_bytes"].GetMetric()[0].GetHistogram(); hs.GetSampleCount() != 0 {
		t.Errorf("size histogram %v", hs)
	}
}

// TestApplyServices: a reload keeps the series of services still
// configured, drops removed ones and starts new ones at 0; a connection
// to a service no longer listed counts as other.
func TestApplyServices(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, "2026-11-23T07:00:01Z mx1 postfix/submission/smtpd[1]: connect from unknown[192.0.2.1]\n"+
		"2026-11-23T07:00:01Z mx1 postfix/smtpd[1]: connect from unknown[192.0.2.1]\n")
	h := start(t, testConfig(path), "")
	h.wantLines(2)
	cfg := testConfig(path)
	cfg.Services = []string{"smtp", "relay"}
	if err := h.p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "2026-11-23T07:00:02Z mx1 relay/smtpd[1]: connect from unknown[192.0.2.1]\n"+
		"2026-11-23T07:00:02Z mx1 postfix/submission/smtpd[1]: connect from unknown[192.0.2.1]\n")
	h.poll()
	got := sumBy(gather(t, h.p)["mailwatch_postfix_smtpd_connections_total"], "service")
	if len(got) != 3 || got["smtp"] != 1 || got["relay"] != 1 || got["other"] != 1 {
		t.Errorf("connections after Apply = %v, want smtp 1 (kept), relay 1 (new), other 1, submission gone", got)
	}
	if n := len(gather(t, h.p)["mailwatch_postfix_smtpd_lost_connections_total"].GetMetric()); n != 3*int(maillog.NumSMTPStages) {
		t.Errorf("%d lost connection series, want %d", n, 3*int(maillog.NumSMTPStages))
	}
	h.stop()
}

// TestFlowTimestampPersistence: a saved timestamp that is not a time
// (negative, infinite) is dropped on restore.
func TestFlowTimestampPersistence(t *testing.T) {
	c := newCounters()
	st := counterState{LastEvent: map[string]float64{"dkim_signed": 1795400000, "relay_denied": -1},
		LastAction: map[string]float64{"received": math.Inf(1)}}
	c.flow.restore(&st)
	if v := c.flow.lastEvent[maillog.EvDKIMSigned].Load(); math.Float64frombits(v) != 1795400000 {
		t.Errorf("dkim_signed %v", math.Float64frombits(v))
	}
	if c.flow.lastEvent[maillog.EvRelayDenied].Load() != 0 || c.flow.lastAction[maillog.ActReceived].Load() != 0 {
		t.Error("a bad saved time was restored")
	}
}
