// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

// These tests run the systemd backend against a real dbus-daemon started
// for the test, with fakesystemd owning org.freedesktop.systemd1 on it, so
// go-systemd and godbus speak the real wire protocol: authentication,
// Hello, method calls, error replies, dropped connections.

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
	"github.com/mailwatchd/mailwatchd/internal/collectors/service/internal/fakesystemd"
)

// successUnits is successStatuses as fake systemd serves it.
func successUnits() []fakesystemd.Unit {
	return []fakesystemd.Unit{
		{Name: "postfix@-.service", NRestarts: 0, ActiveEnterTimestamp: 1763882400123456, MemoryCurrent: 41943040, CPUUsageNSec: 12340000000},
		{Name: "dovecot.service", NRestarts: 2, ActiveEnterTimestamp: 1763886000000000, MemoryCurrent: 73400320, CPUUsageNSec: 3500000000},
		{Name: "opendkim.service", ActiveState: "failed", NRestarts: 5, ActiveEnterTimestamp: 1763880000000000, MemoryCurrent: fakesystemd.Unset, CPUUsageNSec: fakesystemd.Unset},
		// Waiting to be restarted: activating, with its old start time.
		{Name: "fail2ban.service", ActiveState: "activating", SubState: "auto-restart", NRestarts: 1, ActiveEnterTimestamp: 1763880000000000, MemoryCurrent: 20971520, CPUUsageNSec: 1000000000},
		// clamav-daemon and amavis are unknown: not-found.
		{Name: "clamav-freshclam.service", ActiveState: "inactive", SubState: "dead", MemoryCurrent: fakesystemd.Unset, CPUUsageNSec: fakesystemd.Unset},
		{Name: "rspamd.service", LoadState: "masked", ActiveState: "inactive", SubState: "dead", MemoryCurrent: fakesystemd.Unset, CPUUsageNSec: fakesystemd.Unset},
	}
}

func partialUnits() []fakesystemd.Unit {
	us := successUnits()
	us[1].Fail = map[string]string{"MemoryCurrent": "org.freedesktop.DBus.Error.AccessDenied"}
	us[3].ActiveState, us[3].SubState = "reloading", "reload"
	return us
}

// busDialer dials the test bus the way go-systemd dials the system bus,
// and counts the dials.
type busDialer struct {
	address string
	dials   atomic.Int32
}

func (d *busDialer) dial(ctx context.Context) (*sd.Conn, error) {
	d.dials.Add(1)
	return sd.NewConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial(d.address, dbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := c.Auth(nil); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
}

// systemdFixture is a bus, a fake systemd on it and a collector of the
// default units using it.
type systemdFixture struct {
	bus    *fakesystemd.Bus
	fake   *fakesystemd.Manager
	dialer *busDialer
	c      *Collector
}

func newSystemdFixture(t *testing.T, units ...fakesystemd.Unit) *systemdFixture {
	t.Helper()
	f := &systemdFixture{bus: fakesystemd.StartBus(t)}
	f.serve(t, units...)
	f.dialer = &busDialer{address: f.bus.Address}
	cfg := Config{}
	cfg.ApplyDefaults()
	f.c = newCollector(BackendSystemd, newSystemdSource(unitSpecs(cfg), f.dialer.dial), zap.NewNop())
	t.Cleanup(func() { f.c.Close() })
	return f
}

func (f *systemdFixture) serve(t *testing.T, units ...fakesystemd.Unit) {
	t.Helper()
	m, err := fakesystemd.Serve(f.bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	m.SetUnits(units...)
	f.fake = m
	t.Cleanup(func() { m.Close() })
}

func TestSystemdGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		units []fakesystemd.Unit
	}{
		{"success", successUnits()},
		{"partial", partialUnits()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSystemdFixture(t, tc.units...)
			collectortest.CheckGolden(t, f.c, tc.name, false)
		})
	}
}

