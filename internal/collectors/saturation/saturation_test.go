// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

const master = "/usr/lib/postfix/sbin/master"

const smallMasterCF = `smtp       inet  n       -       y       -       3       smtpd
submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission -o smtpd_client_connection_count_limit=10 -o smtpd_client_message_rate_limit=$foo
pickup     unix  n       -       y       60      1       pickup
cleanup    unix  n       -       y       -       0       cleanup
smtp       unix  -       -       y       -       -       smtp
relay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name
`

// stack builds a host: Postfix's master (PID 100) with smtpd children at
// its limit of 3, one of them in stress mode, a zombie, and Dovecot's
// master (PID 200) with login, imap and auth processes.
func stack(t *testing.T) (*fakeProc, string, string) {
	t.Helper()
	dir := t.TempDir()
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	p.add(100, 1, "master", 'S', master, "-w")
	p.add(101, 100, "smtpd", 'S', smtpd("smtp", "inet", false, "-s", "2")...)
	p.add(102, 100, "smtpd", 'S', smtpd("smtp", "inet", false, "-s", "2")...)
	p.add(103, 100, "smtpd", 'R', smtpd("smtp", "inet", true, "-s", "2")...)
	p.add(104, 100, "smtpd", 'Z') // reaped soon; holds no slot
	p.add(105, 100, "smtpd", 'S', smtpd("submission", "inet", false, "-o", "syslog_name=postfix/submission")...)
	p.add(106, 100, "pickup", 'S', "pickup", "-l", "-t", "unix", "-u", "-c")
	p.add(107, 100, "qmgr", 'S', "qmgr", "-l", "-t", "unix", "-u") // not in this master.cf
	p.add(108, 100, "smtp", 'S', "smtp", "-n", "relay", "-t", "unix", "-u", "-c", "-o", "stress=", "-o", "syslog_name=postfix/$service_name")
	p.add(150, 1, "smtpd", 'S', smtpd("smtp", "inet", false)...) // not master's child
	p.add(200, 1, "dovecot", 'S', "/usr/sbin/dovecot", "-F")
	p.add(201, 200, "imap-login", 'S', "dovecot/imap-login")
	p.add(202, 200, "imap-login", 'S', "dovecot/imap-login")
	p.add(203, 200, "imap", 'S', "dovecot/imap")
	p.add(204, 200, "auth", 'S', "dovecot/auth")
	p.add(205, 200, "auth", 'S', "dovecot/auth -w")
	p.add(206, 200, "auth", 'S', "dovecot/auth", "-w") // title with the NULs kept
	p.add(207, 200, "managesieve-log", 'S', "dovecot/managesieve-login")
	p.add(208, 200, "anvil", 'S', "dovecot/anvil")
	p.add(209, 1, "imap-login", 'S', "dovecot/imap-login") // orphan, not counted
	pc := fakePostconf(t, dir, map[string][2]string{"/etc/postfix": {smallMasterCF, params(filepath.Join(dir, "spool"), 100)}})
	dc := fakeDoveconf(t, dir, filepath.Join("testdata", "doveconf.txt"))
	return p, pc, dc
}

func TestGolden(t *testing.T) {
	t.Parallel()
	p, pc, dc := stack(t)
	c := newCollector(testConfig(pc, dc), p.root, zap.NewNop())
	collectortest.CheckGolden(t, c, "success", false)
}

