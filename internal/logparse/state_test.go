// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// restartCase runs a pipeline over mail.log, stops it (which saves), lets
// the test change the files while "down", then starts a new pipeline on the
// same state and returns it after its first poll.
func restartCase(t *testing.T, initial int, whileDown func(path string)) (*harness, string) {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(initial))
	h := start(t, testConfig(path), state)
	h.wantLines(uint64(initial))
	h.stop()
	whileDown(path)
	return start(t, testConfig(path), state), path
}

func TestResumeAfterRestart(t *testing.T) {
	h, path := restartCase(t, 5, func(path string) { appendFile(t, path, lines(3)) })
	h.wantLines(8) // 5 restored, 3 read: none twice
	if got := h.p.counters.events[maillog.EvSASLAuthFailure].Load(); got != 8 {
		t.Errorf("sasl_auth_failure = %d, want 8", got)
	}
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(9)
}

func TestResumePartialLine(t *testing.T) {
	l := lines(1)
	h, path := restartCase(t, 0, func(path string) {})
	appendFile(t, path, l[:30])
	h.poll()
	h.stop() // saved position: before the partial line
	appendFile(t, path, l[30:])
	h2 := start(t, testConfig(path), filepath.Join(filepath.Dir(path), "state"))
	h2.wantLines(1)
	if c := h2.counts(); c.malformed != 0 {
		t.Errorf("malformed = %d", c.malformed)
	}
}

func TestRotatedWhileDown(t *testing.T) {
	h, _ := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2)) // the tail of the old file, unread
		os.Rename(path, path+".1")
		appendFile(t, path, lines(4))
	})
	h.wantLines(11)
	if c := h.counts(); c.rotations != 1 {
		t.Errorf("rotations = %d, want 1", c.rotations)
	}
}

func TestRotatedTwiceWhileDown(t *testing.T) {
	h, _ := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		os.Rename(path, path+".1")
		appendFile(t, path, lines(3)) // never seen: read whole from mail.log.1
		os.Rename(path+".1", path+".2")
		os.Rename(path, path+".1")
		appendFile(t, path, lines(4))
		appendFile(t, path+".3.gz", "\x1f\x8b compressed, never read\n")
	})
	h.wantLines(14)
}

func TestRotatedAndGoneWhileDown(t *testing.T) {
	// The rotated file was compressed away: its tail is lost, and logged;
	// the new file is read whole.
	h, _ := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		os.Rename(path, path+".1.gz")
		appendFile(t, path, lines(4))
	})
	h.wantLines(9)
}

func TestCopyTruncateWhileDown(t *testing.T) {
	h, _ := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		copyFile(t, path, path+".1")
		os.Truncate(path, 0)
		appendFile(t, path, lines(3))
	})
	h.wantLines(10)
	if c := h.counts(); c.truncations != 1 {
		t.Errorf("truncations = %d, want 1", c.truncations)
	}
}

func TestMissingWhileDown(t *testing.T) {
	// Rotated and not recreated yet when we start: the old file is found
	// and finished; the new one is read when it appears.
	h, path := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		os.Rename(path, path+".1")
	})
	h.wantLines(7)
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(8)
}

func TestMaxCatchUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	content := lines(100)
	appendFile(t, path, content)
	cfg := testConfig(path)
	cfg.MaxCatchUp = ByteSize(len(content) / 4)
	h := start(t, cfg, "")
	c := h.counts()
	if c.skipped != uint64(len(content)-len(content)/4) {
		t.Errorf("skipped %d bytes, want %d", c.skipped, len(content)-len(content)/4)
	}
	if c.lines < 20 || c.lines > 25 || c.malformed != 0 {
		t.Errorf("lines %d malformed %d: want about a quarter of 100 lines, none cut", c.lines, c.malformed)
	}
}

func TestNewPathFollowsStartAt(t *testing.T) {
	// A path added to a source with saved state starts where start_at says;
	// a file a glob finds that was not there before is read whole.
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, lines(2))
	cfg := testConfig(a)
	cfg.StartAt = StartEnd
	h := start(t, cfg, state)
	appendFile(t, a, lines(1))
	h.poll()
	h.wantLines(1)
	h.stop()
	appendFile(t, b, lines(7))
	cfg.Sources[0].Paths = []string{a, b}
	h = start(t, cfg, state)
	h.wantLines(1)
}

func TestStateFile(t *testing.T) {
	h, path := restartCase(t, 3, func(string) {})
	h.stop()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "state", stateFileName))
	if err != nil {
		t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	ms := st.Sources["mail"]
	if ms == nil || len(ms.Files) != 1 || ms.Files[0].Offset != fileSize(t, path) || ms.Counters.Lines != 3 ||
		st.Counters.Events["sasl_auth_failure"] != 3 || ms.Files[0].FPLen == 0 {
		t.Errorf("state %s", b)
	}
}

