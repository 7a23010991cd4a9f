// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// The file follower polls: at each poll it stats each followed file by
// descriptor and by name and reads what was added. An inotify event wakes it
// for a poll at once (watch.go); without inotify it polls every poll
// interval, slowing down while nothing is written (see idlePollMax). A poll
// costs a few syscalls per file whatever the write rate, and reads in
// 256 KiB chunks, so catching up runs at parsing speed (nxadm/tail, measured
// here, costs two lseeks and a channel hand-off per line and caps near
// 190 k lines/s). Events only say when to look, never what happened, so
// every rotation case below is found by the poll, in whatever order and
// number the events came. A file is identified by device, inode and a
// fingerprint of its first bytes (up to fpMax):
//
//   - size below the read position, or first bytes changed: truncated
//     (copytruncate). The copy is looked for among the siblings
//     (mail.log.1, mail.log-20260101) by fingerprint, and read from the old
//     position, so the lines written before the truncation are not lost.
//   - the name points at another file (rename and create, delete and
//     create, symlink swap), or at none: rotated. The old descriptor is kept
//     and read for rotate_wait more, for the lines its writer adds before it
//     reopens; the new file is read from its start.
//
// Rotated versions that came and went between two polls, or while we were
// down, are found among the siblings (rotate.go). Positions are committed
// per chunk together with the sink's counts (under the checkpoint lock), so
// a checkpoint never splits a line from its count.
const fpMax = 1024

// globEvery is the least time between two expansions of glob patterns.
const globEvery = time.Second

var errTruncated = errors.New("file truncated")

type fileID struct{ dev, ino uint64 }

func statID(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino} //nolint:unconvert // Dev is int32 on some platforms
	}
	return fileID{}
}

// tailer follows one open file.
type tailer struct {
	path       string // the followed path whose lines this file holds
	file       string // the file's own name (differs for rotated siblings and copies)
	f          *os.File
	id         fileID
	fp         []byte // the first bytes of the file, up to fpMax
	offset     int64  // committed: start of the first line not yet counted
	readPos    int64  // end of what was read
	partial    []byte // read but incomplete last line
	skipping   bool   // inside an oversized line
	size       int64
	mtime      time.Time
	drainUntil time.Time // non-zero once rotated away: read until then, then close
	// While nothing of the file was read (fp empty), unseen holds the
	// rotated siblings that existed when it was last looked at, and
	// unseenMtime its modification time then: a copy made since is of
	// lines never seen (copiedUnseen).
	unseen      map[fileID]bool
	unseenMtime time.Time
}

func (t *tailer) pos() FilePos {
	sum := sha256.Sum256(t.fp)
	p := FilePos{Path: t.path, File: t.file, Dev: t.id.dev, Ino: t.id.ino, FPLen: len(t.fp),
		FP: hex.EncodeToString(sum[:]), Offset: t.offset, InLongLine: t.skipping}
	if t.unseen != nil {
		p.NoneRead = true
		if !t.unseenMtime.IsZero() {
			p.UnseenMtime = t.unseenMtime.UnixNano()
		}
		for id := range t.unseen {
			p.Siblings = append(p.Siblings, FileRef{Dev: id.dev, Ino: id.ino})
		}
		slices.SortFunc(p.Siblings, func(a, b FileRef) int {
			return cmp.Or(cmp.Compare(a.Dev, b.Dev), cmp.Compare(a.Ino, b.Ino))
		})
	}
	return p
}

// FileOptions are the settings of a file follower.
type FileOptions struct {
	// Patterns are the absolute paths and glob patterns to follow.
	// Compressed files (.gz, .bz2, .xz, .zst, .lz4, .Z) a glob matches are
	// ignored.
	Patterns     []string
	PollInterval time.Duration // poll_interval: the fastest poll
	RotateWait   time.Duration // rotate_wait: how long a rotated file is still read
	MaxCatchUp   int64         // max_catchup_bytes; 0 for no bound
	// StartAtEnd (start_at: end) starts files of patterns without a saved
	// position at their end; else they are read from their start.
	StartAtEnd bool
}

