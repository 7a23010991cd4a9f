// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

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

// mbox builds an mbox with one message per body.
func mbox(bodies ...string) string {
	var b strings.Builder
	for i, body := range bodies {
		fmt.Fprintf(&b, "From sender%d@example.org Mon Nov 20 10:00:00 2026\nSubject: %d\n\n%s\n\n", i, i, body)
	}
	return b.String()
}

// addMaildir puts messages of the given sizes into dir/cur (every other
// one with a ,S= size in its name) plus the files a Maildir has that are
// not mail.
func addMaildir(m fstest.MapFS, dir string, sizes ...int) {
	dir = strings.TrimPrefix(dir, "/")
	for i, n := range sizes {
		name := fmt.Sprintf("%s/cur/1700000%03d.M%dP1.mx", dir, i, i)
		if i%2 == 0 {
			name += fmt.Sprintf(",S=%d", n)
		}
		m[name+":2,S"] = &fstest.MapFile{Data: []byte(body(n)), Mode: 0o600}
	}
	m[dir+"/new"] = &fstest.MapFile{Mode: fs.ModeDir | 0o700}
	m[dir+"/tmp/1700000999.M9P9.mx"] = &fstest.MapFile{Data: []byte(body(5000))}
	m[dir+"/dovecot.index.cache"] = &fstest.MapFile{Data: []byte(body(7000))}
}

// goldenTree is the host of the golden tests:
//
//	/var/mail/alice, bob          mbox (2 and 1 messages); vhosts/ is no mbox
//	/home/alice/Maildir           3 messages (merged with alice's mbox)
//	/home/carol/Maildir           2 messages + 2 in .Sent + 1 in LAYOUT=fs Archive/2025
//	/home/dave                    no Maildir: not a mailbox
//	/var/mail/vhosts/example.org/{erin,frank}, example.net/gina  Maildirs
func goldenTree() fstest.MapFS {
	m := fstest.MapFS{
		"var/mail/alice":     {Data: []byte(mbox("hello", "world"))},
		"var/mail/bob":       {Data: []byte(mbox(body(100)))},
		"home/dave/.profile": {Data: []byte("x")},
	}
	addMaildir(m, "/home/alice/Maildir", 1000, 2000, 3000)
	addMaildir(m, "/home/carol/Maildir", 10000, 20000)
	addMaildir(m, "/home/carol/Maildir/.Sent", 500, 700)
	addMaildir(m, "/home/carol/Maildir/Archive/2025", 4000)
	addMaildir(m, "/var/mail/vhosts/example.org/erin", 8000, 8000)
	addMaildir(m, "/var/mail/vhosts/example.org/frank", 100)
	addMaildir(m, "/var/mail/vhosts/example.net/gina", 9000)
	return m
}

var goldenRoots = []Root{
	{Path: "/var/mail/*", Format: FormatMbox},
	{Path: "/home/*/Maildir", Format: FormatMaildir},
	{Path: "/var/mail/vhosts/*/*", Format: FormatMaildir},
}
