// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// tarBytes builds a tar archive of n entries of size pseudo-random bytes
// (incompressible, so a flipped byte lands in real data).
func tarBytes(t testing.TB, n, size int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range n {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		hdr := &tar.Header{Name: fmt.Sprintf("home/u%d/Maildir/cur/%d", i%3, i), Mode: 0o600, Size: int64(size), ModTime: time.Unix(1_700_000_000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// truncated keeps the first 60 % of b.
func truncated(b []byte) []byte { return append([]byte(nil), b[:len(b)*6/10]...) }

// flipped inverts one byte in the middle of b.
func flipped(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)/2] ^= 0xff
	return out
}

// failFS wraps an FS: listed errors are returned for "op path", and hooks
// can block or count.
type failFS struct {
	FS
	mu    sync.Mutex
	fail  map[string]error
	opens map[string]int
}

func newFailFS(inner FS) *failFS {
	return &failFS{FS: inner, fail: map[string]error{}, opens: map[string]int{}}
}

func (f *failFS) err(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.fail[op+" "+name]; e != nil {
		return &fs.PathError{Op: op, Path: name, Err: e}
	}
	return nil
}

func (f *failFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	if err := f.err("readdir", name); err != nil {
		return err
	}
	return f.FS.ReadDir(name, fn)
}

func (f *failFS) Stat(name string) (fs.FileInfo, error) {
	if err := f.err("stat", name); err != nil {
		return nil, err
	}
	return f.FS.Stat(name)
}

func (f *failFS) Open(name string) (File, error) {
	f.mu.Lock()
	f.opens[name]++
	f.mu.Unlock()
	if err := f.err("open", name); err != nil {
		return nil, err
	}
	return f.FS.Open(name)
}

func (f *failFS) openCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens[name]
}

// clock is a settable fake clock whose waits advance it.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	waited time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.waited += d
	return nil
}