// fileSource follows the files of one configured source.
type fileSource struct {
	patterns   []string
	poll       time.Duration
	rotateWait time.Duration
	maxCatchUp int64
	startAtEnd bool            // start_at: end
	fresh      map[string]bool // patterns without saved state: start_at applies to their files
	sink       Sink
	stats      *Stats
	ckpt       sync.Locker
	clock      Clock
	logger     *zap.Logger

	lr       *lineReader
	scratch  []byte
	live     map[string]*tailer // by followed path
	draining []*tailer
	resume   map[string][]FilePos // saved positions by path, used once at start
	savedAt  int64                // Unix nanoseconds of the checkpoint resumed from; 0 for none
	started  bool
	lastGlob time.Time
	globbed  []string
	warned   map[string]string // path -> last error logged, to log each problem once

	newWatcher WatchFunc  // Env.Watch
	watch      watchState // watch.go

	// readDir lists a directory: os.ReadDir, or a test's listing that
	// misses a file, as one torn by a rotation can.
	readDir func(string) ([]os.DirEntry, error)
}

// NewFile returns a follower of the files opt names, resuming from saved
// (nil on a first start).
func NewFile(opt FileOptions, env Env, saved *State) Follower {
	return newFileSource(opt, env, saved)
}

func newFileSource(opt FileOptions, env Env, saved *State) *fileSource {
	s := &fileSource{
		patterns: opt.Patterns, poll: opt.PollInterval, rotateWait: opt.RotateWait,
		maxCatchUp: opt.MaxCatchUp, sink: env.Sink, stats: env.Stats, ckpt: env.Checkpoint, clock: env.Clock,
		logger: env.Logger,
		lr:     newLineReader(), scratch: make([]byte, fpMax), live: map[string]*tailer{},
		resume: map[string][]FilePos{}, warned: map[string]string{}, fresh: map[string]bool{},
		startAtEnd: opt.StartAtEnd, newWatcher: env.Watch, readDir: os.ReadDir,
	}
	for _, pat := range opt.Patterns {
		s.fresh[pat] = true
	}
	if saved != nil {
		s.savedAt = saved.SavedAt
		for _, pat := range saved.Patterns {
			delete(s.fresh, pat)
		}
		for _, p := range saved.Files {
			s.resume[p.Path] = append(s.resume[p.Path], p)
		}
	}
	return s
}

// idlePollMax is how slow the poll gets while the files stand still.
//
// A source polls every poll interval while its files move. Each poll that
// finds nothing new doubles the delay, up to idlePollMax (or the poll
// interval, when that is longer), and the first poll that finds anything
// returns to the poll interval. Idle, a source then wakes the process once
// a second instead of 4 times: measured here, that took the default
// configuration's idle CPU from 19-23 to 14 ticks of 10 ms a minute (the
// wake-up costs the Go runtime far more than the two stats of a poll). The
// price: the first line after a quiet spell is counted up to 1 s late, far
// below any scrape interval. A 2 s cap measured 12 ticks: not worth
// doubling that delay.
const idlePollMax = time.Second

// Run follows the files until ctx is done.
func (s *fileSource) Run(ctx context.Context) {
	defer s.closeAll()
	s.startWatch(s.newWatcher)
	defer s.stopWatch()
	s.start(ctx)
	if s.syncWatch() {
		s.pollAndWatch(ctx)
	}
	delay := s.nextDelay(s.poll, true)
	for s.wait(ctx, delay) {
		before := s.progress()
		s.pollAndWatch(ctx)
		delay = s.nextDelay(delay, before != s.progress())
	}
}

// progress sums what changes when a poll finds something: the read
// positions (new data, truncation, a new file read from its start) and the
// number of files followed and draining (discovery, rotation, closing).
func (s *fileSource) progress() [3]int64 {
	var pos int64
	for _, t := range s.live {
		pos += t.readPos
	}
	for _, t := range s.draining {
		pos += t.readPos
	}
	return [3]int64{pos, int64(len(s.live)), int64(len(s.draining))}
}

// nextDelay is the wait after a poll: the poll interval after one that
// found something or while rotated files drain (rotate_wait is timed by
// the polls), else twice the last delay up to idlePollMax.
func (s *fileSource) nextDelay(last time.Duration, moved bool) time.Duration {
	if d, ok := s.watchedDelay(); ok {
		return d
	}
	if moved || len(s.draining) > 0 {
		return s.poll
	}
	return min(2*last, max(s.poll, idlePollMax))
}

