// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

// doveconfTimeout bounds the doveconf run of the audit.
const doveconfTimeout = 10 * time.Second

// saturation audits what the saturation collector needs: processes of
// other users visible in /proc (no hidepid), doveconf able to read
// Dovecot's configuration as this user, and, with several Postfix
// instances, the privilege to tell their masters apart.
func saturation(cfg *config.Config, h Host) []Finding {
	s := cfg.Collectors.Saturation
	if !s.IsEnabled() {
		return nil
	}
	var out []Finding
	if b, err := os.ReadFile(h.path("/proc/self/mountinfo")); err == nil && h.UID != 0 {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 5 && f[4] == "/proc" && strings.Contains(line, "hidepid=") && !strings.Contains(line, "hidepid=0") && !strings.Contains(line, "hidepid=off") {
				out = append(out, Finding{Area: "saturation", Status: Fail, What: "/proc is mounted with hidepid: " + h.userName() + " cannot see Postfix's and Dovecot's processes, every count would be 0",
					Fix: "mount /proc with gid=<a group of " + h.userName() + "> (hidepid exempts it), or run the daemon as root"})
			}
		}
	}
	if s.Dovecot.Enabled != nil && *s.Dovecot.Enabled {
		out = append(out, doveconfAccess(s.Dovecot.Doveconf, h))
	}
	if s.Postfix.Enabled != nil && *s.Postfix.Enabled && len(s.Postfix.Instances) > 1 && h.UID != 0 {
		out = append(out, Finding{Area: "saturation", Status: Warn,
			What: fmt.Sprintf("%d Postfix instances: which master process is whose is told by its pidfile or working directory, both root's; as %s the process counts are exported only while a single master runs", len(s.Postfix.Instances), h.userName()),
			Fix:  "run the daemon as root, or list only the instance whose saturation matters (limits are exported for every instance either way)"})
	}
	return out
}

// doveconfAccess runs doveconf as the collector does: it must read
// dovecot.conf and every file it includes.
func doveconfAccess(prog string, h Host) Finding {
	path, err := h.LookPath(prog)
	if err != nil {
		return Finding{Area: "saturation", Status: Info, What: "doveconf not found: the Dovecot part of the saturation collector reports nothing", Fix: "set collectors.saturation.dovecot.enabled: false if Dovecot is not on this host"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), doveconfTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-a", "service", "default_process_limit")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch {
	case err == nil:
		return Finding{Area: "saturation", Status: OK, What: "doveconf reads Dovecot's configuration (process and client limits)"}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return Finding{Area: "saturation", Status: Fail, What: fmt.Sprintf("doveconf did not answer within %s", doveconfTimeout)}
	}
	msg := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	f := Finding{Area: "saturation", Status: Fail, What: "doveconf fails as " + h.userName() + ": " + msg,
		Fix: "doveconf must read dovecot.conf and every file it includes: give " + h.userName() + " read access to the one named (files with passwords such as dovecot-sql.conf.ext are root:dovecot 0640 on Debian: add it to group dovecot, or setfacl -m u:" + h.userName() + ":r FILE), or set collectors.saturation.dovecot.enabled: false"}
	if !strings.Contains(msg, "Permission denied") && !errors.Is(err, fs.ErrPermission) {
		f.Fix = "run " + path + " -a as " + h.userName() + " to see the whole error"
	}
	return f
}
