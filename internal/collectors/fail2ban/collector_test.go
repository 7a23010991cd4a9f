// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"gopkg.in/yaml.v3"

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
	c, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return t0 }
	c.log = NewLogTracker(h.log, cfg.FindTime.D(), berlin)
	return c
}

func runOnce(t *testing.T, c *Collector) ([]string, error) {
	t.Helper()
	ch := make(chan prometheus.Metric, 256)
	err := c.Update(context.Background(), ch)
	close(ch)
	var out []string
	for m := range ch {
		out = append(out, render(m))
	}
	return out, err
}

func render(m prometheus.Metric) string {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return err.Error()
	}
	desc := m.Desc().String()
	name := desc[strings.Index(desc, `fqName: "`)+len(`fqName: "`):]
	name = name[:strings.IndexByte(name, '"')]
	var b strings.Builder
	b.WriteString(name)
	for _, l := range pb.GetLabel() {
		b.WriteString(" " + l.GetName() + "=" + l.GetValue())
	}
	v := pb.GetGauge().GetValue()
	if pb.Counter != nil {
		v = pb.GetCounter().GetValue()
	}
	b.WriteString(" " + strconv.FormatFloat(v, 'g', -1, 64))
	return b.String()
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
			if _, err := runOnce(t, c); err != nil { // the baseline of bans_total
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
			err := golden(t, c, tc.name)
			if (err != nil) != tc.wantErr {
				t.Errorf("run error %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr {
				collectortest.Lint(t, c)
			}
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
	if _, err := runOnce(t, c); err != nil {
		t.Fatal(err)
	}
	h.f2b.db.Close()
	if err := os.Rename(h.db, h.db+".20261123-080000"); err != nil {
		t.Fatal(err)
	}
	h.logf.append("2026-11-23 09:00:01,000 fail2ban.server         [812]: INFO    Exiting Fail2ban")
	_, err := runOnce(t, c)
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Fatalf("database missing: got %v, want ErrNotApplicable", err)
	}

	g := newFakeF2B(t, h.db)
	g.addJail("postfix")
	g.ban("postfix", "203.0.113.5", t0.Unix(), 600)
	h.logf.append("2026-11-23 09:00:05,000 fail2ban.server         [999]: INFO    Starting Fail2ban v1.0.2",
		found("2026-11-23 09:00:06", "dovecot", "203.0.113.6"))
	got, err := runOnce(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mailwatch_fail2ban_banned jail=postfix 1",
		"mailwatch_fail2ban_bans_total jail=postfix 1",
		"mailwatch_fail2ban_jail_active jail=postfix 1",
		"mailwatch_fail2ban_banned jail=dovecot 0",
		"mailwatch_fail2ban_bans_total jail=dovecot 0",
		"mailwatch_fail2ban_jail_active jail=dovecot 0",
		"mailwatch_fail2ban_failed jail=postfix 0",
		"mailwatch_fail2ban_failed jail=dovecot 1",
		"mailwatch_fail2ban_log_read_success 1",
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
		if _, err := runOnce(t, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(h.log, data, 0o640); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := runOnce(t, c); err != nil {
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
	c, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return t0 }
	got, err := runOnce(t, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mailwatch_fail2ban_banned jail=postfix 1",
		"mailwatch_fail2ban_bans_total jail=postfix 0",
		"mailwatch_fail2ban_jail_active jail=postfix 1",
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
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Update(ctx, make(chan prometheus.Metric, 16)) }()
	<-db.entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 16)); !errors.Is(err, errBusy) {
		t.Fatalf("second run while the first read hangs: got %v, want errBusy", err)
	}
	close(db.release)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"no log", Config{LogFile: NoLogFile}, nil},
		{"paths", Config{Database: "fail2ban.sqlite3", LogFile: "/var/log/../log/fail2ban.log"}, []string{
			`database: must be an absolute path, got "fail2ban.sqlite3"`,
			`log_file: "/var/log/../log/fail2ban.log" is not clean`,
		}},
		{"find_time", Config{FindTime: 8 * 24 * 3600 * 1e9}, []string{"find_time: must be between 1s and 7d, got 8d"}},
		{"max_jails", Config{MaxJails: 65}, []string{"max_jails: must be between 1 and 64, got 65"}},
		{"jails", Config{Jails: []string{"postfix", "post fix", "_other", "postfix", "", strings.Repeat("j", 65)}}, []string{
			`jails[1]: "post fix" is not a jail name`,
			`jails[2]: "_other" is reserved`,
			`jails[3]: "postfix" is listed twice`,
			`jails[4]: "" is not a jail name`,
			`jails[5]: "jjjj`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.ApplyDefaults()
			var got []string
			for _, e := range tc.cfg.Validate() {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d: got %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestExampleIsTheDefaults: the block for config.example.yaml decodes
// strictly and says exactly what the defaults are.
func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := collectortest.ExampleSection("fail2ban")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Fail2ban Config `yaml:"fail2ban"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	got := f.Fail2ban
	var want Config
	want.ApplyDefaults()
	d := want.Defaults()
	if got.IsEnabled() != d.Enabled || got.Interval.D() != d.Interval || got.Timeout.D() != d.Timeout {
		t.Errorf("example schedule %v/%s/%s, defaults %v/%s/%s", got.IsEnabled(), got.Interval, got.Timeout, d.Enabled, d.Interval, d.Timeout)
	}
	got.Settings = want.Settings
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example differs from the defaults (-defaults +example):\n%s", diff)
	}
}