// Checkpoint returns the positions to save; the caller holds the
// checkpoint lock exclusively.
func (s *fileSource) Checkpoint() *State {
	st := &State{Kind: KindFile, Patterns: s.patterns, SavedAt: s.clock.Now().UnixNano()}
	for _, p := range sortedKeys(s.live) {
		st.Files = append(st.Files, s.live[p].pos())
	}
	for _, t := range s.draining {
		st.Files = append(st.Files, t.pos())
	}
	// Positions of files not found yet stay, so a later start still knows them.
	for _, p := range sortedKeys(s.resume) {
		st.Files = append(st.Files, s.resume[p]...)
	}
	return st
}

func (s *fileSource) closeAll() {
	for _, t := range s.live {
		t.f.Close()
	}
	for _, t := range s.draining {
		t.f.Close()
	}
}

// start opens the files present at start-up: it resumes saved positions,
// finds files rotated while we were down, and bounds the catch-up.
func (s *fileSource) start(ctx context.Context) {
	s.ckpt.Lock()
	var fresh []*tailer
	for _, pat := range s.patterns {
		for _, path := range expandPattern(pat) {
			if s.live[path] == nil {
				fresh = append(fresh, s.openAtStart(path, s.fresh[pat] && s.startAtEnd)...)
			}
		}
	}
	for _, path := range sortedKeys(s.resume) { // saved paths that no pattern matches now
		fresh = append(fresh, s.resumePath(path, nil, s.resume[path])...)
		delete(s.resume, path)
	}
	s.boundCatchUp(fresh)
	s.started = true
	s.ckpt.Unlock()
	s.pollOnce(ctx)
}

// openAtStart opens path at start-up and returns the tailers it created.
func (s *fileSource) openAtStart(path string, atEnd bool) []*tailer {
	saved, hasSaved := s.resume[path]
	delete(s.resume, path)
	f, fi, err := s.openFile(path)
	if err != nil {
		if !hasSaved {
			return nil // nothing known of it: its rotated files were read before, or are older than us
		}
		return s.resumePath(path, nil, saved)
	}
	t := s.newTailer(path, path, f, fi)
	s.live[path] = t
	if !hasSaved {
		if atEnd {
			s.seek(t, fi.Size())
			s.noteLastLine(f, fi.Size())
		}
		return []*tailer{t}
	}
	return append(s.resumePath(path, t, saved), t)
}

// lastLineWindow is how much of a file's end noteLastLine reads for its last
// line: syslog lines are far shorter.
const lastLineWindow = 8 << 10

// noteLastLine shows the sink the last line of a file that is followed
// from its end. Without it a log that is already silent when mailwatchd
// first starts would have no mailwatch_log_last_line_timestamp_seconds at
// all, and the silence could not be alerted on. Nothing is counted: the
// line was not read.
func (s *fileSource) noteLastLine(f *os.File, size int64) {
	if line, ok := lastLine(f, size); ok {
		s.sink.LastLine(line)
	}
}

// PeekLastLines shows s, through LastLine, the last line of each file the
// patterns name now, and reads nothing else: what `mailwatchd check` can
// know of logs it does not follow.
func PeekLastLines(patterns []string, s Sink) {
	for _, pat := range patterns {
		for _, path := range expandPattern(pat) {
			f, fi, err := openRegular(path)
			if err != nil {
				continue
			}
			if line, ok := lastLine(f, fi.Size()); ok {
				s.LastLine(line)
			}
			f.Close()
		}
	}
}

// lastLine returns the last line of f (of size bytes), looked for in its
// last lastLineWindow bytes.
func lastLine(f *os.File, size int64) ([]byte, bool) {
	if size == 0 {
		return nil, false
	}
	off := max(size-lastLineWindow, 0)
	buf := make([]byte, size-off)
	n, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	buf = bytes.TrimRight(buf[:n], "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	} else if off > 0 {
		return nil, false // the window holds no whole line
	}
	return buf, true
}

// openFile opens a regular file; errors other than its absence are counted
// and logged.
func (s *fileSource) openFile(path string) (*os.File, fs.FileInfo, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.problem(path, err)
		}
		return nil, nil, err
	}
	delete(s.warned, path)
	return f, fi, nil
}

// errNotRegular refuses what is not a regular file at a followed path.
var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading if it is a regular file. The open
// never blocks: a FIFO without a writer (mkfifo mail.log), a socket or a
// device would block open or read forever, and with it the source, its
// reloads and the state saves. O_NONBLOCK does not change reads of a
// regular file.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", errNotRegular, FileType(fi.Mode()))}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// FileType names the type of a file that is not a regular one ("a FIFO"),
// for errors that refuse it (the follower's, and the config loader's).
func FileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}

