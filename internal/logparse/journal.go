// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
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

type journalSource struct {
	name       string
	cfg        SourceConfig
	core       *core
	sink       *sink
	sc         *sourceCounters
	logger     *zap.Logger
	journalctl string

	cursor string // of the last entry counted
	since  int64  // Unix microseconds: where a start without cursor begins; 0 = the beginning
}

func newJournalSource(name string, cfg *SourceConfig, lc *Config, c *core, saved *sourceState) *journalSource {
	s := &journalSource{name: name, cfg: *cfg, core: c, sc: c.counters.source(name), journalctl: c.journalctl,
		logger: c.logger.With(zap.String("source", name))}
	s.sink = newSink(&c.rules, c.counters, s.sc)
	s.sink.now = c.now
	switch {
	case saved != nil:
		s.cursor, s.since = saved.Cursor, saved.Since
	case lc.StartAt == StartEnd:
		s.since = c.now().UnixMicro()
	}
	return s
}

func (s *journalSource) checkpoint() *sourceState {
	return &sourceState{Kind: SourceJournal, Cursor: s.cursor, Since: s.since}
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
	for _, u := range s.cfg.Units {
		args = append(args, "_SYSTEMD_UNIT="+u)
	}
	if len(s.cfg.Units) > 0 && len(s.cfg.Identifiers) > 0 {
		args = append(args, "+")
	}
	for _, id := range s.cfg.Identifiers {
		args = append(args, "SYSLOG_IDENTIFIER="+id)
	}
	return args
}

func (s *journalSource) run(ctx context.Context) {
	backoff := journalMinBackoff
	lastErr := ""
	for {
		started := s.core.now()
		err := s.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		s.sc.readErrors.Add(1)
		if s.core.now().Sub(started) > journalMaxBackoff {
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
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, journalMaxBackoff)
	}
}

// follow runs journalctl once, until it exits or ctx ends.
func (s *journalSource) follow(ctx context.Context) error {
	path := s.journalctl
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
	var jd journalDecoder
	for ctx.Err() == nil {
		_, err := lr.fill(r)
		s.core.ckpt.RLock()
		for {
			line, ok, oversized := lr.next()
			if oversized {
				s.sink.lines++
				s.sink.malformed++
				continue
			}
			if !ok {
				break
			}
			s.entry(line, &jd)
		}
		s.sink.flush()
		s.core.ckpt.RUnlock()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *journalSource) entry(line []byte, jd *journalDecoder) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	s.sink.lines++
	e, cursor, err := jd.decode(line)
	if cursor != "" {
		s.cursor = cursor
	}
	if err != nil {
		s.sink.malformed++
		return
	}
	s.sink.entry(&e)
}

// journalDecoder turns `journalctl -o json` lines into entries.
type journalDecoder struct {
	rec journalRecord
}

type journalRecord struct {
	Cursor     string          `json:"__CURSOR"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"`
	Message    json.RawMessage `json:"MESSAGE"`
	Identifier json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	SyslogPID  json.RawMessage `json:"SYSLOG_PID"`
	PID        json.RawMessage `json:"_PID"`
	Comm       json.RawMessage `json:"_COMM"`
	Hostname   json.RawMessage `json:"_HOSTNAME"`
}

var errNoMessage = errors.New("journal entry without MESSAGE")

// decode returns the entry and its cursor. The entry's slices are valid
// until the next call.
func (d *journalDecoder) decode(line []byte) (Entry, string, error) {
	d.rec = journalRecord{}
	if err := json.Unmarshal(line, &d.rec); err != nil {
		return Entry{}, "", err
	}
	e := Entry{tsFmt: tsUnixMicro}
	e.usec, _ = strconv.ParseInt(d.rec.Realtime, 10, 64)
	e.Message = journalValue(d.rec.Message)
	if e.Message == nil {
		return Entry{}, d.rec.Cursor, errNoMessage
	}
	e.Program = journalValue(d.rec.Identifier)
	if len(e.Program) == 0 {
		e.Program = journalValue(d.rec.Comm)
	}
	if e.PID = journalValue(d.rec.SyslogPID); len(e.PID) == 0 {
		e.PID = journalValue(d.rec.PID)
	}
	e.Host = journalValue(d.rec.Hostname)
	e.Timestamp = []byte(d.rec.Realtime)
	return e, d.rec.Cursor, nil
}

// journalValue reads a journal JSON field: a string, an array of byte
// values (binary data), an array of those (a field present several times:
// the first is used), or null (too large, without --all).
func journalValue(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		return []byte(s)
	}
	var nums []byte
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil
	}
	if v := bytes.TrimSpace(list[0]); len(v) > 0 && (v[0] == '"' || v[0] == '[') {
		return journalValue(list[0])
	}
	for _, n := range list {
		b, err := strconv.ParseUint(string(bytes.TrimSpace(n)), 10, 8)
		if err != nil {
			return nil
		}
		nums = append(nums, byte(b))
	}
	return bytes.TrimRight(nums, "\n")
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
