// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package quarantine

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// countingFS wraps the real file system and counts the operations of a
// run: stats, listings and the lstat of each entry's Info; fail makes a
// listing fail, block makes one hang until release is closed.
type countingFS struct {
	collectors.OSFS
	mu                 sync.Mutex
	stat, readdir, inf int
	fail               map[string]error
	block              map[string]bool
	release            chan struct{}
}

func newCountingFS() *countingFS {
	return &countingFS{fail: map[string]error{}, block: map[string]bool{}, release: make(chan struct{})}
}

func (c *countingFS) counts() (stat, readdir, info int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stat, readdir, info = c.stat, c.readdir, c.inf
	c.stat, c.readdir, c.inf = 0, 0, 0
	return
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.mu.Lock()
	c.stat++
	c.mu.Unlock()
	return c.OSFS.Stat(name)
}

func (c *countingFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	c.mu.Lock()
	c.readdir++
	err, blk := c.fail[name], c.block[name]
	c.mu.Unlock()
	if blk {
		<-c.release
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return c.OSFS.ReadDir(name, func(ents []fs.DirEntry) error {
		wrapped := make([]fs.DirEntry, len(ents))
		for i, e := range ents {
			wrapped[i] = countedEntry{e, c}
		}
		return fn(wrapped)
	})
}

type countedEntry struct {
	fs.DirEntry
	c *countingFS
}

func (e countedEntry) Info() (fs.FileInfo, error) {
	e.c.mu.Lock()
	e.c.inf++
	e.c.mu.Unlock()
	return e.DirEntry.Info()
}

// file writes a file of size bytes modified at mtime.
func file(t testing.TB, path string, size int, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// settle sets a directory's mtime to the past, out of the racy window.
func settle(t testing.TB, dirs ...string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for _, d := range dirs {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t testing.TB, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func cfg(sets ...Set) Config {
	c := Config{Sets: sets}
	c.ApplyDefaults()
	return c
}
