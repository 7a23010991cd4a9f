// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// The statuses below are what the systemd backend reads from the fake
// systemd of systemd_test.go (same numbers, same conversions), so both
// tests share the golden files.

func successStatuses() []status {
	return []status{
		{Name: "postfix@-.service", Present: true, State: "active", Restarts: some(0), StartTime: some(float64(1763882400123456) / 1e6), MemoryBytes: some(41943040), CPUSeconds: some(float64(12340000000) / 1e9)},
		{Name: "dovecot.service", Present: true, State: "active", Restarts: some(2), StartTime: some(float64(1763886000000000) / 1e6), MemoryBytes: some(73400320), CPUSeconds: some(float64(3500000000) / 1e9)},
		{Name: "opendkim.service", Present: true, State: "failed", Restarts: some(5)},
		{Name: "fail2ban.service", Present: true, State: "activating", Restarts: some(1), MemoryBytes: some(20971520), CPUSeconds: some(float64(1000000000) / 1e9)},
		{Name: "clamav-daemon.service", Optional: true, State: "inactive"},
		{Name: "clamav-freshclam.service", Optional: true, Present: true, State: "inactive", Restarts: some(0)},
		{Name: "rspamd.service", Optional: true, State: "inactive"},
		{Name: "amavis.service", Optional: true, State: "inactive"},
	}
}

// partialStatuses: systemd refused dovecot's MemoryCurrent; fail2ban is
// reloading.
func partialStatuses() []status {
	sts := successStatuses()
	sts[1].MemoryBytes = optional{}
	sts[1].Err = errors.New("get MemoryCurrent of dovecot.service: org.freedesktop.DBus.Error.AccessDenied")
	sts[3] = status{Name: "fail2ban.service", Present: true, State: "reloading", Restarts: some(1), StartTime: some(float64(1763880000000000) / 1e6), MemoryBytes: some(20971520), CPUSeconds: some(float64(1000000000) / 1e9)}
	return sts
}

func TestUpdateGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		src     *fakeSource
		wantErr bool
	}{
		{name: "success", src: &fakeSource{sts: successStatuses()}},
		{name: "partial", src: &fakeSource{sts: partialStatuses()}},
		{name: "total_failure", src: &fakeSource{err: errors.New("dial unix /run/dbus/system_bus_socket: connect: no such file or directory")}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCollector(BackendSystemd, tc.src, zap.NewNop())
			collectortest.CheckGolden(t, c, tc.name, tc.wantErr)
		})
	}
}

func TestUnknownStateIsAllZero(t *testing.T) {
	t.Parallel()
	c := newCollector(BackendSystemd, &fakeSource{sts: []status{{Name: "x.mount", Present: true, State: "maintenance"}}}, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range States {
		if v, ok := got[`mailwatch_service_state{state="`+s+`",unit="x.mount"}`]; !ok || v != 0 {
			t.Errorf("state %s = %v (present %v), want 0", s, v, ok)
		}
	}
}

func TestNothingInstalledIsNotApplicable(t *testing.T) {
	t.Parallel()
	c := newCollector(BackendProcess, &fakeSource{sts: []status{{Name: "postfix", State: "inactive"}, {Name: "rspamd", Optional: true, State: "inactive"}}}, zap.NewNop())
	if _, err := collectortest.Run(context.Background(), c); !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("no service installed: got %v, want ErrNotApplicable", err)
	}
}

