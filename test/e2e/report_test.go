// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/report/pflogsumm"
)

// reportJSON runs `mailwatchd report --format json --top 0 ARGS...`.
func reportJSON(t *testing.T, env *Env, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(env.Binary, append([]string{"report", "--format", "json", "--top", "0"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mailwatchd report %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func pflogsummOf(t *testing.T, bin string, data []byte) *pflogsumm.Summary {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path).Output()
	if err != nil {
		t.Fatalf("pflogsumm: %v", err)
	}
	s, err := pflogsumm.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReportOnHarnessLog: `mailwatchd report` on the run's log lines has
// the totals `mailwatchd replay` prints for them; agrees with pflogsumm on
// every grand total and every row of its Message Delivery and Messages
// Received tables once the port-465 tag pflogsumm does not know is renamed,
// and differs on the log as written only by the port-465 messages; the
// RFC 3339 and traditional copies give the same report; and the same lines
// rotated by the real logrotate (compress, delaycompress) and read as the
// configured source with --since give what the unrotated file gives.
func TestReportOnHarnessLog(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	pflog, err := exec.LookPath("pflogsumm")
	if err != nil {
		t.Skip("pflogsumm not installed")
	}
	rfc := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	trad := logSlice(t, env, getenv("MWH_MAILLOG_TRAD", "/var/log/mail-traditional.log"), "MWH_PLAN_MAILLOG_TRAD_OFFSET")
	dir := t.TempDir()
	tradFile := filepath.Join(dir, "mail-traditional.log")
	rfcFile := filepath.Join(dir, "mail-rfc3339.log")
	os.WriteFile(tradFile, trad, 0o600)
	os.WriteFile(rfcFile, rfc, 0o600)

	out := reportJSON(t, env, tradFile)
	ours, err := pflogsumm.ParseReport(out)
	if err != nil {
		t.Fatal(err)
	}
	if ours.Totals["delivered"] == 0 || ours.Totals["rejected"] == 0 || ours.Totals["deferred"] == 0 || ours.Totals["bounced"] == 0 {
		t.Fatalf("the traffic should produce deliveries, rejects, deferrals and bounces: %v", ours.Totals)
	}

	// The daemon's counters.
	replay := replayCounts(t, env, trad)
	for action, v := range ours.Totals {
		if float64(v) != replay["action/"+action] {
			t.Errorf("%s: report %d, replay %.0f", action, v, replay["action/"+action])
		}
	}
	// The RFC 3339 copy of the same lines.
	rfcOurs, err := pflogsumm.ParseReport(reportJSON(t, env, rfcFile))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rfcOurs.Totals, rfcOurs.Bytes, rfcOurs.Delivery, rfcOurs.Received) != fmt.Sprint(ours.Totals, ours.Bytes, ours.Delivery, ours.Received) {
		t.Errorf("RFC 3339 and traditional copies differ:\n%v %v\n%v %v", rfcOurs.Totals, rfcOurs.Bytes, ours.Totals, ours.Bytes)
	}

	// pflogsumm, with the port-465 service renamed to one it knows.
	renamed := bytes.ReplaceAll(trad, []byte(" postfix/submissions/smtpd["), []byte(" postfix/smtps/smtpd["))
	if d := pflogsumm.Diff(ours, pflogsummOf(t, pflog, renamed)); len(d) > 0 {
		t.Errorf("report and pflogsumm (465 renamed) disagree:\n%s", strings.Join(d, "\n"))
	}
	port465 := regexp.MustCompile(`(?m) postfix/submissions/smtpd\[\d+\]: [0-9A-Za-z]+: client=`).FindAll(trad, -1)
	d := pflogsumm.Diff(ours, pflogsummOf(t, pflog, trad))
	want := fmt.Sprintf("total received: report %d, pflogsumm %d", ours.Totals["received"], ours.Totals["received"]-uint64(len(port465)))
	if len(port465) > 0 && !strings.Contains(strings.Join(d, "\n"), want) {
		t.Errorf("want %q among the differences:\n%s", want, strings.Join(d, "\n"))
	}
	for _, l := range d {
		if !strings.HasPrefix(l, "total received:") && !strings.HasPrefix(l, "bytes received:") && !strings.HasPrefix(l, "received ") {
			t.Errorf("a difference other than port 465: %s", l)
		}
	}
	t.Logf("pflogsumm on the log as written (%d port-465 messages):\n%s", len(port465), strings.Join(d, "\n"))

	t.Run("logrotate", func(t *testing.T) { reportRotated(t, env, trad) })
}

// reportRotated rotates the lines with the real logrotate (compress,
// delaycompress) in three parts and reads them as a configured file source
// with --since in the second part.
func reportRotated(t *testing.T, env *Env, trad []byte) {
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		t.Skip("logrotate not installed (test/harness/install.sh installs it)")
	}
	lines := bytes.SplitAfter(bytes.TrimSuffix(trad, []byte("\n")), []byte("\n"))
	if len(lines) < 30 {
		t.Fatalf("only %d lines", len(lines))
	}
	dir := t.TempDir()
	live := filepath.Join(dir, "mail.log")
	conf := filepath.Join(dir, "logrotate.conf")
	os.WriteFile(conf, []byte(live+" {\n  rotate 5\n  compress\n  delaycompress\n  nocreate\n}\n"), 0o644)
	third := len(lines) / 3
	parts := [][][]byte{lines[:third], lines[third : 2*third], lines[2*third:]}
	for i, p := range parts {
		text := bytes.Join(p, nil)
		if !bytes.HasSuffix(text, []byte("\n")) {
			text = append(text, '\n')
		}
		if err := os.WriteFile(live, text, 0o600); err != nil {
			t.Fatal(err)
		}
		if i < len(parts)-1 {
			if out, err := exec.Command(logrotate, "--force", "--state", filepath.Join(dir, "state"), conf).CombinedOutput(); err != nil {
				t.Fatalf("logrotate: %v\n%s", err, out)
			}
		}
	}
	for _, f := range []string{live + ".2.gz", live + ".1"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("logrotate wrote no %s", f)
		}
	}
	// --since: the time of a line in the middle of the second part.
	m := regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) `).FindSubmatch(parts[1][len(parts[1])/2])
	if m == nil {
		t.Fatalf("no time in %q", parts[1][len(parts[1])/2])
	}
	ts, err := time.ParseInLocation("Jan _2 15:04:05", string(m[1]), time.Local)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(time.Now().Year(), ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), 0, time.Local).Format("2006-01-02T15:04:05")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("logs:\n  sources:\n    - name: mail\n      paths: ["+live+"]\n"), 0o600)
	rotated, err := pflogsumm.ParseReport(reportJSON(t, env, "--config.file", cfg, "--since", since))
	if err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join(dir, "original.log")
	os.WriteFile(orig, trad, 0o600)
	whole, err := pflogsumm.ParseReport(reportJSON(t, env, "--since", since, orig))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rotated.Totals, rotated.Bytes, rotated.Delivery, rotated.Received) != fmt.Sprint(whole.Totals, whole.Bytes, whole.Delivery, whole.Received) {
		t.Errorf("rotated files and the original differ since %s:\n%v %v\n%v %v", since, rotated.Totals, rotated.Bytes, whole.Totals, whole.Bytes)
	}
	all, _ := pflogsumm.ParseReport(reportJSON(t, env, orig))
	if whole.Totals["received"] >= all.Totals["received"] && all.Totals["received"] > 0 {
		t.Errorf("--since %s counted everything: %v", since, whole.Totals)
	}
}

// TestReportMailThroughPostfix: --mail-to hands the report to the harness
// Postfix's own sendmail, which delivers it to a local mailbox: the
// message-id the report wrote appears in cleanup's log line, and its queue
// id reaches status=sent. Not parallel: the stack is quiet again (the mail
// delivered) when it returns.
func TestReportMailThroughPostfix(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	sendmail, err := exec.LookPath("sendmail")
	if err != nil {
		sendmail = "/usr/sbin/sendmail"
	}
	input := filepath.Join(t.TempDir(), "mail.log")
	os.WriteFile(input, logSlice(t, env, getenv("MWH_MAILLOG_TRAD", "/var/log/mail-traditional.log"), "MWH_PLAN_MAILLOG_TRAD_OFFSET"), 0o600)
	start, err := os.Stat(env.MailLog)
	if err != nil {
		t.Fatal(err)
	}
	rcpt := "alice@" + env.Domain
	cmd := exec.Command(env.Binary, "report", "--mail-to", rcpt, "--mail-subject", "mailwatchd e2e report", "--sendmail.path", sendmail, input)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("mailwatchd report --mail-to: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	idRe := regexp.MustCompile(`postfix/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id=<mailwatchd-report\.`)
	for {
		f, err := os.Open(env.MailLog)
		if err != nil {
			t.Fatal(err)
		}
		f.Seek(start.Size(), 0)
		var buf bytes.Buffer
		buf.ReadFrom(f)
		f.Close()
		if m := idRe.FindSubmatch(buf.Bytes()); m != nil {
			sent := regexp.MustCompile(regexp.QuoteMeta(string(m[1])) + `: to=<` + regexp.QuoteMeta(rcpt) + `>, .*status=sent `)
			if sent.Match(buf.Bytes()) && bytes.Contains(buf.Bytes(), []byte(string(m[1])+": removed")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report mail was not delivered to %s within 60 s; log since the start:\n%s", rcpt, buf.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}
