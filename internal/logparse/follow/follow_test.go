// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// These tests drive a file follower by hand (start, then one pollOnce per
// poll: no goroutine, no clock to step) against a sink that records what it
// is given, and check the Sink contract. The rotation and restart cases run
// end to end, through the pipeline and its state file, in ../follow_test.go,
// ../state_test.go, ../hostile_test.go and ../torture_test.go.

// heldLock is a checkpoint lock that tells whether it is held.
type heldLock struct{ n int }

func (l *heldLock) Lock()   { l.n++ }
func (l *heldLock) Unlock() { l.n-- }

// recSink records the lines it is given; it fails the test when it is
// called without the checkpoint lock, or keeps lines across a Flush.
type recSink struct {
	t         *testing.T
	lock      *heldLock
	pending   []string // taken since the last Flush
	lines     []string // flushed
	malformed int
	last      []string // LastLine
}

func (s *recSink) held(what string) {
	if s.lock.n <= 0 {
		s.t.Errorf("%s without the checkpoint lock", what)
	}
}

func (s *recSink) Line(b []byte) { s.held("Line"); s.pending = append(s.pending, string(b)) }
func (s *recSink) Entry(e *maillog.Entry) {
	s.held("Entry")
	s.pending = append(s.pending, "entry: "+string(e.Message))
}
func (s *recSink) Malformed() {
	s.held("Malformed")
	s.pending = append(s.pending, "malformed")
	s.malformed++
}
func (s *recSink) LastLine(b []byte) { s.held("LastLine"); s.last = append(s.last, string(b)) }
func (s *recSink) Flush() {
	s.held("Flush")
	s.lines = append(s.lines, s.pending...)
	s.pending = nil
}

// take returns the lines flushed since the last take.
func (s *recSink) take() []string {
	if len(s.pending) > 0 {
		s.t.Errorf("lines taken but not flushed: %q", s.pending)
	}
	l := s.lines
	s.lines = nil
	return l
}

type fileCase struct {
	t     *testing.T
	sink  *recSink
	stats *Stats
	src   *fileSource
}

// newFileCase starts a follower of patterns; saved is a checkpoint (JSON,
// as the pipeline saves it), nil for a first start.
func newFileCase(t *testing.T, opt FileOptions, saved []byte) *fileCase {
	t.Helper()
	lock := &heldLock{}
	c := &fileCase{t: t, sink: &recSink{t: t, lock: lock}, stats: &Stats{}}
	env := Env{Logger: zaptest.NewLogger(t), Sink: c.sink, Stats: c.stats, Checkpoint: lock, Clock: RealClock{}}
	var st *State
	if saved != nil {
		st = &State{}
		if err := json.Unmarshal(saved, st); err != nil {
			t.Fatal(err)
		}
	}
	c.src = newFileSource(opt, env, st)
	c.src.start(context.Background())
	t.Cleanup(c.src.closeAll)
	return c
}

func (c *fileCase) poll() { c.src.pollOnce(context.Background()) }

// stop returns the checkpoint, as the pipeline saves it, and closes the files.
func (c *fileCase) stop() []byte {
	b, err := json.Marshal(c.src.Checkpoint())
	if err != nil {
		c.t.Fatal(err)
	}
	c.src.closeAll()
	return b
}

