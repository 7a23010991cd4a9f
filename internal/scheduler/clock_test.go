// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// fakeClock is a clock that only moves when a test calls Advance, which
// fires the timers due; a run deadline (WithTimeout) is one of its timers.
//
// Tests synchronise with the code under test through waitFor: the
// condition is checked again each time the set of pending timers changes
// (a goroutine armed, stopped or was woken by a timer) and each time wake
// is called (the scheduler's recorded hook), never on a poll.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer  // armed, not yet fired or stopped; in the order armed
	changed chan struct{} // closed and replaced on every event waitFor waits for
}

type fakeTimer struct {
	clk  *fakeClock
	d    time.Duration // as armed: tells the tests' timers apart
	when time.Time
	c    chan time.Time // NewTimer's; capacity 1, as time.Timer's was
	fire func()         // WithTimeout's: cancels its context
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_000_000, 0), changed: make(chan struct{})}
}

// newFakeScheduler returns a scheduler on a fake clock that wakes the
// clock's waiters after every recorded run.
func newFakeScheduler() (*Scheduler, *fakeClock) {
	clk := newFakeClock()
	s := newScheduler(zap.NewNop(), clk)
	s.recorded = clk.wake
	return s, clk
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) timer {
	t := &fakeTimer{clk: c, d: d, c: make(chan time.Time, 1)}
	c.arm(t)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clk
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.pending {
		if p == t {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			c.wakeLocked()
			return true
		}
	}
	return false
}

// arm makes t due d from now; a timer already due fires at once, as a real
// one would.
func (c *fakeClock) arm(t *fakeTimer) {
	c.mu.Lock()
	t.when = c.now.Add(t.d)
	if t.d > 0 {
		c.pending = append(c.pending, t)
		c.wakeLocked()
		c.mu.Unlock()
		return
	}
	now := c.now
	c.mu.Unlock()
	t.fireAt(now)
}

func (t *fakeTimer) fireAt(now time.Time) {
	if t.fire != nil {
		t.fire()
		return
	}
	select {
	case t.c <- now:
	default:
	}
}

// Advance moves the clock d forward, then fires every timer due by then,
// in the order they were due (a timer's channel receives its due time). The
// goroutines it wakes read the new time, so whatever they arm is due after
// it: one Advance never fires a timer armed in reaction to another (a run
// started by its interval timer is not also failed by its deadline). To
// step through several timers, advance to each in turn.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, later []*fakeTimer
	for _, t := range c.pending {
		if t.when.After(c.now) {
			later = append(later, t)
		} else {
			due = append(due, t)
		}
	}
	c.pending = later
	c.wakeLocked()
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.when.Compare(b.when) })
	for _, t := range due {
		t.fireAt(t.when)
	}
}

// WithTimeout returns a context cancelled with context.DeadlineExceeded
// when Advance reaches Now()+d, whose Deadline is that fake time.
func (c *fakeClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	dl := c.Now().Add(d)
	if pdl, ok := parent.Deadline(); ok && pdl.Before(dl) {
		return context.WithCancel(parent) // as context.WithDeadline does
	}
	ctx := &fakeDeadlineCtx{parent: parent, deadline: dl, done: make(chan struct{})}
	t := &fakeTimer{clk: c, d: d, fire: func() { ctx.cancel(context.DeadlineExceeded) }}
	c.arm(t)
	stop := context.AfterFunc(parent, func() { ctx.cancel(parent.Err()) })
	return ctx, func() {
		stop()
		t.Stop()
		ctx.cancel(context.Canceled)
	}
}

// fakeDeadlineCtx is a context with a deadline on a fake clock.
type fakeDeadlineCtx struct {
	parent   context.Context
	deadline time.Time
	done     chan struct{}
	mu       sync.Mutex
	err      error
}

func (x *fakeDeadlineCtx) Deadline() (time.Time, bool) { return x.deadline, true }

func (x *fakeDeadlineCtx) Done() <-chan struct{} { return x.done }

func (x *fakeDeadlineCtx) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

func (x *fakeDeadlineCtx) Value(key any) any { return x.parent.Value(key) }

func (x *fakeDeadlineCtx) cancel(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err == nil {
		x.err = err
		close(x.done)
	}
}

// wake makes waitFor check its condition again.
func (c *fakeClock) wake() {
	c.mu.Lock()
	c.wakeLocked()
	c.mu.Unlock()
}

func (c *fakeClock) wakeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waitFor returns once cond holds, checking it now and after each event
// (see fakeClock). The 10 s are a guard against a hung test, not a wait:
// a passing test never comes near them.
func (c *fakeClock) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	for {
		c.mu.Lock()
		next := c.changed
		c.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-next:
		case <-guard.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// armed counts the pending timers armed for a duration in [lo, hi].
func (c *fakeClock) armed(lo, hi time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.pending {
		if lo <= t.d && t.d <= hi {
			n++
		}
	}
	return n
}

// sleeping counts the jobs of this interval waiting for their next run
// (the interval is jittered by ±10 %). Tests keep intervals and timeouts
// far enough apart that the ranges do not overlap.
func (c *fakeClock) sleeping(interval time.Duration) int {
	return c.armed(interval-interval/10, interval+interval/10)
}

// running counts the runs of this timeout waiting for their deadline.
func (c *fakeClock) running(timeout time.Duration) int { return c.armed(timeout, timeout) }

// nextRun waits until the job of this interval sleeps, then advances the
// clock past its longest jittered interval, so it starts its next run.
func (c *fakeClock) nextRun(t *testing.T, interval time.Duration) {
	t.Helper()
	c.waitFor(t, "the job to wait for its next run", func() bool { return c.sleeping(interval) == 1 })
	c.Advance(interval + interval/10)
}

func TestFakeClockTimersAndDeadline(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	start := clk.Now()
	late, early := clk.NewTimer(2*time.Second), clk.NewTimer(time.Second)
	ctx, cancel := clk.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(start.Add(1500*time.Millisecond)) {
		t.Fatalf("Deadline() = %v, %v; want the fake deadline", dl, ok)
	}
	clk.Advance(time.Second - 1)
	select {
	case <-early.C():
		t.Fatal("timer fired early")
	case <-ctx.Done():
		t.Fatal("deadline passed early")
	default:
	}
	clk.Advance(1)
	if got := <-early.C(); !got.Equal(start.Add(time.Second)) {
		t.Errorf("timer fired at %v, want %v", got, start.Add(time.Second))
	}
	clk.Advance(600 * time.Millisecond)
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v after the deadline, want DeadlineExceeded", ctx.Err())
	}
	if !late.Stop() || late.Stop() {
		t.Error("Stop should report true for a pending timer, then false")
	}
	clk.Advance(time.Hour)
	select {
	case <-late.C():
		t.Error("stopped timer fired")
	default:
	}

	parent, cancelParent := context.WithCancel(context.Background())
	child, cancelChild := clk.WithTimeout(parent, time.Minute)
	defer cancelChild()
	cancelParent()
	<-child.Done()
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("Err() = %v after the parent's cancel, want Canceled", child.Err())
	}
}
