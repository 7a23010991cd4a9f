// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestWalkRealQueueFiles walks queue files and defer logs copied from the
// harness's Postfix 3.7 and expects what postqueue -j said about them.
func TestWalkRealQueueFiles(t *testing.T) {
	t.Parallel()
	spool := copySpool(t)
	tl := newTally(true)
	if err := walkSpool(context.Background(), spool, tl); err != nil {
		t.Fatal(err)
	}
	want := summary{
		Queues: map[string]queueStats{
			"deferred": {Messages: 5, Recipients: 5, SizeBytes: 3419 + 1413 + 1406 + 1392 + 1211, Oldest: 1795418793},
			"hold":     {Messages: 2, Recipients: 2, SizeBytes: 1410 + 458, Oldest: 1795418796},
		},
		Deferred: map[string]int64{"connection_refused": 2, "greylisted": 1, "tls_failure": 1, "timed_out": 1},
		Domains: []domainCount{
			{"partner-a.test", 1}, {"slow.example.test", 1}, {"tempfail.example.test", 1},
			{"tlsreq.example.test", 1}, {"unreachable.example.test", 1}, {"_other", 0},
		},
	}
	if diff := cmp.Diff(want, summarize(tl, 5)); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
}

// qfWriter builds queue files in Postfix's record format.
type qfWriter struct{ b []byte }

func (w *qfWriter) rec(typ byte, data string) *qfWriter {
	w.b = append(w.b, typ)
	n := len(data)
	for {
		c := byte(n & 0x7f)
		if n >>= 7; n > 0 {
			c |= 0x80
		}
		w.b = append(w.b, c)
		if n == 0 {
			break
		}
	}
	w.b = append(w.b, data...)
	return w
}

func (w *qfWriter) pos() int { return len(w.b) }

// ptr is a pointer record with the fixed-width payload Postfix uses, so its
// size does not depend on the target.
func ptr(off int) string { return padNum(off) }

func padNum(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat(" ", 15-len(s)) + s
}

