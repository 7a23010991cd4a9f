// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoundTrip: the probe's needs, each a failure that says what to
// change: group postdrop for sendmail, a Maildir that exists with new/
// and cur/, a readable password file.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	maildir := filepath.Join(dir, "Maildir")
	sendmail := filepath.Join(dir, "sendmail")
	mkfile(t, sendmail)
	base := "global:\n  state_dir: " + t.TempDir() + "\ncollectors:\n  roundtrip:\n    enabled: true\n    from: probe@example.org\n    to: box@example.org\n"
	cfg := load(t, base+"    submit: {sendmail: "+sendmail+"}\n    mailbox: {path: "+maildir+"}\n")
	h := testHost(t.TempDir())

	if f := find(Audit(cfg, h), "roundtrip", "not in group postdrop"); f == nil || f.Status != Fail || !strings.Contains(f.Fix, "usermod -aG postdrop mailwatchd") {
		t.Errorf("without postdrop: got %+v", f)
	}
	if f := find(Audit(cfg, h), "roundtrip", "does not exist"); f == nil || f.Status != Fail || !strings.Contains(f.Fix, "install -d -m 2770") {
		t.Errorf("no Maildir: got %+v", f)
	}
	h.Groups["postdrop"] = true
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, sub), 0o2770); err != nil {
			t.Fatal(err)
		}
	}
	fs := Audit(cfg, h)
	if f := find(fs, "roundtrip", "submitted with "+sendmail); f == nil || f.Status != OK {
		t.Errorf("with postdrop: got %+v", f)
	}
	if f := find(fs, "roundtrip", "can be listed and cleaned"); f == nil || f.Status != OK {
		t.Errorf("Maildir in place: got %+v", f)
	}

	imap := load(t, base+"    submit: {method: smtp, smtp: {address: '127.0.0.1:465', username: probe, password_file: "+filepath.Join(dir, "missing")+"}}\n    mailbox: {method: imap, imap: {address: '127.0.0.1:993', username: probe, password_file: "+sendmail+"}}\n")
	fs = Audit(imap, h)
	if f := find(fs, "roundtrip", "submit.smtp: cannot read the password"); f == nil || f.Status != Fail {
		t.Errorf("missing password file: got %+v", f)
	}
	if f := find(fs, "roundtrip", "mailbox.imap: the password file is readable"); f == nil || f.Status != OK {
		t.Errorf("readable password file: got %+v", f)
	}
}