// TestOther: services after max_services are summed as _other, their limit
// summed only when every one of them has one.
func TestOther(t *testing.T) {
	t.Parallel()
	p, pc, dc := stack(t)
	cfg := testConfig(pc, dc)
	cfg.MaxServices = 2
	cfg.Dovecot.Enabled = off()
	c := newCollector(cfg, p.root, zap.NewNop())
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="smtp/inet"}`:       3,
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="submission/inet"}`: 1,
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="_other"}`:          2, // pickup, relay
		`mailwatch_postfix_stress_mode{postfix_instance="postfix",service="_other"}`:                0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if v, ok := got[`mailwatch_postfix_service_process_limit{postfix_instance="postfix",service="_other"}`]; ok {
		t.Errorf("_other has cleanup (maxproc 0, no limit): want no limit, got %v", v)
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "mailwatch_postfix_service_processes{") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d service series, want max_services 2 + _other", n)
	}
}

// TestPublicServicesFirst: with a long master.cf, the inet and pass
// services keep their labels whatever their place in the file.
func TestPublicServicesFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	p.add(100, 1, "master", 'S', master, "-w")
	p.add(101, 100, "smtpd", 'S', smtpd("mx-in", "pass", true)...)
	cf := "pickup unix n - y 60 1 pickup\ncleanup unix n - y - 0 cleanup\nqmgr unix n - n 300 1 qmgr\nmx-in pass - - y - 10 smtpd\n127.0.0.1:10025 inet n - n - - smtpd\n"
	pc := fakePostconf(t, dir, map[string][2]string{"/etc/postfix": {cf, params(dir, 100)}})
	cfg := testConfig(pc, "doveconf")
	cfg.Dovecot.Enabled = off()
	cfg.MaxServices = 2
	got, err := collectortest.Run(t.Context(), newCollector(cfg, p.root, zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="mx-in/pass"}`:           1,
		`mailwatch_postfix_stress_mode{postfix_instance="postfix",service="mx-in/pass"}`:                 1,
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="127.0.0.1:10025/inet"}`: 0,
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="_other"}`:               0,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got[`mailwatch_postfix_service_processes{postfix_instance="postfix",service="pickup/unix"}`]; ok {
		t.Error("pickup/unix is labelled; want it in _other behind the public services")
	}
}

