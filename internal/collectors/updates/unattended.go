// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package updates

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Unattended is what is known of unattended-upgrades.
type Unattended struct {
	// Known: apt-config answered, so Enabled can be trusted.
	Known   bool
	Enabled bool
	// LastRun is the start of the last run in its log; zero when the log
	// has none. Failed: that run logged an ERROR.
	LastRun time.Time
	Failed  bool
}

// unattendedOn matches the two settings apt.systemd.daily reads to decide
// whether to run unattended-upgrade, as `apt-config dump` prints them:
// APT::Periodic::Enable (0 turns every periodic job off) and
// APT::Periodic::Unattended-Upgrade (an interval in days, 0 is off, or
// "always").
var periodicLine = regexp.MustCompile(`^APT::Periodic::(Enable|Unattended-Upgrade) "([^"]*)";$`)

// ParseAptConfig reads `apt-config dump` and reports whether
// apt.systemd.daily would run unattended-upgrade.
func ParseAptConfig(r io.Reader) (bool, error) {
	enable, uu := "1", "0" // apt.systemd.daily's defaults
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := periodicLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if m[1] == "Enable" {
			enable = m[2]
		} else {
			uu = m[2]
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return on(enable) && on(uu), nil
}

// on reads an APT::Periodic value as apt.systemd.daily does: "always", or a
// number of days above 0 (it also takes suffixed intervals such as "12h").
func on(v string) bool {
	if v == "always" {
		return true
	}
	digits := strings.TrimRightFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.Atoi(digits)
	return err == nil && n > 0
}

// Unattended-upgrades logs with Python's logging as
// "2026-12-06 06:25:01,123 INFO Starting unattended upgrades script", in
// local time; a failure logs ERROR lines ("Installing the upgrades
// failed!", "Cache has broken packages, exiting").
var (
	uuStart = []byte(" INFO Starting unattended upgrades script")
	uuLine  = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ ([A-Z]+) `)
)

// maxUnattendedTail is how much of the end of the log is read: a run logs
// a few KiB, so the tail holds the last one.
const maxUnattendedTail = 1 << 20

// ParseUnattendedLog finds the last run in the log's tail: its start and
// whether it logged an error. ok is false when the tail holds no run.
func ParseUnattendedLog(tail []byte, loc *time.Location) (start time.Time, failed, ok bool) {
	i := bytes.LastIndex(tail, uuStart)
	if i < 0 {
		return time.Time{}, false, false
	}
	lineStart := bytes.LastIndexByte(tail[:i], '\n') + 1
	run := tail[lineStart:]
	sc := bufio.NewScanner(bytes.NewReader(run))
	sc.Buffer(make([]byte, 64<<10), maxUnattendedTail)
	first := true
	for sc.Scan() {
		m := uuLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		if first {
			t, err := time.ParseInLocation("2006-01-02 15:04:05", string(m[1]), loc)
			if err != nil {
				return time.Time{}, false, false
			}
			start, first = t, false
		}
		if string(m[2]) == "ERROR" || string(m[2]) == "CRITICAL" {
			failed = true
		}
	}
	return start, failed, !first
}

// Unattended implements Source.
func (h Host) Unattended(ctx context.Context) (Unattended, error) {
	var u Unattended
	if _, err := os.Stat(h.UnattendedUpgrade); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			u.Known = true // not installed: off, nothing to read
			return u, nil
		}
		return u, err
	}
	path, err := exec.LookPath(h.AptConfig)
	if err != nil {
		return u, fmt.Errorf("%s: %w", h.AptConfig, err)
	}
	out, err := collectors.Command{
		Path: path, Args: []string{"dump"}, Name: "apt-config dump",
		Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C"}, Dir: "/",
	}.Output(ctx)
	if err != nil {
		return u, err
	}
	if u.Enabled, err = ParseAptConfig(bytes.NewReader(out)); err != nil {
		return u, fmt.Errorf("apt-config dump: %w", err)
	}
	u.Known = true
	tail, err := readTail(h.UnattendedLog, maxUnattendedTail)
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return u, err
	}
	if start, failed, ok := ParseUnattendedLog(tail, time.Local); ok {
		u.LastRun, u.Failed = start, failed
	}
	return u, nil
}

// readTail returns the last max bytes of a regular file.
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	off := max(fi.Size()-limit, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
