// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logSlice returns what the harness's traffic run wrote to a log file: the lines after the
// offset traffic.sh recorded before it started, up to the end of the run (MWH_PLAN_FINISHED).
// Lines stamped later are left out: other tests (a SASL brute force, a reload, Dovecot stopped)
// and other test binaries keep appending to the same log while these tests read it, and the
// RFC 3339 and the traditional copy of the log, read one after the other, must hold the same
// lines. The cut is by the line's own timestamp, whole seconds, so that both formats cut alike.
func logSlice(t *testing.T, env *Env, path, offsetVar string) []byte {
	t.Helper()
	off, err := strconv.ParseInt(env.Var(offsetVar), 10, 64)
	if err != nil {
		t.Skipf("%s not set: %v", offsetVar, err)
	}
	finished, err := strconv.ParseInt(env.Var("MWH_PLAN_FINISHED"), 10, 64)
	if err != nil {
		t.Skipf("MWH_PLAN_FINISHED not set: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	// Only whole lines: a line being written right now is left out.
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	return cutAfter(data, time.Unix(finished, 0))
}

// cutAfter keeps the lines of data stamped no later than the second of end. A line without a
// timestamp it can read stays with the line before it.
func cutAfter(data []byte, end time.Time) []byte {
	out := make([]byte, 0, len(data))
	keep := true
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		line := data[:n]
		data = data[n:]
		if ts, ok := logLineTime(line, end); ok {
			keep = ts.Unix() <= end.Unix()
		}
		if keep {
			out = append(out, line...)
		}
	}
	return out
}

// logLineTime reads the timestamp a syslog line starts with: RFC 3339 (rsyslog's
// RSYSLOG_FileFormat, journald) or the traditional "Jan _2 15:04:05" in local time, whose year
// is the one that puts it nearest to ref.
func logLineTime(line []byte, ref time.Time) (time.Time, bool) {
	if sp := bytes.IndexByte(line, ' '); sp > 0 {
		if ts, err := time.Parse(time.RFC3339Nano, string(line[:sp])); err == nil {
			return ts, true
		}
	}
	if len(line) < len(time.Stamp) {
		return time.Time{}, false
	}
	ts, err := time.ParseInLocation(time.Stamp, string(line[:len(time.Stamp)]), time.Local)
	if err != nil {
		return time.Time{}, false
	}
	ts = ts.AddDate(ref.Year(), 0, 0)
	switch {
	case ts.Sub(ref) > 180*24*time.Hour:
		ts = ts.AddDate(-1, 0, 0)
	case ref.Sub(ts) > 180*24*time.Hour:
		ts = ts.AddDate(1, 0, 0)
	}
	return ts, true
}

// replayCounts runs `mailwatchd replay --format prometheus` on data and returns its counters
// (see logCounters).
func replayCounts(t *testing.T, env *Env, data []byte) map[string]float64 {
	t.Helper()
	return logCounters(replayFamilies(t, env, data))
}

var pflogRe = regexp.MustCompile(`(?m)^\s*(\d+)\s+(received|delivered|forwarded|deferred|bounced|rejected|reject warnings|held|discarded)\b`)

// TestLogCountersMatchPflogsumm: after the harness traffic, mailwatchd's
// Postfix counters over the run's log lines equal pflogsumm's grand totals
// for the same lines. pflogsumm 1.1.5 does not know Debian 12's port-465
// service name `submissions`, so its copy of the log calls it `smtps` (an
// alias pflogsumm does know); mailwatchd reads the log as written.
func TestLogCountersMatchPflogsumm(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("pflogsumm comparison reads the syslog mail.log")
	}
	pflogsumm, err := exec.LookPath("pflogsumm")
	if err != nil {
		t.Skip("pflogsumm not installed")
	}
	data := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	got := replayCounts(t, env, data)

	// pflogsumm reads traditional syslog lines; the harness writes the same
	// lines in that format to MWH_MAILLOG_TRAD.
	trad := logSlice(t, env, getenv("MWH_MAILLOG_TRAD", "/var/log/mail-traditional.log"), "MWH_PLAN_MAILLOG_TRAD_OFFSET")
	path := filepath.Join(t.TempDir(), "mail.log")
	if err := os.WriteFile(path, bytes.ReplaceAll(trad, []byte("postfix/submissions/"), []byte("postfix/smtps/")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pflogsumm, "--detail", "0", path).Output()
	if err != nil {
		t.Fatalf("pflogsumm: %v", err)
	}
	want := map[string]float64{}
	for _, m := range pflogRe.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		key := strings.ReplaceAll(m[2], "reject warnings", "reject_warning")
		if _, seen := want[key]; !seen { // the Grand Totals come first
			want[key] = v
		}
	}
	if len(want) < 8 {
		t.Fatalf("could not read pflogsumm's grand totals:\n%s", out)
	}
	for action, w := range want {
		g := got["action/"+action]
		t.Logf("%-15s pflogsumm %5.0f  mailwatchd %5.0f", action, w, g)
		if g != w {
			t.Errorf("%s: mailwatchd counted %.0f, pflogsumm %.0f", action, g, w)
		}
	}
	if want["delivered"] == 0 || want["rejected"] == 0 || want["deferred"] == 0 || want["bounced"] == 0 {
		t.Errorf("the traffic should produce deliveries, rejects, deferrals and bounces: %v", want)
	}

	// The same lines in the traditional format count the same as in RFC 3339.
	tradCounts := replayCounts(t, env, trad)
	for k, v := range got {
		if tradCounts[k] != v {
			t.Errorf("%s: %v from the RFC 3339 log, %v from the traditional one", k, v, tradCounts[k])
		}
	}
}

