// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestParseAptConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dump string
		want bool
	}{
		// 20auto-upgrades as dpkg-reconfigure unattended-upgrades writes it.
		{"APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n", true},
		{"APT::Periodic::Unattended-Upgrade \"always\";\n", true},
		{"APT::Periodic::Unattended-Upgrade \"12h\";\n", true},
		{"APT::Periodic::Unattended-Upgrade \"0\";\n", false},
		{"APT::Periodic::Enable \"0\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n", false},
		{"APT::Periodic::Update-Package-Lists \"1\";\n", false}, // never set: apt's default is off
		{"", false},
	} {
		got, err := ParseAptConfig(strings.NewReader(tc.dump))
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.dump, got, err, tc.want)
		}
	}
}

// uuLog is unattended-upgrades' log over three days: a quiet run, a failed
// run, and (appended by the test) a good one.
const uuLog = `2026-12-04 06:25:01,101 INFO Starting unattended upgrades script
2026-12-04 06:25:01,102 INFO Allowed origins are: origin=Debian,codename=bookworm,label=Debian-Security
2026-12-04 06:25:03,500 INFO No packages found that can be upgraded unattended and no pending auto-removals
2026-12-05 06:31:44,010 INFO Starting unattended upgrades script
2026-12-05 06:31:44,011 INFO Allowed origins are: origin=Debian,codename=bookworm,label=Debian-Security
2026-12-05 06:31:49,300 INFO Packages that will be upgraded: libssl3 openssl
2026-12-05 06:31:49,301 INFO Writing dpkg log to /var/log/unattended-upgrades/unattended-upgrades-dpkg.log
2026-12-05 06:32:10,870 ERROR Installing the upgrades failed!
2026-12-05 06:32:10,871 ERROR error message: installArchives() failed
2026-12-05 06:32:10,872 ERROR dpkg returned an error! See /var/log/unattended-upgrades/unattended-upgrades-dpkg.log for details
`

const uuGoodRun = `2026-12-06 06:12:00,500 INFO Starting unattended upgrades script
2026-12-06 06:12:00,501 INFO Allowed origins are: origin=Debian,codename=bookworm,label=Debian-Security
2026-12-06 06:12:30,000 INFO All upgrades installed
`

func TestParseUnattendedLog(t *testing.T) {
	t.Parallel()
	start, failed, ok := ParseUnattendedLog([]byte(uuLog), time.UTC)
	if !ok || !failed || !start.Equal(time.Date(2026, 12, 5, 6, 31, 44, 0, time.UTC)) {
		t.Errorf("failed run: %v %v %v", start, failed, ok)
	}
	start, failed, ok = ParseUnattendedLog([]byte(uuLog+uuGoodRun), time.UTC)
	if !ok || failed || !start.Equal(time.Date(2026, 12, 6, 6, 12, 0, 0, time.UTC)) {
		t.Errorf("good run: %v %v %v", start, failed, ok)
	}
	// A tail cut inside a run: the start line is whole or not there.
	if _, _, ok := ParseUnattendedLog([]byte("ade failed!\n2026-12-05 06:32:10,871 ERROR x\n"), time.UTC); ok {
		t.Error("a tail without a start line gave a run")
	}
	if _, _, ok := ParseUnattendedLog([]byte("garbage INFO Starting unattended upgrades script\n"), time.UTC); ok {
		t.Error("a start line without a timestamp gave a run")
	}
}

func FuzzParseUnattendedLog(f *testing.F) {
	f.Add([]byte(uuLog + uuGoodRun))
	f.Fuzz(func(t *testing.T, data []byte) {
		start, _, ok := ParseUnattendedLog(data, time.UTC)
		if ok && start.IsZero() {
			t.Error("a run without a start time")
		}
	})
}

// TestHostUnattended runs a stand-in apt-config and reads a real log file.
func TestHostUnattended(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := host(t, "up-to-date.txt", false)
	h.UnattendedUpgrade = script(t, dir, "unattended-upgrade", "exit 0\n")
	h.AptConfig = script(t, dir, "apt-config", `[ "$*" = dump ] || exit 100
[ "$LC_ALL" = C ] || exit 100
echo 'APT "";'
echo 'APT::Periodic "";'
echo 'APT::Periodic::Update-Package-Lists "1";'
echo 'APT::Periodic::Unattended-Upgrade "1";'
`)
	h.UnattendedLog = filepath.Join(dir, "unattended-upgrades.log")
	c := NewWithSource(h, zap.NewNop())
	run := func() map[string]float64 {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := run()
	if got["mailwatch_updates_unattended_enabled{}"] != 1 {
		t.Errorf("enabled: %v", got)
	}
	if _, ok := got["mailwatch_updates_unattended_last_run_timestamp_seconds{}"]; ok {
		t.Errorf("a run without a log: %v", got)
	}
	if err := os.WriteFile(h.UnattendedLog, []byte(uuLog), 0o640); err != nil {
		t.Fatal(err)
	}
	got = run()
	if got["mailwatch_updates_unattended_last_run_success{}"] != 0 ||
		got["mailwatch_updates_unattended_last_run_timestamp_seconds{}"] != float64(time.Date(2026, 12, 5, 6, 31, 44, 0, time.Local).Unix()) {
		t.Errorf("failed run: %v", got)
	}
	f, err := os.OpenFile(h.UnattendedLog, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(uuGoodRun); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := run(); got["mailwatch_updates_unattended_last_run_success{}"] != 1 {
		t.Errorf("good run: %v", got)
	}
	// Not installed: off, whatever apt says.
	h.UnattendedUpgrade = filepath.Join(dir, "missing")
	got, err = collectortest.Run(context.Background(), NewWithSource(h, zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got["mailwatch_updates_unattended_enabled{}"]; !ok || v != 0 {
		t.Errorf("not installed, yet %v", got)
	}
}
