// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package filesystem

import "sync"

// fakeStatter answers from a table; a path mapped to block hangs until
// release is closed.
type fakeStatter struct {
	mu      sync.Mutex
	usage   map[string]Usage
	errs    map[string]error
	block   map[string]bool
	release chan struct{}
	calls   map[string]int
}

func (f *fakeStatter) Stat(p string) (Usage, error) {
	f.mu.Lock()
	f.calls[p]++
	blk := f.block[p]
	f.mu.Unlock()
	if blk {
		<-f.release
	}
	if err := f.errs[p]; err != nil {
		return Usage{}, err
	}
	return f.usage[p], nil
}

func (f *fakeStatter) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[p]
}

func newFake() *fakeStatter {
	return &fakeStatter{usage: map[string]Usage{}, errs: map[string]error{}, block: map[string]bool{}, release: make(chan struct{}), calls: map[string]int{}}
}

func cfg(paths ...string) Config { return Config{Paths: paths} }
