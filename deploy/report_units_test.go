// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReportUnits runs systemd-analyze verify on the report's timer and
// service, and the offline security audit of the service (exposure at or
// below 2.0, like the daemon's unit).
func TestReportUnits(t *testing.T) {
	t.Parallel()
	sa := tool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	var service string
	for _, name := range []string{"mailwatchd-report.service", "mailwatchd-report.timer"} {
		data, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".service") {
			service = string(data)
		}
		// verify wants the ExecStart binary to exist: point it at a real one.
		text := strings.ReplaceAll(string(data), "/usr/bin/mailwatchd", "/bin/true")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	svc, timer := filepath.Join(dir, "mailwatchd-report.service"), filepath.Join(dir, "mailwatchd-report.timer")
	if out, err := exec.Command(sa, "verify", svc, timer).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", svc).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if v, _ := strconv.ParseFloat(string(m[1]), 64); v > 2.0 {
		t.Errorf("exposure level %v, want <= 2.0", v)
	}
	for _, want := range []string{"Type=oneshot", "EnvironmentFile=-/etc/default/mailwatchd-report",
		"--mail-to=${MAILWATCHD_REPORT_MAIL_TO}", "--since=yesterday --until=today", "SupplementaryGroups=adm systemd-journal postdrop",
		"ReadWritePaths=-/var/spool/postfix/maildrop"} {
		if !strings.Contains(service, want) {
			t.Errorf("the report service lacks %q", want)
		}
	}
	// The next elapse of the timer's calendar exists (systemd reads it).
	tdata, _ := os.ReadFile(timer)
	cal := regexp.MustCompile(`(?m)^OnCalendar=(.+)$`).FindSubmatch(tdata)
	if cal == nil || !strings.Contains(string(tdata), "Persistent=true") {
		t.Fatalf("timer without OnCalendar or Persistent:\n%s", tdata)
	}
	if out, err := exec.Command(sa, "calendar", string(cal[1])).CombinedOutput(); err != nil || !strings.Contains(string(out), "Next elapse:") {
		t.Errorf("systemd-analyze calendar %s: %v\n%s", cal[1], err, out)
	}
}
