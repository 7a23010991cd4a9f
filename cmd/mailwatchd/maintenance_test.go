// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
)

func TestMaintenanceCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "global:\n  state_dir: "+state+"\n")
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	mw := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := maintenanceCommand(append(args, "--config.file", cfg), &out, &errb, clock)
		return code, out.String(), errb.String()
	}
	if code, out, _ := mw("status"); code != 1 || out != "not in maintenance\n" {
		t.Errorf("status before: %d %q", code, out)
	}
	code, out, errs := mw("start", "--for", "2h", "--reason", "Debian 13 upgrade")
	if code != 0 || out != "maintenance until 2026-12-06T10:00:00Z (2 h)\n" {
		t.Fatalf("start: %d %q %q", code, out, errs)
	}
	st, ok, err := maintenance.Read(state)
	if err != nil || !ok || !st.Start.Equal(now) || !st.End.Equal(now.Add(2*time.Hour)) || st.Reason != "Debian 13 upgrade" {
		t.Fatalf("file holds %+v, %v, %v", st, ok, err)
	}
	now = now.Add(30 * time.Minute)
	if code, out, _ := mw("status"); code != 0 || !strings.HasPrefix(out, "in maintenance until 2026-12-06T10:00:00Z (90 min left)") || !strings.HasSuffix(out, ": Debian 13 upgrade\n") {
		t.Errorf("status during: %d %q", code, out)
	}
	now = now.Add(2 * time.Hour)
	if code, out, _ := mw("status"); code != 1 || !strings.Contains(out, "ended 2026-12-06T10:00:00Z") {
		t.Errorf("status after the end: %d %q", code, out)
	}
	if code, out, _ := mw("stop"); code != 0 || out != "maintenance ended\n" {
		t.Errorf("stop: %d %q", code, out)
	}
	if code, out, _ := mw("stop"); code != 0 || out != "no maintenance was set\n" {
		t.Errorf("second stop: %d %q", code, out)
	}
	for _, bad := range [][]string{
		{"start"},
		{"start", "--for", "8d"},
		{"start", "--for", "-1h"},
		{"start", "--for", "soon"},
		{"start", "--for", "1h", "--reason", "a\nb"},
		{"stop", "--for", "1h"},
		{"pause"},
		{"status", "extra"},
	} {
		if code, _, errs := mw(bad...); code != 2 || errs == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 with a message", bad, code, errs)
		}
	}
	if _, ok, _ := maintenance.Read(state); ok {
		t.Error("a refused start left a maintenance file")
	}
}
