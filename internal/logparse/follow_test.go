// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// These tests run a pipeline that follows real files in a temporary
// directory. The poll timer is replaced by explicit steps (stepClock), so
// every assertion happens after a known number of polls; nothing depends on
// sleeping.

const stepTimeout = 10 * time.Second

type harness struct {
	t      *testing.T
	p      *Pipeline
	clock  *stepClock
	cancel context.CancelFunc
	done   chan error
}

// testConfig follows paths as source "mail", starting at the beginning.
func testConfig(paths ...string) Config {
	c := Config{StartAt: StartBegin, Sources: []SourceConfig{{Name: "mail", Type: SourceFile, Paths: paths}}}
	c.ApplyDefaults()
	c.RotateWait = 0 // drained files close at the next poll; tests that need more set it
	return c
}

// start runs a pipeline driven by steps and waits for its first poll.
func start(t *testing.T, cfg Config, stateDir string) *harness {
	t.Helper()
	p, err := New(cfg, stateDir, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	clock := newStepClock()
	p.clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, p: p, clock: clock, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- p.Run(ctx) }()
	t.Cleanup(h.stop)
	h.waitPolled(len(cfg.Sources))
	return h
}

// waitPolled waits for n polls and returns the delay the last one chose.
func (h *harness) waitPolled(n int) time.Duration {
	h.t.Helper()
	var next time.Duration
	for range n {
		select {
		case next = <-h.clock.stepped:
		case <-time.After(stepTimeout):
			h.t.Fatal("no poll within the deadline")
		}
	}
	return next
}

// poll runs one poll of the (single) file source and returns how long the
// source would wait before the next one.
func (h *harness) poll() time.Duration {
	h.t.Helper()
	select {
	case h.clock.step <- struct{}{}:
	case <-time.After(stepTimeout):
		h.t.Fatal("source not polling")
	}
	return h.waitPolled(1)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; err != nil {
		h.t.Errorf("Run: %v", err)
	}
}

type srcCounts struct{ lines, malformed, rotations, truncations, skipped uint64 }

func (h *harness) counts() srcCounts {
	s := h.p.counters.source("mail")
	return srcCounts{s.lines.Load(), s.malformed.Load(), s.Rotations.Load(), s.Truncations.Load(), s.SkippedBytes.Load()}
}

func (h *harness) wantLines(want uint64) {
	h.t.Helper()
	if got := h.counts().lines; got != want {
		h.t.Fatalf("lines = %d, want %d", got, want)
	}
}

var seq int

// lastLineWindow is how much of a file's end the follower reads for the
// last line of a file it follows from its end.
const lastLineWindow = 8 << 10

// lines returns n valid syslog lines; each is a SASL failure, so the event
// counter checks that every line was classified once.
func lines(n int) string {
	var b strings.Builder
	for range n {
		seq++
		fmt.Fprintf(&b, "Nov 23 07:00:00 mx1 postfix/smtpd[%d]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: seq %d\n", seq%30000, seq)
	}
	return b.String()
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, s); err != nil {
		t.Fatal(err)
	}
}

func TestFollowStartAtEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	appendFile(t, path, lines(5))
	cfg := testConfig(path)
	cfg.StartAt = StartEnd
	h := start(t, cfg, "")
	h.wantLines(0)
	appendFile(t, path, lines(3))
	h.poll()
	h.wantLines(3)
	if got := h.p.counters.events[maillog.EvSASLAuthFailure].Load(); got != 3 {
		t.Errorf("sasl_auth_failure = %d, want 3", got)
	}
}

// A log followed from its end reports the time of its last line before any
// new line comes, so that a log already silent at first start can be alerted
// on; the old lines are not counted.
func TestFollowStartAtEndNotesLastLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(3)+"2026-11-23T05:00:00.250000+00:00 mx1 postfix/qmgr[7]: 4B1C2D: removed\n")
	empty := filepath.Join(dir, "empty.log")
	appendFile(t, empty, "")
	garbage := filepath.Join(dir, "garbage.log")
	appendFile(t, garbage, strings.Repeat("x", 3*lastLineWindow)+"\n") // no whole line in the window the follower reads
	for _, c := range []struct {
		path string
		want float64 // 0: no timestamp
	}{
		{path, float64(time.Date(2026, 11, 23, 5, 0, 0, 250e6, time.UTC).UnixNano()) / 1e9},
		{empty, 0},
		{garbage, 0},
	} {
		cfg := testConfig(c.path)
		cfg.StartAt = StartEnd
		h := start(t, cfg, "")
		h.wantLines(0)
		if got := math.Float64frombits(h.p.counters.source("mail").lastLineTS.Load()); got != c.want {
			t.Errorf("%s: last line timestamp %v, want %v", filepath.Base(c.path), got, c.want)
		}
		h.stop()
	}
}

func TestFollowPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	h := start(t, testConfig(path), "")
	appendFile(t, path, lines(1))
	l := lines(1)
	appendFile(t, path, l[:20]) // a line cut mid-write
	h.poll()
	h.wantLines(1)
	appendFile(t, path, l[20:])
	h.poll()
	h.wantLines(2)
	if c := h.counts(); c.malformed != 0 {
		t.Errorf("malformed = %d", c.malformed)
	}
}

func TestFollowOversizedLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	h := start(t, testConfig(path), "")
	appendFile(t, path, "Nov 23 07:00:00 mx1 postfix/smtpd[1]: "+strings.Repeat("x", 1<<20))
	h.poll()
	appendFile(t, path, "\n"+lines(2))
	h.poll()
	if c := h.counts(); c.lines != 3 || c.malformed != 1 {
		t.Errorf("lines %d malformed %d, want 3 and 1", c.lines, c.malformed)
	}
}

func TestFollowRenameAndCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(5))
	cfg := testConfig(path)
	cfg.RotateWait = confval.Duration(time.Hour) // drain until the test says so
	h := start(t, cfg, "")
	h.wantLines(5)

	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	io.WriteString(old, lines(2)) // the writer has not reopened yet
	h.poll()                      // sees the path gone: the old file drains
	appendFile(t, path, lines(4)) // logrotate's create, then the reopened writer
	io.WriteString(old, lines(1))
	h.poll()
	h.wantLines(12)
	if c := h.counts(); c.rotations != 1 {
		t.Errorf("rotations = %d, want 1", c.rotations)
	}
}

func TestFollowRenameSeenAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(5))
	h := start(t, testConfig(path), "")
	appendFile(t, path, lines(2)) // not read before the rotation
	os.Rename(path, path+".1")
	appendFile(t, path, lines(3))
	h.poll()
	h.wantLines(10)
	h.poll() // rotate_wait 0: the old file is closed
	h.p.ckpt.Lock()
	files := h.p.runners["mail"].src.Checkpoint().Files
	h.p.ckpt.Unlock()
	if fi, err := os.Stat(path); err != nil || len(files) != 1 || files[0].Ino != fi.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("followed files %+v, want the new mail.log alone: the rotated one still drains", files)
	}
}

func TestFollowCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(5))
	h := start(t, testConfig(path), "")
	h.wantLines(5)
	appendFile(t, path, lines(3)) // written before the copy, not read yet
	copyFile(t, path, path+".1")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, lines(2))
	h.poll()
	h.wantLines(10) // 3 from the copy, 2 after the truncation
	if c := h.counts(); c.truncations != 1 || c.rotations != 0 {
		t.Errorf("truncations %d rotations %d, want 1 and 0", c.truncations, c.rotations)
	}
}

func TestFollowTruncateAndOutgrow(t *testing.T) {
	// Truncated and written past the old position between two polls: only
	// the first bytes tell.
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	os.Truncate(path, 0)
	appendFile(t, path, lines(6))
	h.poll()
	h.wantLines(8)
	if c := h.counts(); c.truncations != 1 {
		t.Errorf("truncations = %d, want 1", c.truncations)
	}
}

func TestFollowLateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	cfg := testConfig(path)
	cfg.StartAt = StartEnd
	h := start(t, cfg, "")
	h.poll()
	appendFile(t, path, lines(3))
	h.poll()
	h.wantLines(3) // a file that appears later is read from its start
}

func TestFollowDeleteAndRecreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	h.wantLines(2)
	os.Remove(path)
	h.poll()
	appendFile(t, path, lines(3))
	h.poll()
	h.wantLines(5)
	if c := h.counts(); c.rotations != 1 {
		t.Errorf("rotations = %d, want 1", c.rotations)
	}
}

func TestFollowSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, lines(2))
	if err := os.Symlink(a, path); err != nil {
		t.Fatal(err)
	}
	h := start(t, testConfig(path), "")
	h.wantLines(2)
	appendFile(t, a, lines(1))
	appendFile(t, b, lines(3))
	tmp := filepath.Join(dir, "tmp-link")
	os.Symlink(b, tmp)
	if err := os.Rename(tmp, path); err != nil { // ln -sfn, atomically
		t.Fatal(err)
	}
	h.poll()
	h.wantLines(6)
	if c := h.counts(); c.rotations != 1 {
		t.Errorf("rotations = %d, want 1", c.rotations)
	}
}

func TestFollowGlob(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "a.log"), lines(1))
	appendFile(t, filepath.Join(dir, "b.log"), lines(2))
	appendFile(t, filepath.Join(dir, "old.log.gz"), "\x1f\x8b not text\n")
	appendFile(t, filepath.Join(dir, "c.txt"), lines(4))
	h := start(t, testConfig(filepath.Join(dir, "*.log*")), "")
	h.wantLines(3)
	appendFile(t, filepath.Join(dir, "d.log"), lines(5))
	h.clock.advance(time.Second) // globs are expanded once a second
	h.poll()
	h.wantLines(8)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Two rotations between two polls: the file in between was never seen by
// name and must be found among the siblings.

func TestFollowRenameThenCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	appendFile(t, path, lines(1))
	os.Rename(path, path+".1")
	appendFile(t, path, lines(3)) // the new file...
	os.Rename(path+".1", path+".2")
	copyFile(t, path, path+".1") // ...copytruncated before we looked
	os.Truncate(path, 0)
	appendFile(t, path, lines(4))
	h.poll()
	h.wantLines(10)
}

func TestFollowCopyTruncateTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	for _, n := range []int{1, 3} {
		appendFile(t, path, lines(n))
		if _, err := os.Stat(path + ".1"); err == nil {
			os.Rename(path+".1", path+".2")
		}
		copyFile(t, path, path+".1")
		os.Truncate(path, 0)
	}
	appendFile(t, path, lines(4))
	h.poll()
	h.wantLines(10)
}

func TestFollowRenameTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	appendFile(t, path, lines(1))
	os.Rename(path, path+".1")
	appendFile(t, path, lines(3))
	os.Rename(path+".1", path+".2")
	os.Rename(path, path+".1")
	appendFile(t, path, lines(4))
	h.poll()
	h.wantLines(10)
}

func TestFollowCopyInProgress(t *testing.T) {
	// A copytruncate's copy exists but the file is not truncated yet: the
	// lines are read once, from the file, and not again from the copy.
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	h := start(t, testConfig(path), "")
	os.Rename(path, path+".1") // a rotation lists the siblings
	appendFile(t, path, lines(3))
	copyFile(t, path, path+".0")
	h.poll()
	h.wantLines(5)
	os.Rename(path+".0", path+".1")
	os.Truncate(path, 0)
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(6)
}

// An idle source slows its poll down step by step to idlePollMax; new
// data, a new file and a draining rotated file each bring it back to the
// poll interval at once.
func TestFollowIdleBackoff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	cfg := testConfig(path)
	cfg.PollInterval = confval.Duration(250 * time.Millisecond)
	cfg.RotateWait = confval.Duration(time.Hour) // the rotated file drains until the test ends
	h := start(t, cfg, "")
	h.wantLines(2)

	backoff := func() {
		t.Helper()
		for _, want := range []time.Duration{500 * time.Millisecond, time.Second, time.Second} {
			if got := h.poll(); got != want {
				t.Fatalf("idle poll: next delay %v, want %v", got, want)
			}
		}
	}
	backoff()
	appendFile(t, path, "a partial line without its newline")
	if got := h.poll(); got != 250*time.Millisecond {
		t.Fatalf("after new bytes: next delay %v, want 250ms", got)
	}
	backoff()
	h.wantLines(2)

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	for range 3 { // rotated away, then draining: the poll stays fast
		if got := h.poll(); got != 250*time.Millisecond {
			t.Fatalf("while draining: next delay %v, want 250ms", got)
		}
	}
}

// A poll interval longer than idlePollMax is never shortened or stretched.
func TestFollowIdleBackoffLongInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	appendFile(t, path, lines(1))
	cfg := testConfig(path)
	cfg.PollInterval = confval.Duration(5 * time.Second)
	h := start(t, cfg, "")
	for range 3 {
		if got := h.poll(); got != 5*time.Second {
			t.Fatalf("next delay %v, want 5s", got)
		}
	}
}
