// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"runtime"
	"testing"
)

func TestLimitProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })

	runtime.GOMAXPROCS(3)
	set := func(string) (string, bool) { return "3", true }
	if got := limitProcs(set); got != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Errorf("GOMAXPROCS set in the environment: limitProcs = %d, runtime has %d; want both 3", got, runtime.GOMAXPROCS(0))
	}

	unset := func(string) (string, bool) { return "", false }
	if got := limitProcs(unset); got != serveProcs || runtime.GOMAXPROCS(0) != serveProcs {
		t.Errorf("GOMAXPROCS unset: limitProcs = %d, runtime has %d; want both %d", got, runtime.GOMAXPROCS(0), serveProcs)
	}
}
