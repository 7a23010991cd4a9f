// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// configMaxAge bounds how long a program's output is reused: the limits
// come from configuration files, which change when an administrator edits
// them, while the processes counted against them change by the second. A
// run reuses postconf's and doveconf's output while the files it read are
// unchanged (configKey) and for at most configMaxAge, config_drift's
// default interval: profiled idle, the three programs run every 30 s cost
// the host twice the daemon's own CPU, and the fork and pipes a tenth of
// the daemon's.
const configMaxAge = 5 * time.Minute

// cachedOutput is one program's output, kept while its key holds.
type cachedOutput struct {
	key string
	at  time.Time
	out [][]byte
}

// get returns the kept output when it is for key and younger than
// configMaxAge.
func (c *cachedOutput) get(key string, now time.Time) ([][]byte, bool) {
	if c.out == nil || c.key != key || now.Sub(c.at) >= configMaxAge || now.Before(c.at) {
		return nil, false
	}
	return c.out, true
}

func (c *cachedOutput) put(key string, now time.Time, out ...[]byte) {
	c.key, c.at, c.out = key, now, out
}

// configKey identifies the state of files: for each, device, inode, size,
// and modification and change times (nanoseconds), or its absence. An
// editor that writes a new file changes the inode, one that writes in
// place the times; a key that cannot be made ("", false) means: run the
// program.
func configKey(prog string, files ...string) (string, bool) {
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	for _, f := range append([]string{path}, files...) {
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(&b, "%s:-;", f)
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return "", false
		}
		fmt.Fprintf(&b, "%s:%d:%d:%d:%d.%d:%d.%d;", f, st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	}
	return b.String(), true
}