func (c *fileCase) want(what string, lines ...string) {
	c.t.Helper()
	if diff := cmp.Diff(lines, c.sink.take()); diff != "" {
		c.t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func write(t *testing.T, path, s string) {
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

func TestFileSink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	write(t, path, "one\ntwo\nthr")
	opt := FileOptions{Patterns: []string{filepath.Join(dir, "*.log")}, PollInterval: 1, StartAtEnd: false}
	c := newFileCase(t, opt, nil)
	c.want("first start at the beginning", "one", "two")

	write(t, path, "ee\n"+strings.Repeat("x", 100<<10)+"\nfour\n")
	c.poll()
	c.want("a completed line, an oversized one, a short one", "three", "malformed", "four")

	write(t, path, "fi")
	saved := c.stop() // the partial line is not in the checkpoint
	write(t, path, "ve\nsix\n")
	c = newFileCase(t, opt, saved)
	c.want("resumed after a restart", "five", "six")

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, path+".1", "seven\n") // the writer has not reopened yet
	write(t, path, "eight\n")
	c.poll()
	c.want("rotated: the old file's tail, then the new file", "seven", "eight")
	if got := c.stats.Rotations.Load(); got != 1 {
		t.Errorf("rotations = %d, want 1", got)
	}
	if c.sink.malformed != 0 || len(c.sink.last) != 0 {
		t.Errorf("malformed %d, last lines %q", c.sink.malformed, c.sink.last)
	}
}

// A file followed from its end shows its last complete line, and counts
// nothing; a file with no complete line shows none.
func TestFileStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.log"), "old\nlast\n")
	write(t, filepath.Join(dir, "b.log"), strings.Repeat("x", 3*lastLineWindow)+"\n")
	write(t, filepath.Join(dir, "c.log"), "")
	c := newFileCase(t, FileOptions{Patterns: []string{filepath.Join(dir, "*.log")}, StartAtEnd: true}, nil)
	c.want("nothing read")
	if diff := cmp.Diff([]string{"last"}, c.sink.last); diff != "" {
		t.Errorf("last lines (-want +got):\n%s", diff)
	}
	write(t, filepath.Join(dir, "a.log"), "new\n")
	c.poll()
	c.want("what is written after the start", "new")

	// PeekLastLines reads the same line, and nothing else.
	s := &recSink{t: t, lock: &heldLock{n: 1}}
	PeekLastLines([]string{filepath.Join(dir, "*.log"), filepath.Join(dir, "missing")}, s)
	if diff := cmp.Diff([]string{"new"}, s.last); diff != "" || len(s.pending) > 0 {
		t.Errorf("peeked last lines (-want +got):\n%s", diff)
	}
}

// An oversized line cut by a checkpoint is counted once: its rest is
// skipped after the restart.
func TestFileOversizedAcrossCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	write(t, path, "one\n"+strings.Repeat("x", 200<<10))
	opt := FileOptions{Patterns: []string{path}}
	c := newFileCase(t, opt, nil)
	c.want("the line and the oversized one", "one", "malformed")
	saved := c.stop()
	write(t, path, strings.Repeat("y", 10)+"\ntwo\n")
	c = newFileCase(t, opt, saved)
	c.want("its rest is not counted again", "two")
}

func TestReadAll(t *testing.T) {
	in := "Nov 22 05:34:01 h p[1]: a\n\n" +
		`{"MESSAGE":"from the journal","SYSLOG_IDENTIFIER":"postfix/smtpd"}` + "\n" +
		"{not json\n" +
		strings.Repeat("x", 70<<10) + "\n" +
		"no newline at the end"
	s := &recSink{t: t, lock: &heldLock{n: 1}}
	if err := ReadAll(context.Background(), strings.NewReader(in), s); err != nil {
		t.Fatal(err)
	}
	want := []string{"Nov 22 05:34:01 h p[1]: a", "", "entry: from the journal", "malformed", "malformed", "no newline at the end"}
	if diff := cmp.Diff(want, s.take()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ReadAll(ctx, strings.NewReader(in), s); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	broken := io.MultiReader(strings.NewReader("a\nb"), iotestErr{})
	if err := ReadAll(context.Background(), broken, s); err == nil || err.Error() != "broken" {
		t.Errorf("read error: %v", err)
	}
	if diff := cmp.Diff([]string{"a"}, s.take()); diff != "" {
		t.Errorf("before the read error (-want +got):\n%s", diff)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, fmt.Errorf("broken") }

func TestLineReader(t *testing.T) {
	lr := newLineReader()
	in := bytes.NewReader([]byte("a\nbb\n" + strings.Repeat("z", maxLineBytes+1) + "\nc"))
	var got []string
	for {
		_, err := lr.fill(in)
		for {
			line, ok, oversized := lr.next()
			if oversized {
				got = append(got, "oversized")
				continue
			}
			if !ok {
				break
			}
			got = append(got, string(line))
		}
		if err != nil {
			break
		}
	}
	got = append(got, "rest "+string(lr.rest()))
	if diff := cmp.Diff([]string{"a", "bb", "oversized", "rest c"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
