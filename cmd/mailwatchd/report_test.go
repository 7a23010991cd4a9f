// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const harnessFixture = "../../internal/report/testdata/harness.log"

type reportJSON struct {
	Inputs        []string          `json:"inputs"`
	Lines         uint64            `json:"lines"`
	OutsideWindow uint64            `json:"outside_window"`
	Totals        map[string]uint64 `json:"totals"`
	Delivery      []struct {
		Domain string `json:"domain"`
	} `json:"delivery_by_domain"`
}

func runJSON(t *testing.T, now time.Time, args ...string) (reportJSON, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runReportAt(append([]string{"--format", "json"}, args...), strings.NewReader(""), &stdout, &stderr, now); code != 0 {
		t.Fatalf("report %v: exit %d: %s", args, code, stderr.String())
	}
	var r reportJSON
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	return r, stderr.String()
}

func TestReportUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--format", "xml", harnessFixture}, 2, "--format must be text, html or json"},
		{[]string{"--since", "lastweek", harnessFixture}, 2, `--since: "lastweek" is no duration`},
		{[]string{"--since", "1h", "--until", "2h", harnessFixture}, 2, "--since must be before --until"},
		{[]string{"--top", "-1", harnessFixture}, 2, "--top must be 0 or more"},
		{[]string{"/nonexistent/mail.log"}, 1, "no such file"},
		{[]string{"--config.file", "/nonexistent.yml"}, 1, "/nonexistent.yml"},
		{[]string{"--mail-to", "not an address", harnessFixture}, 2, "--mail-to"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"report"}, c.args...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.msg) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit %d and %q", c.args, code, stderr.String(), stdout.Len(), c.code, c.msg)
		}
	}
}

func TestReportFormats(t *testing.T) {
	for format, want := range map[string]string{"text": "Grand totals\n", "html": "<!DOCTYPE html>", "json": `"schema_version": 1`} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"report", "--format", format, harnessFixture}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("%s output without %q", format, want)
		}
	}
	// Standard input, and --top.
	data, _ := os.ReadFile(harnessFixture)
	var stdout, stderr bytes.Buffer
	if code := runReportAt([]string{"--format", "json", "--top", "1", "-"}, bytes.NewReader(data), &stdout, &stderr, time.Now()); code != 0 {
		t.Fatal(stderr.String())
	}
	var r reportJSON
	json.Unmarshal(stdout.Bytes(), &r)
	if len(r.Delivery) != 1 || r.Inputs[0] != "-" || r.Totals["delivered"] == 0 {
		t.Errorf("stdin with --top 1: %+v", r)
	}
}

