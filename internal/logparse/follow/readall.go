// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package follow

import (
	"context"
	"errors"
	"io"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// ReadAll reads r (a whole file, standard input) to its end and hands its
// lines to s, flushing after every read: `mailwatchd replay`. Lines that
// start with '{' are read as `journalctl --output=json` records; a last
// line without its newline is taken too. It returns nil at the end of r,
// ctx.Err() when ctx ends first, else the read error.
func ReadAll(ctx context.Context, r io.Reader, s Sink) error {
	lr := newLineReader()
	var jd maillog.JournalDecoder
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := lr.fill(r)
		for {
			line, ok, oversized := lr.next()
			if oversized {
				s.Malformed()
				continue
			}
			if !ok {
				break
			}
			readLine(s, line, &jd)
		}
		s.Flush()
		if errors.Is(err, io.EOF) {
			if last := lr.rest(); len(last) > 0 {
				readLine(s, last, &jd)
			}
			s.Flush()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func readLine(s Sink, b []byte, jd *maillog.JournalDecoder) {
	if len(b) > 0 && b[0] == '{' {
		e, _, err := jd.Decode(b)
		if err != nil {
			s.Malformed()
			return
		}
		s.Entry(&e)
		return
	}
	s.Line(b)
}
