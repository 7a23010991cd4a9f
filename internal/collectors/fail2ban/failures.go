// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Reading limits.
const (
	// firstReadWindow is how much of the end of the log the first poll
	// reads: far more than find_time's worth of lines on any mail host,
	// without reading a month of log at start.
	firstReadWindow = 8 << 20
	// maxReadPerPoll bounds one poll; the rest is read by the next ones.
	maxReadPerPoll = 32 << 20
	// maxTracked bounds the addresses remembered (about 100 bytes each).
	maxTracked = 100_000
)

// LogTracker follows fail2ban's log file and implements FailureLog.
//
// Each poll opens the file anew and reads what was appended since the last
// one; a new file at the path (logrotate's create, then fail2ban's
// flushlogs) is read from its start, a truncated one (copytruncate) too,
// recognised by its size or by the bytes before the last position. The lines written to the old file between the last
// poll and its rotation are not read: at most one interval of failures,
// once a week.
//
// A failure is counted until find_time has passed since the address's
// latest failure, or until a ban of the address in that jail; a jail's
// start or stop, and fail2ban's own, clear the jail's list, as they clear
// fail2ban's. fail2ban purges expired failures lazily, so right after they
// expire its own count can be a little higher than this one.
type LogTracker struct {
	path     string
	findTime time.Duration
	loc      *time.Location

	started  bool
	file     fileID
	offset   int64
	tail     []byte                          // the bytes just before offset
	failures map[string]map[string]time.Time // jail → id → latest failure
	tracked  int
	limit    int // of tracked addresses: maxTracked
	overflow bool
}

// NewLogTracker follows path; loc is the time zone of the log's stamps
// (fail2ban writes local time), normally time.Local.
func NewLogTracker(path string, findTime time.Duration, loc *time.Location) *LogTracker {
	return &LogTracker{path: path, findTime: findTime, loc: loc, limit: maxTracked, failures: map[string]map[string]time.Time{}}
}

// Poll implements FailureLog.
func (t *LogTracker) Poll(now time.Time) (Failures, error) {
	if err := t.readNew(); err != nil {
		return Failures{}, err
	}
	return Failures{ByJail: t.counts(now), Overflowed: t.overflow}, nil
}

func (t *LogTracker) readNew() error {
	f, err := os.Open(t.path)
	if err != nil {
		return err // *PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", t.path, err)
	}
	id, size := identify(fi), fi.Size()
	skipFirst := false
	switch {
	case !t.started:
		t.offset = max(0, size-firstReadWindow)
		skipFirst = t.offset > 0 // we start inside a line
	case id != t.file || size < t.offset || !t.sameTail(f):
		t.offset = 0 // rotated, or truncated (and maybe grown again)
	}
	t.started, t.file = true, id
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return fmt.Errorf("seek %s: %w", t.path, err)
	}
	n, err := t.consume(io.LimitReader(f, maxReadPerPoll), skipFirst)
	t.offset += n
	if err != nil {
		return fmt.Errorf("read %s: %w", t.path, err)
	}
	t.rememberTail(f)
	return nil
}

// tailLen is how many bytes before the position are kept to recognise the
// file: after a copytruncate the file may have grown past the old position
// before the next poll, and only its content tells.
const tailLen = 64

func (t *LogTracker) rememberTail(f *os.File) {
	n := min(t.offset, tailLen)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, t.offset-n); err != nil {
		t.tail = nil
		return
	}
	t.tail = buf
}

func (t *LogTracker) sameTail(f *os.File) bool {
	if len(t.tail) == 0 {
		return true
	}
	buf := make([]byte, len(t.tail))
	if _, err := f.ReadAt(buf, t.offset-int64(len(buf))); err != nil {
		return false
	}
	return bytes.Equal(buf, t.tail)
}

// consume handles the complete lines of r and returns the bytes they took;
// a last line without its newline is left for the next poll.
func (t *LogTracker) consume(r io.Reader, skipFirst bool) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var used int64
	skipping := skipFirst
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			used += int64(len(line)) // an absurdly long line: skip it
			skipping = true
			continue
		case errors.Is(err, io.EOF):
			return used, nil
		case err != nil:
			return used, err
		}
		used += int64(len(line))
		if skipping {
			skipping = false
			continue
		}
		t.apply(parseLine(line, t.loc))
	}
}

func (t *LogTracker) apply(ev event) {
	switch ev.kind {
	case evFound:
		ids := t.failures[ev.jail]
		if ids == nil {
			ids = map[string]time.Time{}
			t.failures[ev.jail] = ids
		}
		prev, known := ids[ev.id]
		switch {
		case known && ev.at.After(prev):
			ids[ev.id] = ev.at
		case !known && t.tracked < t.limit:
			ids[ev.id] = ev.at
			t.tracked++
		case !known:
			t.overflow = true
		}
	case evBan:
		if ids := t.failures[ev.jail]; ids != nil {
			if _, ok := ids[ev.id]; ok {
				delete(ids, ev.id)
				t.tracked--
			}
		}
	case evJailReset:
		t.tracked -= len(t.failures[ev.jail])
		delete(t.failures, ev.jail)
	case evRestart:
		t.failures = map[string]map[string]time.Time{}
		t.tracked = 0
	}
}

// counts forgets the failures older than find_time and counts the rest.
func (t *LogTracker) counts(now time.Time) map[string]int {
	cutoff := now.Add(-t.findTime)
	out := make(map[string]int, len(t.failures))
	for jail, ids := range t.failures {
		for id, at := range ids {
			if !at.After(cutoff) {
				delete(ids, id)
				t.tracked--
			}
		}
		if len(ids) == 0 {
			delete(t.failures, jail)
			continue
		}
		out[jail] = len(ids)
	}
	return out
}
