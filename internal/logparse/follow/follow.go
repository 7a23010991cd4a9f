// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package follow is the I/O half of the log pipeline: it follows a source's
// log files through every kind of rotation (a polling file follower), or the
// systemd journal through a journalctl subprocess, and hands every line to
// a Sink. It knows nothing of counters or rules: what a line means is the
// sink's business (the pipeline's sink classifies it with package maillog
// and counts it).
//
// A follower and its pipeline share a checkpoint lock. The follower holds
// it (shared) while it hands a chunk of lines to the sink, flushes the sink
// and advances its positions; the pipeline holds it exclusively while it
// takes the follower's Checkpoint together with its counters. So a saved
// checkpoint never splits a line from its count, and a restart from it
// neither loses nor double-counts lines.
package follow

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// Kinds of followers, as saved in State.Kind.
const (
	KindFile    = "file"
	KindJournal = "journal"
)

// A Sink takes what a follower reads from one source. A follower calls it
// from its own goroutine only, with the checkpoint lock held; ReadAll and
// PeekLastLines, which keep no positions, call it without the lock.
type Sink interface {
	// Line takes one raw line, without its newline. The bytes are valid
	// until Flush.
	Line(b []byte)
	// Entry takes one journal entry, already split. Its slices are valid
	// until Flush.
	Entry(e *maillog.Entry)
	// Malformed counts a line that cannot be taken at all: longer than the
	// line limit, or a journal record that is not JSON or has no message.
	Malformed()
	// Flush publishes what was taken since the last Flush. The follower
	// calls it before it reuses the buffer the lines came from and before
	// it releases the checkpoint lock, having advanced its positions.
	Flush()
	// LastLine shows the last line of a file that is followed from its end
	// (start_at: end): it is not read, and not counted; only its time is
	// noted, so that a log already silent at the first start can be
	// alerted on.
	LastLine(b []byte)
}

// Stats count what a follower met, as opposed to what the log holds (which
// the sink counts). The pipeline exports them; only SkippedBytes is saved
// with the positions, the others count per process.
type Stats struct {
	ReadErrors   atomic.Uint64 // errors opening, reading or following
	Rotations    atomic.Uint64 // files replaced under their name (rename, delete and create, symlink swap)
	Truncations  atomic.Uint64 // files truncated (copytruncate), or found shorter than their saved position
	SkippedBytes atomic.Uint64 // bytes skipped at start-up beyond max_catchup_bytes
	UnreadBytes  atomic.Int64  // gauge: bytes behind the end of the followed files at the last poll
}

// Clock is a follower's time: Now for positions and deadlines, Wait
// between polls and before restarts. RealClock is the clock of the
// process; tests step a clock of their own.
type Clock interface {
	Now() time.Time
	// Wait blocks for d or until ctx is done; it reports false when ctx
	// is done.
	Wait(ctx context.Context, d time.Duration) bool
}

// RealClock is time.Now and real timers.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Wait waits on a timer.
func (RealClock) Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Env is what a follower gets from the pipeline that runs it.
type Env struct {
	Logger *zap.Logger // with the source's name
	Sink   Sink
	Stats  *Stats
	// Checkpoint is the shared side of the checkpoint lock (the RLocker of
	// the pipeline's sync.RWMutex).
	Checkpoint sync.Locker
	Clock      Clock
	// Watch, if set, creates the watcher that wakes a file source when its
	// files change (NewInotify); nil, or a Clock that is not a WakeClock,
	// keeps the source polling (watch.go).
	Watch WatchFunc
}

// A Follower reads one source until its context ends.
type Follower interface {
	// Run follows the source until ctx is done.
	Run(ctx context.Context)
	// Checkpoint returns the positions to save. It is called with the
	// checkpoint lock held exclusively, or after Run returned.
	Checkpoint() *State
}