// TestBlockedSourceReturnsAtDeadline: a source that blocks until its
// context ends makes Update return within the timeout plus 100ms.
func TestBlockedSourceReturnsAtDeadline(t *testing.T) {
	t.Parallel()
	src := &fakeSource{sts: successStatuses(), block: true, release: make(chan struct{})}
	c := newCollector(BackendSystemd, src, zap.NewNop())
	if err := updateAtDeadline(t, c, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
}

// TestStuckSourceIsNotQueriedAgain: a query that ignores its context (a
// read stuck in the kernel) is abandoned at the deadline; runs until it
// returns fail at their deadline without calling the source again.
func TestStuckSourceIsNotQueriedAgain(t *testing.T) {
	t.Parallel()
	src := &fakeSource{sts: successStatuses(), block: true, ignoreCtx: true, release: make(chan struct{}), queryReturn: make(chan struct{}, 10)}
	c := newCollector(BackendProcess, src, zap.NewNop())
	for i := range 3 {
		err := updateAtDeadline(t, c, 50*time.Millisecond)
		if err == nil {
			t.Fatalf("run %d: want an error while the query is stuck", i)
		}
		if i > 0 && !errors.Is(err, collectors.ErrBusy) {
			t.Errorf("run %d: got %v, want collectors.ErrBusy", i, err)
		}
	}
	src.mu.Lock()
	calls := src.calls
	src.block = false
	src.mu.Unlock()
	if calls != 1 {
		t.Errorf("source called %d times while stuck, want 1", calls)
	}
	close(src.release)
	<-src.queryReturn
	if _, err := collectortest.Run(context.Background(), c); err != nil {
		t.Errorf("after the stuck query returned: %v", err)
	}
}

func TestLogsAbsenceOnceAndOptionalQuietly(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	src := &fakeSource{sts: []status{
		{Name: "postfix@-.service", Present: true, State: "active"},
		{Name: "dovecot.service", State: "inactive"},
		{Name: "rspamd.service", Optional: true, State: "inactive"},
	}}
	c := newCollector(BackendSystemd, src, zap.New(core))
	for range 3 {
		if _, err := collectortest.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	src.mu.Lock()
	src.sts[1].Present, src.sts[1].State = true, "active"
	src.sts[0].Err = errors.New("boom")
	src.mu.Unlock()
	for range 2 {
		if _, err := collectortest.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Level.String()+" "+e.Message+" "+e.ContextMap()["unit"].(string))
	}
	want := []string{
		"warn configured service is not installed dovecot.service",
		"warn cannot read some figures of service postfix@-.service",
		"info configured service appeared dovecot.service",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

func TestCloseClosesSource(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	c := newCollector(BackendSystemd, src, zap.NewNop())
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !src.closed {
		t.Error("source not closed")
	}
}

func TestDescribeCoversEmitted(t *testing.T) {
	t.Parallel()
	c := newCollector(BackendSystemd, &fakeSource{sts: partialStatuses()}, zap.NewNop())
	// The pedantic registry in collectortest.Golden() checks emitted metrics against
	// Describe; here count the descriptors.
	ch := make(chan *prometheus.Desc, 20)
	c.Describe(ch)
	close(ch)
	if n := len(ch); n != 7+5 {
		t.Errorf("Describe sent %d descriptors, want 12 (7 of services, 5 of timers)", n)
	}
}

func TestNewPicksBackend(t *testing.T) {
	t.Parallel()
	booted := false
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		booted = true
	}
	for _, tc := range []struct {
		backend, want string
	}{
		{BackendSystemd, BackendSystemd},
		{BackendProcess, BackendProcess},
		{BackendAuto, map[bool]string{true: BackendSystemd, false: BackendProcess}[booted]},
	} {
		cfg := Config{Backend: tc.backend}
		cfg.ApplyDefaults()
		c, err := New(cfg, zap.NewNop())
		if err != nil {
			t.Fatalf("%s: %v", tc.backend, err)
		}
		if got := c.Backend(); got != tc.want {
			t.Errorf("backend %s: got %s, want %s", tc.backend, got, tc.want)
		}
		if err := c.Close(); err != nil {
			t.Errorf("%s: close: %v", tc.backend, err)
		}
	}
	if _, err := New(Config{Backend: "upstart"}, zap.NewNop()); err == nil {
		t.Error("unknown backend: want an error")
	}
}
