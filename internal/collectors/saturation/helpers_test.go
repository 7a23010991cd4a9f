// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// fakeProc is a /proc of fixture processes: stat, cmdline, and cwd as a
// symbolic link.
type fakeProc struct {
	t    testing.TB
	root string
}

func newFakeProc(t testing.TB) *fakeProc {
	return &fakeProc{t: t, root: t.TempDir()}
}

// add writes process pid with parent ppid, comm, state (R, S, Z) and argv.
func (f *fakeProc) add(pid, ppid int, comm string, state byte, argv ...string) {
	f.t.Helper()
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	// The fields after comm as proc(5) lists them; only state and ppid
	// matter here.
	stat := strconv.Itoa(pid) + " (" + comm + ") " + string(state) + " " + strconv.Itoa(ppid) + " 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 12345 1000000 300 18446744073709551615"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	cmd := ""
	if len(argv) > 0 {
		cmd = strings.Join(argv, "\x00") + "\x00"
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmd), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeProc) setCwd(pid int, dir string) {
	f.t.Helper()
	if err := os.Symlink(dir, filepath.Join(f.root, strconv.Itoa(pid), "cwd")); err != nil {
		f.t.Fatal(err)
	}
}

// smtpd is the argv master gives a child of service name/type (master_ent.c).
func smtpd(name, typ string, stress bool, extra ...string) []string {
	argv := []string{"smtpd"}
	if name != "smtpd" {
		argv = append(argv, "-n", name)
	}
	s := "stress="
	if stress {
		s = "stress=yes"
	}
	argv = append(argv, "-t", typ, "-u", "-c", "-o", s)
	return append(argv, extra...)
}

// fakePostconf writes a postconf that prints master for -M and params
// otherwise, per config directory (-c DIR); an unknown directory fails as
// postconf does.
func fakePostconf(t testing.TB, dir string, instances map[string][2]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\nconf=''\nm=''\nwhile [ $# -gt 0 ]; do case \"$1\" in -c) conf=$2; shift;; -M) m=1;; esac; shift; done\ncase \"$conf\" in\n")
	for conf, files := range instances {
		mf := filepath.Join(dir, filepath.Base(conf)+".master")
		pf := filepath.Join(dir, filepath.Base(conf)+".params")
		writeFile(t, mf, files[0])
		writeFile(t, pf, files[1])
		b.WriteString(conf + ") if [ -n \"$m\" ]; then cat " + mf + "; else cat " + pf + "; fi;;\n")
	}
	b.WriteString("*) echo \"postconf: fatal: open $conf/main.cf: No such file or directory\" >&2; exit 1;;\nesac\n")
	p := filepath.Join(dir, "postconf")
	if err := collectortest.WriteExecutable(p, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeDoveconf writes a doveconf that prints the file out.
func fakeDoveconf(t testing.TB, dir, out string) string {
	t.Helper()
	p := filepath.Join(dir, "doveconf")
	if err := collectortest.WriteExecutable(p, []byte("#!/bin/sh\ncat "+out+"\n")); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func params(queueDir string, defLimit int) string {
	return "default_process_limit = " + strconv.Itoa(defLimit) + "\nqueue_directory = " + queueDir +
		"\ndaemon_directory = /usr/lib/postfix/sbin\nanvil_rate_time_unit = 60s\nsmtpd_client_connection_count_limit = 50\nsmtpd_client_connection_rate_limit = 0\nsmtpd_client_message_rate_limit = 30\nsmtpd_client_recipient_rate_limit =\n"
}

func on() *bool  { v := true; return &v }
func off() *bool { v := false; return &v }

func testConfig(postconf, doveconf string, instances ...Instance) Config {
	cfg := Config{Postfix: Postfix{Postconf: postconf, Instances: instances}, Dovecot: Dovecot{Doveconf: doveconf}}
	cfg.ApplyDefaults()
	return cfg
}
