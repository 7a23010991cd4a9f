// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"context"
	"errors"
	"sync"
)

// ErrBusy is returned by a Guard while the work an earlier run started
// has not returned.
var ErrBusy = errors.New("the work of an earlier run has not returned yet (hung file system, mount or peer?); not starting another")

// Guard runs the part of a collector's run that can block in a call that
// ignores the run's context (a read on a dead NFS mount, a statfs, a D-Bus
// peer that never answers) on a goroutine of its own, so that Update still
// returns when its context ends, as the Collector contract requires. The
// work left behind is abandoned, its result dropped; until it returns the
// guard starts no other work: runs fail with ErrBusy instead, so a stuck
// call costs one goroutine, never one per run.
//
// A collector keeps one Guard per thing that can hang on its own: one for
// the whole run, or one per target (filesystem keeps one per path, so the
// other paths are still measured while one mount hangs). The zero value is
// ready; a Guard must not be copied after first use.
type Guard[T any] struct {
	mu      sync.Mutex
	running chan struct{} // closed when the work in flight returns; nil when none
	retired bool
}

// Start starts work on a goroutine of its own and returns the channel its
// result will be sent on (buffered: nobody has to receive it). While work
// started earlier has not returned, or after Retire, it starts nothing and
// returns ErrBusy. The guard is free again before the result is sent, so
// the next run may start as soon as this one has it.
func (g *Guard[T]) Start(work func() T) (<-chan T, error) {
	g.mu.Lock()
	if g.running != nil || g.retired {
		g.mu.Unlock()
		return nil, ErrBusy
	}
	running := make(chan struct{})
	g.running = running
	g.mu.Unlock()
	out := make(chan T, 1)
	go func() {
		v := work()
		g.mu.Lock()
		g.running = nil
		g.mu.Unlock()
		close(running)
		out <- v
	}()
	return out, nil
}

// Do runs work as Start does and returns its result, or ctx's error when
// ctx ends first (the work is then abandoned), or ErrBusy at once while
// work started earlier has not returned.
func (g *Guard[T]) Do(ctx context.Context, work func() T) (T, error) {
	var zero T
	out, err := g.Start(work)
	if err != nil {
		return zero, err
	}
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Wait waits until no work is in flight, and returns ErrBusy if ctx ends
// first. A collector whose abandoned work normally returns soon after its
// deadline (service: the D-Bus connection is closed under it) waits for it
// rather than failing at once.
func (g *Guard[T]) Wait(ctx context.Context) error {
	g.mu.Lock()
	running := g.running
	g.mu.Unlock()
	if running == nil {
		return nil
	}
	select {
	case <-running:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

// Busy reports whether work is in flight.
func (g *Guard[T]) Busy() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running != nil
}

// Retire makes every later Start fail with ErrBusy, when no work is in
// flight, and reports whether it did. A collector replaced on a reload
// hands its state to its successor this way: only when no abandoned work
// of its own still uses it, and never to start work on it again.
func (g *Guard[T]) Retire() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running != nil {
		return false
	}
	g.retired = true
	return true
}

// DrainReady calls f with every value already waiting in ch, without
// waiting for more: at the end of a run, the results that came in just
// before the deadline are kept rather than reported as missing. It stops
// at a closed channel.
func DrainReady[T any](ch <-chan T, f func(T)) {
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return
			}
			f(v)
		default:
			return
		}
	}
}