func TestStateSaveFailure(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	os.WriteFile(notADir, nil, 0o600)
	p, err := New(testConfig(filepath.Join(dir, "mail.log")), notADir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.save(); err == nil {
		t.Fatal("save into a file succeeded")
	}
	if got := p.counters.stateSaveFailures.Load(); got != 1 {
		t.Errorf("state_save_failures = %d, want 1", got)
	}
}

func TestStateCorrupt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, stateFileName), []byte("{not json"), 0o600)
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(2))
	cfg := testConfig(path)
	cfg.StartAt = StartEnd
	h := start(t, cfg, dir) // ignored: a first start
	h.wantLines(0)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestManyRotationsWhileDown(t *testing.T) {
	// Rename and copytruncate, alternately, twelve times while we are down.
	h, _ := restartCase(t, 5, func(path string) {
		w := &tortureWriter{t: t, path: path, written: 1000}
		w.f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		for i := range 12 {
			w.write(w.f, 7)
			if i%2 == 0 {
				w.renameAndCreate()
			} else {
				w.copyTruncate()
			}
		}
		w.write(w.f, 3)
		w.f.Close()
	})
	h.wantLines(5 + 12*7 + 6*20 + 3)
}

func TestRotatedTwiceAndMissingWhileDown(t *testing.T) {
	// Two renames, and no new file yet when we start.
	h, path := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		os.Rename(path, path+".1")
		appendFile(t, path, lines(3))
		os.Rename(path+".1", path+".2")
		os.Rename(path, path+".1")
	})
	h.wantLines(10)
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(11)
}

func TestCopyStartedWhileDown(t *testing.T) {
	// We start while a copytruncate is copying: the copy is still empty.
	var copyPath string
	h, path := restartCase(t, 5, func(path string) {
		appendFile(t, path, lines(2))
		os.Rename(path, path+".1") // an earlier rotation, so that there is a known sibling
		appendFile(t, path, lines(3))
		copyPath = path + ".0"
		appendFile(t, copyPath, "")
	})
	h.wantLines(10)
	copyFile(t, path, copyPath)
	os.Truncate(path, 0)
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(11)
}

func TestEmptyThenCopyTruncatedWhileDown(t *testing.T) {
	// The file was empty at the checkpoint (fresh after a rotation), then
	// filled and copytruncated while we were down: its first bytes could
	// not tell, the copy's modification time after the checkpoint does.
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, "")
	h := start(t, testConfig(path), state)
	h.stop()
	appendFile(t, path, lines(3))
	copyFile(t, path, path+".1")
	os.Truncate(path, 0)
	appendFile(t, path, lines(2))
	h = start(t, testConfig(path), state)
	h.wantLines(5)
}

// TestStateSaveSkipsUnchanged: a save that would write what the last one
// wrote (SavedAt aside) leaves the file alone, unless a followed or
// rotated file was modified since or the file was removed; any count or
// position that moved writes it.
func TestStateSaveSkipsUnchanged(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	path := filepath.Join(dir, "mail.log")
	appendFile(t, path, lines(3))
	h := start(t, testConfig(path), state)
	h.wantLines(3)
	file := filepath.Join(state, stateFileName)
	save := func() int64 { // the SavedAt in the file: every save writes its own
		t.Helper()
		if err := h.p.save(); err != nil {
			t.Fatal(err)
		}
		var st stateFile
		b, err := os.ReadFile(file)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil || st.Sources["mail"] == nil {
			t.Fatalf("state file %s: %v", b, err)
		}
		return st.Sources["mail"].SavedAt
	}
	first := save()
	if again := save(); again != first {
		t.Error("an unchanged state was written again")
	}
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(4)
	moved := save()
	if moved == first {
		t.Fatal("a new line's count was not saved")
	}
	var st stateFile
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &st); err != nil || st.Sources["mail"].Counters.Lines != 4 {
		t.Fatalf("saved state %s (%v), want 4 lines", b, err)
	}
	if again := save(); again != moved {
		t.Error("an unchanged state was written again")
	}
	// A rotated file modified after the last save: written again, so that
	// SavedAt moves past it.
	appendFile(t, path+".1", lines(1))
	sib := save()
	if sib == moved {
		t.Error("state not written after a rotated file was modified")
	}
	h.clock.advance(time.Second) // past the slack of file times
	sib = save()                 // the file is still within the slack of the last SavedAt
	if again := save(); again != sib {
		t.Error("an unchanged state was written again")
	}
	os.Remove(file)
	save() // fails the test if the file is not there again
}