// Without FILE, the configured file sources are read with their rotated
// siblings, the journal sources through journalctl, over the window.
func TestReportConfiguredSources(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(harnessFixture)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	half := len(lines) / 2
	live := filepath.Join(dir, "mail.log")
	os.WriteFile(live+".1", []byte(strings.Join(lines[:half], "")), 0o600)
	os.WriteFile(live, []byte(strings.Join(lines[half:], "")), 0o600)
	// A fake journalctl: its arguments to a file, and one journal entry.
	jargs := filepath.Join(dir, "journal-args")
	journalctl := filepath.Join(dir, "journalctl")
	entry := `{"__REALTIME_TIMESTAMP":"1796536000000000","MESSAGE":"NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@y.test>: Relay access denied; from=<s@z.test> to=<x@y.test> proto=ESMTP helo=<h>","SYSLOG_IDENTIFIER":"postfix/smtpd","SYSLOG_PID":"7","_HOSTNAME":"vm"}`
	os.WriteFile(journalctl, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+jargs+"\necho '"+entry+"'\n"), 0o755)
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte("logs:\n  sources:\n    - name: mail\n      paths: ["+live+"]\n    - name: journal\n      type: journal\n      units: [postfix@-.service]\n      identifiers: [postfix/smtpd]\n"), 0o600)

	whole, _ := runJSON(t, time.Now(), harnessFixture)
	r, _ := runJSON(t, time.Now(), "--config.file", cfg, "--journalctl.path", journalctl)
	if len(r.Inputs) != 3 || r.Inputs[0] != live+".1" || r.Inputs[1] != live || r.Inputs[2] != "journal:journal" {
		t.Errorf("inputs %v", r.Inputs)
	}
	if r.Totals["delivered"] != whole.Totals["delivered"] || r.Totals["rejected"] != whole.Totals["rejected"]+1 {
		t.Errorf("totals %v, of the fixture %v (+1 reject from the journal)", r.Totals, whole.Totals)
	}
	args, _ := os.ReadFile(jargs)
	for _, want := range []string{"--output=json", "_SYSTEMD_UNIT=postfix@-.service\n+\nSYSLOG_IDENTIFIER=postfix/smtpd"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("journalctl arguments without %q:\n%s", want, args)
		}
	}
	if strings.Contains(string(args), "--since") || strings.Contains(string(args), "--follow") {
		t.Errorf("journalctl without a window: %s", args)
	}

	// The timer's window: the calendar day before.
	at := time.Date(2026, 12, 7, 6, 10, 0, 0, time.Local)
	r, _ = runJSON(t, at, "--since", "yesterday", "--until", "today", harnessFixture)
	if r.OutsideWindow != 0 || r.Totals["delivered"] != whole.Totals["delivered"] {
		t.Errorf("yesterday: outside %d", r.OutsideWindow)
	}
	r, _ = runJSON(t, at, "--since", "today", harnessFixture)
	if r.OutsideWindow != r.Lines {
		t.Errorf("today: outside %d of %d", r.OutsideWindow, r.Lines)
	}

	// With a window: journalctl gets it, the lines before are not counted.
	now := time.Date(2026, 12, 6, 5, 47, 0, 0, time.Local)
	r, _ = runJSON(t, now, "--config.file", cfg, "--journalctl.path", journalctl, "--since", "1m30s", "--until", "2026-12-06T05:45:36")
	args, _ = os.ReadFile(jargs)
	if !strings.Contains(string(args), "--since=@"+strconv.FormatInt(now.Add(-90*time.Second).Unix(), 10)) || !strings.Contains(string(args), "--until=@") {
		t.Errorf("journalctl arguments without the window:\n%s", args)
	}
	if r.OutsideWindow == 0 || r.Totals["delivered"] >= whole.Totals["delivered"] {
		t.Errorf("window: outside %d, totals %v", r.OutsideWindow, r.Totals)
	}
}

// --mail-to pipes the report to sendmail -t -i and prints nothing.
func TestReportMailTo(t *testing.T) {
	dir := t.TempDir()
	captured := filepath.Join(dir, "stdin")
	sendmail := filepath.Join(dir, "sendmail")
	os.WriteFile(sendmail, []byte("#!/bin/sh\n[ \"$1 $2\" = '-t -i' ] || exit 64\ncat > "+captured+"\n"), 0o755)
	var stdout, stderr bytes.Buffer
	code := run([]string{"report", "--mail-to", "postmaster@example.test", "--mail-subject", "daily mail report",
		"--sendmail.path", sendmail, harnessFixture}, &stdout, &stderr)
	if code != 0 || stdout.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	msg, err := os.ReadFile(captured)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"To: <postmaster@example.test>\r\n", "Subject: daily mail report\r\n",
		"Content-Type: multipart/alternative;", "Content-Type: text/plain; charset=utf-8", "Content-Type: text/html; charset=utf-8"} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Errorf("message without %q", want)
		}
	}
	// A sendmail that fails makes the command fail, with its words.
	os.WriteFile(sendmail, []byte("#!/bin/sh\necho 'sendmail: fatal: queue file write error' >&2\nexit 75\n"), 0o755)
	stderr.Reset()
	code = run([]string{"report", "--mail-to", "root@example.test", "--sendmail.path", sendmail, harnessFixture}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "queue file write error") {
		t.Errorf("failing sendmail: exit %d, %q", code, stderr.String())
	}
}
