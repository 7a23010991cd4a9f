// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Event-driven following. A file source with a Watcher still finds every
// change by polling (pollOnce: stat by descriptor and by name, read to the
// end, look for copies and rotated siblings); the watcher only says when to
// poll. An event is a wake-up and nothing more: which file it named, in
// which order events came and how many were merged into one do not matter,
// because the poll it triggers looks at everything. So rotation and restart
// exactness are those of the polling follower, whatever the events.
//
// With a watcher the timer poll becomes a safety poll (safetyPoll), for
// changes no event reports: a filesystem where inotify is blind (NFS, CIFS,
// FUSE: the watcher reports them as not covered), a directory that does not
// exist yet, a glob whose directory part is a pattern. While anything is not
// covered, the source polls as without a watcher (poll_interval, backing off
// to idlePollMax). Without a watcher (inotify unavailable, out of watches,
// or a Clock that cannot be woken) it polls as before.

// safetyPoll is the timer poll of a source whose files and directories are
// all watched: it finds what an event would have missed. Ten seconds is far
// below any scrape or alert interval, and costs a wake-up a tenth as often
// as idlePollMax did.
const safetyPoll = 10 * time.Second

// eventGap is the least time between two polls triggered by events. A
// writer that appends one line per write(2) at 10 k lines/s wakes the
// watcher 10 000 times a second; one poll every eventGap reads all of it at
// a cost of a few syscalls per poll, and adds at most eventGap to the delay
// of the first line after a poll.
const eventGap = 5 * time.Millisecond

// A Watcher tells a file source when something it follows may have
// changed. NewInotify returns the kernel's; tests drive a fake one.
type Watcher interface {
	// Watch replaces the watched set: files, for writes, truncations and
	// metadata changes; and directories, for entries created, deleted or
	// renamed whose base names match one of the given patterns
	// (filepath.Match syntax). covered is false when some of it cannot be
	// watched (a missing directory, a filesystem where inotify sees only
	// local changes); err is set when the watcher cannot go on (out of
	// watches), and the source then polls without it.
	Watch(files []string, dirs map[string][]string) (covered bool, err error)
	// Wake has a value when anything watched may have changed since it was
	// last taken. Any number of changes may be merged into one value.
	Wake() <-chan struct{}
	// Close releases the watcher.
	Close() error
}

// WatchFunc creates a Watcher.
type WatchFunc func() (Watcher, error)

// A WakeClock is a Clock whose waits can also end at a wake-up. A file
// source uses its Env.Watch only with a WakeClock: RealClock is one; a
// test clock that steps time and is not one keeps its source polling.
type WakeClock interface {
	Clock
	// WaitWake blocks for d, until wake has a value (woke), or until ctx is
	// done (ok false).
	WaitWake(ctx context.Context, d time.Duration, wake <-chan struct{}) (woke, ok bool)
}

// WaitWake waits on a timer and on wake.
func (RealClock) WaitWake(ctx context.Context, d time.Duration, wake <-chan struct{}) (woke, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-wake:
		return true, true
	case <-t.C:
		return false, true
	}
}

// watchState is a file source's use of its watcher.
type watchState struct {
	w        Watcher   // nil: polling only
	clock    WakeClock // the source's clock, when it is one
	covered  bool      // the last Watch covered everything
	key      string    // what the last Watch was given, to call it again only on change
	lastPoll time.Time
}

// startWatch creates the source's watcher, if its Env has one and its clock
// can be woken; a failure is logged, and the source polls.
func (s *fileSource) startWatch(newWatcher WatchFunc) {
	wc, ok := s.clock.(WakeClock)
	if newWatcher == nil || !ok {
		return
	}
	w, err := newWatcher()
	if err != nil {
		s.logger.Warn("cannot watch log files with inotify, polling them instead", zap.Error(err),
			zap.Duration("poll_interval", s.poll))
		return
	}
	s.watch.w, s.watch.clock = w, wc
}

func (s *fileSource) stopWatch() {
	if s.watch.w != nil {
		s.watch.w.Close()
		s.watch.w = nil
	}
}