// TestSystemdOnlyConfiguredUnits: one ListUnitsByNames per run, and
// property reads only for what the state makes meaningful.
func TestSystemdOnlyConfiguredUnits(t *testing.T) {
	t.Parallel()
	f := newSystemdFixture(t, successUnits()...)
	if _, err := collectortest.Run(context.Background(), f.c); err != nil {
		t.Fatal(err)
	}
	if n := f.fake.Calls("ListUnitsByNames"); n != 1 {
		t.Errorf("ListUnitsByNames called %d times, want 1", n)
	}
	// postfix, dovecot: 4 each; opendkim (failed): NRestarts; fail2ban
	// (activating): 3; clamav-freshclam (inactive): NRestarts; not-found
	// and masked units: none.
	if n := f.fake.Calls("Get"); n != 4+4+1+3+1 {
		t.Errorf("property Get called %d times, want 13", n)
	}
}

// TestSystemdReusesConnection: one connection serves many runs, and a
// D-Bus error reply (systemd not on the bus) does not drop it.
func TestSystemdReusesConnection(t *testing.T) {
	t.Parallel()
	bus := fakesystemd.StartBus(t)
	d := &busDialer{address: bus.Address}
	c := newCollector(BackendSystemd, newSystemdSource([]unitSpec{{name: "postfix@-.service"}}, d.dial), zap.NewNop())
	defer c.Close()

	_, err := collectortest.Run(context.Background(), c)
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
		t.Fatalf("no systemd on the bus: got %v, want a ServiceUnknown error reply", err)
	}
	m, err := fakesystemd.Serve(bus.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetUnits(fakesystemd.Unit{Name: "postfix@-.service", MemoryCurrent: 1, CPUUsageNSec: 1})
	for i := range 3 {
		got, err := collectortest.Run(context.Background(), c)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if got[`mailwatch_service_state{state="active",unit="postfix@-.service"}`] != 1 {
			t.Errorf("run %d: postfix not active: %v", i, got)
		}
	}
	if n := d.dials.Load(); n != 1 {
		t.Errorf("dialled %d times for 4 runs, want 1", n)
	}
}

// TestSystemdStatesAndRestarts follows one unit through its states.
func TestSystemdStatesAndRestarts(t *testing.T) {
	t.Parallel()
	f := newSystemdFixture(t)
	const unit = `unit="postfix@-.service"`
	for _, tc := range []struct {
		u                                     fakesystemd.Unit
		state                                 string
		present, restarts, start, mem, cpu    float64
		hasRestarts, hasStart, hasMem, hasCPU bool
	}{
		{u: fakesystemd.Unit{LoadState: "not-found", ActiveState: "inactive"}, state: "inactive"},
		{u: fakesystemd.Unit{ActiveState: "activating", MemoryCurrent: 100, CPUUsageNSec: 5e8}, state: "activating", present: 1, hasRestarts: true, hasMem: true, mem: 100, hasCPU: true, cpu: 0.5},
		{u: fakesystemd.Unit{ActiveEnterTimestamp: 2e15, MemoryCurrent: 200, CPUUsageNSec: 1e9}, state: "active", present: 1, hasRestarts: true, hasStart: true, start: 2e9, hasMem: true, mem: 200, hasCPU: true, cpu: 1},
		{u: fakesystemd.Unit{ActiveState: "reloading", ActiveEnterTimestamp: 2e15, MemoryCurrent: fakesystemd.Unset, CPUUsageNSec: fakesystemd.Unset}, state: "reloading", present: 1, hasRestarts: true, hasStart: true, start: 2e9},
		{u: fakesystemd.Unit{ActiveState: "deactivating", ActiveEnterTimestamp: 2e15, MemoryCurrent: 50, CPUUsageNSec: 2e9}, state: "deactivating", present: 1, hasRestarts: true, hasStart: true, start: 2e9, hasMem: true, mem: 50, hasCPU: true, cpu: 2},
		{u: fakesystemd.Unit{ActiveState: "failed", NRestarts: 3, ActiveEnterTimestamp: 2e15}, state: "failed", present: 1, hasRestarts: true, restarts: 3},
		{u: fakesystemd.Unit{NRestarts: 4, ActiveEnterTimestamp: 3e15, MemoryCurrent: 10, CPUUsageNSec: 0}, state: "active", present: 1, hasRestarts: true, restarts: 4, hasStart: true, start: 3e9, hasMem: true, mem: 10, hasCPU: true},
		// A unit masked while it runs still runs.
		{u: fakesystemd.Unit{LoadState: "masked", ActiveEnterTimestamp: 3e15, MemoryCurrent: 10, CPUUsageNSec: 0}, state: "active", present: 1, hasRestarts: true, hasStart: true, start: 3e9, hasMem: true, mem: 10, hasCPU: true},
	} {
		tc.u.Name = "postfix@-.service"
		f.fake.SetUnits(tc.u)
		got, err := collectortest.Run(context.Background(), f.c)
		if err != nil && (tc.present == 1 || !errors.Is(err, collectors.ErrNotApplicable)) {
			t.Fatalf("%s: %v", tc.state, err)
		}
		for _, s := range States {
			want := collectors.B2F(s == tc.state)
			if v := got[`mailwatch_service_state{state="`+s+`",`+unit+`}`]; v != want {
				t.Errorf("%s/%s: state %s = %v, want %v", tc.u.LoadState, tc.state, s, v, want)
			}
		}
		check := func(metric string, has bool, want float64) {
			t.Helper()
			v, ok := got["mailwatch_service_"+metric+"{"+unit+"}"]
			if ok != has || v != want {
				t.Errorf("%s/%s: %s = %v (present %v), want %v (present %v)", tc.u.LoadState, tc.state, metric, v, ok, want, has)
			}
		}
		check("present", true, tc.present)
		check("check_success", true, 1)
		check("restarts_total", tc.hasRestarts, tc.restarts)
		check("start_timestamp_seconds", tc.hasStart, tc.start)
		check("memory_bytes", tc.hasMem, tc.mem)
		check("cpu_seconds_total", tc.hasCPU, tc.cpu)
	}
}