// problem counts a read error and logs it once per path and message.
func (s *fileSource) problem(path string, err error) {
	s.stats.ReadErrors.Add(1)
	if s.warned[path] != err.Error() {
		s.warned[path] = err.Error()
		s.logger.Warn("cannot read log file", zap.String("path", path), zap.Error(err))
	}
}

func (s *fileSource) newTailer(path, file string, f *os.File, fi fs.FileInfo) *tailer {
	t := &tailer{path: path, file: file, f: f, id: statID(fi), size: fi.Size(), mtime: fi.ModTime()}
	n, _ := f.ReadAt(s.scratch, 0)
	t.fp = append([]byte(nil), s.scratch[:n]...)
	if n == 0 {
		t.unseen, t.unseenMtime = s.siblingIDs(path), fi.ModTime()
	}
	return t
}

func (s *fileSource) seek(t *tailer, off int64) {
	if _, err := t.f.Seek(off, io.SeekStart); err != nil {
		s.problem(t.file, err)
		return
	}
	t.offset, t.readPos, t.partial, t.skipping = off, off, t.partial[:0], false
}

func (s *fileSource) prefixMatches(f *os.File, p FilePos) bool {
	if p.FPLen > fpMax {
		return false
	}
	n, _ := f.ReadAt(s.scratch[:p.FPLen], 0)
	if n != p.FPLen {
		return false
	}
	sum := sha256.Sum256(s.scratch[:n])
	return hex.EncodeToString(sum[:]) == p.FP
}

