// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// The journal is read through `journalctl --follow --output=json`, run
// without a shell and killed when the context ends. go-systemd's sdjournal
// would need cgo and libsystemd at build time, and a default build without
// journal support is how another exporter's users lost their metrics.
// journalctl's JSON is stable, and it handles journal rotation, vacuuming
// and remote/namespace journals itself.

// journalFields are the fields asked for; __CURSOR and __REALTIME_TIMESTAMP
// always come.
const journalFields = "MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_COMM,_HOSTNAME"

const (
	journalMinBackoff = time.Second
	journalMaxBackoff = 30 * time.Second
)

// JournalOptions are the settings of a journal follower.
type JournalOptions struct {
	// Units and Identifiers select entries by _SYSTEMD_UNIT or
	// SYSLOG_IDENTIFIER; an entry matching either is read.
	Units       []string
	Identifiers []string
	// StartAtEnd (start_at: end) starts without a saved cursor at the
	// current time; else at the beginning of the journal.
	StartAtEnd bool
	// Journalctl is the path of journalctl; "" looks it up in PATH.
	Journalctl string
}

type journalSource struct {
	opt    JournalOptions
	sink   Sink
	stats  *Stats
	ckpt   sync.Locker
	clock  Clock
	logger *zap.Logger

	cursor string // of the last entry counted
	since  int64  // Unix microseconds: where a start without cursor begins; 0 = the beginning
}

// NewJournal returns a follower of the journal entries opt selects,
// resuming from saved (nil on a first start).
func NewJournal(opt JournalOptions, env Env, saved *State) Follower {
	return newJournalSource(opt, env, saved)
}

func newJournalSource(opt JournalOptions, env Env, saved *State) *journalSource {
	s := &journalSource{opt: opt, sink: env.Sink, stats: env.Stats, ckpt: env.Checkpoint, clock: env.Clock,
		logger: env.Logger}
	switch {
	case saved != nil:
		s.cursor, s.since = saved.Cursor, saved.Since
	case opt.StartAtEnd:
		s.since = s.clock.Now().UnixMicro()
	}
	return s
}

// Checkpoint returns the cursor to save.
func (s *journalSource) Checkpoint() *State {
	return &State{Kind: KindJournal, Cursor: s.cursor, Since: s.since}
}

// args builds journalctl's arguments: output, position, then the matches
// (units OR identifiers).
func (s *journalSource) args() []string {
	args := []string{"--follow", "--output=json", "--output-fields=" + journalFields, "--all",
		"--no-pager", "--quiet", "--no-tail"}
	switch {
	case s.cursor != "":
		args = append(args, "--after-cursor="+s.cursor)
	case s.since > 0:
		args = append(args, fmt.Sprintf("--since=@%d.%06d", s.since/1e6, s.since%1e6))
	}
	for _, u := range s.opt.Units {
		args = append(args, "_SYSTEMD_UNIT="+u)
	}
	if len(s.opt.Units) > 0 && len(s.opt.Identifiers) > 0 {
		args = append(args, "+")
	}
	for _, id := range s.opt.Identifiers {
		args = append(args, "SYSLOG_IDENTIFIER="+id)
	}
	return args
}

// Run follows the journal until ctx is done, restarting journalctl when it
// stops.
func (s *journalSource) Run(ctx context.Context) {
	backoff := journalMinBackoff
	lastErr := ""
	for {
		started := s.clock.Now()
		err := s.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		s.stats.ReadErrors.Add(1)
		if s.clock.Now().Sub(started) > journalMaxBackoff {
			backoff = journalMinBackoff
		}
		level := zap.WarnLevel // each new problem once; repeats at debug level
		if err.Error() == lastErr {
			level = zap.DebugLevel
		}
		lastErr = err.Error()
		if ce := s.logger.Check(level, "journalctl stopped, restarting"); ce != nil {
			ce.Write(zap.Error(err), zap.Float64("retry_in_seconds", backoff.Seconds()))
		}
		if !s.clock.Wait(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, journalMaxBackoff)
	}
}

// follow runs journalctl once, until it exits or ctx ends.
func (s *journalSource) follow(ctx context.Context) error {
	path := s.opt.Journalctl
	if path == "" {
		var err error
		if path, err = exec.LookPath("journalctl"); err != nil {
			return fmt.Errorf("find journalctl: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, path, s.args()...) //nolint:gosec // fixed binary, arguments from validated config
	cmd.WaitDelay = 2 * time.Second
	stderr := &limitedBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start journalctl: %w", err)
	}
	readErr := s.read(ctx, out)
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return fmt.Errorf("journalctl: %v: %s", waitErr, msg)
	}
	if readErr != nil && !errors.Is(readErr, io.EOF) {
		return readErr
	}
	if waitErr != nil {
		return fmt.Errorf("journalctl: %w", waitErr)
	}
	return errors.New("journalctl exited")
}

// read consumes journalctl's output: one JSON object per line.
func (s *journalSource) read(ctx context.Context, r io.Reader) error {
	lr := newLineReader()
	var jd maillog.JournalDecoder
	for ctx.Err() == nil {
		_, err := lr.fill(r)
		s.ckpt.Lock()
		for {
			line, ok, oversized := lr.next()
			if oversized {
				s.sink.Malformed()
				continue
			}
			if !ok {
				break
			}
			s.entry(line, &jd)
		}
		s.sink.Flush()
		s.ckpt.Unlock()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *journalSource) entry(line []byte, jd *maillog.JournalDecoder) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	e, cursor, err := jd.Decode(line)
	if cursor != "" {
		s.cursor = cursor
	}
	if err != nil {
		s.sink.Malformed()
		return
	}
	s.sink.Entry(&e)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }
