// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/mailwatchd/mailwatchd/internal/collectors/roundtrip"
	"github.com/mailwatchd/mailwatchd/internal/config"
)

// roundTrip audits what the mail round-trip probe needs: group postdrop
// for sendmail, read, write and search access to the probe Maildir's
// new/ and cur/ (it deletes the probes), and readable password and CA
// files.
func roundTrip(cfg *config.Config, h Host) []Finding {
	rt := cfg.Collectors.RoundTrip
	if !rt.IsEnabled() {
		return nil
	}
	var out []Finding
	switch rt.Submit.Method {
	case roundtrip.MethodSendmail:
		if _, err := os.Stat(rt.Submit.Sendmail); err != nil {
			out = append(out, Finding{Area: "roundtrip", Status: Fail, What: "sendmail " + rt.Submit.Sendmail + ": " + shortErr(err),
				Fix: "set collectors.roundtrip.submit.sendmail to Postfix's sendmail (postconf -h sendmail_path)"})
		} else if h.UID != 0 && !h.Groups["postdrop"] {
			out = append(out, Finding{Area: "roundtrip", Status: Fail, What: h.userName() + " is not in group postdrop: Postfix's sendmail cannot queue the probe (postdrop: Permission denied)",
				Fix: "add " + h.userName() + " to group postdrop (usermod -aG postdrop " + h.userName() + ", or SupplementaryGroups=postdrop in the unit) and restart it"})
		} else {
			out = append(out, Finding{Area: "roundtrip", Status: OK, What: "the probe is submitted with " + rt.Submit.Sendmail})
		}
	case roundtrip.MethodSMTP:
		out = append(out, serverFiles("submit.smtp", rt.Submit.SMTP)...)
	}
	switch rt.Mailbox.Method {
	case roundtrip.MethodMaildir:
		out = append(out, probeMaildir(rt.Mailbox.Path, h))
	case roundtrip.MethodIMAP:
		out = append(out, serverFiles("mailbox.imap", rt.Mailbox.IMAP)...)
	}
	return out
}

// probeMaildir: the daemon lists new/ and cur/, reads the files and
// deletes the probes, so it needs read, write and search access to both.
func probeMaildir(root string, h Host) Finding {
	fix := "make the Maildir group-owned by a group of " + h.userName() + ", group-writable and setgid, so that Dovecot gives the files it delivers the same group: chgrp -R <group> " + root + "; chmod 2770 " + root + " " + filepath.Join(root, "new") + " " + filepath.Join(root, "cur")
	for _, dir := range []string{root, filepath.Join(root, "new"), filepath.Join(root, "cur")} {
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return Finding{Area: "roundtrip", Status: Fail, What: "probe Maildir: " + dir + " does not exist (Dovecot creates it at the first delivery, with the user's own permissions)",
				Fix: "create it before the first delivery: install -d -m 2770 -o <probe user> -g <a group of " + h.userName() + "> " + root + " " + filepath.Join(root, "cur") + " " + filepath.Join(root, "new") + " " + filepath.Join(root, "tmp")}
		case err != nil:
			return Finding{Area: "roundtrip", Status: Fail, What: "probe Maildir: " + shortErr(err), Fix: fix}
		case !st.IsDir():
			return Finding{Area: "roundtrip", Status: Fail, What: "probe Maildir: " + dir + " is not a directory", Fix: "point collectors.roundtrip.mailbox.path at the Maildir (the directory that holds cur/, new/ and tmp/)"}
		}
		mode := uint32(unix.R_OK | unix.W_OK | unix.X_OK)
		if dir == root {
			mode = unix.X_OK
		}
		if err := unix.Access(dir, mode); err != nil {
			return Finding{Area: "roundtrip", Status: Fail, What: "probe Maildir: " + h.userName() + " cannot list and delete in " + dir + " (" + err.Error() + ")", Fix: fix}
		}
	}
	return Finding{Area: "roundtrip", Status: OK, What: "probe Maildir " + root + ": new/ and cur/ can be listed and cleaned"}
}

// serverFiles: the password file (and the CA file) must be readable.
func serverFiles(at string, s roundtrip.Server) []Finding {
	var out []Finding
	if _, err := roundtrip.ReadPassword(s.PasswordFile); err != nil {
		out = append(out, Finding{Area: "roundtrip", Status: Fail, What: "collectors.roundtrip." + at + ": cannot read the password: " + shortErr(err),
			Fix: "make " + s.PasswordFile + " readable for the daemon's user only (chmod 0640, group of the daemon), its first line the password"})
	} else {
		out = append(out, Finding{Area: "roundtrip", Status: OK, What: "collectors.roundtrip." + at + ": the password file is readable"})
	}
	if s.CAFile != "" {
		if err := canRead(s.CAFile); err != nil {
			out = append(out, Finding{Area: "roundtrip", Status: Fail, What: "collectors.roundtrip." + at + ".ca_file: " + shortErr(err), Fix: "make the CA bundle readable for the daemon's user"})
		}
	}
	return out
}
