// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

// Inputs from an attack on the follower: FIFOs where files are expected, a
// log that lost its tail in a crash, a line longer than the limit still
// incomplete at a checkpoint, and counters that must not go back.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// rotatedLongAgo dates a rotated file an hour back, as it would be in real
// life: a restart reads whole the rotated files changed after its
// checkpoint, and these tests run faster than the slack of that rule.
func rotatedLongAgo(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFollowFIFOAtPath: `mv mail.log mail.log.2; mkfifo mail.log` must not
// block the source (a blocked open would also block reloads, saves and
// shutdown): the FIFO is a read error, and a regular file put back is read.
func TestFollowFIFOAtPath(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(3))
	h := start(t, testConfig(path), state)
	h.wantLines(3)
	if err := os.Rename(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	rotatedLongAgo(t, path+".2")
	mkfifo(t, path)
	h.poll()
	h.poll()
	if got := h.p.counters.source("mail").ReadErrors.Load(); got == 0 {
		t.Error("a FIFO at the followed path is not counted as a read error")
	}
	if err := h.p.save(); err != nil {
		t.Fatalf("save while a FIFO stands at the path: %v", err)
	}
	// A reload that changes the sources is answered.
	cfg := testConfig(path, filepath.Join(dir, "other.log"))
	if err := h.p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	h.waitPolled(1) // the restarted source's first poll
	os.Remove(path)
	appendFile(t, path, lines(2))
	h.poll()
	h.wantLines(5)

	// A FIFO at start-up blocks nothing either.
	h.stop()
	os.Remove(path)
	mkfifo(t, path)
	h = start(t, testConfig(path), state)
	h.poll()
	h.wantLines(5)
}

// TestFollowFIFOSibling: a FIFO named like a rotated file (mail.log.pipe)
// is never opened by the sibling scan, which runs under the checkpoint
// lock: counting and saving go on through the next rotation.
func TestFollowFIFOSibling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	mkfifo(t, path+".pipe")
	h := start(t, testConfig(path), filepath.Join(dir, "state"))
	h.wantLines(2)
	appendFile(t, path, lines(1))
	os.Rename(path, path+".1")
	appendFile(t, path, lines(4))
	h.poll()
	h.poll()
	h.wantLines(7)
	if err := h.p.save(); err != nil {
		t.Fatal(err)
	}
	// And on a restart, whose resume scans the siblings too.
	h.stop()
	rotatedLongAgo(t, path+".1")
	os.Rename(path, path+".0")
	appendFile(t, path, lines(1))
	h = start(t, testConfig(path), filepath.Join(dir, "state"))
	h.wantLines(8)
}

// TestLostTailWhileDown: the host crashed after the state was synced but
// before the log's last lines were: the file is the same (inode, first
// bytes) but shorter than the saved offset. Nothing is counted again; what
// the log's writer appends next is.
func TestLostTailWhileDown(t *testing.T) {
	for _, cut := range []int64{100, 37} { // at a line's end, inside a line
		var size int64
		h, path := restartCase(t, 4000, func(path string) {
			size = fileSize(t, path)
			tail := lines(1)
			if err := os.Truncate(path, size-int64(len(tail))*cut/100-cut%100); err != nil {
				t.Fatal(err)
			}
		})
		h.wantLines(4000)
		if c := h.counts(); c.truncations != 1 {
			t.Errorf("cut %d: truncations = %d, want 1 (the lost tail)", cut, c.truncations)
		}
		appendFile(t, path, lines(2))
		h.poll()
		h.wantLines(4002)
		if got := h.p.counters.events[maillog.EvSASLAuthFailure].Load(); got != 4002 {
			t.Errorf("cut %d: sasl_auth_failure = %d, want 4002", cut, got)
		}
		h.stop()
	}
}

// TestOversizedLineAcrossRestart: a line over the limit, still incomplete
// when the state is saved, is counted once (one line, one malformed), not
// once more for its rest after the restart.
func TestOversizedLineAcrossRestart(t *testing.T) {
	for _, rest := range []int{10, 100 << 10} { // the rest: short, or itself over the limit
		h, path := restartCase(t, 1, func(string) {})
		appendFile(t, path, "Nov 23 07:00:00 mx1 postfix/smtpd[1]: "+strings.Repeat("x", 200<<10))
		h.poll()
		if c := h.counts(); c.lines != 2 || c.malformed != 1 {
			t.Fatalf("before the restart: lines %d malformed %d, want 2 and 1", c.lines, c.malformed)
		}
		h.stop()
		appendFile(t, path, strings.Repeat("y", rest)+"\n"+lines(2))
		h = start(t, testConfig(path), filepath.Join(filepath.Dir(path), "state"))
		if c := h.counts(); c.lines != 4 || c.malformed != 1 {
			t.Errorf("rest %d: after the restart lines %d malformed %d, want 4 and 1", rest, c.lines, c.malformed)
		}
		h.stop()
	}
}

// TestFollowerCountersPerProcess: rotations, truncations and read errors
// count what this process met; a restart starts them at 0 rather than
// bringing back values saved before events a crash would lose.
func TestFollowerCountersPerProcess(t *testing.T) {
	h, path := restartCase(t, 2, func(string) {})
	os.Rename(path, path+".1")
	appendFile(t, path, lines(1))
	h.poll()
	if c := h.counts(); c.rotations != 1 || c.lines != 3 {
		t.Fatalf("rotations %d lines %d, want 1 and 3", c.rotations, c.lines)
	}
	h.stop()
	h = start(t, testConfig(path), filepath.Join(filepath.Dir(path), "state"))
	if c := h.counts(); c.rotations != 0 || c.lines != 3 {
		t.Errorf("after a restart with nothing rotated: rotations %d lines %d, want 0 and 3", c.rotations, c.lines)
	}
}

// TestStateSaveErrorLoggedOnce: a save that fails the same way every time
// is logged once, although each error names another temporary file.
func TestStateSaveErrorLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	// A directory where the state file goes makes every rename fail.
	if err := os.MkdirAll(filepath.Join(dir, stateFileName, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.InfoLevel)
	p, err := New(testConfig(filepath.Join(dir, "mail.log")), dir, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := p.save(); err == nil {
			t.Fatal("save over a directory succeeded")
		}
	}
	if n := logs.FilterMessage("cannot save log positions").Len(); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	if got := p.counters.stateSaveFailures.Load(); got != 3 {
		t.Errorf("state_save_failures = %d, want 3", got)
	}
}