// expand returns the current paths of the source's patterns, expanding
// globs at most every globEvery.
func (s *fileSource) expand(now time.Time) []string {
	if !s.lastGlob.IsZero() && now.Sub(s.lastGlob) < globEvery {
		return s.globbed
	}
	s.lastGlob = now
	var out []string
	seen := map[string]bool{}
	for _, pat := range s.patterns {
		for _, m := range expandPattern(pat) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	s.globbed = out
	return out
}

// expandPattern returns the paths of one pattern: itself when it is a
// plain path, else its uncompressed glob matches.
func expandPattern(pat string) []string {
	if !strings.ContainsAny(pat, "*?[") {
		return []string{pat}
	}
	matches, _ := filepath.Glob(pat)
	out := matches[:0]
	for _, m := range matches {
		if !isCompressed(m) {
			out = append(out, m)
		}
	}
	return out
}

func isCompressed(name string) bool {
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// pollOnce does one round: new files, every live file, every draining file.
func (s *fileSource) pollOnce(ctx context.Context) {
	now := s.clock.Now()
	for _, path := range s.expand(now) {
		if s.live[path] == nil {
			s.discover(path)
		}
	}
	for _, path := range sortedKeys(s.live) {
		if ctx.Err() != nil {
			return
		}
		s.pollLive(ctx, s.live[path])
	}
	for i := 0; i < len(s.draining); i++ { // copiedUnseen may append
		t := s.draining[i]
		err := s.readPass(ctx, t)
		if errors.Is(err, errTruncated) {
			// Truncated and written to again before the poll that found it
			// rotated (the same size as the read position: nothing was
			// read, so its first bytes were not compared then).
			s.truncated(t)
			err = s.readPass(ctx, t)
		}
		if err != nil && !errors.Is(err, errTruncated) {
			s.problem(t.file, err)
		}
		if t.unseen != nil { // resumed from a position of a file nothing was read of
			s.copiedUnseen(t, t.mtime)
			t.unseen = nil // renamed away: no longer copied
		}
	}
	if ctx.Err() == nil {
		s.finishDrained(now)
	}
	var unread int64
	for _, t := range s.live {
		unread += max(0, t.size-t.offset)
	}
	s.stats.UnreadBytes.Store(unread)
}

// discover opens a path that appeared while we run: it is read from its start.
func (s *fileSource) discover(path string) {
	f, fi, err := s.openFile(path)
	if err != nil {
		return
	}
	id := statID(fi)
	s.ckpt.Lock()
	defer s.ckpt.Unlock()
	for i, t := range s.draining { // a rotated file that a glob matches again: adopt it
		if t.id == id {
			f.Close()
			t.path, t.file, t.drainUntil = path, path, time.Time{}
			s.live[path] = t
			s.draining = append(s.draining[:i], s.draining[i+1:]...)
			return
		}
	}
	s.live[path] = s.newTailer(path, path, f, fi)
}

// pollLive reads what was added to a followed file and checks it for
// truncation and rotation.
func (s *fileSource) pollLive(ctx context.Context, t *tailer) {
	fi, err := t.f.Stat()
	if err != nil {
		s.problem(t.file, err)
		return
	}
	t.size = fi.Size()
	if t.size < t.readPos {
		s.truncated(t)
	}
	if t.size > t.readPos {
		err := s.readPass(ctx, t)
		if errors.Is(err, errTruncated) {
			s.truncated(t)
			err = s.readPass(ctx, t)
		}
		if err != nil && !errors.Is(err, errTruncated) {
			s.problem(t.file, err)
		}
	}
	if t.unseen != nil && (len(t.fp) > 0 || t.size > 0 || !fi.ModTime().Equal(t.unseenMtime)) {
		s.copiedUnseen(t, fi.ModTime())
	}
	nfi, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.rotated(t, nil, nil)
		return
	case err != nil:
		s.problem(t.path, err)
	case statID(nfi) != t.id:
		f, fi, err := s.openFile(t.path)
		if err != nil {
			s.rotated(t, nil, nil)
			return
		}
		s.pollLive(ctx, s.rotated(t, f, fi)) // read the new file in this same poll
	}
}

// finishDrained closes the rotated files whose rotate_wait is over; a last
// line without its newline is counted.
func (s *fileSource) finishDrained(now time.Time) {
	s.ckpt.Lock()
	defer s.ckpt.Unlock()
	kept := s.draining[:0]
	for _, t := range s.draining {
		if now.Before(t.drainUntil) {
			kept = append(kept, t)
			continue
		}
		if len(t.partial) > 0 && !t.skipping {
			s.sink.Line(t.partial)
			s.sink.Flush()
		}
		t.f.Close()
	}
	clear(s.draining[len(kept):])
	s.draining = kept
}

// readPass reads t from its read position to the end of the file, feeding
// the complete lines to the sink. Every chunk is committed (lines counted,
// position advanced) under the checkpoint lock, after checking that the
// file's first bytes did not change while it was read.
func (s *fileSource) readPass(ctx context.Context, t *tailer) error {
	lr := s.lr
	lr.reset()
	lr.end = copy(lr.buf, t.partial)
	lr.skipping = t.skipping
	defer func() {
		t.partial = append(t.partial[:0], lr.buf[lr.start:lr.end]...)
		t.skipping = lr.skipping
	}()
	for ctx.Err() == nil {
		s.ckpt.Lock()
		n, err := lr.fill(t.f)
		if n > 0 && !s.checkPrefix(t) {
			lr.end -= n
			s.ckpt.Unlock()
			return errTruncated
		}
		t.readPos += int64(n)
		from := t.offset
		s.drainLines(lr)
		t.offset = t.readPos - int64(lr.pending())
		t.skipping = lr.skipping // with offset: a checkpoint may come before this pass ends
		s.sink.Flush()
		if ce := s.logger.Check(zap.DebugLevel, "log chunk read"); ce != nil {
			first, _, _ := bytes.Cut(t.fp, []byte{'\n'})
			sum := sha256.Sum256(first)
			ce.Write(zap.String("file", t.file), zap.Uint64("ino", t.id.ino), zap.String("fp", hex.EncodeToString(sum[:6])),
				zap.Int64("from", from), zap.Int64("to", t.offset))
		}
		s.ckpt.Unlock()
		if n == 0 || errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *fileSource) drainLines(lr *lineReader) {
	for {
		line, ok, oversized := lr.next()
		if oversized {
			s.sink.Malformed()
			continue
		}
		if !ok {
			return
		}
		s.sink.Line(line)
	}
}

// checkPrefix verifies that the file still starts with the bytes t saw, and
// extends the fingerprint while the file is shorter than fpMax.
func (s *fileSource) checkPrefix(t *tailer) bool {
	n, _ := t.f.ReadAt(s.scratch, 0)
	if n < len(t.fp) || !bytes.Equal(s.scratch[:len(t.fp)], t.fp) {
		return false
	}
	t.fp = append(t.fp, s.scratch[len(t.fp):n]...)
	return true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