// sizeRec is a C record; its length does not depend on the values.
func sizeRec(content int) string {
	return padNum(content) + " " + padNum(0) + " " + padNum(1) + " " + padNum(0) + " " + padNum(content)
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// simpleFile is a complete queue file with a C record and the content
// skipped by size.
func simpleFile(arrival int, rcpts ...string) []byte {
	content := (&qfWriter{}).rec('N', "Subject: test").rec('N', "").rec('N', "body")
	w := &qfWriter{}
	w.rec('C', sizeRec(len(content.b))).rec('T', strconv.Itoa(arrival)+" 0").rec('S', "sender@example.org")
	for _, r := range rcpts {
		w.rec('O', r).rec('R', r)
	}
	w.rec('M', "")
	w.b = append(w.b, content.b...)
	return w.rec('X', "").rec('E', "").b
}

func TestWalkFakeSpool(t *testing.T) {
	t.Parallel()
	spool := newSpool(t)
	retry := time.Unix(1900000000, 0) // deferred files carry the next retry as mtime
	at := func(p ...string) string { return filepath.Join(append([]string{spool}, p...)...) }

	// maildrop: postdrop's format, no C record: size is the file size.
	md := (&qfWriter{}).rec('T', "1700000100 0").rec('S', "u@example.org").rec('R', "m@maildrop.example").
		rec('M', "").rec('N', "hello").rec('X', "").rec('E', "").b
	writeFile(t, at("maildrop", "MD1"), md, 0o700, retry)

	// incoming: still being written (not rwx): skipped, as showq does.
	writeFile(t, at("incoming", "IN1"), simpleFile(1700000200, "i@x.example"), 0o600, retry)

	// active: a delivered recipient (D), and a recipient appended through a
	// pointer to the heap behind the end record, as cleanup does.
	content := (&qfWriter{}).rec('N', "Subject: p").rec('N', "")
	w := &qfWriter{}
	w.rec('C', sizeRec(len(content.b))).rec('T', "1700000300 5").rec('S', "s@example.org").
		rec('R', "r1@a.example").rec('D', "r2@a.example")
	ptrAt := w.pos()
	w.rec('p', ptr(0)) // patched below
	back := w.pos()
	w.rec('M', "")
	w.b = append(w.b, content.b...)
	w.rec('X', "").rec('E', "")
	heap := w.pos()
	w.rec('R', "r3@a.example").rec('p', ptr(back))
	patched := (&qfWriter{}).rec('p', ptr(heap)).b
	copy(w.b[ptrAt:], patched)
	writeFile(t, at("active", "AC1"), w.b, 0o700, retry)

	// deferred, hashed: an old-style (2.x) defer log for one of two
	// recipients; the other has no reason yet.
	writeFile(t, at("deferred", "A", "AJK"), simpleFile(1690000000, "x@b.example", "y@b.example"), 0o700, retry)
	writeFile(t, at("defer", "A", "AJK"), []byte("<x@b.example>: connect to b.example[192.0.2.1]:25: Connection refused\n"), 0o600, retry)
	// deferred: damaged after the T record: counted with what was read.
	dmg := append((&qfWriter{}).rec('T', "1680000000 0").b, 'S', 0xff, 0xff, 0xff, 0xff, 0xff)
	writeFile(t, at("deferred", "B", "BRK"), dmg, 0o700, retry)

	// hold: hard-linked files are skipped, as showq does.
	writeFile(t, at("hold", "HL1"), simpleFile(1700000400, "h@c.example"), 0o700, retry)
	if err := os.Link(at("hold", "HL1"), at("hold", "HL2")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, at("hold", "HOK"), simpleFile(1700000500, "h@c.example"), 0o700, retry)

	// corrupt: counted from the directory only.
	writeFile(t, at("corrupt", "BAD"), []byte("0123456789"), 0o400, time.Unix(1600000000, 0))

	tl := newTally(true)
	if err := walkSpool(context.Background(), spool, tl); err != nil {
		t.Fatal(err)
	}
	want := summary{
		Queues: map[string]queueStats{
			"maildrop": {Messages: 1, Recipients: 1, SizeBytes: int64(len(md)), Oldest: 1700000100},
			"active":   {Messages: 1, Recipients: 2, SizeBytes: int64(len(content.b)), Oldest: 1700000300},
			"deferred": {Messages: 2, Recipients: 2, SizeBytes: int64(len((&qfWriter{}).rec('N', "Subject: test").rec('N', "").rec('N', "body").b) + len(dmg)), Oldest: 1680000000},
			"hold":     {Messages: 1, Recipients: 1, SizeBytes: int64(len((&qfWriter{}).rec('N', "Subject: test").rec('N', "").rec('N', "body").b)), Oldest: 1700000500},
			"corrupt":  {Messages: 1, SizeBytes: 10, Oldest: 1600000000},
		},
		Deferred: map[string]int64{"connection_refused": 1, "other": 1},
		Domains:  []domainCount{{"b.example", 2}, {"_other", 0}},
	}
	if diff := cmp.Diff(want, summarize(tl, 5)); diff != "" {
		t.Errorf("tally (-want +got):\n%s", diff)
	}
}

func TestWalkNotASpool(t *testing.T) {
	t.Parallel()
	err := walkSpool(context.Background(), newSpool(t), newTally(false))
	if !errors.Is(err, errNotSpool) {
		t.Errorf("walk of an empty directory: got %v, want errNotSpool", err)
	}
}

func TestWalkHonoursContext(t *testing.T) {
	t.Parallel()
	spool := newSpool(t)
	for i := range 300 { // more than one ctx check interval (256 entries)
		writeFile(t, filepath.Join(spool, "hold", "H"+strconv.Itoa(i)), simpleFile(1700000000, "a@b.example"), 0o700, time.Unix(0, 0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := walkSpool(ctx, spool, newTally(false)); !errors.Is(err, context.Canceled) {
		t.Errorf("walk with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestParseDeferLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "postfix 3 blocks",
			in: "\n<a@x>: connect to x: Connection refused\nrecipient=a@x\noffset=666\nstatus=4.4.1\naction=delayed\nreason=connect to x: Connection refused\n" +
				"\n<b@x>: host x said: 451 greylisted\nrecipient=b@x\nreason=host x said: 451 greylisted\n",
			want: []string{"a@x|connect to x: Connection refused", "b@x|host x said: 451 greylisted"},
		},
		{
			name: "postfix 2 lines",
			in:   "<a@x>: timed out\n<b@y>: Connection refused\n",
			want: []string{"a@x|timed out", "b@y|Connection refused"},
		},
		{
			name: "attributes win over the readable line",
			in:   "<shown@x>: shown reason\nrecipient=real@x\nreason=real reason\n",
			want: []string{"real@x|real reason"},
		},
		{name: "garbage", in: "nonsense\n\n=\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			err := parseDeferLog(strings.NewReader(tc.in), func(a, w []byte) { got = append(got, string(a)+"|"+string(w)) })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
