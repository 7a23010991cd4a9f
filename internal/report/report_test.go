// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/report/pflogsumm"
)

// harnessLog is one run of the e2e harness (test/harness/traffic.sh) as
// rsyslog wrote it in the traditional format: real Postfix 3.7, Dovecot 2.3
// and OpenDKIM lines, with the harness's own addresses only.
const harnessLog = "testdata/harness.log"

// corpus are the daemon's corpus files (journal export, Dovecot log_path,
// fail2ban, spam and virus filters, RFC 3339, malformed lines).
func corpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../logparse/testdata/corpus/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	return append([]string{harnessLog}, files...)
}

func defaultConfig() logparse.Config {
	var cfg logparse.Config
	cfg.ApplyDefaults()
	return cfg
}

// build reports the files with opt.
func build(t *testing.T, opt Options, files ...string) *Report {
	t.Helper()
	b, err := NewBuilder(defaultConfig(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := b.FeedFile(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Report(0)
}

var sampleRe = regexp.MustCompile(`^(mailwatch_postfix_messages_total|mailwatch_log_events_total|mailwatch_log_unmatched_lines_total)\{(action|event|program)="([^"]+)"\} (\d+)$`)

// replayCounts runs the daemon's replay over the files and returns its
// action, event and unmatched counters by "family/label".
func replayCounts(t *testing.T, files ...string) map[string]uint64 {
	t.Helper()
	rp, err := logparse.NewReplayer(defaultConfig(), "replay")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		in, err := logparse.OpenInput(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := rp.Feed(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		in.Close()
	}
	var buf bytes.Buffer
	if err := rp.WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if m := sampleRe.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseUint(m[4], 10, 64)
			out[m[2]+"/"+m[3]] = v
		}
	}
	if len(out) == 0 {
		t.Fatal("no counters in the replay output")
	}
	return out
}

// The report's totals, events and unmatched counts are the daemon's: the
// replay's counters over the same files.
func TestTotalsEqualReplay(t *testing.T) {
	for _, f := range corpus(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := replayCounts(t, f)
			r := build(t, Options{}, f)
			got := map[string]uint64{}
			for a, v := range r.Totals {
				got["action/"+a] = v
			}
			for p, v := range r.UnmatchedByProgram {
				got["program/"+p] = v
			}
			for e, v := range r.Events {
				got["event/"+e] = v
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: report %d, replay %d", k, got[k], w)
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok && g != 0 {
					t.Errorf("%s: report %d, not in the replay", k, g)
				}
			}
		})
	}
	// And every file at once, as the command reads several.
	all := corpus(t)
	r := build(t, Options{}, all...)
	want := replayCounts(t, all...)
	if r.Totals["received"] != want["action/received"] || r.Totals["delivered"] != want["action/delivered"] {
		t.Errorf("all files: report received %d delivered %d, replay %d %d", r.Totals["received"], r.Totals["delivered"],
			want["action/received"], want["action/delivered"])
	}
}

