// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebianPackageInstall installs the package `make deb` builds on this
// machine, the way an admin would (dpkg -i), and checks what its maintainer
// scripts did: the account with its groups, the state directory, the ACL on
// fail2ban's database, the unit enabled with deb-systemd-helper. The
// installed unit passes systemd-analyze verify, the installed config passes
// --config.check, and the installed binary, run as the unit runs it (the
// mailwatchd account with its supplementary groups: systemd is not PID 1
// here), reads the mail log and the Postfix queue of the real stack. Then
// dpkg -r and dpkg -P leave nothing but the state directory (and the
// account), as postrm documents.
//
// Not parallel: it installs system-wide, and the fail2ban test changes the
// ACLs of the same database while it runs.
func TestDebianPackageInstall(t *testing.T) {
	env := LoadEnv(t)
	if os.Geteuid() != 0 {
		t.Skip("installs a package: root only")
	}
	root := repoRoot(t)
	cmd := exec.Command(filepath.Join(root, "deploy", "debian", "build.sh"), t.TempDir())
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/debian/build.sh: %v\n%s", err, stderr.String())
	}
	deb := strings.TrimSpace(string(out))
	deb = deb[strings.LastIndexByte(deb, '\n')+1:]

	t.Cleanup(func() {
		if exec.Command("dpkg", "-s", "mailwatchd").Run() == nil {
			_ = exec.Command("dpkg", "-P", "mailwatchd").Run()
		}
	})
	run(t, "dpkg", "-i", deb)
	files := strings.Fields(run(t, "dpkg", "-L", "mailwatchd"))
	version := strings.TrimSpace(run(t, "dpkg-query", "-W", "-f=${Version}", "mailwatchd"))

	// The account and its groups (deploy/systemd/mailwatchd.sysusers).
	u, err := user.Lookup("mailwatchd")
	if err != nil {
		t.Fatalf("no mailwatchd account after install: %v", err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, g := range gids {
		if grp, err := user.LookupGroupId(g); err == nil {
			groups = append(groups, grp.Name)
		}
	}
	for _, want := range []string{"mailwatchd", "adm", "systemd-journal", "postdrop", "mail"} {
		if !slices.Contains(groups, want) {
			t.Errorf("mailwatchd is not in group %s (groups %v)", want, groups)
		}
	}
	// The state directory and the fail2ban ACL (deploy/systemd/mailwatchd.tmpfiles).
	if fi, err := os.Stat("/var/lib/mailwatchd"); err != nil {
		t.Errorf("state directory: %v", err)
	} else if st := fi.Sys().(*syscall.Stat_t); fmt.Sprint(st.Uid) != u.Uid || fi.Mode().Perm() != 0o750 {
		t.Errorf("/var/lib/mailwatchd: owner %d, mode %v; want %s, 0750", st.Uid, fi.Mode().Perm(), u.Uid)
	}
	if acl := run(t, "getfacl", "-p", env.Fail2banDB); !strings.Contains(acl, "user:mailwatchd:r--") {
		t.Errorf("no read ACL for mailwatchd on %s:\n%s", env.Fail2banDB, acl)
	}
	// Enabled the Debian way: deb-systemd-helper made the WantedBy= link.
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/mailwatchd.service"); err != nil {
		t.Errorf("unit not enabled by postinst: %v", err)
	}

	if out := run(t, "systemd-analyze", "verify", "/lib/systemd/system/mailwatchd.service"); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify on the installed unit:\n%s", out)
	}
	run(t, "/usr/bin/mailwatchd", "--config.check", "--config.file=/etc/mailwatchd/config.yaml")

	// The installed binary and config, as the unit runs them.
	addr := FreeAddr(t)
	daemon := exec.Command("setpriv", "--reuid=mailwatchd", "--regid=mailwatchd", "--init-groups", "--",
		"/usr/bin/mailwatchd", "--config.file=/etc/mailwatchd/config.yaml", "--web.listen-address="+addr)
	var logs bytes.Buffer
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = daemon.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(15 * time.Second):
				_ = daemon.Process.Kill()
				<-exited
			}
		}
	}
	defer stop()

	want := map[string]map[string]string{
		"mailwatch_build_info":            {"version": version},
		"mailwatch_collector_success":     {"collector": "postfix_queue"}, // the showq socket: group postdrop
		"mailwatch_log_read_errors_total": {"source": "mail"},
	}
	if env.LogMode == "syslog" { // /var/log/mail.log, group adm, is the example config's source
		want["mailwatch_log_last_line_timestamp_seconds"] = map[string]string{"source": "mail"}
	}
	err = Eventually(30*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		if _, err := body.ReadFrom(resp.Body); err != nil {
			return err
		}
		mfs, err := ParseMetrics(body.Bytes())
		if err != nil {
			return err
		}
		var errs []error
		for name, labels := range want {
			v, err := SampleValue(mfs, name, labels)
			switch {
			case err != nil:
				errs = append(errs, err)
			case name == "mailwatch_collector_success" && v != 1,
				name == "mailwatch_log_read_errors_total" && v != 0:
				errs = append(errs, fmt.Errorf("%s%v = %g", name, labels, v))
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Errorf("the installed daemon, run as mailwatchd: %v\nits log:\n%s", err, logs.String())
	}
	stop()

	// Remove: the conffile stays, everything else of the package goes.
	run(t, "dpkg", "-r", "mailwatchd")
	for _, f := range files {
		// dpkg -L lists the directories too; /lib is a symlink to usr/lib on Debian 12.
		fi, err := os.Stat(f)
		if err != nil || fi.IsDir() {
			continue
		}
		if f != "/etc/mailwatchd/config.yaml" {
			t.Errorf("%s is still there after dpkg -r", f)
		}
	}
	if _, err := os.Stat("/etc/mailwatchd/config.yaml"); err != nil {
		t.Errorf("dpkg -r removed the conffile: %v", err)
	}
	// Purge: the conffile and the enablement go; the state directory stays.
	run(t, "dpkg", "-P", "mailwatchd")
	for _, gone := range []string{"/etc/mailwatchd", "/etc/systemd/system/multi-user.target.wants/mailwatchd.service"} {
		if _, err := os.Lstat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after dpkg -P (%v)", gone, err)
		}
	}
	if _, err := os.Stat("/var/lib/mailwatchd"); err != nil {
		t.Errorf("dpkg -P removed the state directory, which postrm says it keeps: %v", err)
	}
}
