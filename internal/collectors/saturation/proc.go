// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// proc is one process of the table: what /proc/PID/stat says (proc(5)).
type proc struct {
	pid, ppid int
	comm      string
	state     byte
}

// alive is false for zombies, which master has not reaped yet and which no
// longer hold a slot.
func (p proc) alive() bool { return p.state != 'Z' && p.state != 'X' }

// procTable reads a proc file system mounted at root (/proc, or a fixture).
type procTable struct{ root string }

// maxCmdline bounds what is read of one command line: Postfix's children
// carry their master.cf arguments, a few hundred bytes.
const maxCmdline = 64 << 10

// list reads the stat line of every process; processes that exit meanwhile
// are skipped. Kernel threads have no parent in userspace that matters here
// and are kept: they never match a master's PID.
func (t procTable) list() ([]proc, error) {
	var out []proc
	_, err := collectors.ProcStats(t.root, func(b []byte) {
		if p, err := parseStat(b); err == nil {
			out = append(out, p)
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no process readable under %s (is /proc mounted?)", t.root)
	}
	return out, nil
}

// parseStat reads pid, comm, state and ppid from a /proc/PID/stat line.
// comm is in parentheses and may hold spaces and parentheses itself, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (proc, error) {
	var p proc
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return p, errors.New("no (comm) in stat line")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return p, fmt.Errorf("pid: %w", err)
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return p, errors.New("short stat line")
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return p, fmt.Errorf("ppid: %w", err)
	}
	return proc{pid: pid, ppid: ppid, comm: string(b[open+1 : end]), state: f[0][0]}, nil
}

// argv returns a process's arguments (/proc/PID/cmdline split at NULs).
func (t procTable) argv(pid int) ([]string, error) {
	f, err := os.Open(filepath.Join(t.root, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCmdline))
	if err != nil {
		return nil, err
	}
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\x00"), nil
}

// cwd returns a process's working directory; the kernel allows it to root
// and to the process's own user only.
func (t procTable) cwd(pid int) (string, error) {
	return os.Readlink(filepath.Join(t.root, strconv.Itoa(pid), "cwd"))
}
