// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// userHZ is the unit of the times in /proc/PID/stat. The kernel exports
// them in USER_HZ, which is 100 on every architecture Linux supports today
// (sysconf(_SC_CLK_TCK) would need cgo to ask; prometheus/procfs assumes the
// same).
const userHZ = 100

// procStat is what one /proc/PID/stat line says about a process. The times
// are in USER_HZ ticks; RSS is in pages.
type procStat struct {
	PID       int
	Comm      string
	State     byte
	PPID      int
	Flags     uint64
	UTime     uint64
	STime     uint64
	CUTime    uint64 // of children it has waited for
	CSTime    uint64
	StartTime uint64 // ticks after boot
	RSSPages  uint64
}

// parseStat parses /proc/PID/stat (proc(5)). The comm field is in
// parentheses and may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	var ps procStat
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return ps, errors.New("no (comm) in stat line")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return ps, fmt.Errorf("pid: %w", err)
	}
	ps.PID, ps.Comm = pid, string(b[open+1:end])
	// f[0] is field 3 (state) of proc(5); field N is f[N-3].
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 22 || len(f[0]) != 1 {
		return ps, fmt.Errorf("stat line has %d fields after comm, want at least 22", len(f))
	}
	ps.State = f[0][0]
	if ps.PPID, err = strconv.Atoi(f[1]); err != nil {
		return ps, fmt.Errorf("ppid: %w", err)
	}
	for _, x := range []struct {
		field int
		dst   *uint64
	}{{9, &ps.Flags}, {14, &ps.UTime}, {15, &ps.STime}, {16, &ps.CUTime}, {17, &ps.CSTime}, {22, &ps.StartTime}, {24, &ps.RSSPages}} {
		// cutime and cstime are signed in the kernel but never negative; rss
		// too. A negative value parses as an error rather than wrapping.
		if *x.dst, err = strconv.ParseUint(f[x.field-3], 10, 64); err != nil {
			return ps, fmt.Errorf("field %d: %w", x.field, err)
		}
	}
	return ps, nil
}

// pfKThread is PF_KTHREAD in the flags field: a kernel thread.
const pfKThread = 0x00200000

// kernelThread reports whether the process is a kernel thread, which has no
// program of its own and is never a service.
func (ps procStat) kernelThread() bool { return ps.Flags&pfKThread != 0 }

// parseBootTime returns btime, the boot time in Unix seconds, from
// /proc/stat.
func parseBootTime(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("no btime line")
}

// parsePidfile reads a PID written in decimal, with or without padding:
// Postfix writes it right-aligned in a fixed-width field, others as a bare
// number and a newline.
func parsePidfile(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("no PID in %q", truncate(s, 32))
	}
	return pid, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// procfs reads a proc filesystem mounted at root (/proc, or a fixture).
type procfs struct{ root string }

func (p procfs) path(elem ...string) string {
	return filepath.Join(append([]string{p.root}, elem...)...)
}

// bootTime returns the boot time in Unix seconds.
func (p procfs) bootTime() (int64, error) {
	b, err := os.ReadFile(p.path("stat"))
	if err != nil {
		return 0, err
	}
	return parseBootTime(b)
}

// processes reads the stat line of every process. Processes that exit while
// it reads are skipped.
func (p procfs) processes() (map[int]procStat, error) {
	out := map[int]procStat{}
	_, err := collectors.ProcStats(p.root, func(b []byte) {
		if ps, err := parseStat(b); err == nil {
			out[ps.PID] = ps
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no process readable under %s (is /proc mounted?)", p.root)
	}
	return out, nil
}

// cmdline returns a process's arguments joined by spaces. Reading it takes
// the process's memory map lock, so it is only done for processes whose
// comm already matched.
func (p procfs) cmdline(pid int) (string, error) {
	b, err := os.ReadFile(p.path(strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " "), nil
}
