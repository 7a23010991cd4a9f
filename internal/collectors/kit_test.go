// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	var g Guard[int]
	if v, err := g.Do(t.Context(), func() int { return 7 }); v != 7 || err != nil {
		t.Fatalf("Do = %d, %v; want 7, nil", v, err)
	}
	release := make(chan struct{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Do(ctx, func() int { <-release; return 1 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung work: got %v, want DeadlineExceeded", err)
	}
	if !g.Busy() {
		t.Fatal("abandoned work not reported busy")
	}
	if _, err := g.Do(t.Context(), func() int { return 2 }); !errors.Is(err, ErrBusy) {
		t.Fatalf("Do while stuck: got %v, want ErrBusy", err)
	}
	if err := g.Wait(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("Wait while stuck: got %v, want ErrBusy", err)
	}
	if g.Retire() {
		t.Fatal("Retire succeeded while work is in flight")
	}
	close(release)
	if err := g.Wait(t.Context()); err != nil {
		t.Fatalf("Wait after release: %v", err)
	}
	if g.Busy() {
		t.Fatal("busy after the work returned")
	}
	if v, err := g.Do(t.Context(), func() int { return 3 }); v != 3 || err != nil {
		t.Fatalf("Do after release = %d, %v", v, err)
	}
	if !g.Retire() {
		t.Fatal("Retire failed while idle")
	}
	if _, err := g.Start(func() int { return 4 }); !errors.Is(err, ErrBusy) {
		t.Fatalf("Start after Retire: got %v, want ErrBusy", err)
	}
}

func TestDrainReady(t *testing.T) {
	t.Parallel()
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	var got []int
	DrainReady(ch, func(v int) { got = append(got, v) })
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("got %v, want [1 2]", got)
	}
	close(ch)
	DrainReady(ch, func(v int) { t.Errorf("value %d from a closed channel", v) })
}

func TestLogOnChange(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	var l LogOnChange
	p := Problem{Level: zap.WarnLevel, Failed: "failed", Recovered: "works again"}
	steps := []error{nil, errors.New("a"), errors.New("a"), errors.New("b"), nil, nil}
	for _, err := range steps {
		l.Note(logger, "k", err, p, zap.String("target", "t"))
	}
	var got []string
	for _, e := range logs.TakeAll() {
		got = append(got, e.Level.String()+" "+e.Message+" "+e.ContextMap()["target"].(string))
	}
	want := "warn failed t|warn failed t|info works again t"
	if strings.Join(got, "|") != want {
		t.Errorf("logged %q, want %q", strings.Join(got, "|"), want)
	}

	keyed := Problem{Level: zap.InfoLevel, Failed: "failed", Key: func(error) string { return "same" }}
	l.Note(logger, "x", errors.New("port 1"), keyed)
	l.Note(logger, "x", errors.New("port 2"), keyed)
	if n := logs.Len(); n != 1 {
		t.Errorf("Key: %d lines logged, want 1", n)
	}
	l.Retain(func(k string) bool { return k != "x" })
	if prev, changed := l.Change("x", ""); prev != "" || changed {
		t.Errorf("after Retain: Change = %q, %v; want forgotten", prev, changed)
	}
}

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	// Written by a child, as collectortest.WriteExecutable does, so that no
	// parallel fork holds it open for writing (ETXTBSY).
	cmd := exec.Command("/bin/sh", "-c", `cat > "$1" && chmod 0755 "$1"`, "sh", p)
	cmd.Stdin = strings.NewReader("#!/bin/sh\n" + body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return p
}

func TestCommandOutput(t *testing.T) {
	t.Parallel()
	out, err := Command{Path: script(t, `echo "$1 $X"`), Args: []string{"hello"}, Env: []string{"X=world"}}.Output(t.Context())
	if err != nil || string(out) != "hello world\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	_, err = Command{Path: script(t, "echo first >&2\necho 'E: the cause' >&2\nexit 3\n")}.Output(t.Context())
	var ce *CommandError
	if !errors.As(err, &ce) || err.Error() != "prog: exit status 3: E: the cause" {
		t.Errorf("failing program: got %v", err)
	}
	_, err = Command{Path: script(t, "head -c 3000 /dev/zero\n"), Name: "chatty", MaxOutput: 1000}.Output(t.Context())
	if err == nil || err.Error() != "chatty: output larger than 1000 bytes" {
		t.Errorf("chatty program: got %v", err)
	}
	_, err = Command{Path: filepath.Join(t.TempDir(), "none")}.Output(t.Context())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing program: got %v, want ErrNotExist", err)
	}
}

