// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

func mkfile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func find(fs []Finding, area, substr string) *Finding {
	for i := range fs {
		if fs[i].Area == area && strings.Contains(fs[i].What, substr) {
			return &fs[i]
		}
	}
	return nil
}

func testHost(root string) Host {
	return Host{
		Root: root, UID: 1000, User: &user.User{Username: "mailwatchd"}, Groups: map[string]bool{"mailwatchd": true},
		LookPath: func(string) (string, error) { return "", errors.New("none") },
		Dial:     func(string, string, time.Duration) (net.Conn, error) { return nil, errors.New("refused") },
	}
}

// TestJournalOnlyHost: Debian 12 without rsyslog has no mail.log; the audit
// must say the journal is where mail logs and how to configure it.
func TestJournalOnlyHost(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "/run/systemd/journal/socket"))
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\n")
	cfg.Logs.Sources[0].Paths = []string{filepath.Join(root, "var/log/mail.log")}
	got := Audit(cfg, testHost(root))
	f := find(got, "logs", "no /var/log/mail.log and no rsyslog")
	if f == nil || f.Status != Fail || !strings.Contains(f.Fix, "type: journal") {
		t.Fatalf("want a failing journal-only finding with a fix, got %+v", got)
	}
}

func TestUnwatchedAndUnits(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "/run/systemd/system/.keep"))
	mkfile(t, filepath.Join(root, "/usr/sbin/dovecot"))
	mkfile(t, filepath.Join(root, "/usr/bin/rspamd"))
	mkfile(t, filepath.Join(root, "/lib/systemd/system/postfix@.service"))
	mkfile(t, filepath.Join(root, "/lib/systemd/system/dovecot.service"))
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\ncollectors:\n  service:\n    backend: systemd\n    units: [postfix@-.service, dovecot.service, opendkim.service]\n    optional_units: []\n")
	got := Audit(cfg, testHost(root))
	if f := find(got, "services", "unit postfix@-.service is installed"); f == nil || f.Status != OK {
		t.Errorf("postfix@-.service should be found through the template unit postfix@.service: %+v", got)
	}
	if f := find(got, "services", "unit opendkim.service is not installed"); f == nil || f.Status != Warn {
		t.Errorf("missing opendkim.service not reported: %+v", got)
	}
	if f := find(got, "coverage", "/usr/bin/rspamd is installed but rspamd.service is not watched"); f == nil || !strings.Contains(f.Fix, "rspamd.service") {
		t.Errorf("unwatched rspamd not reported: %+v", got)
	}
	if f := find(got, "coverage", "/usr/sbin/dovecot"); f != nil {
		t.Errorf("dovecot is watched, no finding expected: %+v", f)
	}
}

func TestStateDirAndEndpointsHint(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	cfg := load(t, "global:\n  state_dir: "+missing+"\n")
	h := testHost(root)
	h.Dial = func(_, addr string, _ time.Duration) (net.Conn, error) {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("dialled a non-loopback address %s", addr)
		}
		if strings.HasSuffix(addr, ":25") {
			c, s := net.Pipe()
			s.Close()
			return c, nil
		}
		return nil, errors.New("refused")
	}
	got := Audit(cfg, h)
	if f := find(got, "state", "does not exist"); f == nil || f.Status != Warn || !strings.Contains(f.Fix, missing) {
		t.Errorf("missing state dir: %+v", got)
	}
	if f := find(got, "certificates", "ports 25 listen"); f == nil || !strings.Contains(f.Fix, "smtp://127.0.0.1:25") {
		t.Errorf("listening port without endpoint: %+v", got)
	}
}

func TestWriteAndExit(t *testing.T) {
	t.Parallel()
	fs := []Finding{{Area: "logs", Status: OK, What: "fine"}, {Area: "queue", Status: Fail, What: "cannot connect", Fix: "add to postdrop"}, {Area: "dns", Status: Warn, What: "off"}}
	var b bytes.Buffer
	if err := Write(&b, fs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "fail  queue         cannot connect\n                    fix: add to postdrop\nwarn") || !strings.Contains(out, "1 problem(s), 1 warning(s), 1 ok") {
		t.Errorf("unexpected report:\n%s", out)
	}
	if Exit(fs) != 2 || Exit(fs[:1]) != 0 || Exit(fs[2:]) != 1 {
		t.Errorf("exit codes: %d %d %d", Exit(fs), Exit(fs[:1]), Exit(fs[2:]))
	}
}

// TestInotify: a file source that cannot use inotify is reported with the
// sysctl to raise; one that is only partly watched says it polls there.
func TestInotify(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cfg := load(t, "global:\n  state_dir: "+t.TempDir()+"\n")
	h := testHost(root)
	var asked []string
	h.Inotify = func(p []string) (bool, error) {
		asked = p
		return false, errors.New("inotify_add_watch /var/log/mail.log: no space left on device (fs.inotify.max_user_watches reached)")
	}
	got := Audit(cfg, h)
	f := find(got, "logs", "cannot watch its files with inotify")
	if f == nil || f.Status != Warn || !strings.Contains(f.Fix, "max_user_watches") || !strings.Contains(f.What, "max_user_watches") {
		t.Errorf("out of watches: want a warning with the sysctl, got %+v", got)
	}
	if len(asked) != 1 || asked[0] != cfg.Logs.Sources[0].Paths[0] {
		t.Errorf("checked patterns %q, want the source's", asked)
	}
	h.Inotify = func([]string) (bool, error) { return false, nil }
	if f := find(Audit(cfg, h), "logs", "found by polling"); f == nil || f.Status != Info {
		t.Errorf("partly watched: want an info finding, got %+v", f)
	}
	h.Inotify = func([]string) (bool, error) { return true, nil }
	if f := find(Audit(cfg, h), "logs", "watched with inotify"); f == nil || f.Status != OK {
		t.Errorf("watched: want an ok finding, got %+v", f)
	}
}

// TestChores: what the chores' watch needs, as the daemon's user.
func TestChores(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads every file: the permission findings cannot show")
	}
	root := t.TempDir()
	le := filepath.Join(root, "letsencrypt")
	if err := os.Mkdir(le, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(le, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(le, 0o700) })
	cfg := load(t, "global: {state_dir: "+root+"}\ncollectors:\n  service: {backend: process, certbot_log_dir: "+le+"}\n")
	fs := chores(cfg, testHost(root))
	if f := find(fs, "chores", "certbot.timer comes from certbot's log"); f == nil || f.Status != Warn || !strings.Contains(f.Fix, "setfacl") {
		t.Errorf("unreadable certbot log dir: %+v", fs)
	}
}

// TestChoresMaintenanceAndPostfixCheck runs as any user.
func TestChoresMaintenanceAndPostfixCheck(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "usr/sbin/postfix"))
	state := filepath.Join(root, "state")
	mkfile(t, filepath.Join(state, "maintenance.json")) // "x": not a maintenance file
	cfg := load(t, "global: {state_dir: "+state+"}\n")
	fs := chores(cfg, testHost(root))
	if f := find(fs, "chores", "maintenance.json"); f == nil || f.Status != Fail {
		t.Errorf("a broken maintenance file: %+v", fs)
	}
	if f := find(fs, "chores", "postfix check runs only as root"); f == nil || f.Status != Info {
		t.Errorf("postfix check as mailwatchd: %+v", fs)
	}
	if err := os.WriteFile(filepath.Join(state, "maintenance.json"), []byte(`{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T01:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if f := find(chores(cfg, testHost(root)), "chores", "expired maintenance window"); f == nil || f.Status != Info {
		t.Errorf("an expired window: %+v", chores(cfg, testHost(root)))
	}
}
