// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"bytes"
	"io"
)

const (
	// maxLineBytes is the longest line kept; longer lines are dropped and
	// counted as malformed. Syslog daemons cut far shorter (rsyslog 8 KiB,
	// journald 48 KiB).
	maxLineBytes = 64 << 10
	readBufBytes = 256 << 10
)

// lineReader splits a byte stream into lines in a fixed buffer, with no
// allocation per line. A line longer than maxLineBytes is dropped as a whole
// and reported once through next's oversized result.
type lineReader struct {
	buf        []byte
	start, end int  // unconsumed bytes are buf[start:end]
	skipping   bool // inside the rest of an oversized line
}

func newLineReader() *lineReader { return &lineReader{buf: make([]byte, readBufBytes)} }

// fill reads once from r after the unconsumed bytes.
func (lr *lineReader) fill(r io.Reader) (int, error) {
	if lr.start > 0 {
		lr.end = copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.start = 0
	}
	n, err := r.Read(lr.buf[lr.end:])
	lr.end += n
	return n, err
}

// next returns the next complete line (without its newline). ok is false
// when no complete line is buffered, or when oversized is true: a line was
// dropped for its length (reported once per line; call next again).
func (lr *lineReader) next() (line []byte, ok, oversized bool) {
	for {
		i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n')
		if i < 0 {
			if lr.end-lr.start > maxLineBytes {
				oversized = !lr.skipping
				lr.skipping = true
				lr.start = lr.end
			}
			return nil, false, oversized
		}
		line = lr.buf[lr.start : lr.start+i]
		lr.start += i + 1
		if lr.skipping {
			lr.skipping = false
			continue
		}
		if len(line) > maxLineBytes {
			return nil, false, true
		}
		return line, true, false
	}
}

// pending returns the bytes of an incomplete last line.
func (lr *lineReader) pending() int { return lr.end - lr.start }

// rest returns the incomplete last line and forgets it.
func (lr *lineReader) rest() []byte {
	b := lr.buf[lr.start:lr.end]
	lr.start, lr.end = 0, 0
	if lr.skipping {
		lr.skipping = false
		return nil
	}
	return b
}

// reset forgets everything buffered.
func (lr *lineReader) reset() { lr.start, lr.end, lr.skipping = 0, 0, false }
