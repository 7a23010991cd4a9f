// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// The torture test: a writer appends ~10k lines/s and rotates the file
// every 250 lines, alternating rename-and-create (writing on to the old
// descriptor for a while, as syslog daemons do until their HUP) and
// copytruncate, while a pipeline in a child process is killed with SIGKILL
// and restarted. At the end every line must have been counted exactly once:
// the positions and counters saved together make a restart continue exactly
// where the last checkpoint was.
//
//	go test -run TestTorture -v ./internal/logparse/            (about 10 s)
//	LOGPARSE_TORTURE_SECONDS=60 go test -run TestTorture ./internal/logparse/
//
// Its sleeps and timers play the writer, logrotate and the crashes (how
// often the child is killed, how long it stays down); none waits for the
// code under test: the parent waits for the child's first save with
// inotify (waitForFile) and for the final catch-up with waitFor.

const tortureChildEnv = "LOGPARSE_TORTURE_CHILD"

type tortureArgs struct{ Log, State string }

func tortureConfig(log string) Config {
	c := Config{StartAt: StartBegin, Sources: []SourceConfig{{Name: "mail", Type: SourceFile, Paths: []string{log}}}}
	c.ApplyDefaults()
	c.PollInterval = confval.Duration(10 * time.Millisecond)
	c.StateSaveInterval = confval.Duration(time.Second)
	c.RotateWait = confval.Duration(300 * time.Millisecond)
	return c
}

// tortureChild is the daemon: it runs until SIGTERM (saving) or SIGKILL.
func tortureChild() int {
	var a tortureArgs
	if err := json.Unmarshal([]byte(os.Getenv(tortureChildEnv)), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	logger := zap.NewNop()
	if dbg := os.Getenv("LOGPARSE_TORTURE_DEBUG"); dbg != "" {
		cfg := zap.NewDevelopmentConfig()
		cfg.Encoding = "json"
		cfg.OutputPaths = []string{dbg}
		logger, _ = cfg.Build()
		defer logger.Sync()
	}
	p, err := New(tortureConfig(a.Log), a.State, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("torture test skipped in -short mode")
	}
	seconds := 6
	if s, err := strconv.Atoi(os.Getenv("LOGPARSE_TORTURE_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	dir := t.TempDir()
	a := tortureArgs{Log: filepath.Join(dir, "mail.log"), State: filepath.Join(dir, "state")}
	os.Mkdir(a.State, 0o700)
	appendFile(t, a.Log, "")
	env, _ := json.Marshal(a)

	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), tortureChildEnv+"="+string(env))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := child()
	// The first start must have saved once before the rotations begin;
	// otherwise a kill before that would be a first start again.
	waitForFile(t, filepath.Join(a.State, stateFileName), patience)

	w := &tortureWriter{t: t, path: a.Log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(time.Duration(seconds) * time.Second)
	}()
	kills := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(tortureKillEvery()):
			cmd.Process.Kill() // SIGKILL: nothing saved
			cmd.Wait()
			kills++
			time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond) // down for a moment
			cmd = child()
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	kills++

	// Catch up with what is left, in-process, from the last checkpoint.
	// Info level: per-chunk debug lines through t.Log would make the
	// catch-up itself the slow part on a loaded machine.
	p, err := New(tortureConfig(a.Log), a.State, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	clock := &watchClock{}
	p.clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-runDone
	}
	src := p.counters.source("mail")
	want := uint64(w.written)
	t.Cleanup(func() {
		_ = stop() // never leave the pipeline logging after the test
		if t.Failed() {
			t.Logf("counted %d of %d lines", src.lines.Load(), want)
			dumpFiles(t, dir)
		}
	})
	clock.waitFor(t, 60*time.Second, fmt.Sprintf("%d lines counted", want), func() bool { return src.lines.Load() >= want })
	if err := stop(); err != nil {
		t.Error(err)
	}
	t.Logf("%d lines, %d rotations (%d rename, %d copytruncate), %d SIGKILLs; counted %d lines, %d rotations, %d truncations",
		w.written, w.renames+w.copies, w.renames, w.copies, kills, src.lines.Load(), src.Rotations.Load(), src.Truncations.Load())
	if got := src.lines.Load(); got != want {
		t.Errorf("lines = %d, want exactly %d", got, want)
	}
	if t.Failed() {
		dumpFiles(t, dir)
	}
	if got := p.counters.events[maillog.EvSASLAuthFailure].Load(); got != want {
		t.Errorf("sasl_auth_failure = %d, want exactly %d", got, want)
	}
	if got := src.malformed.Load(); got != 0 {
		t.Errorf("malformed = %d", got)
	}
}

