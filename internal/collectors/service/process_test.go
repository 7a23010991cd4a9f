// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// fakeProc is one process of a fixture /proc.
type fakeProc struct {
	pid, ppid            int
	comm                 string
	state                byte // 0 means S
	utime, stime         uint64
	cutime, cstime       uint64
	start, rss           uint64
	cmdline              []string
	kernelThread, hidden bool // hidden: no stat file (hidepid, or gone)
}

// writeProc builds a proc filesystem under dir with boot time btime.
func writeProc(t *testing.T, dir string, btime int64, procs ...fakeProc) {
	t.Helper()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "stat"), fmt.Sprintf("cpu  1 2 3 4\nctxt 99\nbtime %d\nprocesses 1000\n", btime))
	write(filepath.Join(dir, "self", "stat"), "not a pid directory")
	for _, p := range procs {
		pd := filepath.Join(dir, strconv.Itoa(p.pid))
		if p.hidden {
			if err := os.MkdirAll(pd, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		state, flags := p.state, uint64(0x400000)
		if state == 0 {
			state = 'S'
		}
		if p.kernelThread {
			flags |= pfKThread
		}
		write(filepath.Join(pd, "stat"), fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 %d 10 0 0 0 %d %d %d %d 20 0 1 0 %d 123456 %d 18446744073709551615 1 1 0 0 0\n",
			p.pid, p.comm, state, p.ppid, p.pid, p.pid, flags, p.utime, p.stime, p.cutime, p.cstime, p.start, p.rss))
		var cmd string
		for _, a := range p.cmdline {
			cmd += a + "\x00"
		}
		write(filepath.Join(pd, "cmdline"), cmd)
	}
}

