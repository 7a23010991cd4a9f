// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

// fakeSource answers Query from a table; while block is set it blocks until
// its context ends or release is closed, whichever the test wants.
type fakeSource struct {
	mu          sync.Mutex
	sts         []status
	err         error
	block       bool
	ignoreCtx   bool // block until release even after ctx ends (a stuck read)
	release     chan struct{}
	calls       int
	closed      bool
	queryReturn chan struct{} // receives after each Query returns, if set
}

func (f *fakeSource) Query(ctx context.Context) ([]status, error) {
	f.mu.Lock()
	f.calls++
	block, ignore, release, sts, err := f.block, f.ignoreCtx, f.release, f.sts, f.err
	f.mu.Unlock()
	defer func() {
		if f.queryReturn != nil {
			f.queryReturn <- struct{}{}
		}
	}()
	if block {
		if ignore {
			<-release
		} else {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-release:
			}
		}
	}
	return sts, err
}

func (f *fakeSource) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// updateAtDeadline runs one Update under timeout and checks that it returns
// at most 100ms after the deadline fired. The 100ms count from the moment
// ctx.Done is seen, so that late timers on a loaded machine (2 cores, the
// race detector, parallel tests) do not fail the test; a loose bound on the
// whole run still catches an Update that ignores its context.
func updateAtDeadline(t *testing.T, c collectors.Collector, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fired := make(chan time.Time, 1)
	go func() {
		<-ctx.Done()
		fired <- time.Now()
	}()
	start := time.Now()
	_, err := collectortest.Run(ctx, c)
	returned := time.Now()
	if ctx.Err() == nil {
		return err // returned before the deadline
	}
	if late := returned.Sub(<-fired); late > 100*time.Millisecond {
		t.Errorf("Update returned %v after its deadline, want at most 100ms", late)
	}
	if took := returned.Sub(start); took > timeout+5*time.Second {
		t.Errorf("Update took %v with a timeout of %v", took, timeout)
	}
	return err
}
