// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// TestDoveconfPermission: a doveconf that cannot read an included file
// (what an unprivileged daemon meets with SQL auth on Debian) is a failure
// that quotes doveconf and says which access to grant; one that works is OK.
func TestDoveconfPermission(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "doveconf-bad")
	if err := collectortest.WriteExecutable(bad, []byte("#!/bin/sh\necho 'doveconf: Fatal: Error in configuration file /etc/dovecot/conf.d/auth-sql.conf.ext line 11: Couldn'\"'\"'t open include file /etc/dovecot/dovecot-sql.conf.ext: Permission denied' >&2\nexit 89\n")); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "doveconf-good")
	if err := collectortest.WriteExecutable(good, []byte("#!/bin/sh\necho 'default_process_limit = 100'\n")); err != nil {
		t.Fatal(err)
	}
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\n")
	for _, tc := range []struct {
		prog   string
		status Status
		what   string
		fix    string
	}{
		{bad, Fail, "Couldn't open include file /etc/dovecot/dovecot-sql.conf.ext: Permission denied", "group dovecot"},
		{good, OK, "doveconf reads Dovecot's configuration", ""},
	} {
		h := testHost(t.TempDir())
		h.LookPath = func(string) (string, error) { return tc.prog, nil }
		f := find(Audit(cfg, h), "saturation", "doveconf")
		if f == nil || f.Status != tc.status || !strings.Contains(f.What, tc.what) || !strings.Contains(f.Fix, tc.fix) {
			t.Errorf("%s: got %+v, want status %s with %q and fix %q", filepath.Base(tc.prog), f, tc.status, tc.what, tc.fix)
		}
	}
}

// TestSeveralInstancesUnprivileged: more than one Postfix instance as a
// user other than root is a warning that says what is lost.
func TestSeveralInstancesUnprivileged(t *testing.T) {
	t.Parallel()
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\ncollectors:\n  saturation:\n    dovecot: {enabled: false}\n    postfix:\n      instances: [{config_directory: /etc/postfix}, {config_directory: /etc/postfix-out}]\n")
	h := testHost(t.TempDir())
	if f := find(Audit(cfg, h), "saturation", "2 Postfix instances"); f == nil || f.Status != Warn {
		t.Errorf("want a warning about telling masters apart, got %+v", f)
	}
	h.UID = 0
	if f := find(Audit(cfg, h), "saturation", "Postfix instances"); f != nil {
		t.Errorf("as root: want no warning, got %+v", f)
	}
}

// TestHidepid: /proc mounted with hidepid hides the mail processes.
func TestHidepid(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "proc/self/mountinfo"))
	writeMountinfo(t, filepath.Join(root, "proc/self/mountinfo"), "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible\n")
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\n")
	if f := find(Audit(cfg, testHost(root)), "saturation", "hidepid"); f == nil || f.Status != Fail {
		t.Errorf("want a hidepid failure, got %+v", f)
	}
}

func writeMountinfo(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