// fixtureHost is a fixture /proc of a mail host with its pidfiles and
// executables.
func fixtureHost(t *testing.T) (procRoot string, procs []Process) {
	t.Helper()
	dir := t.TempDir()
	procRoot = filepath.Join(dir, "proc")
	writeProc(t, procRoot, 1763880000,
		fakeProc{pid: 1, comm: "supervisord", start: 100, rss: 1000, cmdline: []string{"/usr/bin/python3", "/usr/bin/supervisord"}},
		fakeProc{pid: 2, comm: "kthreadd", kernelThread: true},
		fakeProc{pid: 50, ppid: 2, comm: "master", kernelThread: true}, // never a service
		// Postfix, found by its pidfile: master with two children, one of
		// which has children that ended (cutime).
		fakeProc{pid: 100, ppid: 1, comm: "master", start: 1200, rss: 300, utime: 100, stime: 50, cutime: 400, cstime: 100, cmdline: []string{"/usr/lib/postfix/sbin/master", "-w"}},
		fakeProc{pid: 101, ppid: 100, comm: "qmgr", start: 1210, rss: 200, utime: 20, stime: 30, cmdline: []string{"qmgr", "-l", "-t", "unix", "-u"}},
		fakeProc{pid: 102, ppid: 100, comm: "smtpd", start: 5000, rss: 500, utime: 1, stime: 1, cutime: 8, cstime: 0, cmdline: []string{"smtpd", "-n", "smtp"}},
		fakeProc{pid: 103, ppid: 100, comm: "cleanup", state: 'Z', start: 5001}, // exited, not yet waited for
		// Another program also called master: not Postfix.
		fakeProc{pid: 150, ppid: 1, comm: "master", start: 900, rss: 9999, cmdline: []string{"/opt/other/master"}},
		// Dovecot: pidfile unreadable, found by name; its children are
		// not called dovecot.
		fakeProc{pid: 200, ppid: 1, comm: "dovecot", start: 1300, rss: 400, utime: 30, stime: 20, cmdline: []string{"/usr/sbin/dovecot", "-F"}},
		fakeProc{pid: 201, ppid: 200, comm: "anvil", start: 1310, rss: 100, utime: 5, stime: 5, cmdline: []string{"dovecot/anvil"}},
		fakeProc{pid: 202, ppid: 200, comm: "imap-login", start: 1320, rss: 100, cmdline: []string{"dovecot/imap-login"}},
		fakeProc{pid: 203, ppid: 200, hidden: true},
		// OpenDKIM: its pidfile names PID 300, now reused by another
		// program; the real one is a supervisor with one child, both called
		// opendkim (the parent is the root).
		fakeProc{pid: 300, ppid: 1, comm: "sh", start: 9000, rss: 10, cmdline: []string{"/bin/sh"}},
		fakeProc{pid: 310, ppid: 1, comm: "opendkim", start: 1400, rss: 150, utime: 7, stime: 3, cmdline: []string{"opendkim", "-x", "/etc/opendkim.conf"}},
		fakeProc{pid: 311, ppid: 310, comm: "opendkim", start: 1401, rss: 250, utime: 40, stime: 10, cmdline: []string{"opendkim", "-x", "/etc/opendkim.conf"}},
		// fail2ban is installed but not running; its old pidfile remains.
		// rspamd is neither installed nor running.
	)
	files := filepath.Join(dir, "files")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(files, 0o755))
	must(os.WriteFile(filepath.Join(files, "master.pid"), []byte("         100\n"), 0o644))
	must(os.WriteFile(filepath.Join(files, "opendkim.pid"), []byte("300\n"), 0o644))
	must(os.WriteFile(filepath.Join(files, "fail2ban.pid"), []byte("400\n"), 0o644))
	must(os.WriteFile(filepath.Join(files, "fail2ban-server"), nil, 0o755))
	f := func(n string) string { return filepath.Join(files, n) }
	procs = []Process{
		{Name: "postfix", Pidfile: f("master.pid"), Comm: "master", Cmdline: mustRegexp("postfix"), Executable: f("postfix-master")},
		// Dovecot's pidfile is root-only; the test, maybe run as root,
		// makes it unreadable by pointing it at a directory.
		{Name: "dovecot", Pidfile: f("dovecot-pid-dir"), Comm: "dovecot", Executable: f("dovecot")},
		{Name: "opendkim", Pidfile: f("opendkim.pid"), Comm: "opendkim", Executable: f("opendkim")},
		{Name: "fail2ban", Pidfile: f("fail2ban.pid"), Comm: "fail2ban-server", Executable: f("fail2ban-server")},
		{Name: "rspamd", Pidfile: f("rspamd.pid"), Comm: "rspamd", Executable: f("rspamd"), Optional: true},
	}
	must(os.Mkdir(f("dovecot-pid-dir"), 0o755))
	return procRoot, procs
}

func newFixtureCollector(t *testing.T) (*Collector, *processSource) {
	t.Helper()
	root, procs := fixtureHost(t)
	src := newProcessSource(procs, root)
	src.pageSize = 4096 // the golden file must not depend on the machine
	return newCollector(BackendProcess, src, zap.NewNop()), src
}

// TestProcessGolden: the process backend on a fixture /proc. Postfix is
// the pidfile's master, not the other "master"; its memory is 1000 pages
// (300+200+500, the zombie has none) and its CPU 710 ticks; Dovecot and
// OpenDKIM are found by name; fail2ban is installed, not running.
func TestProcessGolden(t *testing.T) {
	t.Parallel()
	c, _ := newFixtureCollector(t)
	if err := collectortest.Golden(t, c, "process"); err != nil {
		t.Fatal(err)
	}
	collectortest.Lint(t, c)
}

