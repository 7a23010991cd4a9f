// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"
)

// memFS serves an fstest.MapFS under absolute paths, so that golden files
// can name stable roots such as /var/mail/*.
type memFS struct{ m fstest.MapFS }

func (f memFS) rel(name string) string {
	if name == "/" {
		return "."
	}
	return strings.TrimPrefix(name, "/")
}

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
	return fl.(File), nil
}

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
