// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// synthFS simulates /m/uNNNN/Maildir with one cur/ of perBox messages per
// mailbox, without touching a disk: it measures the collector's own cost
// for a million messages. Names carry ,S= sizes as Dovecot writes them.
type synthFS struct {
	boxes, perBox int
	mtime         time.Time
}

type synthInfo struct {
	name string
	dir  bool
	size int64
	mt   time.Time
}

func (i synthInfo) Name() string { return i.name }
func (i synthInfo) Size() int64  { return i.size }
func (i synthInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o700
	}
	return 0o600
}
func (i synthInfo) ModTime() time.Time         { return i.mt }
func (i synthInfo) IsDir() bool                { return i.dir }
func (i synthInfo) Sys() any                   { return nil }
func (i synthInfo) Type() fs.FileMode          { return i.Mode().Type() }
func (i synthInfo) Info() (fs.FileInfo, error) { return i, nil }

func (s *synthFS) Stat(name string) (fs.FileInfo, error) {
	switch base := path.Base(name); base {
	case "m", "Maildir", "cur", "new", "tmp":
		return synthInfo{name: base, dir: true, mt: s.mtime}, nil
	default:
		if strings.HasPrefix(base, "u") {
			return synthInfo{name: base, dir: true, mt: s.mtime}, nil
		}
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (s *synthFS) ReadDir(name string, fn func([]fs.DirEntry) error) error {
	batch := make([]fs.DirEntry, 0, readDirBatch)
	emit := func(e fs.DirEntry) error {
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			err := fn(batch)
			batch = batch[:0]
			return err
		}
		return nil
	}
	switch path.Base(name) {
	case "m":
		for i := range s.boxes {
			if err := emit(synthInfo{name: fmt.Sprintf("u%05d", i), dir: true, mt: s.mtime}); err != nil {
				return err
			}
		}
	case "Maildir":
		for _, d := range []string{"cur", "new", "tmp"} {
			if err := emit(synthInfo{name: d, dir: true, mt: s.mtime}); err != nil {
				return err
			}
		}
	case "cur":
		var b []byte
		for i := range s.perBox {
			b = append(b[:0], "1700000000.M"...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, "P1.mx,S=4096:2,S"...)
			if err := emit(synthInfo{name: string(b), size: 4096, mt: s.mtime}); err != nil {
				return err
			}
		}
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

func (s *synthFS) Open(name string) (File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// runBench runs one Update and throws the metrics away.
func runBench(tb testing.TB, c *Collector) {
	ch := make(chan prometheus.Metric, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range ch {
		}
	})
	err := c.Update(context.Background(), ch)
	close(ch)
	wg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMillionMessages: 1000 mailboxes of 1000 messages each, on a
// simulated file system. "first" builds the cache (reads every name);
// "unchanged" is a run over the same tree, reported per mailbox.
func BenchmarkMillionMessages(b *testing.B) {
	const boxes, perBox = 1000, 1000
	newC := func() *Collector {
		fsys := &synthFS{boxes: boxes, perBox: perBox, mtime: time.Now().Add(-time.Hour)}
		cfg := testConfig(Root{Path: "/m/*/Maildir"})
		cfg.MaxMailboxes = boxes
		return newCollector(cfg, fsys, nil, time.Now, zap.NewNop())
	}
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			runBench(b, newC())
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*boxes*perBox), "ns/message")
	})
	b.Run("unchanged", func(b *testing.B) {
		c := newC()
		runBench(b, c)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			runBench(b, c)
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*boxes), "ns/mailbox")
	})
}

// BenchmarkDisk100k: 100 000 real message files in 200 Maildirs (half of
// them with ,S= sizes), first run (empty cache) and second run.
func BenchmarkDisk100k(b *testing.B) {
	const boxes, perBox = 200, 500
	home := b.TempDir()
	for i := range boxes {
		msgs := make([]message, perBox)
		for j := range msgs {
			msgs[j] = message{body: "x", sizeName: j%2 == 0}
		}
		writeMaildir(b, fmt.Sprintf("%s/u%03d/Maildir", home, i), msgs, nil)
	}
	ageTree(b, home)
	cfg := testConfig(Root{Path: home + "/*/Maildir"})
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			runBench(b, newCollector(cfg, OSFS{}, nil, time.Now, zap.NewNop()))
		}
	})
	b.Run("second", func(b *testing.B) {
		c := newCollector(cfg, OSFS{}, nil, time.Now, zap.NewNop())
		runBench(b, c)
		n := 0
		for b.Loop() {
			runBench(b, c)
			n++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*boxes), "ns/mailbox")
	})
}
