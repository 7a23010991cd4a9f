// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectortest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Eventually waits until cond holds, checking every millisecond, and fails
// the test with what (something like "the guard is free again") if it
// does not within 10 seconds. The bound only turns a hang into a failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, still not: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// HungRun checks what a collector does when its work hangs and ignores the
// run's context: started must receive once the work is under way (the
// fake that hangs signals it), then the run is cancelled and must return
// context.Canceled, and the next run must fail at once with
// collectors.ErrBusy instead of piling more work on the stuck one. The
// caller then releases its fake.
func HungRun(t testing.TB, c collectors.Collector, started <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Run(ctx, c)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("run cancelled while its work hangs: got %v, want context.Canceled", err)
	}
	if _, err := Run(context.Background(), c); !errors.Is(err, collectors.ErrBusy) {
		t.Fatalf("next run while the work hangs: got %v, want collectors.ErrBusy", err)
	}
}
