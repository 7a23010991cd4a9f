// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/service/internal/fakesystemd"
)

// timerMetrics keeps the mailwatch_timer_ samples of a run.
func timerMetrics(got map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		if strings.HasPrefix(k, "mailwatch_timer_") {
			out[k] = v
		}
	}
	return out
}

// TestSystemdTimers runs the systemd backend's timers against fake systemd
// on a real dbus-daemon: the result flips when the triggered service
// fails, and recovers.
func TestSystemdTimers(t *testing.T) {
	t.Parallel()
	bus := fakesystemd.StartBus(t)
	m, err := fakesystemd.Serve(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d := &busDialer{address: bus.Address}
	src := newSystemdSource([]unitSpec{{name: "postfix@-.service"}}, d.dial)
	src.timers = []string{"certbot.timer", "apt-daily-upgrade.timer", "backup.timer"}
	c := newCollector(BackendSystemd, src, zap.NewNop())
	c.timers = src
	defer c.Close()

	certbot := fakesystemd.Unit{Name: "certbot.timer", Trigger: "certbot.service", LastTriggerUSec: 1796544000123456, NextElapseUSecRealtime: 1796587200000000}
	apt := fakesystemd.Unit{Name: "apt-daily-upgrade.timer", Trigger: "apt-daily-upgrade.service", NextElapseUSecRealtime: 1796565600000000} // never triggered
	ok := fakesystemd.Unit{Name: "certbot.service", ActiveState: "inactive", SubState: "dead"}
	failed := fakesystemd.Unit{Name: "certbot.service", ActiveState: "failed", Result: "exit-code", ExecMainStatus: 1}
	postfix := fakesystemd.Unit{Name: "postfix@-.service"}

	want := func(success, exit float64) map[string]float64 {
		return map[string]float64{
			`mailwatch_timer_present{timer="certbot.timer"}`:                                 1,
			`mailwatch_timer_last_trigger_timestamp_seconds{timer="certbot.timer"}`:          1796544000.123456,
			`mailwatch_timer_next_elapse_timestamp_seconds{timer="certbot.timer"}`:           1796587200,
			`mailwatch_timer_last_result_success{timer="certbot.timer"}`:                     success,
			`mailwatch_timer_last_exit_status{timer="certbot.timer"}`:                        exit,
			`mailwatch_timer_present{timer="apt-daily-upgrade.timer"}`:                       1,
			`mailwatch_timer_next_elapse_timestamp_seconds{timer="apt-daily-upgrade.timer"}`: 1796565600,
			`mailwatch_timer_present{timer="backup.timer"}`:                                  0,
		}
	}
	for i, tc := range []struct {
		service       fakesystemd.Unit
		success, exit float64
	}{{ok, 1, 0}, {failed, 0, 1}, {ok, 1, 0}} {
		m.SetUnits(postfix, certbot, apt, tc.service)
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if diff := cmp.Diff(want(tc.success, tc.exit), timerMetrics(got)); diff != "" {
			t.Errorf("step %d (-want +got)\n%s", i, diff)
		}
	}
	if n := d.dials.Load(); n != 1 {
		t.Errorf("dialled %d times, want 1: timers share the services' connection", n)
	}
	collectortest.Lint(t, c)
}

// TestSystemdTimersHang: a systemd that stops answering during the timer
// calls makes the run end at its deadline, like the service calls.
func TestSystemdTimersHang(t *testing.T) {
	t.Parallel()
	bus := fakesystemd.StartBus(t)
	m, err := fakesystemd.Serve(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// An inactive target: the service query reads no property, so the
	// hang below is met by the timer query only.
	m.SetUnits(fakesystemd.Unit{Name: "mail.target", ActiveState: "inactive"}, fakesystemd.Unit{Name: "certbot.timer", Trigger: "certbot.service", LastTriggerUSec: 1})
	d := &busDialer{address: bus.Address}
	src := newSystemdSource([]unitSpec{{name: "mail.target"}}, d.dial)
	src.timers = []string{"certbot.timer"}
	c := newCollector(BackendSystemd, src, zap.NewNop())
	c.timers = src
	defer c.Close()
	m.Hang("Get")
	if err := updateAtDeadline(t, c, 300*time.Millisecond); err == nil {
		t.Fatal("a hung timer query succeeded")
	}
	if n := m.Calls("Get"); n != 1 {
		t.Errorf("%d property reads before the deadline, want 1 (the timer's first, which hung)", n)
	}
	m.Release()
	collectortest.Eventually(t, "a run succeeds after the release", func() bool {
		got, err := collectortest.Run(context.Background(), c)
		return err == nil && got[`mailwatch_timer_present{timer="certbot.timer"}`] == 1
	})
}

func writeAt(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// Lines as certbot 2.1 (Debian 12) writes them.
const (
	certbotRenewOK = `2026-12-05 00:00:01,100:DEBUG:certbot._internal.main:certbot version: 2.1.0
2026-12-05 00:00:01,101:DEBUG:certbot._internal.main:Location of certbot entry point: /usr/bin/certbot
2026-12-05 00:00:01,101:DEBUG:certbot._internal.main:Arguments: ['-q', 'renew']
2026-12-05 00:00:01,102:DEBUG:certbot._internal.main:Discovered plugins: PluginsRegistry(...)
2026-12-05 00:00:01,200:INFO:certbot._internal.renewal:Cert not yet due for renewal
2026-12-05 00:00:01,201:DEBUG:certbot._internal.renewal:no renewal failures
`
	certbotRenewFailed = `2026-12-06 00:00:01,100:DEBUG:certbot._internal.main:certbot version: 2.1.0
2026-12-06 00:00:01,101:DEBUG:certbot._internal.main:Arguments: ['-q', 'renew']
2026-12-06 00:00:05,300:ERROR:certbot._internal.renewal:Failed to renew certificate mail.example.org with error: Some challenges have failed.
2026-12-06 00:00:05,301:ERROR:certbot._internal.renewal:All renewals failed. The following certificates could not be renewed:
2026-12-06 00:00:05,302:DEBUG:certbot._internal.log:Exiting abnormally:
Traceback (most recent call last):
certbot.errors.Error: 1 renew failure(s), 0 parse failure(s)
`
	certbotCertificates = `2026-12-06 09:00:00,100:DEBUG:certbot._internal.main:certbot version: 2.1.0
2026-12-06 09:00:00,101:DEBUG:certbot._internal.main:Arguments: ['certificates']
`
)

// TestFileTimers reads real certbot logs and apt stamp files: the newest
// renew run decides, whatever other certbot commands ran since.
func TestFileTimers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	le := filepath.Join(dir, "letsencrypt")
	periodic := filepath.Join(dir, "periodic")
	f := newFileTimers([]string{"certbot.timer", "apt-daily.timer", "apt-daily-upgrade.timer", "logrotate.timer"}, le, periodic)
	c := newCollector(BackendProcess, &fakeSource{}, zap.NewNop())
	c.timers = f
	run := func() map[string]float64 {
		t.Helper()
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return timerMetrics(got)
	}
	// Nothing installed.
	want := map[string]float64{
		`mailwatch_timer_present{timer="certbot.timer"}`:           0,
		`mailwatch_timer_present{timer="apt-daily.timer"}`:         0,
		`mailwatch_timer_present{timer="apt-daily-upgrade.timer"}`: 0,
	}
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("nothing installed (-want +got)\n%s", diff)
	}
	for _, d := range []string{le, periodic} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Unix(1796515201, 0)
	t2 := time.Unix(1796601605, 0)
	writeAt(t, filepath.Join(le, "letsencrypt.log.1"), certbotRenewOK, t1)
	writeAt(t, filepath.Join(le, "letsencrypt.log"), certbotCertificates, t2.Add(time.Hour))
	writeAt(t, filepath.Join(periodic, "update-stamp"), "", t1)
	want = map[string]float64{
		`mailwatch_timer_present{timer="certbot.timer"}`:                          1,
		`mailwatch_timer_last_trigger_timestamp_seconds{timer="certbot.timer"}`:   float64(t1.Unix()),
		`mailwatch_timer_last_result_success{timer="certbot.timer"}`:              1,
		`mailwatch_timer_present{timer="apt-daily.timer"}`:                        1,
		`mailwatch_timer_last_trigger_timestamp_seconds{timer="apt-daily.timer"}`: float64(t1.Unix()),
		`mailwatch_timer_last_result_success{timer="apt-daily.timer"}`:            1,
		`mailwatch_timer_present{timer="apt-daily-upgrade.timer"}`:                1,
	}
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("renew succeeded (-want +got)\n%s", diff)
	}
	// certbot rotates: the failed renew run is the newest renew run.
	for _, mv := range [][2]string{{"letsencrypt.log.1", "letsencrypt.log.3"}, {"letsencrypt.log", "letsencrypt.log.2"}} {
		if err := os.Rename(filepath.Join(le, mv[0]), filepath.Join(le, mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	writeAt(t, filepath.Join(le, "letsencrypt.log.1"), certbotRenewFailed, t2)
	writeAt(t, filepath.Join(le, "letsencrypt.log"), certbotCertificates, t2.Add(2*time.Hour))
	want[`mailwatch_timer_last_trigger_timestamp_seconds{timer="certbot.timer"}`] = float64(t2.Unix())
	want[`mailwatch_timer_last_result_success{timer="certbot.timer"}`] = 0
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("renew failed (-want +got)\n%s", diff)
	}
	// The next renew succeeds again.
	writeAt(t, filepath.Join(le, "letsencrypt.log"), strings.ReplaceAll(certbotRenewOK, "2026-12-05", "2026-12-07"), t2.Add(12*time.Hour))
	want[`mailwatch_timer_last_trigger_timestamp_seconds{timer="certbot.timer"}`] = float64(t2.Add(12 * time.Hour).Unix())
	want[`mailwatch_timer_last_result_success{timer="certbot.timer"}`] = 1
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("renew recovered (-want +got)\n%s", diff)
	}
	collectortest.Lint(t, c)
}

func TestFileTimersBadLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFileTimers([]string{"certbot.timer"}, dir, filepath.Join(dir, "none"))
	big := make([]byte, maxCertbotLog+1)
	if err := os.WriteFile(filepath.Join(dir, "letsencrypt.log"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := f.Timers(context.Background())
	if err != nil || len(got) != 1 || got[0].Err == nil || !got[0].Present || got[0].Success.ok {
		t.Errorf("an oversized log: %+v, %v; want the timer present with an error and no result", got, err)
	}
}