// TestInstances: two instances, each master told by its working directory
// (what root sees); a third instance whose master cannot be told apart is
// reported failed, its processes not guessed.
func TestInstances(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	qa, qb := filepath.Join(dir, "spool-a"), filepath.Join(dir, "spool-b")
	p.add(100, 1, "master", 'S', master, "-w")
	p.setCwd(100, qa)
	p.add(101, 100, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(300, 1, "master", 'S', master, "-w")
	p.setCwd(300, qb)
	p.add(301, 300, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(302, 300, "smtpd", 'S', smtpd("smtp", "inet", true)...)
	p.add(400, 1, "master", 'S', "/usr/libexec/other/master") // another program's master
	cf := "smtp inet n - y - - smtpd\n"
	pc := fakePostconf(t, dir, map[string][2]string{
		"/etc/postfix":     {cf, params(qa, 100)},
		"/etc/postfix-out": {cf, params(qb, 20)},
		"/etc/postfix-dmz": {cf, params(filepath.Join(dir, "spool-c"), 100)},
	})
	cfg := testConfig(pc, "doveconf", Instance{ConfigDirectory: "/etc/postfix"}, Instance{ConfigDirectory: "/etc/postfix-out"}, Instance{ConfigDirectory: "/etc/postfix-dmz"})
	cfg.Dovecot.Enabled = off()
	c := newCollector(cfg, p.root, zap.NewNop())
	got, err := collectortest.Run(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="smtp/inet"}`:         1,
		`mailwatch_postfix_service_processes{postfix_instance="postfix-out",service="smtp/inet"}`:     2,
		`mailwatch_postfix_stress_mode{postfix_instance="postfix-out",service="smtp/inet"}`:           1,
		`mailwatch_postfix_stress_mode{postfix_instance="postfix",service="smtp/inet"}`:               0,
		`mailwatch_postfix_service_process_limit{postfix_instance="postfix-out",service="smtp/inet"}`: 20,
		`mailwatch_postfix_saturation_success{postfix_instance="postfix"}`:                            1,
		`mailwatch_postfix_saturation_success{postfix_instance="postfix-dmz"}`:                        0,
		`mailwatch_postfix_service_process_limit{postfix_instance="postfix-dmz",service="smtp/inet"}`: 100,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if v, ok := got[`mailwatch_postfix_service_processes{postfix_instance="postfix-dmz",service="smtp/inet"}`]; ok {
		t.Errorf("postfix-dmz's master is unknown: want no process count, got %v", v)
	}
}

// TestPidfile: the pidfile names the master when there are several and
// their working directories are not readable (no cwd links here).
func TestPidfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	q := filepath.Join(dir, "spool")
	if err := os.MkdirAll(filepath.Join(q, "pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(q, "pid", "master.pid"), "        300\n") // right-aligned, as Postfix writes it
	p.add(100, 1, "master", 'S', master, "-w")
	p.add(101, 100, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(300, 1, "master", 'S', master, "-w")
	p.add(301, 300, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(302, 300, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	pc := fakePostconf(t, dir, map[string][2]string{"/etc/postfix": {"smtp inet n - y - - smtpd\n", params(q, 100)}})
	cfg := testConfig(pc, "doveconf")
	cfg.Dovecot.Enabled = off()
	got, err := collectortest.Run(t.Context(), newCollector(cfg, p.root, zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	if v := got[`mailwatch_postfix_service_processes{postfix_instance="postfix",service="smtp/inet"}`]; v != 2 {
		t.Errorf("processes = %v, want 2 (the children of PID 300)", v)
	}
}

// TestStopped: with neither master running, the limits are still exported
// and the processes are 0; success is 0.
func TestStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	pc := fakePostconf(t, dir, map[string][2]string{"/etc/postfix": {smallMasterCF, params(dir, 100)}})
	dc := fakeDoveconf(t, dir, filepath.Join("testdata", "doveconf.txt"))
	got, err := collectortest.Run(t.Context(), newCollector(testConfig(pc, dc), p.root, zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{
		`mailwatch_postfix_service_processes{postfix_instance="postfix",service="smtp/inet"}`:     0,
		`mailwatch_postfix_service_process_limit{postfix_instance="postfix",service="smtp/inet"}`: 3,
		`mailwatch_postfix_saturation_success{postfix_instance="postfix"}`:                        0,
		`mailwatch_dovecot_service_processes{service="imap-login"}`:                               0,
		`mailwatch_dovecot_service_process_limit{service="imap-login"}`:                           100,
		`mailwatch_dovecot_saturation_success{}`:                                                  0,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

// TestNotInstalled: neither program exists: not applicable.
func TestNotInstalled(t *testing.T) {
	t.Parallel()
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	dir := t.TempDir()
	c := newCollector(testConfig(filepath.Join(dir, "postconf"), filepath.Join(dir, "doveconf")), p.root, zap.NewNop())
	_, err := collectortest.Run(t.Context(), c)
	if !errors.Is(err, collectors.ErrNotApplicable) {
		t.Errorf("got %v, want ErrNotApplicable", err)
	}
}

// TestFailures: a doveconf that fails (no permission to read the
// configuration) and a postconf that prints garbage are reported as
// failed parts, the run fails when nothing could be read.
func TestFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	pc := fakePostconf(t, dir, map[string][2]string{"/etc/postfix": {"smtp inet n\n", params(dir, 100)}})
	dc := filepath.Join(dir, "doveconf")
	if err := collectortest.WriteExecutable(dc, []byte("#!/bin/sh\necho 'doveconf: Fatal: Error in configuration file /etc/dovecot/conf.d/10-ssl.conf line 12: ssl_key: Can'\"'\"'t open file /etc/dovecot/private/dovecot.key: Permission denied' >&2\nexit 89\n")); err != nil {
		t.Fatal(err)
	}
	got, err := collectortest.Run(t.Context(), newCollector(testConfig(pc, dc), p.root, zap.NewNop()))
	if err == nil {
		t.Fatalf("both parts failed, want a run error; got %v", got)
	}
	if got[`mailwatch_dovecot_saturation_success{}`] != 0 || got[`mailwatch_postfix_saturation_success{postfix_instance="postfix"}`] != 0 {
		t.Errorf("want both successes at 0, got %v", got)
	}
}

// TestHungProgram: a postconf that never returns is killed at the run's
// deadline; the run returns then.
func TestHungProgram(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	pc := filepath.Join(dir, "postconf")
	if err := collectortest.WriteExecutable(pc, []byte("#!/bin/sh\nexec sleep 60\n")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(pc, "doveconf")
	cfg.Dovecot.Enabled = off()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := collectortest.Run(ctx, newCollector(cfg, p.root, zap.NewNop()))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the deadline's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its deadline")
	}
}

// TestRealProc reads this machine's /proc: the table parses, and any
// running master is found with its children's services.
func TestRealProc(t *testing.T) {
	t.Parallel()
	all, err := procTable{root: "/proc"}.list()
	if err != nil {
		t.Fatal(err)
	}
	self := false
	for _, p := range all {
		if p.pid == os.Getpid() {
			self = p.ppid == os.Getppid()
		}
	}
	if !self {
		t.Errorf("this process (PID %d, parent %d) not found with its parent in /proc", os.Getpid(), os.Getppid())
	}
}

// counting wraps a program in a script that appends a line to count at
// each start; runs returns how many times it ran.
func counting(t *testing.T, prog, count string) string {
	t.Helper()
	p := prog + "-counting"
	if err := collectortest.WriteExecutable(p, []byte("#!/bin/sh\necho x >> "+count+"\nexec "+prog+" \"$@\"\n")); err != nil {
		t.Fatal(err)
	}
	return p
}

func runs(t *testing.T, count string) int {
	t.Helper()
	b, err := os.ReadFile(count)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestConfigReused: postconf and doveconf run again only when what their
// output depends on changed (main.cf or master.cf, the program, Dovecot's
// master process) or configMaxAge passed; the processes are counted afresh
// at every run.
func TestConfigReused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc-postfix")
	if err := os.Mkdir(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(conf, "main.cf"), "default_process_limit = 100\n")
	writeFile(t, filepath.Join(conf, "master.cf"), smallMasterCF)
	p := newFakeProc(t)
	p.add(1, 0, "init", 'S', "/sbin/init")
	p.add(100, 1, "master", 'S', master, "-w")
	p.add(101, 100, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(200, 1, "dovecot", 'S', "/usr/sbin/dovecot", "-F")
	p.add(201, 200, "imap-login", 'S', "dovecot/imap-login")
	pcCount, dcCount := filepath.Join(dir, "postconf.runs"), filepath.Join(dir, "doveconf.runs")
	pc := counting(t, fakePostconf(t, dir, map[string][2]string{conf: {smallMasterCF, params(filepath.Join(dir, "spool"), 100)}}), pcCount)
	dc := counting(t, fakeDoveconf(t, dir, filepath.Join("testdata", "doveconf.txt")), dcCount)
	c := newCollector(testConfig(pc, dc, Instance{ConfigDirectory: conf}), p.root, zap.NewNop())
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	c.postfix.now, c.dovecot.now = clock, clock

	smtpProcs := `mailwatch_postfix_service_processes{postfix_instance="etc-postfix",service="smtp/inet"}`
	smtpLimit := `mailwatch_postfix_service_process_limit{postfix_instance="etc-postfix",service="smtp/inet"}`
	loginProcs := `mailwatch_dovecot_service_processes{service="imap-login"}`
	run := func(what string, wantPostconf, wantDoveconf int, want map[string]float64) {
		t.Helper()
		got, err := collectortest.Run(t.Context(), c)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n, m := runs(t, pcCount), runs(t, dcCount); n != wantPostconf || m != wantDoveconf {
			t.Errorf("%s: postconf ran %d times, doveconf %d; want %d and %d", what, n, m, wantPostconf, wantDoveconf)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %s = %v (present %v), want %v", what, k, g, ok, v)
			}
		}
	}
	run("first run", 2, 1, map[string]float64{smtpProcs: 1, smtpLimit: 3, loginProcs: 1})

	// Nothing changed but the processes: counted, the output reused.
	now = now.Add(30 * time.Second)
	p.add(102, 100, "smtpd", 'S', smtpd("smtp", "inet", false)...)
	p.add(202, 200, "imap-login", 'S', "dovecot/imap-login")
	run("unchanged configuration", 2, 1, map[string]float64{smtpProcs: 2, smtpLimit: 3, loginProcs: 2})

	// master.cf edited (smtp's maxproc 3 to 5): postconf runs again.
	now = now.Add(30 * time.Second)
	five := strings.Replace(smallMasterCF, "3       smtpd", "5 smtpd", 1) // another size too: the edit may fall in the tick of the first write
	writeFile(t, filepath.Join(dir, "etc-postfix.master"), five)          // what the fake prints
	writeFile(t, filepath.Join(conf, "master.cf"), five)
	run("master.cf changed", 4, 1, map[string]float64{smtpProcs: 2, smtpLimit: 5})

	// main.cf replaced by a new file (an editor's rename): postconf again.
	now = now.Add(30 * time.Second)
	writeFile(t, filepath.Join(conf, "main.cf.new"), "default_process_limit = 100\n")
	if err := os.Rename(filepath.Join(conf, "main.cf.new"), filepath.Join(conf, "main.cf")); err != nil {
		t.Fatal(err)
	}
	run("main.cf replaced", 6, 1, nil)

	// Dovecot restarted (another master PID): doveconf again.
	now = now.Add(30 * time.Second)
	p.add(300, 1, "dovecot", 'S', "/usr/sbin/dovecot", "-F")
	if err := os.RemoveAll(filepath.Join(p.root, "200")); err != nil {
		t.Fatal(err)
	}
	run("dovecot restarted", 6, 2, nil)

	// configMaxAge after the last runs: both again.
	now = now.Add(configMaxAge)
	run("after configMaxAge", 8, 3, nil)
	run("right after", 8, 3, nil)
}
