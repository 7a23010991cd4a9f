// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/ulikunitz/xz"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares one run's exposition with testdata/<name>.prom (with
// -update it rewrites the file instead) and returns the run's error.
func golden(t *testing.T, c collectors.Collector, name string) error {
	t.Helper()
	a := &collectortest.Adapter{C: c}
	path := filepath.Join("testdata", name+".prom")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(a)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return a.Err
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(a, bytes.NewReader(want)); err != nil {
		t.Error(err)
	}
	return a.Err
}

// run performs one Update and returns the samples as "name{labels}" -> value.
func run(t *testing.T, c *Collector, ctx context.Context) (map[string]float64, error) {
	t.Helper()
	ch := make(chan prometheus.Metric, 1024)
	err := c.Update(ctx, ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		desc := m.Desc().String()
		name := desc[strings.Index(desc, `fqName: "`)+len(`fqName: "`):]
		name = name[:strings.IndexByte(name, '"')]
		var labels []string
		for _, l := range pb.GetLabel() {
			labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
		}
		sort.Strings(labels)
		out[name+"{"+strings.Join(labels, ",")+"}"] = pb.GetGauge().GetValue()
	}
	return out, err
}

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

// memFS serves an fstest.MapFS under absolute paths, for golden files with
// stable paths and times.
type memFS struct{ m fstest.MapFS }

func (f memFS) rel(name string) string { return strings.TrimPrefix(name, "/") }

func (f memFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(f.m, f.rel(name)) }

func (f memFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	ents, err := fs.ReadDir(f.m, f.rel(name))
	if err != nil {
		return err
	}
	return fn(ents)
}

func (f memFS) Open(name string) (File, error) {
	fl, err := f.m.Open(f.rel(name))
	if err != nil {
		return nil, err
	}
	return fl, nil
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