// TestSeedEventsMatchGrep: each seed error pattern's counter equals a grep
// count of that pattern over the same lines.
func TestSeedEventsMatchGrep(t *testing.T) {
	env := LoadEnv(t)
	if env.LogMode == "file" {
		t.Skip("reads the syslog mail.log")
	}
	data := logSlice(t, env, env.MailLog, "MWH_PLAN_MAILLOG_OFFSET")
	got := replayCounts(t, env, data)
	patterns := map[string]*regexp.Regexp{
		"sasl_auth_failure":    regexp.MustCompile(` postfix/[a-z0-9/-]*smtpd\[\d+\]: warning: [^ ]+: SASL [A-Z0-9-]+ authentication failed`),
		"relay_denied":         regexp.MustCompile(` postfix/[a-z0-9/-]*smtpd\[\d+\]: NOQUEUE: reject: RCPT from .*Relay access denied`),
		"connect_refused":      regexp.MustCompile(` postfix/[a-z0-9/-]*(smtp|lmtp)\[\d+\]: connect to .*: Connection refused`),
		"tls_library_problem":  regexp.MustCompile(` postfix/[a-z0-9/-]*\[\d+\]: warning: TLS library problem`),
		"dkim_signed":          regexp.MustCompile(` opendkim\[\d+\]: [0-9A-Za-z]+: DKIM-Signature field added`),
		"dkim_unknown_key":     regexp.MustCompile(` opendkim\[\d+\]: .*signing table references unknown key`),
		"dovecot_auth_failure": regexp.MustCompile(` dovecot(\[\d+\])?: (imap|pop3|submission|managesieve)-login: .*\(auth failed, `),
	}
	lines := strings.Split(string(data), "\n")
	for event, re := range patterns {
		n := 0
		for _, l := range lines {
			if re.MatchString(l) {
				n++
			}
		}
		g := got["event/"+event]
		t.Logf("%-22s grep %4d  mailwatchd %4.0f", event, n, g)
		if float64(n) != g {
			t.Errorf("%s: mailwatchd counted %.0f, grep %d", event, g, n)
		}
	}
	for _, e := range []string{"sasl_auth_failure", "relay_denied", "connect_refused", "dkim_signed", "dovecot_auth_failure"} {
		if got["event/"+e] == 0 {
			t.Errorf("the harness traffic should produce %s lines", e)
		}
	}
}
