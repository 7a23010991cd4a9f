// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

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
		k, v := sample(m)
		out[k] = v
	}
	return out, err
}

// sample renders a metric as `name{l="v",...}` and returns its value.
func sample(m prometheus.Metric) (string, float64) {
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return "error: " + err.Error(), 0
	}
	desc := m.Desc().String()
	name := desc[strings.Index(desc, `fqName: "`)+len(`fqName: "`):]
	name = name[:strings.IndexByte(name, '"')]
	var labels []string
	for _, l := range pb.GetLabel() {
		labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
	}
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}", pb.GetGauge().GetValue()
}

// opCounts are the file system operations a run made.
type opCounts struct {
	Stat, ReadDir, Info, Open, ReadBytes int64
}

func (o opCounts) total() int64 { return o.Stat + o.ReadDir + o.Info + o.Open }

// countingFS wraps an FS and counts every operation; fail injects errors
// per path and op ("stat", "readdir", "open").
type countingFS struct {
	FS
	mu   sync.Mutex
	n    opCounts
	fail map[string]error // "op path" -> error
}

func newCountingFS(inner FS) *countingFS { return &countingFS{FS: inner, fail: map[string]error{}} }

func (c *countingFS) injected(op, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail[op+" "+name]
}

func (c *countingFS) snapshot() opCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = opCounts{}
	return n
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.mu.Lock()
	c.n.Stat++
	c.mu.Unlock()
	if err := c.injected("stat", name); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return c.FS.Stat(name)
}

func (c *countingFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	c.mu.Lock()
	c.n.ReadDir++
	c.mu.Unlock()
	if err := c.injected("readdir", name); err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return c.FS.ReadDir(name, func(ents []fs.DirEntry) error {
		wrapped := make([]fs.DirEntry, len(ents))
		for i, e := range ents {
			wrapped[i] = countingEntry{DirEntry: e, fs: c}
		}
		return fn(wrapped)
	})
}

func (c *countingFS) Open(name string) (File, error) {
	c.mu.Lock()
	c.n.Open++
	c.mu.Unlock()
	if err := c.injected("open", name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, fs: c}, nil
}

type countingEntry struct {
	fs.DirEntry
	fs *countingFS
}

func (e countingEntry) Info() (fs.FileInfo, error) {
	e.fs.mu.Lock()
	e.fs.n.Info++
	e.fs.mu.Unlock()
	return e.DirEntry.Info()
}

type countingFile struct {
	File
	fs *countingFS
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.fs.mu.Lock()
	f.fs.n.ReadBytes += int64(n)
	f.fs.mu.Unlock()
	return n, err
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.fs.mu.Lock()
	f.fs.n.ReadBytes += int64(n)
	f.fs.mu.Unlock()
	return n, err
}

// message is one file of a Maildir built by a test.
type message struct {
	body     string
	sizeName bool // put ",S=<size>" in the name
}

// writeMaildir creates a Maildir at dir with the given messages in cur/
// and new/ and returns their total size; the message names are unique per
// call through seq.
func writeMaildir(t testing.TB, dir string, cur, newMsgs []message) int64 {
	t.Helper()
	var total int64
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for sub, msgs := range map[string][]message{"cur": cur, "new": newMsgs} {
		for i, m := range msgs {
			name := fmt.Sprintf("17000%05d.M%dP%d.mail.example.org", i, i, len(m.body))
			if m.sizeName {
				name += fmt.Sprintf(",S=%d", len(m.body))
			}
			if sub == "cur" {
				name += ":2,S"
			}
			if err := os.WriteFile(filepath.Join(dir, sub, name), []byte(m.body), 0o600); err != nil {
				t.Fatal(err)
			}
			total += int64(len(m.body))
		}
	}
	return total
}

// ageTree sets the mtime of every directory under root to an hour ago, so
// that the cache trusts them (see racyWindow) and a later change moves them.
func ageTree(t testing.TB, root string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chtimes(p, old, old)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sumMessages adds up the sizes of the files in every cur/ and new/ under
// root, independently of the collector's code.
func sumMessages(t testing.TB, root string) (bytes, msgs int64) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		parent := filepath.Base(filepath.Dir(p))
		if d.Type().IsRegular() && (parent == "cur" || parent == "new") && !strings.HasPrefix(d.Name(), ".") {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
			msgs++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bytes, msgs
}

func body(n int) string { return strings.Repeat("x", n) }