// runPflogsumm runs pflogsumm on data, skipping the test when it is not
// installed.
func runPflogsumm(t *testing.T, data []byte) *pflogsumm.Summary {
	t.Helper()
	path, err := exec.LookPath("pflogsumm")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/pflogsumm"); err != nil {
			t.Skip("pflogsumm is not installed")
		}
		path = "/usr/sbin/pflogsumm"
	}
	f := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, f).Output()
	if err != nil {
		t.Fatalf("pflogsumm: %v", err)
	}
	s, err := pflogsumm.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ours(t *testing.T, r *Report) *pflogsumm.Ours {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	o, err := pflogsumm.ParseReport(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// On the harness log, the report agrees with pflogsumm on every grand total
// and every row of its two domain tables, except where pflogsumm does not
// know Debian's port-465 service "submissions" (it parses
// "postfix/submissions/smtpd" as a daemon "submissions/smtpd" and ignores
// its client= lines): pflogsumm on the same log with that tag renamed to
// "smtps", a service name it knows, agrees on everything.
func TestHarnessAgainstPflogsumm(t *testing.T) {
	reconcile(t, harnessLog)
}

// TestReconcileLog is TestHarnessAgainstPflogsumm on the log named by
// MAILWATCHD_REPORT_RECONCILE_LOG (bench/report.sh: the benchmark corpus).
func TestReconcileLog(t *testing.T) {
	path := os.Getenv("MAILWATCHD_REPORT_RECONCILE_LOG")
	if path == "" {
		t.Skip("MAILWATCHD_REPORT_RECONCILE_LOG not set")
	}
	reconcile(t, path)
}

func reconcile(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := build(t, Options{}, path)
	o := ours(t, r)

	renamed := bytes.ReplaceAll(data, []byte(" postfix/submissions/smtpd["), []byte(" postfix/smtps/smtpd["))
	if d := pflogsumm.Diff(o, runPflogsumm(t, renamed)); len(d) > 0 {
		t.Errorf("report and pflogsumm (465 renamed) disagree:\n%s", strings.Join(d, "\n"))
	}

	// As written, pflogsumm misses the port-465 messages, and only them.
	port465 := regexp.MustCompile(`(?m) postfix/submissions/smtpd\[\d+\]: [0-9A-Za-z]+: client=`).FindAll(data, -1)
	if len(port465) == 0 {
		t.Fatal("the log has no port-465 submission")
	}
	d := pflogsumm.Diff(o, runPflogsumm(t, data))
	want := fmt.Sprintf("total received: report %d, pflogsumm %d", r.Totals["received"], r.Totals["received"]-uint64(len(port465)))
	got := strings.Join(d, "\n")
	if !strings.Contains(got, want) {
		t.Errorf("want the difference %q, got:\n%s", want, got)
	}
	for _, l := range d {
		if !strings.HasPrefix(l, "total received:") && !strings.HasPrefix(l, "bytes received:") && !strings.HasPrefix(l, "received ") {
			t.Errorf("unexpected difference: %s", l)
		}
	}
	t.Logf("differences of pflogsumm on the log as written (port 465):\n%s", got)
}

func TestHarnessSections(t *testing.T) {
	r := build(t, Options{}, harnessLog)
	if r.Lines == 0 || r.Malformed != 0 {
		t.Fatalf("lines %d malformed %d", r.Lines, r.Malformed)
	}
	// Every recipient line of the fixture has a delay and a size known.
	if r.SizeUnknown != 0 {
		t.Errorf("%d deliveries without a size", r.SizeUnknown)
	}
	// The rows add up to the totals.
	var sent, deferred, bounced uint64
	for _, d := range r.DeliveryByDomain {
		sent, deferred, bounced = sent+d.Sent, deferred+d.Deferred, bounced+d.Bounced
	}
	if sent != r.Totals["delivered"] || deferred != r.Totals["deferred"] || bounced != r.Totals["bounced"] {
		t.Errorf("delivery rows sum to %d/%d/%d, totals %d/%d/%d", sent, deferred, bounced,
			r.Totals["delivered"], r.Totals["deferred"], r.Totals["bounced"])
	}
	sum := func(ds []Detail) (n uint64) {
		for _, d := range ds {
			n += d.Count
		}
		return n
	}
	if sum(r.Deferrals) != r.Totals["deferred"] || sum(r.Bounces) != r.Totals["bounced"] || sum(r.Rejects) != r.Totals["rejected"] {
		t.Errorf("detail sums %d/%d/%d, totals %d/%d/%d", sum(r.Deferrals), sum(r.Bounces), sum(r.Rejects),
			r.Totals["deferred"], r.Totals["bounced"], r.Totals["rejected"])
	}
	var hours uint64
	for _, h := range r.PerHour {
		hours += h.Received
	}
	if hours != r.Totals["received"] {
		t.Errorf("per-hour received %d, total %d", hours, r.Totals["received"])
	}
	// Authentication failures: SMTP AUTH (with the sasl_username Postfix
	// logs) and IMAP logins, each as often as the log says.
	data, _ := os.ReadFile(harnessLog)
	n := func(re string) uint64 { return uint64(len(regexp.MustCompile(re).FindAll(data, -1))) }
	var smtp, imap uint64
	for _, a := range r.AuthFailures {
		switch a.Service {
		case "postfix":
			smtp += a.Count
			if a.Client == "" {
				t.Errorf("SASL failure without a client: %+v", a)
			}
		case "dovecot":
			imap += a.Count
			if a.User == "" || a.Client == "" {
				t.Errorf("Dovecot failure without user or client: %+v", a)
			}
		}
	}
	if w := n(`(?m)smtpd\[\d+\]: warning: [^ ]+: SASL \S+ authentication failed`); smtp != w || w == 0 {
		t.Errorf("SASL failures %d, grep %d", smtp, w)
	}
	if w := n(`(?m)-login: .*\(auth failed, `); imap != w || w == 0 {
		t.Errorf("Dovecot failures %d, grep %d", imap, w)
	}
	var conns uint64
	for _, c := range r.Connections {
		conns += c.Count
	}
	if w := n(`(?m)postfix/[a-z/]*smtpd\[\d+\]: connect from `); conns != w {
		t.Errorf("connections %d, grep %d", conns, w)
	}
	// Addresses in reply texts are masked; host names and codes stay.
	for _, d := range append(append([]Detail{}, r.Bounces...), r.Rejects...) {
		if regexp.MustCompile(`[A-Za-z0-9._-]+@`).MatchString(d.Reason) && !strings.Contains(d.Reason, "*@") {
			t.Errorf("address not masked: %q", d.Reason)
		}
	}
}

// The spam filters, fail2ban and the problems of the corpus.
func TestCorpusSections(t *testing.T) {
	r := build(t, Options{}, "../logparse/testdata/corpus/fail2ban.log", "../logparse/testdata/corpus/av-spam.log")
	var bans uint64
	for _, b := range r.Fail2banBans {
		bans += b.Count
		if b.Key == "" {
			t.Errorf("ban without a jail: %+v", b)
		}
	}
	if bans != r.Events["fail2ban_ban"] || bans == 0 {
		t.Errorf("bans by jail %d, events %d", bans, r.Events["fail2ban_ban"])
	}
	verdicts := map[string]uint64{}
	for _, v := range r.Verdicts {
		verdicts[v.Verdict] += v.Count
	}
	for _, ev := range []string{"virus_found", "amavis_spam_blocked", "rspamd_reject"} {
		if verdicts[ev] != r.Events[ev] || r.Events[ev] == 0 {
			t.Errorf("verdict %s: %d, event %d", ev, verdicts[ev], r.Events[ev])
		}
	}
	var problems uint64
	for _, p := range r.Problems {
		problems += p.Count
	}
	var sev uint64
	for e, v := range r.Events {
		if strings.HasSuffix(e, "_warning") || strings.HasSuffix(e, "_error") || strings.HasSuffix(e, "_fatal") || strings.HasSuffix(e, "_panic") {
			sev += v
		}
	}
	if problems != sev {
		t.Errorf("problems %d, severity events %d", problems, sev)
	}
	var unmatched, byProg uint64
	for _, u := range r.Unmatched {
		unmatched += u.Count
	}
	for _, v := range r.UnmatchedByProgram {
		byProg += v
	}
	if unmatched != byProg {
		t.Errorf("unmatched shapes %d, by program %d", unmatched, byProg)
	}
}

// writeLog writes lines to a file in a test directory.
func writeLog(t *testing.T, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A table keeps MaxKeys keys; what does not fit is counted in its other
// row and said so, and the totals lose nothing.
func TestBoundedTables(t *testing.T) {
	var lines []string
	for i := 0; i < 50; i++ {
		qid := fmt.Sprintf("%08X", 0xA0000+i)
		lines = append(lines,
			fmt.Sprintf("Dec  6 05:45:37 vm postfix/smtpd[1]: %s: client=mx%d.sender%d.example[192.0.2.%d]", qid, i, i, i),
			fmt.Sprintf("Dec  6 05:45:37 vm postfix/qmgr[2]: %s: from=<a%d@sender%d.example>, size=%d, nrcpt=1 (queue active)", qid, i, i, 1000+i),
			fmt.Sprintf("Dec  6 05:45:38 vm postfix/smtp[3]: %s: to=<r%d@dest%d.example>, relay=mx.dest%d.example[192.0.2.1]:25, delay=1.5, delays=0.1/0/0.4/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)", qid, i, i, i),
			fmt.Sprintf("Dec  6 05:45:38 vm postfix/qmgr[2]: %s: removed", qid))
	}
	r := build(t, Options{MaxKeys: 10, MaxQueue: 5}, writeLog(t, lines))
	if len(r.DeliveryByDomain) != 11 || r.DeliveryByDomain[10].Domain != OtherKey {
		t.Fatalf("want 10 rows and the other row, got %d: %+v", len(r.DeliveryByDomain), r.DeliveryByDomain)
	}
	var sent, size uint64
	for _, d := range r.DeliveryByDomain {
		sent += d.Sent
		size += d.Bytes
	}
	if sent != 50 || r.DeliveryByDomain[10].Sent != 40 || r.Bytes.Delivered != size {
		t.Errorf("sent %d (other %d), bytes %d of %d", sent, r.DeliveryByDomain[10].Sent, size, r.Bytes.Delivered)
	}
	if ti := r.Tables["delivery_by_domain"]; ti.Keys != 10 || ti.Folded != 40 {
		t.Errorf("table info %+v", ti)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "the table was full at 10 keys: 40 updates of further keys are counted in the row (other)") {
		t.Errorf("the text does not say what was folded:\n%s", text.String())
	}
	// Messages are removed as Postfix removes them: the queue bound of 5
	// is never reached, and every size is known.
	if r.QueueForgotten != 0 || r.SizeUnknown != 0 {
		t.Errorf("forgotten %d, size unknown %d", r.QueueForgotten, r.SizeUnknown)
	}

	// Without "removed" lines the queue bound forgets the oldest sizes.
	var kept []string
	for _, l := range lines {
		if !strings.HasSuffix(l, ": removed") {
			kept = append(kept, l)
		}
	}
	var interleaved []string
	for i := 0; i < 50; i++ { // every message received before any is delivered
		interleaved = append(interleaved, kept[3*i], kept[3*i+1])
	}
	for i := 0; i < 50; i++ {
		interleaved = append(interleaved, kept[3*i+2])
	}
	r = build(t, Options{MaxQueue: 5}, writeLog(t, interleaved))
	if r.QueueForgotten != 45 || r.SizeUnknown != 45 || r.Totals["delivered"] != 50 {
		t.Errorf("forgotten %d, size unknown %d, delivered %d", r.QueueForgotten, r.SizeUnknown, r.Totals["delivered"])
	}
}

func TestWindow(t *testing.T) {
	lines := []string{
		"2026-12-05T23:59:59.000000+00:00 vm postfix/smtpd[1]: 4B1C2C0001: client=unknown[192.0.2.1]",
		"2026-12-05T23:59:59.500000+00:00 vm postfix/qmgr[2]: 4B1C2C0001: from=<a@one.example>, size=4242, nrcpt=1 (queue active)",
		"2026-12-06T00:00:01.000000+00:00 vm postfix/smtp[3]: 4B1C2C0001: to=<b@two.example>, relay=mx.two.example[192.0.2.2]:25, delay=2, delays=1/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
		"2026-12-06T12:00:00.000000+00:00 vm postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@y.example>: Relay access denied; from=<s@z.example> to=<x@y.example> proto=ESMTP helo=<h>",
		"2026-12-07T00:00:00.000000+00:00 vm postfix/smtpd[1]: 4B1C2C0002: client=unknown[192.0.2.1]",
	}
	since := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	r := build(t, Options{Since: since, Until: since.Add(24 * time.Hour)}, writeLog(t, lines))
	if r.Totals["received"] != 0 || r.Totals["delivered"] != 1 || r.Totals["rejected"] != 1 || r.OutsideWindow != 3 {
		t.Errorf("totals %v, outside %d", r.Totals, r.OutsideWindow)
	}
	// The size was read before the window, the delivery counted in it.
	if r.Bytes.Delivered != 4242 || r.Bytes.Received != 0 {
		t.Errorf("bytes %+v", r.Bytes)
	}
	if r.First == nil || !r.First.Equal(since.Add(time.Second)) {
		t.Errorf("first line %v", r.First)
	}
}

func TestFormats(t *testing.T) {
	lines := []string{
		"Dec  6 05:45:38 vm postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@y.example>: Recipient address rejected: <script>alert(1)</script>; from=<s@z.example> to=<x@y.example> proto=ESMTP helo=<h>",
	}
	r := build(t, Options{}, writeLog(t, lines), harnessLog)
	var h bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	if strings.Contains(page, "<script") || !strings.Contains(page, "&lt;*&gt;") {
		t.Errorf("HTML not escaped")
	}
	for _, banned := range []string{"<link", "src=", "http://", "https://", "<style"} {
		if strings.Contains(page, banned) {
			t.Errorf("the page is not self-contained: %s", banned)
		}
	}
	var j bytes.Buffer
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(j.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// The schema the README documents.
	for _, k := range []string{"schema_version", "totals", "delivery_by_domain", "received_by_domain", "deferrals", "bounces",
		"rejects", "auth_failures", "per_hour", "tables"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON without %q", k)
		}
	}
	row := doc["delivery_by_domain"].([]any)[0].(map[string]any)
	for _, k := range []string{"domain", "sent", "deferred", "bounced", "bytes"} {
		if _, ok := row[k]; !ok {
			t.Errorf("delivery row without %q: %v", k, row)
		}
	}
	rej := doc["rejects"].([]any)[0].(map[string]any)
	for _, k := range []string{"group", "reason", "count"} {
		if _, ok := rej[k]; !ok {
			t.Errorf("reject row without %q: %v", k, rej)
		}
	}
	af := doc["auth_failures"].([]any)[0].(map[string]any)
	for _, k := range []string{"user", "client", "count"} {
		if _, ok := af[k]; !ok {
			t.Errorf("auth row without %q: %v", k, af)
		}
	}
	var txt bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"Grand totals", "Delivery by recipient domain", "Received by sender domain", "Rejects",
		"Authentication failures", "Bounces", "Deferrals"} {
		if !strings.Contains(txt.String(), "\n"+title+"\n") {
			t.Errorf("text without the section %q", title)
		}
	}
	// A control sequence in a log line does not reach the terminal.
	esc := build(t, Options{}, writeLog(t, []string{"Dec  6 05:45:38 vm postfix/smtpd[1]: connect from evil\x1b[2J.example[192.0.2.1]"}))
	var et bytes.Buffer
	esc.WriteText(&et)
	if strings.Contains(et.String(), "\x1b") || !strings.Contains(et.String(), "evil?") {
		t.Errorf("escape sequence in the text:\n%q", et.String())
	}
	// Empty sections are left out.
	if strings.Contains(txt.String(), "fail2ban bans") {
		t.Error("an empty section is printed")
	}
}
