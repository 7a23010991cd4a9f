// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
)

const (
	// mboxChunk is the read size while counting; the only buffer held.
	mboxChunk = 64 << 10
	// tailLen is how much of the end of an mbox is fingerprinted to tell an
	// append (delivery) from a rewrite (expunge) without rereading it all.
	tailLen = 4096
)

// fromCounter counts mbox message separators: lines that begin with
// "From " (RFC 4155). Body lines that begin so are escaped as ">From " by
// Postfix local(8) and Dovecot, so they do not count. It is fed in chunks
// of any size and keeps its state across them.
type fromCounter struct {
	n int64
	// pos is how much of "From " the current line has matched so far, or
	// -1 once the line cannot be a separator. The zero value's 0 is right:
	// the start of a file is the start of a line.
	pos int
}

const fromLine = "From "

func (c *fromCounter) feed(p []byte) {
	for len(p) > 0 {
		if c.pos >= 0 {
			for c.pos < len(fromLine) && len(p) > 0 {
				if p[0] != fromLine[c.pos] {
					c.pos = -1
					break
				}
				c.pos++
				p = p[1:]
			}
			if c.pos == len(fromLine) {
				c.n++
				c.pos = -1
			}
			if len(p) == 0 {
				return
			}
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return
		}
		p = p[i+1:]
		c.pos = 0
	}
}

// mboxEntry caches an mbox: its count at one stamp, the counter's state at
// the end of the file, and a fingerprint of the file's last bytes.
type mboxEntry struct {
	st   stamp
	fc   fromCounter
	tail uint64
	racy bool
	gen  uint64
}

// mbox measures an mbox file: its size, and its messages counted by
// reading it. Unchanged it costs one stat; grown with its old end intact
// (a delivery appends) only the new bytes are read; otherwise (an expunge
// rewrote it) it is read whole, in chunks, checking ctx between them.
func (s *scanner) mbox(ctx context.Context, path string) (usage, error) {
	fi, err := s.fsys.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usage{}, errNoMailbox
	}
	if err != nil {
		return usage{}, err
	}
	if !fi.Mode().IsRegular() {
		return usage{}, errNoMailbox
	}
	st := stampOf(fi)
	old := s.cache.mboxes[path]
	if old != nil && old.st == st && !old.racy {
		old.gen = s.cache.gen
		return usage{bytes: st.size, msgs: old.fc.n}, nil
	}
	f, err := s.fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return usage{}, errNoMailbox
	}
	if err != nil {
		return usage{}, err
	}
	defer f.Close()

	var fc fromCounter
	var from int64
	if old != nil && old.st.ino == st.ino && st.size > old.st.size {
		if tail, err := fingerprint(f, old.st.size); err == nil && tail == old.tail {
			fc, from = old.fc, old.st.size
		}
	}
	n, err := countFrom(ctx, io.NewSectionReader(f, from, st.size-from), &fc)
	if err != nil {
		return usage{}, fmt.Errorf("read %s: %w", path, err)
	}
	e := &mboxEntry{st: st, fc: fc, racy: s.racy(fi), gen: s.cache.gen}
	if n != st.size-from {
		e.racy = true // shrank while read: count again next time
	}
	if e.tail, err = fingerprint(f, st.size); err != nil {
		e.racy = true
	}
	s.cache.mboxes[path] = e
	return usage{bytes: st.size, msgs: fc.n}, nil
}

// countFrom feeds r to fc in chunks and returns the bytes read.
func countFrom(ctx context.Context, r io.Reader, fc *fromCounter) (int64, error) {
	buf := make([]byte, mboxChunk)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		fc.feed(buf[:n])
		total += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// fingerprint hashes the tailLen bytes that end at end.
func fingerprint(f io.ReaderAt, end int64) (uint64, error) {
	start := max(end-tailLen, 0)
	buf := make([]byte, end-start)
	if n, err := f.ReadAt(buf, start); n < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64(), nil
}