// tortureWriter plays syslog daemon and logrotate.
type tortureWriter struct {
	t                        *testing.T
	path                     string
	f                        *os.File
	written, renames, copies int
	rotated                  int // rotated files, path.1 being the newest
}

func (w *tortureWriter) run(d time.Duration) {
	var err error
	if w.f, err = os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		w.t.Error(err)
		return
	}
	defer w.f.Close()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tick.C
		w.write(w.f, 10)
		if w.written%250 < 10 && w.written >= 250 {
			if (w.renames+w.copies)%2 == 0 {
				w.renameAndCreate()
			} else {
				w.copyTruncate()
			}
		}
	}
}

func (w *tortureWriter) write(f *os.File, n int) {
	var b []byte
	for range n {
		w.written++
		b = fmt.Appendf(b, "Nov 23 07:00:00 mx1 postfix/submission/smtpd[%d]: warning: unknown[192.0.2.%d]: SASL LOGIN authentication failed: line %d\n",
			w.written%30000, w.written%250+1, w.written)
	}
	if _, err := f.Write(b); err != nil {
		w.t.Error(err)
	}
}

// shift renames path.N to path.N+1, oldest first (logrotate's rotate count
// is unlimited here, so no unread file is ever deleted).
func (w *tortureWriter) shift() {
	for i := w.rotated; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
	}
	w.rotated++
}

func (w *tortureWriter) renameAndCreate() {
	w.shift()
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		w.t.Error(err)
	}
	w.write(w.f, 20) // until the HUP reaches the writer
	w.f.Close()
	var err error
	if w.f, err = os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
		w.t.Error(err)
	}
	w.renames++
}

func (w *tortureWriter) copyTruncate() {
	w.shift()
	src, err := os.Open(w.path)
	if err != nil {
		w.t.Error(err)
		return
	}
	dst, err := os.Create(w.path + ".1")
	if err == nil {
		_, err = io.Copy(dst, src)
		dst.Close()
	}
	src.Close()
	if err != nil {
		w.t.Error(err)
	}
	if err := w.f.Truncate(0); err != nil {
		w.t.Error(err)
	}
	w.copies++
}

func tortureKillEvery() time.Duration {
	if os.Getenv("LOGPARSE_TORTURE_NOKILL") != "" {
		return time.Hour
	}
	return time.Duration(1200+rand.IntN(1500)) * time.Millisecond
}

// dumpFiles logs every file's identity and size, to compare with the
// chunks the pipeline logged at debug level.
func dumpFiles(t *testing.T, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		f, _ := os.Open(filepath.Join(dir, e.Name()))
		head := make([]byte, 256)
		n, _ := f.ReadAt(head, 0)
		f.Close()
		first, _, _ := bytes.Cut(head[:n], []byte{'\n'})
		sum := sha256.Sum256(first)
		t.Logf("file %s ino %d size %d fp %x", e.Name(), fi.Sys().(*syscall.Stat_t).Ino, fi.Size(), sum[:6])
	}
}

// waitForFile waits, with inotify, until path exists (created or renamed
// into place, as the state file is); it fails the test after patience.
func waitForFile(t *testing.T, path string, patience time.Duration) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	buf := make([]byte, 64<<10)
	for {
		if _, err := os.Stat(path); err == nil { // after the watch: a later creation wakes the poll
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("timed out waiting for %s", path)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		_, _ = unix.Read(fd, buf) // drain the events; the loop looks at the file itself
	}
}
