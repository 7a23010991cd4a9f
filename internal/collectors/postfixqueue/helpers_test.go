// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// summary is a tally in a form cmp can diff: empty queues and zero reason
// classes left out.
type summary struct {
	Queues   map[string]queueStats
	Deferred map[string]int64
	Domains  []domainCount
}

func summarize(t *tally, topN int) summary {
	s := summary{Queues: map[string]queueStats{}, Deferred: map[string]int64{}}
	for q := range numQueues {
		if t.queues[q] != (queueStats{}) {
			s.Queues[q.String()] = t.queues[q]
		}
	}
	for r := range numReasons {
		if t.deferred[r] != 0 {
			s.Deferred[r.String()] = t.deferred[r]
		}
	}
	if topN > 0 {
		s.Domains = t.topDomains(topN)
	}
	return s
}

// realQueue is what the harness's Postfix 3.7.11 held when the fixtures in
// testdata were captured (showq-3.7.bin, postqueue-j-3.7.jsonl,
// postqueue-p-3.7.txt): checked against postqueue -j by hand.
var realQueue = summary{
	Queues: map[string]queueStats{
		"deferred": {Messages: 110, Recipients: 110, SizeBytes: 205413, Oldest: 1795418792},
		"hold":     {Messages: 17, Recipients: 17, SizeBytes: 22062, Oldest: 1795418795},
	},
	Deferred: map[string]int64{"connection_refused": 64, "timed_out": 4, "tls_failure": 18, "greylisted": 24},
	Domains: []domainCount{
		{"tempfail.example.test", 24}, {"bigcorp.test", 20}, {"tlsreq.example.test", 18},
		{"partner-a.test", 13}, {"partner-b.test", 12}, {"_other", 23},
	},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// showqServer answers connections on <spool>/public/showq with handle.
// Cleanup closes the listener, releases blocked handlers and waits for them.
type showqServer struct {
	ln      net.Listener
	release chan struct{}
	wg      sync.WaitGroup
}

func serveShowq(t testing.TB, spool string, handle func(c net.Conn, release <-chan struct{})) *showqServer {
	t.Helper()
	dir := filepath.Join(spool, "public")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "showq"))
	if err != nil {
		t.Fatal(err)
	}
	s := &showqServer{ln: ln, release: make(chan struct{})}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				defer c.Close()
				handle(c, s.release)
			})
		}
	})
	t.Cleanup(func() {
		close(s.release)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// sendBytes answers with a fixed payload, then closes.
func sendBytes(b []byte) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, _ <-chan struct{}) { _, _ = c.Write(b) }
}

// sendThenHang writes b and then holds the connection open until the test
// ends: showq that accepts and stalls.
func sendThenHang(b []byte) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, release <-chan struct{}) {
		_, _ = c.Write(b)
		<-release
	}
}

// newSpool makes an empty spool directory.
func newSpool(t *testing.T) string {
	t.Helper()
	// Unix socket paths are limited to 108 bytes; t.TempDir() stays well
	// below as long as test names are short.
	d := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// copySpool copies testdata/spool (real queue files from the harness) to a
// temporary spool and gives queue files the mode Postfix gives complete
// ones (0700), which git does not keep.
func copySpool(t *testing.T) string {
	t.Helper()
	dst := newSpool(t)
	src := filepath.Join("testdata", "spool")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o700)
		if strings.HasPrefix(rel, "defer"+string(filepath.Separator)) {
			mode = 0o600
		}
		return os.WriteFile(out, b, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// failingSource is a source that always fails with err.
func failingSource(name string, err error) namedSource {
	return namedSource{name: name, read: func(context.Context, Spool, *tally) error { return err }}
}

// waitDone fails the test if done is not closed within a generous bound.
// The bound only turns a hang into a failure instead of a stuck test run;
// the assertion is that Update returns at all once its context is over.
func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return after its context ended", what)
	}
}

var errBoom = errors.New("boom")