// TestProcessRestartsFromFixture: a new main process counts as a restart,
// also when runs in between saw the service stopped, and the count
// survives a reload (Inherit).
func TestProcessRestartsFromFixture(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "proc")
	procs := []Process{{Name: "svc", Comm: "svcd"}}
	src := newProcessSource(procs, root)
	c := newCollector(BackendProcess, src, zap.NewNop())
	const restarts = `mailwatch_service_restarts_total{unit="svc"}`
	const active = `mailwatch_service_state{state="active",unit="svc"}`
	const start = `mailwatch_service_start_timestamp_seconds{unit="svc"}`
	steps := []struct {
		procs        []fakeProc
		wantActive   float64
		wantRestarts float64
		wantStart    float64 // 0: absent
	}{
		{procs: []fakeProc{{pid: 10, comm: "svcd", start: 500}}, wantActive: 1, wantRestarts: 0, wantStart: 1005},
		{procs: []fakeProc{{pid: 10, comm: "svcd", start: 500}}, wantActive: 1, wantRestarts: 0, wantStart: 1005},
		{procs: []fakeProc{{pid: 11, comm: "other", start: 600}}, wantActive: 0, wantRestarts: 0},
		{procs: []fakeProc{{pid: 12, comm: "svcd", start: 700}}, wantActive: 1, wantRestarts: 1, wantStart: 1007},
		// Same PID, later start: the PID was reused by a new incarnation.
		{procs: []fakeProc{{pid: 12, comm: "svcd", start: 800}}, wantActive: 1, wantRestarts: 2, wantStart: 1008},
	}
	for i, st := range steps {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		writeProc(t, root, 1000, st.procs...)
		if i == 3 {
			// A reload replaces the collector; the count carries over.
			next := newCollector(BackendProcess, newProcessSource(procs, root), zap.NewNop())
			next.Inherit(c)
			c = next
		}
		got, err := collectortest.Run(context.Background(), c)
		if err != nil && !errors.Is(err, collectors.ErrNotApplicable) {
			t.Fatalf("step %d: %v", i, err)
		}
		if got[active] != st.wantActive {
			t.Errorf("step %d: active = %v, want %v", i, got[active], st.wantActive)
		}
		r, ok := got[restarts]
		if !ok || r != st.wantRestarts {
			t.Errorf("step %d: restarts = %v (present %v), want %v", i, r, ok, st.wantRestarts)
		}
		if s, ok := got[start]; s != st.wantStart || ok != (st.wantStart != 0) {
			t.Errorf("step %d: start = %v (present %v), want %v", i, s, ok, st.wantStart)
		}
	}
}

func TestProcessTotalFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
	}{
		{"no proc", func(*testing.T, string) {}},
		{"no process readable", func(t *testing.T, root string) { writeProc(t, root, 1) }},
		{"no btime", func(t *testing.T, root string) {
			writeProc(t, root, 1, fakeProc{pid: 1, comm: "init"})
			if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := filepath.Join(t.TempDir(), "proc")
			tc.setup(t, root)
			c := newCollector(BackendProcess, newProcessSource([]Process{{Name: "svc", Comm: "svcd"}}, root), zap.NewNop())
			got, err := collectortest.Run(context.Background(), c)
			if err == nil || errors.Is(err, collectors.ErrNotApplicable) {
				t.Errorf("got %v, want a failure", err)
			}
			if len(got) != 0 {
				t.Errorf("a failed run emitted %d samples", len(got))
			}
		})
	}
}

// startProgram runs a copy of the binary at bin under a unique name, so
// its comm is the test's own; the process and its children are killed, by
// process group, when the test ends.
func startProgram(t *testing.T, bin string, args ...string) (comm string, cmd *exec.Cmd, exe string) {
	t.Helper()
	var r [5]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	comm = "mwt" + hex.EncodeToString(r[:]) // 13 bytes: comm keeps it whole
	exe = filepath.Join(t.TempDir(), comm)
	copyFile(t, bin, exe)
	cmd = startCmd(t, exe, args...)
	return comm, cmd, exe
}

func startCmd(t *testing.T, exe string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // the group this test created
		_ = cmd.Wait()
	})
	// Start returns right after exec; wait until the program runs its
	// course and sleeps, with its pages mapped.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		if ps, err := parseStat(b); err == nil && ps.State == 'S' && ps.RSSPages > 0 {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not settle: %s", pid, b)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writePidfile(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestProcessRealLifecycle runs against the real /proc: a service started,
