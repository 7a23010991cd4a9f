// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ClamDB is one ClamAV signature database written by WriteClamDBs.
type ClamDB struct {
	Name, File string
	Version    int
	Signatures int
	Built      time.Time
}

// clamDBs are plausible databases: main is months old (it is rebuilt rarely), daily hours old.
func clamDBs(now time.Time) []ClamDB {
	return []ClamDB{
		{Name: "main", File: "main.cvd", Version: 62, Signatures: 6647427, Built: now.Add(-90 * 24 * time.Hour).Truncate(time.Minute)},
		{Name: "daily", File: "daily.cld", Version: 27463, Signatures: 2069918, Built: now.Add(-3 * time.Hour).Truncate(time.Minute)},
		{Name: "bytecode", File: "bytecode.cvd", Version: 335, Signatures: 86, Built: now.Add(-30 * 24 * time.Hour).Truncate(time.Minute)},
	}
}

// WriteClamDBs writes main.cvd, daily.cld and bytecode.cvd with the 512-byte header freshclam's
// files start with (sigtool's format: build time, version, signatures, functionality level,
// MD5, digital signature, builder, Unix build time), followed by some body bytes.
func WriteClamDBs(t testing.TB, dir string) []ClamDB {
	t.Helper()
	dbs := clamDBs(time.Now())
	for _, db := range dbs {
		hdr := fmt.Sprintf("ClamAV-VDB:%s:%d:%d:90:%032x:X:e2e:%d", db.Built.UTC().Format("02 Jan 2006 15-04 -0700"),
			db.Version, db.Signatures, db.Version, db.Built.Unix())
		if len(hdr) > 512 {
			t.Fatalf("ClamAV header too long: %q", hdr)
		}
		body := hdr + strings.Repeat(" ", 512-len(hdr)) + "signatures would follow here"
		if err := os.WriteFile(filepath.Join(dir, db.File), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dbs
}

// Backup is the archive WriteBackup wrote.
type Backup struct {
	File    string
	Size    int64
	ModTime time.Time
	Entries int
}

// WriteBackup writes dir/mail-DATE.tar.gz, a small intact tar.gz of three Maildir messages, with
// the modification time of a backup that finished three hours ago.
func WriteBackup(t testing.TB, dir string) Backup {
	t.Helper()
	mtime := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	name := filepath.Join(dir, "mail-"+mtime.Format("20060102")+".tar.gz")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	entries := []string{"alice/Maildir/cur/1.eml", "bob/Maildir/cur/2.eml", "carol/Maildir/new/3.eml"}
	for i, e := range entries {
		body := fmt.Sprintf("From: e2e@example.test\r\nSubject: message %d\r\n\r\nbody\r\n", i)
		if err := tw.WriteHeader(&tar.Header{Name: e, Mode: 0o600, Size: int64(len(body)), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, zw, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(name, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return Backup{File: name, Size: st.Size(), ModTime: mtime, Entries: len(entries)}
}

// Fixtures are the test-made files StackConfig and HealthyCheckConfig refer to.
type Fixtures struct {
	ClamDBs []ClamDB
	Backup  Backup
	Vars    map[string]string
}

// StackVars writes the ClamAV databases and the backup set into fresh directories and returns
// them with the template variables of StackConfig and HealthyCheckConfig:
//
//   - ClamDir, BackupDir: those directories;
//   - DNSBLAddresses: the listed, the "error" and the clean address of the test DNSBL;
//   - QueueWarning, QueueCritical: above everything the traffic plan leaves queued (deferred and
//     held) by 100 and 500, so the healthy stack's queue is OK at any MWH_SCALE;
//   - ExtraCertFiles: "" (append ", /path" to watch more certificate files);
//   - CAFile: the harness certificate, the CA of every harness endpoint (self-signed);
//   - ProbeSendmail, ProbeMaildir: the round-trip probe's stand-in sendmail and its Maildir (see
//     WriteProbeMailbox).
func StackVars(t testing.TB, env *Env) Fixtures {
	t.Helper()
	clam, backup := t.TempDir(), t.TempDir()
	sendmail, maildir := WriteProbeMailbox(t)
	// t.TempDir is 0700; the daemon may run as the monitor user.
	for _, d := range []string{clam, backup} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	queued := env.PlanInt(t, "DEFERRED_EXPECTED") + env.PlanInt(t, "HOLD_EXPECTED")
	return Fixtures{
		ClamDBs: WriteClamDBs(t, clam),
		Backup:  WriteBackup(t, backup),
		Vars: map[string]string{
			"ClamDir":        clam,
			"BackupDir":      backup,
			"DNSBLAddresses": fmt.Sprintf("[%s, %s, %s]", env.DNSBLListed, env.DNSBLError, env.DNSBLClean),
			"QueueWarning":   fmt.Sprint(queued + 100),
			"QueueCritical":  fmt.Sprint(queued + 500),
			"ExtraCertFiles": "",
			"CAFile":         env.CertFile,
			"ProbeSendmail":  sendmail,
			"ProbeMaildir":   maildir,
		},
	}
}

// WriteProbeMailbox makes a Maildir and a stand-in sendmail that delivers each message straight
// into it (tmp/, then new/, as Dovecot does) for the round-trip probe of StackConfig. That probe
// must not go through Postfix: a probe in its queue would change the exact queue counts the
// collector and check tests compare with postqueue -j, and several StackConfig daemons run at
// once. TestRoundTrip sends its probes through the real stack.
func WriteProbeMailbox(t testing.TB) (sendmail, maildir string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	maildir = filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sendmail = filepath.Join(dir, "sendmail")
	script := "#!/bin/sh\nset -e\nf=$(mktemp " + maildir + "/tmp/probe.XXXXXX)\ncat > \"$f\"\nmv \"$f\" " + maildir + "/new/\n"
	if err := os.WriteFile(sendmail, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return sendmail, maildir
}