// TestSystemdOldSystemdLacksNRestarts: systemd before 235 has no NRestarts;
// that is not a failure, the series is just absent.
func TestSystemdOldSystemdLacksNRestarts(t *testing.T) {
	t.Parallel()
	f := newSystemdFixture(t, fakesystemd.Unit{Name: "dovecot.service", MemoryCurrent: 1, CPUUsageNSec: 1,
		Fail: map[string]string{"NRestarts": "org.freedesktop.DBus.Error.UnknownProperty"}})
	got, err := collectortest.Run(context.Background(), f.c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[`mailwatch_service_restarts_total{unit="dovecot.service"}`]; ok {
		t.Error("restarts exported without NRestarts")
	}
	if v := got[`mailwatch_service_check_success{unit="dovecot.service"}`]; v != 1 {
		t.Errorf("check_success = %v, want 1", v)
	}
}

// TestSystemdHungPeer: systemd takes the call and never answers. Update
// returns within the timeout plus 100ms, the connection is replaced, and
// the next run works once systemd answers again.
func TestSystemdHungPeer(t *testing.T) {
	t.Parallel()
	f := newSystemdFixture(t, successUnits()...)
	if _, err := collectortest.Run(context.Background(), f.c); err != nil {
		t.Fatal(err)
	}
	for _, hangAt := range []string{"ListUnitsByNames", "Get"} {
		f.fake.Hang(hangAt)
		if err := updateAtDeadline(t, f.c, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hang at %s: got %v, want DeadlineExceeded", hangAt, err)
		}
		f.fake.Release()
		dials := f.dialer.dials.Load()
		if err := collectortest.Golden(t, f.c, "success"); err != nil {
			t.Fatalf("after the hang at %s: %v", hangAt, err)
		}
		if n := f.dialer.dials.Load(); n != dials+1 {
			t.Errorf("after the hang at %s: %d dials, want a new connection", hangAt, n-dials)
		}
	}
}

// TestSystemdHungDial: the socket accepts but the peer never speaks, so
// authentication (which takes no context) would block for ever.
func TestSystemdHungDial(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "silent")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	eof := make(chan struct{}, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 512)
				for {
					if _, err := conn.Read(buf); err != nil {
						conn.Close()
						eof <- struct{}{}
						return
					}
				}
			}()
		}
	}()
	defer func() { l.Close(); wg.Wait() }()

	d := &busDialer{address: "unix:path=" + path}
	c := newCollector(BackendSystemd, newSystemdSource([]unitSpec{{name: "postfix@-.service"}}, d.dial), zap.NewNop())
	defer c.Close()
	if err := updateAtDeadline(t, c, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
	// The abandoned connection is closed, not leaked.
	select {
	case <-eof:
	case <-time.After(5 * time.Second):
		t.Error("the connection of the hung dial was not closed")
	}
}