// found by its pidfile, stopped, and started again.
func TestProcessRealLifecycle(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	comm, cmd, exe := startProgram(t, sleep, "300")
	pidfile := filepath.Join(t.TempDir(), "svc.pid")
	writePidfile(t, pidfile, cmd.Process.Pid)
	c := newCollector(BackendProcess, newProcessSource([]Process{{Name: "svc", Pidfile: pidfile, Comm: comm, Executable: exe}}, "/proc"), zap.NewNop())

	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	wantRunning(t, got, "first start", 0)
	first := got[`mailwatch_service_start_timestamp_seconds{unit="svc"}`]

	// Stop it: killed and waited for, so no zombie remains.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	got, err = collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		`mailwatch_service_state{state="active",unit="svc"}`:   0,
		`mailwatch_service_state{state="inactive",unit="svc"}`: 1,
		`mailwatch_service_present{unit="svc"}`:                1, // the executable is still there
		`mailwatch_service_restarts_total{unit="svc"}`:         0,
	} {
		if got[k] != want {
			t.Errorf("stopped: %s = %v, want %v", k, got[k], want)
		}
	}
	for _, k := range []string{"start_timestamp_seconds", "memory_bytes", "cpu_seconds_total"} {
		if _, ok := got[`mailwatch_service_`+k+`{unit="svc"}`]; ok {
			t.Errorf("stopped: %s exported", k)
		}
	}

	// Start again: a new main process, a restart, a later start time.
	cmd2 := startCmd(t, exe, "300")
	writePidfile(t, pidfile, cmd2.Process.Pid)
	got, err = collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	wantRunning(t, got, "second start", 1)
	if second := got[`mailwatch_service_start_timestamp_seconds{unit="svc"}`]; second < first {
		t.Errorf("start time went from %v back to %v", first, second)
	}
}

func wantRunning(t *testing.T, got map[string]float64, step string, restarts float64) {
	t.Helper()
	if got[`mailwatch_service_state{state="active",unit="svc"}`] != 1 || got[`mailwatch_service_present{unit="svc"}`] != 1 {
		t.Fatalf("%s: not active and present: %v", step, got)
	}
	if v := got[`mailwatch_service_restarts_total{unit="svc"}`]; v != restarts {
		t.Errorf("%s: restarts = %v, want %v", step, v, restarts)
	}
	// btime has whole seconds and start times ticks of 10ms.
	start := got[`mailwatch_service_start_timestamp_seconds{unit="svc"}`]
	if now := float64(time.Now().UnixNano()) / 1e9; math.Abs(now-start) > 60 {
		t.Errorf("%s: start time %v is not near now (%v)", step, start, now)
	}
	if v := got[`mailwatch_service_memory_bytes{unit="svc"}`]; v <= 0 {
		t.Errorf("%s: memory = %v, want > 0", step, v)
	}
	if _, ok := got[`mailwatch_service_cpu_seconds_total{unit="svc"}`]; !ok {
		t.Errorf("%s: no cpu time", step)
	}
}

// TestProcessRealTreeByName: no pidfile; the service is found by comm and
// its memory covers its children.
func TestProcessRealTreeByName(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep")
	}
	comm, cmd, _ := startProgram(t, sh, "-c", "sleep 300 & sleep 300 & wait")
	root := cmd.Process.Pid
	// Wait until both children are there (they start asynchronously).
	collectortest.Eventually(t, "the shell started its two children", func() bool { return countChildren(t, root) >= 2 })
	c := newCollector(BackendProcess, newProcessSource([]Process{{Name: "svc", Pidfile: filepath.Join(t.TempDir(), "absent.pid"), Comm: comm}}, "/proc"), zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	wantRunning(t, got, "tree", 0)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", root))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := parseStat(b)
	if err != nil {
		t.Fatal(err)
	}
	own := float64(ps.RSSPages) * float64(os.Getpagesize())
	if tree := got[`mailwatch_service_memory_bytes{unit="svc"}`]; tree <= own {
		t.Errorf("tree memory %v is not more than the shell's own %v", tree, own)
	}
}

func countChildren(t *testing.T, pid int) int {
	t.Helper()
	all, err := procfs{root: "/proc"}.processes()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ps := range all {
		if ps.PPID == pid && strings.HasPrefix(ps.Comm, "sleep") {
			n++
		}
	}
	return n
}
