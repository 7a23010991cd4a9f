// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// WaitDelay is how long a program run by Command may keep its output open
// after it exited or was killed at the end of its context (a child it left
// behind holding the pipe) before the pipe is closed on it and the call
// returns. One value for every collector: ample for a program that is
// exiting to flush its output, small beside any run's timeout.
const WaitDelay = 2 * time.Second

// DefaultMaxOutput bounds the standard output Output keeps when
// Command.MaxOutput is zero.
const DefaultMaxOutput = 1 << 20

// Of a program's standard error, the last stderrKeep bytes are kept, and
// the last line of them, at most stderrLine bytes, goes into its error.
const (
	stderrKeep = 4 << 10
	stderrLine = 200
)

// Command is a program that a collector runs, never through a shell, bound
// to a context: when the context ends the program is killed (with its
// whole process group when OwnGroup is set) and the call returns, at most
// WaitDelay later. Its standard output is capped (Output) or handed to a
// parser as it streams (Stream); the end of its standard error is kept for
// the error. Every failure is a *CommandError.
type Command struct {
	// Path is the program: a path, or a name looked up in PATH.
	Path string
	Args []string
	// Name is how errors name the run ("apt-get -s dist-upgrade"); empty:
	// the base name of Path.
	Name string
	// Env is the program's whole environment; nil: the daemon's.
	Env []string
	// Dir is the working directory; empty: the daemon's.
	Dir string
	// OwnGroup starts the program in a process group of its own and kills
	// the whole group when the context ends, for a program that starts
	// others (apt-get starts dpkg and its helpers).
	OwnGroup bool
	// MaxOutput bounds the standard output Output keeps; a program that
	// writes more fails. Zero: DefaultMaxOutput.
	MaxOutput int
	// Stderr, when set, is also handed everything the program writes on
	// its standard error, for a program that reports failures there and
	// still exits 0 (doveadm). Its Write must not fail.
	Stderr io.Writer
	// Stdin, when set, is the program's standard input (a message piped to
	// sendmail); nil: none.
	Stdin io.Reader
}

// CommandError is a failed run of a Command: the program could not start,
// exited with an error, was killed when the context ended, or wrote more
// than MaxOutput. errors.Is sees through it to Err (context.DeadlineExceeded,
// exec.ErrNotFound, fs.ErrNotExist, *exec.ExitError).
type CommandError struct {
	Name string // Command.Name, or the base name of the program
	Err  error
	// Stderr is the last line the program wrote on standard error, cut
	// to 200 bytes, when it failed to start or exited with an error;
	// empty otherwise.
	Stderr string
}

// Error is "name: err", followed by ": stderr" when there is one.
func (e *CommandError) Error() string {
	if e.Stderr == "" {
		return e.Name + ": " + e.Err.Error()
	}
	return e.Name + ": " + e.Err.Error() + ": " + e.Stderr
}

// Unwrap returns the cause.
func (e *CommandError) Unwrap() error { return e.Err }

// Output runs the program to its end and returns its standard output.
func (c Command) Output(ctx context.Context) ([]byte, error) {
	limit := c.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	cmd, stderr := c.command(ctx)
	stdout := &headBuffer{max: limit}
	cmd.Stdout = stdout
	if err := c.result(ctx, cmd.Run(), stderr); err != nil {
		return nil, err
	}
	if stdout.over {
		return nil, &CommandError{Name: c.name(), Err: fmt.Errorf("output larger than %d bytes", limit)}
	}
	return stdout.buf.Bytes(), nil
}

// Stream runs the program and hands its standard output to read as it
// comes, so that a large output is never held whole. When read returns an
// error the program is killed (the rest of its output is of no use) and
// that error is returned as it is, unless the context ended first; when
// read returns nil, what it left unread is discarded.
func (c Command) Stream(ctx context.Context, read func(io.Reader) error) error {
	cmd, stderr := c.command(ctx)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return &CommandError{Name: c.name(), Err: err}
	}
	if err := cmd.Start(); err != nil {
		return c.result(ctx, err, stderr)
	}
	// Reading comes before Wait, so WaitDelay cannot close the pipe under
	// a child that keeps it open after the context ended: do it here.
	readDone := make(chan struct{})
	go func() {
		select {
		case <-readDone:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(WaitDelay)
		defer t.Stop()
		select {
		case <-readDone:
		case <-t.C:
			_ = stdout.Close()
		}
	}()
	rerr := read(stdout)
	if rerr != nil {
		_ = c.kill(cmd)
	} else {
		_, _ = io.Copy(io.Discard, stdout)
	}
	close(readDone)
	werr := cmd.Wait()
	if ctx.Err() == nil && rerr != nil {
		return rerr
	}
	return c.result(ctx, werr, stderr)
}

func (c Command) name() string {
	if c.Name != "" {
		return c.Name
	}
	return filepath.Base(c.Path)
}

func (c Command) command(ctx context.Context) (*exec.Cmd, *tailBuffer) {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.WaitDelay = WaitDelay
	if c.OwnGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return c.kill(cmd) }
	}
	stderr := &tailBuffer{max: stderrKeep}
	cmd.Stderr = stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, c.Stderr)
	}
	return cmd, stderr
}

// kill ends the program, with its process group when it has its own.
func (c Command) kill(cmd *exec.Cmd) error {
	if c.OwnGroup {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return cmd.Process.Kill()
}

// result is the error of a run that ended with err: the context's when it
// ended (the output may be cut short), otherwise err with the end of the
// program's standard error.
func (c Command) result(ctx context.Context, err error, stderr *tailBuffer) error {
	switch {
	case ctx.Err() != nil:
		return &CommandError{Name: c.name(), Err: ctx.Err()}
	case err != nil:
		return &CommandError{Name: c.name(), Err: err, Stderr: stderr.lastLine()}
	}
	return nil
}

// headBuffer keeps the first max bytes written to it and notes whether
// there were more. Write always reports all of p written: a short write
// would make exec close the pipe and the program die of SIGPIPE.
// The buffer is a field, not embedded: an embedded bytes.Buffer's
// ReadFrom would let io.Copy (which exec uses) bypass Write and the cap.
type headBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - h.buf.Len(); len(p) > room {
		h.over = true
		h.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return h.buf.Write(p)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.b = append(t.b[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if drop := len(t.b) + len(p) - t.max; drop > 0 {
		t.b = t.b[:copy(t.b, t.b[drop:])]
	}
	t.b = append(t.b, p...)
	return n, nil
}

// lastLine is the last non-blank line kept, trimmed and cut to stderrLine
// bytes.
func (t *tailBuffer) lastLine() string {
	s := strings.TrimSpace(string(t.b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	if len(s) > stderrLine {
		s = s[:stderrLine] + "..."
	}
	return s
}
