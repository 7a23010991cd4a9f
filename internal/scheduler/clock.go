// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"time"
)

// clock is where the scheduler takes its time from: the clock reading, the
// wait between runs, the heartbeat and each run's deadline. The daemon uses
// realClock (package time); tests use a fake clock that they step, so that
// they never sleep.
type clock interface {
	Now() time.Time
	// NewTimer returns a timer whose channel receives once, d from now.
	NewTimer(d time.Duration) timer
	// WithTimeout is context.WithTimeout on this clock: the context's
	// Deadline is Now()+d (or the parent's, if earlier) and, once that is
	// reached, its Err is context.DeadlineExceeded, so collectors can plan
	// with Deadline and test the error as with a standard context.
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// timer is the part of *time.Timer the scheduler uses.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

// realClock is package time.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

func (realClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }

func (r realTimer) Stop() bool { return r.t.Stop() }