// TestCommandKilledWithGroup: at the context's end the program and, with
// OwnGroup, the child it started are killed, and the call returns.
func TestCommandKilledWithGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	prog := script(t, "sleep 300 &\necho $! > "+pidFile+"\nwait\n")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Command{Path: prog, OwnGroup: true}.Output(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > WaitDelay {
		t.Errorf("returned after %s", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	proc := "/proc/" + strings.TrimSpace(string(data)) + "/stat"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(proc)
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or a zombie
		}
		if time.Now().After(deadline) {
			t.Fatal("the child still runs")
		}
	}
}

func TestCommandStream(t *testing.T) {
	t.Parallel()
	var got string
	err := Command{Path: script(t, "echo a; echo b")}.Stream(t.Context(), func(r io.Reader) error {
		b, err := io.ReadAll(r)
		got = string(b)
		return err
	})
	if err != nil || got != "a\nb\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	bad := errors.New("bad output")
	start := time.Now()
	err = Command{Path: script(t, "echo x; exec sleep 300")}.Stream(t.Context(), func(io.Reader) error { return bad })
	if err != bad {
		t.Errorf("read error: got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("not killed on a read error: returned after %s", d)
	}
	// A child holding stdout after the program is killed: the pipe is
	// closed WaitDelay after the context's end.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = Command{Path: script(t, "sleep 20 &\nexec sleep 300\n")}.Stream(ctx, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > WaitDelay+5*time.Second {
		t.Errorf("returned after %s", d)
	}
}

func TestOSFS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range ReadDirBatch + 5 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	batches, n := 0, 0
	err := OSFS{}.ReadDir(dir, func(ents []fs.DirEntry) error {
		batches++
		n += len(ents)
		return nil
	})
	if err != nil || batches != 2 || n != ReadDirBatch+5 {
		t.Errorf("ReadDir: %d entries in %d batches, %v", n, batches, err)
	}
	if f, err := (OSFS{}).Open(filepath.Join(dir, "none")); f != nil || err == nil {
		t.Errorf("Open of a missing file = %v, %v; want nil and an error", f, err)
	}
	// Every file of an fstest.MapFS is a File.
	m := fstest.MapFS{"a": {Data: []byte("x")}}
	fl, err := m.Open("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fl.(File); !ok {
		t.Errorf("%T is not a File", fl)
	}
}

func TestReadFileMax(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFileMax(p, 5); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	if _, err := ReadFileMax(p, 4); err == nil || !strings.Contains(err.Error(), p+": larger than 4 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := ReadFileMax(filepath.Join(dir, "none"), 4); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestProcStats: every numeric entry's stat line, whatever its length (a
// buffer grows past its first size, up to procStatMax), nothing else; and
// the real /proc, where this test's own process is.
func TestProcStats(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	want := map[string]string{
		"1":   "1 (init) S 0 1 1",
		"42":  "42 (long) S 1 " + strings.Repeat("7 ", 3000), // 6 KiB
		"100": "100 (big) S 1 " + strings.Repeat("x", procStatMax),
	}
	for pid, line := range want {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	delete(want, "100")                       // past procStatMax: skipped
	for _, d := range []string{"self", "7"} { // not a PID; a process gone (no stat)
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	n, err := ProcStats(root, func(b []byte) {
		pid, _, _ := strings.Cut(string(b), " ")
		got[pid] = string(b)
	})
	if err != nil || n != len(want) || len(got) != len(want) {
		t.Fatalf("ProcStats = %d, %v; got %d lines, want %d", n, err, len(got), len(want))
	}
	for pid, line := range want {
		if got[pid] != line {
			t.Errorf("PID %s: %d bytes, want %d", pid, len(got[pid]), len(line))
		}
	}
	if _, err := ProcStats(filepath.Join(root, "none"), func([]byte) {}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}

	self := fmt.Sprintf("%d (", os.Getpid())
	found := false
	if _, err := ProcStats("/proc", func(b []byte) { found = found || strings.HasPrefix(string(b), self) }); err != nil || !found {
		t.Errorf("/proc: own stat line found %v, error %v", found, err)
	}
}
