// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Harness runs test/harness/harness.sh with args (root only) and returns its combined output;
// a non-zero exit fails the test.
func (e *Env) Harness(t testing.TB, args ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("harness.sh %s needs root", strings.Join(args, " "))
	}
	cmd := exec.Command(filepath.Join(e.HarnessDir, "harness.sh"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("harness.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// StopService stops one daemon of the stack by the PID the harness recorded (fault injection)
// and returns a function that starts it again through the harness. The restart also runs when
// the test ends, so a failed test does not leave the stack broken for the tests after it.
func (e *Env) StopService(t testing.TB, name string) (restart func()) {
	t.Helper()
	e.Harness(t, "stop-service", name)
	restarted := false
	restart = func() {
		t.Helper()
		if !restarted {
			restarted = true
			e.Harness(t, "start")
		}
	}
	t.Cleanup(restart)
	return restart
}

// QueueCounts is what `postqueue -j` says about the Postfix queue.
type QueueCounts struct {
	Messages map[string]int // by queue_name
	Refused  int            // deferred recipients whose delay_reason says "Connection refused"
	Grey     int            // deferred recipients whose delay_reason says "Greylisted"
}

// Postqueue reads the queue with `postqueue -j`, Postfix's own JSON view of it.
func Postqueue(t testing.TB) QueueCounts {
	t.Helper()
	out, err := exec.Command("postqueue", "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	q := QueueCounts{Messages: map[string]int{}}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m struct {
			Queue      string `json:"queue_name"`
			Recipients []struct {
				Reason string `json:"delay_reason"`
			} `json:"recipients"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("postqueue -j: %v: %s", err, sc.Bytes())
		}
		q.Messages[m.Queue]++
		for _, r := range m.Recipients {
			if m.Queue != "deferred" {
				continue
			}
			if strings.Contains(r.Reason, "Connection refused") {
				q.Refused++
			}
			if strings.Contains(r.Reason, "Greylisted") {
				q.Grey++
			}
		}
	}
	return q
}

// MakeCert writes a self-signed certificate for name (and 127.0.0.1) valid for days, and its
// key, with openssl into dir as NAME.crt and NAME.key (key mode 0600, certificate 0644).
func MakeCert(t testing.TB, dir, file, name string, days int) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, file+".crt"), filepath.Join(dir, file+".key")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-sha256", "-days", fmt.Sprint(days), "-subj", "/CN="+name,
		"-addext", "subjectAltName=DNS:"+name+",IP:127.0.0.1",
		"-addext", "basicConstraints=critical,CA:FALSE",
		"-addext", "keyUsage=critical,digitalSignature",
		"-addext", "extendedKeyUsage=serverAuth",
		"-keyout", keyFile, "-out", certFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	if err := os.Chmod(certFile, 0o644); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// CertNotAfter is the certificate file's notAfter as openssl reads it (`openssl x509 -enddate`).
func CertNotAfter(t testing.TB, certFile string) time.Time {
	t.Helper()
	out, err := exec.Command("openssl", "x509", "-in", certFile, "-noout", "-enddate").Output()
	if err != nil {
		t.Fatalf("openssl x509 -enddate -in %s: %v", certFile, err)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "notAfter=")
	if !ok {
		t.Fatalf("openssl x509 -enddate: unexpected output %q", out)
	}
	na, err := time.Parse("Jan _2 15:04:05 2006 MST", v)
	if err != nil {
		t.Fatalf("openssl x509 -enddate: %v", err)
	}
	return na
}

// GrantTmpfilesACL applies the ACL lines (a, a+) of deploy/systemd/mailwatchd.tmpfiles with
// systemd-tmpfiles, for user instead of the mailwatchd account and with the fail2ban database at
// db, exactly as a package install does. The previous ACLs are restored when the test ends.
func (e *Env) GrantTmpfilesACL(t testing.TB, user, db string) {
	t.Helper()
	const (
		shippedDB  = "/var/lib/fail2ban/fail2ban.sqlite3"
		shippedDir = "/var/lib/fail2ban"
	)
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "systemd", "mailwatchd.tmpfiles"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(src), "\n") {
		f := strings.Fields(l)
		if len(f) < 7 || (f[0] != "a" && f[0] != "a+") {
			continue
		}
		switch f[1] {
		case shippedDB:
			f[1] = db
		case shippedDir:
			f[1] = filepath.Dir(db)
		default:
			t.Fatalf("mailwatchd.tmpfiles: ACL on %s, which the harness does not know", f[1])
		}
		f[6] = strings.ReplaceAll(f[6], ":mailwatchd:", ":"+user+":")
		lines = append(lines, strings.Join(f, " "))
	}
	if len(lines) != 2 {
		t.Fatalf("mailwatchd.tmpfiles: want 2 ACL lines (directory and database), found %d", len(lines))
	}
	dir := t.TempDir()
	saved := filepath.Join(dir, "acl.saved")
	out, err := exec.Command("getfacl", "--absolute-names", filepath.Dir(db), db).Output()
	if err != nil {
		t.Fatalf("getfacl: %v", err)
	}
	if err := os.WriteFile(saved, out, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("setfacl", "--restore="+saved).CombinedOutput(); err != nil {
			t.Errorf("restore the ACLs of %s: %v\n%s", db, err, out)
		}
	})
	conf := filepath.Join(dir, "mailwatchd-e2e.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-tmpfiles", "--create", conf).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles --create %s: %v\n%s", strings.Join(lines, "; "), err, out)
	}
}
