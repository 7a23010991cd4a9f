// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"errors"
	"os"
	"syscall"
)

// procStatBuf is the first size of the buffer ProcStats reads into: a
// stat line is 52 numbers and a comm of at most 15 bytes, about 300 bytes.
const procStatBuf = 1 << 10

// procStatMax bounds a stat line: past it the proc file system is not the
// kernel's (a fixture, a FUSE mount), and the process is skipped.
const procStatMax = 64 << 10

// ProcStats calls fn with the stat line (proc(5): /proc/PID/stat) of every
// process of the proc file system mounted at root (/proc, or a fixture),
// and returns how many it read. Processes that exit meanwhile or are
// hidden (hidepid) are skipped. The line is in a buffer reused for the next
// process: fn must copy what it keeps.
//
// The service collector (process backend) and saturation walk /proc every
// run; profiled idle, the walk was most of their CPU, and most of that the
// file handling of os.ReadFile (open, the descriptor's flags, fstat, a read
// to find the end, close, a buffer per file). Here a process costs open,
// one read and close: the kernel produces a stat line in one read.
func ProcStats(root string, fn func(stat []byte)) (int, error) {
	d, err := os.Open(root)
	if err != nil {
		return 0, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, procStatBuf)
	path := make([]byte, 0, len(root)+32)
	n := 0
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		path = append(append(append(path[:0], root...), '/'), name...)
		path = append(path, "/stat"...)
		var line []byte
		line, buf, err = readSmall(string(path), buf)
		if err != nil {
			continue // gone, hidden, or not a stat line
		}
		fn(line)
		n++
	}
	return n, nil
}

// errTooLarge: a file read by readSmall is larger than procStatMax.
var errTooLarge = errors.New("larger than expected")

// readSmall reads the file at path whole into buf, growing it up to
// procStatMax, and returns the content and the buffer to reuse.
func readSmall(path string, buf []byte) ([]byte, []byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, buf, err
	}
	defer syscall.Close(fd)
	total := 0
	for {
		m, err := syscall.Read(fd, buf[total:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, buf, err
		}
		total += m
		if m == 0 || total < len(buf) {
			// A proc file's record comes in one read; a short read of
			// anything else ends here too, and at worst cuts a fixture's line.
			return buf[:total], buf, nil
		}
		if len(buf) >= procStatMax {
			return nil, buf, errTooLarge
		}
		buf = append(buf, make([]byte, len(buf))...)
	}
}