// TestSystemdReconnect: the bus goes away (dbus-daemon killed) and comes
// back; the collector fails while it is gone and reconnects by itself.
func TestSystemdReconnect(t *testing.T) {
	t.Parallel()
	f := newSystemdFixture(t, successUnits()...)
	if err := collectortest.Golden(t, f.c, "success"); err != nil {
		t.Fatal(err)
	}
	f.bus.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := collectortest.Run(ctx, f.c)
	cancel()
	if err == nil {
		t.Fatal("bus gone: want an error")
	}
	f.bus.Start()
	f.serve(t, successUnits()...)
	if err := collectortest.Golden(t, f.c, "success"); err != nil {
		t.Fatalf("bus back: %v", err)
	}
	if n := f.dialer.dials.Load(); n < 2 {
		t.Errorf("%d dials, want a reconnection", n)
	}
}

// helperBusEnv names the bus the helper process of
// TestSystemdUnprivilegedUnderSystemPolicy dials; unset, the helper test
// is skipped.
const helperBusEnv = "MAILWATCHD_TEST_UNPRIVILEGED_BUS"

// TestSystemdUnprivilegedUnderSystemPolicy shows that an unprivileged user
// reads every figure the collector uses, under the system bus's real
// policy (Debian's system.conf with systemd's org.freedesktop.systemd1.conf):
// the test binary runs again as nobody, with the production dialer pointed
// at the bus by DBUS_SYSTEM_BUS_ADDRESS, and must produce success.prom.
func TestSystemdUnprivilegedUnderSystemPolicy(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf"); err != nil {
		t.Skipf("systemd's D-Bus policy is not installed: %v", err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	bus := fakesystemd.StartSystemBus(t)
	m, err := fakesystemd.Serve(bus.Address) // as root, which may own the name
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetUnits(successUnits()...)
	want, err := os.ReadFile(filepath.Join("testdata", "success.prom"))
	if err != nil {
		t.Fatal(err)
	}

	// nobody cannot run the test binary where go test built it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mwunpriv")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "service.test")
	copyFile(t, self, bin)
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cmd := exec.Command(bin, "-test.run=^TestHelperUnprivilegedClient$", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{helperBusEnv + "=1", "DBUS_SYSTEM_BUS_ADDRESS=" + bus.Address, "WANT=" + string(want), "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestHelperUnprivilegedClient") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

// TestHelperUnprivilegedClient is the process the test above runs as
// nobody.
func TestHelperUnprivilegedClient(t *testing.T) {
	if os.Getenv(helperBusEnv) == "" {
		t.Skip("helper of TestSystemdUnprivilegedUnderSystemPolicy")
	}
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root")
	}
	cfg := Config{}
	cfg.ApplyDefaults()
	c := newCollector(BackendSystemd, newSystemdSource(unitSpecs(cfg), systemBus), zap.NewNop())
	defer c.Close()
	collectortest.Compare(t, c, os.Getenv("WANT"))
	if err := c.Update(context.Background(), make(chan prometheus.Metric, 1000)); err != nil {
		t.Error(err)
	}

	// The policy is enforced: what it does not allow is refused by the bus.
	conn, err := dbus.SystemBusPrivate()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	err = conn.Object(fakesystemd.BusName, fakesystemd.UnitPath("postfix@-.service")).
		Call("org.freedesktop.DBus.Properties.Set", 0, "org.freedesktop.systemd1.Unit", "Description", dbus.MakeVariant("x")).Err
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.AccessDenied" {
		t.Errorf("Properties.Set as nobody: got %v, want AccessDenied from the bus policy", err)
	}
}
