// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maintenance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 15 * time.Second, Timeout: 5 * time.Second, MinInterval: time.Second})
}

var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

func run(t *testing.T, dir string, now time.Time) (map[string]float64, error) {
	t.Helper()
	c := &Collector{dir: dir, now: func() time.Time { return now }, logger: zap.NewNop()}
	return collectortest.Run(context.Background(), c)
}

func TestWindow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got, err := run(t, dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"mailwatch_maintenance_active{}": 0}, got); diff != "" {
		t.Errorf("no file (-want +got)\n%s", diff)
	}
	s := State{Start: t0, End: t0.Add(2 * time.Hour), Reason: "Debian 13 upgrade", By: "root"}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	back, ok, err := Read(dir)
	if err != nil || !ok {
		t.Fatalf("Read: %v %v", ok, err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != FileName {
		t.Errorf("state dir holds %v, want only %s (no temporary file left)", ents, FileName)
	}
	fi, err := os.Stat(Path(dir))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	for _, tc := range []struct {
		now    time.Time
		active float64
	}{
		{t0.Add(-time.Second), 0},
		{t0, 1},
		{t0.Add(2*time.Hour - time.Second), 1},
		{t0.Add(2 * time.Hour), 0}, // expired, file still there
	} {
		got, err := run(t, dir, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{
			"mailwatch_maintenance_active{}":                  tc.active,
			"mailwatch_maintenance_end_timestamp_seconds{}":   float64(t0.Add(2 * time.Hour).Unix()),
			"mailwatch_maintenance_start_timestamp_seconds{}": float64(t0.Unix()),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("at %v (-want +got)\n%s", tc.now, diff)
		}
	}
	if was, err := Remove(dir); !was || err != nil {
		t.Fatalf("Remove = %v, %v", was, err)
	}
	if was, err := Remove(dir); was || err != nil {
		t.Fatalf("second Remove = %v, %v; want false, nil", was, err)
	}
	got, err = run(t, dir, t0)
	if err != nil || got["mailwatch_maintenance_active{}"] != 0 || len(got) != 1 {
		t.Errorf("after stop: %v, %v", got, err)
	}
}

func TestBadFile(t *testing.T) {
	t.Parallel()
	for name, content := range map[string]string{
		"not json":       "maintenance until noon\n",
		"unknown field":  `{"start":"2026-12-06T08:00:00Z","end":"2026-12-06T10:00:00Z","until":"x"}`,
		"no end":         `{"start":"2026-12-06T08:00:00Z"}`,
		"end before":     `{"start":"2026-12-06T08:00:00Z","end":"2026-12-06T07:00:00Z"}`,
		"too long":       `{"start":"2026-12-06T08:00:00Z","end":"2027-12-06T07:00:00Z"}`,
		"control chars":  `{"start":"2026-12-06T08:00:00Z","end":"2026-12-06T10:00:00Z","reason":"a\u001b[31mb"}`,
		"huge":           `{"start":"2026-12-06T08:00:00Z","end":"2026-12-06T10:00:00Z","reason":"` + strings.Repeat("x", 9000) + `"}`,
		"trailing shape": `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := run(t, dir, t0)
			if err == nil || !strings.Contains(err.Error(), FileName) {
				t.Errorf("Update error %v, want one naming %s", err, FileName)
			}
			if len(got) != 0 {
				t.Errorf("a bad file exported %v", got)
			}
		})
	}
}

func TestWriteRefusesBadState(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, s := range []State{
		{Start: t0, End: t0},
		{Start: t0, End: t0.Add(8 * 24 * time.Hour)},
		{Start: t0, End: t0.Add(time.Hour), Reason: "two\nlines"},
		{Start: t0, End: t0.Add(time.Hour), Reason: strings.Repeat("é", MaxReason)},
	} {
		if err := Write(dir, s); err == nil {
			t.Errorf("Write(%+v) succeeded", s)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused writes left %v", ents)
	}
}

func TestCurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if st, err := Current(dir, t0); err != nil || st.Set || st.Active {
		t.Errorf("empty dir: %+v, %v", st, err)
	}
	s := State{Start: t0, End: t0.Add(time.Hour), Reason: "disk swap"}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	st, err := Current(dir, t0.Add(time.Minute))
	if err != nil || !st.Set || !st.Active || st.Reason != "disk swap" {
		t.Errorf("Current = %+v, %v", st, err)
	}
	if err := Write(filepath.Join(dir, "missing"), s); err == nil {
		t.Error("Write to a missing directory succeeded")
	}
}
