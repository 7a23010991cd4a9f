// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
)

// The pipeline's followers take their time from a follow.Clock (p.clock).
// Tests replace it, so that they step time and wait for conditions instead
// of sleeping:
//
//   - stepClock: every Wait (a file source between two polls, a journal
//     source before restarting journalctl) first reports its delay on
//     stepped, then returns only when the test sends on step. Its time is
//     the real time, moved on by advance.
//   - watchClock: real time and real timers, for sources that run on their
//     own (journalctl, a catch-up at full speed).
//
// Both notify waitFor at every Now: the sinks read the clock at every
// flush, after adding the lines of the batch to the counters, so a
// condition on the counters is looked at again each time it may have
// changed.

// nowWatch wakes the waiters of waitFor at every Now.
type nowWatch struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next Now
}

func (w *nowWatch) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *nowWatch) notify() {
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}

// waitFor waits until cond holds, looking at it again at every Now of the
// clock; it fails the test after patience. It is how tests synchronise with
// sources that run on their own, never a timed assertion.
func (w *nowWatch) waitFor(t testing.TB, patience time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		changed := w.next() // before cond: a change after it closes this channel
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// watchClock is the real clock, watched.
type watchClock struct {
	follow.RealClock
	nowWatch
}

func (c *watchClock) Now() time.Time {
	c.notify()
	return time.Now()
}

// stepClock is the clock of tests that step the followers.
type stepClock struct {
	nowWatch
	step    chan struct{}
	stepped chan time.Duration
	offset  atomic.Int64 // added to the real time
}

func newStepClock() *stepClock {
	return &stepClock{step: make(chan struct{}), stepped: make(chan time.Duration)}
}

func (c *stepClock) Now() time.Time {
	c.notify()
	return time.Now().Add(time.Duration(c.offset.Load()))
}

func (c *stepClock) Wait(ctx context.Context, d time.Duration) bool {
	select {
	case c.stepped <- d:
	case <-ctx.Done():
		return false
	}
	select {
	case <-c.step:
		return true
	case <-ctx.Done():
		return false
	}
}

// advance moves the clock's time on by d.
func (c *stepClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// patience bounds the waits of tests for sources that run on their own.
const patience = 15 * time.Second