// syncWatch gives the watcher the files followed now and the directories
// where files of the patterns may appear, when that set changed since the
// last call, or when the last one did not cover everything (a directory
// may have appeared since). It reports whether the set changed: what was
// written to a file between the poll that found it and its watch sent no
// event, so the caller polls once more.
func (s *fileSource) syncWatch() (changed bool) {
	if s.watch.w == nil {
		return false
	}
	files := sortedKeys(s.live)
	dirs, covered := watchSet(s.patterns, files)
	var key strings.Builder
	for _, f := range files {
		id := s.live[f].id
		key.WriteString(f)
		key.WriteByte(0)
		key.WriteString(strconv.FormatUint(id.dev, 16))
		key.WriteByte(':')
		key.WriteString(strconv.FormatUint(id.ino, 16))
		key.WriteByte(0)
	}
	for _, d := range sortedKeys(dirs) {
		key.WriteString(d)
		key.WriteString(strings.Join(dirs[d], "\x01"))
		key.WriteByte(0)
	}
	if s.watch.covered && key.String() == s.watch.key {
		return false
	}
	ok, err := s.watch.w.Watch(files, dirs)
	if err != nil {
		s.logger.Warn("cannot watch log files with inotify any more, polling them instead", zap.Error(err),
			zap.Duration("poll_interval", s.poll))
		s.stopWatch()
		return true
	}
	changed = key.String() != s.watch.key
	s.watch.key, s.watch.covered = key.String(), ok && covered
	return changed
}

// pollAndWatch polls, then brings the watched set up to date, polling again
// while that changes it (a bounded number of times: a set that keeps
// changing is left to the next wake-up).
func (s *fileSource) pollAndWatch(ctx context.Context) {
	s.pollOnce(ctx)
	for range 3 {
		if !s.syncWatch() || ctx.Err() != nil {
			return
		}
		s.pollOnce(ctx)
	}
}

// watchSet returns the directories to watch for the files of patterns, with
// the base-name patterns of each, given the files found now; covered is
// false when a pattern's directory part is itself a pattern (a directory
// that appears cannot be watched before it is found).
func watchSet(patterns, files []string) (dirs map[string][]string, covered bool) {
	dirs = map[string][]string{}
	covered = true
	for _, pat := range patterns {
		dir, base := filepath.Split(pat)
		dir = filepath.Clean(dir)
		if strings.ContainsAny(dir, "*?[") {
			covered = false
			for _, path := range files {
				if ok, _ := filepath.Match(pat, path); ok {
					d, b := filepath.Split(path)
					addName(dirs, filepath.Clean(d), b)
				}
			}
			continue
		}
		addName(dirs, dir, base)
	}
	return dirs, covered
}

// CheckInotify tells whether the files of patterns (those that exist now)
// and their directories can be watched with inotify, as a file source
// would: err when inotify is unavailable or out of instances or watches
// (the source then polls every poll_interval, backing off to 1s while
// idle), covered false when some of it cannot be watched (a missing
// directory, a network filesystem, a pattern in a directory name), so
// that changes there are seen by polling. For `mailwatchd doctor`.
func CheckInotify(patterns []string) (covered bool, err error) {
	w, err := NewInotify()
	if err != nil {
		return false, err
	}
	defer w.Close()
	var files []string
	for _, pat := range patterns {
		for _, path := range expandPattern(pat) {
			if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
				files = append(files, path)
			}
		}
	}
	dirs, covered := watchSet(patterns, files)
	ok, err := w.Watch(files, dirs)
	return ok && covered, err
}

func addName(dirs map[string][]string, dir, name string) {
	if !slices.Contains(dirs[dir], name) {
		dirs[dir] = append(dirs[dir], name)
	}
}

// wait waits before the next poll: for d, or with a watcher until an event
// (but no sooner than eventGap after the last poll). It reports false when
// ctx is done.
func (s *fileSource) wait(ctx context.Context, d time.Duration) bool {
	if s.watch.w == nil {
		return s.clock.Wait(ctx, d)
	}
	woke, ok := s.watch.clock.WaitWake(ctx, d, s.watch.w.Wake())
	if !ok {
		return false
	}
	if woke {
		if gap := eventGap - s.clock.Now().Sub(s.watch.lastPoll); gap > 0 {
			if !s.clock.Wait(ctx, gap) {
				return false
			}
		}
	}
	s.watch.lastPoll = s.clock.Now()
	return true
}

// watchedDelay is the wait after a poll when the watcher covers every
// file and directory: the safety poll, or the poll interval while rotated
// files drain (rotate_wait is timed by the polls, and a file renamed away
// is no longer watched).
func (s *fileSource) watchedDelay() (time.Duration, bool) {
	if s.watch.w == nil || !s.watch.covered {
		return 0, false
	}
	if len(s.draining) > 0 {
		return s.poll, true
	}
	return max(safetyPoll, s.poll), true
}
