// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// host is a fail2ban on disk: its database and its log.
type host struct {
	dir, db, log string
	f2b          *fakeF2B
	logf         logFile
}

func newHost(t *testing.T) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{dir: dir, db: filepath.Join(dir, "fail2ban.sqlite3"), log: filepath.Join(dir, "fail2ban.log")}
	h.f2b = newFakeF2B(t, h.db)
	h.logf = logFile{t, h.log}
	return h
}

// mailHost is a mail server's fail2ban with three mail jails and a stopped
// sshd jail, some bans and some failures at t0 (08:00 UTC, 09:00 CET).
func mailHost(t *testing.T) *host {
	t.Helper()
	h := newHost(t)
	for _, j := range []string{"postfix", "postfix-sasl", "dovecot", "sshd"} {
		h.f2b.addJail(j)
	}
	h.f2b.stopJail("sshd")
	at := t0.Unix()
	h.f2b.ban("postfix", "192.0.2.1", at-60, 600)
	h.f2b.ban("postfix", "192.0.2.2", at-9000, 600) // ran out
	h.f2b.ban("sshd", "198.51.100.1", at-86000, -1)
	h.logf.append(
		found("2026-11-23 08:58:00", "postfix", "192.0.2.10"),
		found("2026-11-23 08:59:00", "postfix", "192.0.2.11"),
		found("2026-11-23 08:59:30", "dovecot", "192.0.2.12"),
		found("2026-11-23 08:59:40", "recidive", "192.0.2.13"), // not a jail in the database
	)
	return h
}

func (h *host) collector(t *testing.T, cfg Config, logger *zap.Logger) *Collector {
	t.Helper()
	cfg.Database, cfg.LogFile = h.db, h.log
	cfg.ApplyDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	c := collectortest.New(t, New, cfg, logger)
	c.now = func() time.Time { return t0 }
	c.log = NewLogTracker(h.log, cfg.FindTime.D(), berlin)
	return c
}

func TestGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		prepare func(t *testing.T, h *host)
		wantErr bool
	}{
		{"success", Config{}, nil, false},
		{"configured_jails", Config{Jails: []string{"postfix", "dovecot", "nginx-http-auth"}}, nil, false},
		{"discovered_over_max", Config{MaxJails: 2}, nil, false},
		{"partial", Config{}, func(t *testing.T, h *host) {
			if err := os.Remove(h.log); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"total_failure", Config{}, func(t *testing.T, h *host) {
			if err := os.WriteFile(h.db, bytes.Repeat([]byte("corrupt "), 1000), 0o600); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := mailHost(t)
			c := h.collector(t, tc.cfg, nil)
			if _, err := collectortest.Run(t.Context(), c); err != nil { // the baseline of bans_total
				t.Fatal(err)
			}
			at := t0.Unix()
			h.f2b.ban("postfix", "192.0.2.10", at, 600)
			h.f2b.ban("postfix", "192.0.2.11", at, 600)
			h.f2b.ban("postfix-sasl", "192.0.2.11", at, 600)
			h.f2b.ban("dovecot", "192.0.2.12", at, 3600)
			h.logf.append(banLine("2026-11-23 09:00:00", "postfix", "192.0.2.10"))
			if tc.prepare != nil {
				tc.prepare(t, h)
			}
			collectortest.CheckGolden(t, c, tc.name, tc.wantErr)
		})
	}
}

// TestFail2banRestart: fail2ban stopping (database gone for a while, then
// recreated, the log saying so) never breaks the collector: it reports
// "not present" while the database is missing and picks up the new one.
func TestFail2banRestart(t *testing.T) {
	t.Parallel()
	h := mailHost(t)
	core, logs := observer.New(zapcore.InfoLevel)
	c := h.collector(t, Config{Jails: []string{"postfix", "dovecot"}}, zap.New(core))
	if _, err := collectortest.Run(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	h.f2b.db.Close()
	if err := os.Rename(h.db, h.db+".20261123-080000"); err != nil {
		t.Fatal(err)
	}
	h.logf.append("2026-11-23 09:00:01,000 fail2ban.server         [812]: INFO    Exiting Fail2ban")
	_, err := collectortest.Run(t.Context(), c)
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Fatalf("database missing: got %v, want ErrNotApplicable", err)
	}

	g := newFakeF2B(t, h.db)
	g.addJail("postfix")
	g.ban("postfix", "203.0.113.5", t0.Unix(), 600)
	h.logf.append("2026-11-23 09:00:05,000 fail2ban.server         [999]: INFO    Starting Fail2ban v1.0.2",
		found("2026-11-23 09:00:06", "dovecot", "203.0.113.6"))
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`mailwatch_fail2ban_banned{jail="postfix"}`:      1,
		`mailwatch_fail2ban_bans_total{jail="postfix"}`:  1,
		`mailwatch_fail2ban_jail_active{jail="postfix"}`: 1,
		`mailwatch_fail2ban_banned{jail="dovecot"}`:      0,
		`mailwatch_fail2ban_bans_total{jail="dovecot"}`:  0,
		`mailwatch_fail2ban_jail_active{jail="dovecot"}`: 0,
		`mailwatch_fail2ban_failed{jail="postfix"}`:      0,
		`mailwatch_fail2ban_failed{jail="dovecot"}`:      1,
		`mailwatch_fail2ban_log_read_success{}`:          1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after restart (-want +got)\n%s", diff)
	}
	for _, e := range logs.All() {
		t.Errorf("unexpected log %q (the scheduler logs run errors)", e.Message)
	}
}

// TestLogErrorLoggedOnce: an unreadable log is logged when it starts, not
// every interval, and its return once.
func TestLogErrorLoggedOnce(t *testing.T) {
	t.Parallel()
	h := mailHost(t)
	core, logs := observer.New(zapcore.InfoLevel)
	c := h.collector(t, Config{}, zap.New(core))
	data, err := os.ReadFile(h.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(h.log); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := collectortest.Run(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(h.log, data, 0o640); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := collectortest.Run(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	want := []string{"cannot read fail2ban log; failed counts absent (log_file: none turns this off)", "fail2ban log readable again"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got)\n%s", diff)
	}
}

func TestNoLogFile(t *testing.T) {
	t.Parallel()
	h := mailHost(t)
	cfg := Config{Database: h.db, LogFile: NoLogFile, Jails: []string{"postfix"}}
	cfg.ApplyDefaults()
	c := collectortest.New(t, New, cfg, nil)
	c.now = func() time.Time { return t0 }
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`mailwatch_fail2ban_banned{jail="postfix"}`:      1,
		`mailwatch_fail2ban_bans_total{jail="postfix"}`:  0,
		`mailwatch_fail2ban_jail_active{jail="postfix"}`: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// blockingDB hangs until release is closed, whatever the context says.
type blockingDB struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingDB) Read(context.Context, time.Time, Mark) (Snapshot, error) {
	b.entered <- struct{}{}
	<-b.release
	return Snapshot{}, nil
}

// TestContextEndsHungRead: a source that ignores its context still cannot
// hold Update past the run's end, nor be entered twice.
func TestContextEndsHungRead(t *testing.T) {
	t.Parallel()
	db := &blockingDB{entered: make(chan struct{}, 2), release: make(chan struct{})}
	c := NewWithSources(Config{MaxJails: 4}, db, nil, func() time.Time { return t0 }, zap.NewNop())
	collectortest.HungRun(t, c, db.entered)
	close(db.release)
}
