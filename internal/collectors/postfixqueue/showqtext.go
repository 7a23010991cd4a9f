// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Postfix 2.x's showq writes mailq(1) text (showq.c DATA_FORMAT
// "%-10s%c%8ld %20.20s %s"), the same layout postqueue -p still prints:
//
//	-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------
//	3F71CB879C*    3419 Mon Nov 23 07:30:41  alice@mail.example.test
//	                    (connect to mx[192.0.2.1]:25: Connection refused)
//	                                         bob@partner.example
//
//	-- 222 Kbytes in 127 Requests.
//
// The character after the queue id is '*' for the active queue, '!' for
// hold and '#' for a forced expiry; nothing marks the others. A message
// with no mark is counted as deferred: the text cannot tell deferred from
// incoming or maildrop, and those two are normally empty within seconds.
// A "(reason)" line applies to the recipients below it until the next one.
// The arrival time has neither year nor zone: it is local time of the host
// running showq, and the year is the latest one that puts it in the past
// and matches the printed weekday.

// maxLineLen bounds the part of a line that is kept; the rest of a longer
// line is discarded (only a delay reason can be that long).
const maxLineLen = 16 << 10

type textParser struct {
	t      *tally
	opt    textOptions
	inMsg  bool
	queue  queue
	reason []byte
	long   []byte

	lastDate    string
	lastArrival int64
}

// parseText reads the 2.x text format until its last line.
func parseText(br *bufio.Reader, t *tally, opt textOptions) error {
	if opt.Loc == nil {
		opt.Loc = time.Local
	}
	p := &textParser{t: t, opt: opt}
	for n := 1; ; n++ {
		line, err := p.readLine(br)
		if errors.Is(err, io.EOF) {
			return errTruncated // showq ends every line, the last one too
		}
		if err != nil {
			return err
		}
		done, perr := p.line(line)
		if perr != nil {
			return fmt.Errorf("line %d: %w", n, perr)
		}
		if done {
			return nil
		}
	}
}

// readLine returns the next line without its newline, at most maxLineLen
// bytes of it; the slice is valid until the next call.
func (p *textParser) readLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if err == nil {
		return bytes.TrimRight(b, "\r\n"), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return b, err
	}
	p.long = append(p.long[:0], b...)
	for errors.Is(err, bufio.ErrBufferFull) {
		b, err = br.ReadSlice('\n')
		if room := maxLineLen - len(p.long); room > 0 {
			p.long = append(p.long, b[:min(room, len(b))]...)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return bytes.TrimRight(p.long, "\r\n"), err
}

// line handles one line; done reports the last line of the listing.
func (p *textParser) line(l []byte) (done bool, err error) {
	trimmed := bytes.TrimSpace(l)
	switch {
	case len(trimmed) == 0:
		p.inMsg = false
	case bytes.HasPrefix(l, []byte("-Queue ID-")):
	case bytes.HasPrefix(l, []byte("-- ")) && bytes.Contains(l, []byte(" in ")):
		return true, nil // "-- 222 Kbytes in 127 Requests."
	case bytes.Equal(trimmed, []byte("Mail queue is empty")):
		return true, nil
	case trimmed[0] == '(':
		if !p.inMsg {
			return false, errors.New("delay reason outside a message")
		}
		r := trimmed[1:]
		if len(r) > 0 && r[len(r)-1] == ')' {
			r = r[:len(r)-1]
		}
		p.reason = append(p.reason[:0], r...)
	case l[0] == ' ' || l[0] == '\t':
		if !p.inMsg {
			return false, errors.New("recipient outside a message")
		}
		p.t.recipient(p.queue, trimmed, p.reason)
	default:
		return false, p.message(l)
	}
	return false, nil
}

// message parses "ID[*!#] SIZE Www Mmm dd hh:mm:ss  SENDER".
func (p *textParser) message(l []byte) error {
	sp := bytes.IndexByte(l, ' ')
	if sp < 1 {
		return fmt.Errorf("not a message line: %q", truncate(l))
	}
	id, rest := l[:sp], bytes.TrimLeft(l[sp:], " ")
	p.queue = qDeferred
	switch id[len(id)-1] {
	case '*':
		p.queue = qActive
	case '!':
		p.queue = qHold
	}
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return fmt.Errorf("not a message line: %q", truncate(l))
	}
	size, ok := parseUint(rest[:sp])
	if !ok || len(rest) < sp+20 {
		return fmt.Errorf("not a message line: %q", truncate(l))
	}
	arrival, err := p.arrival(rest[sp+1 : sp+20])
	if err != nil {
		return err
	}
	p.t.message(p.queue, arrival, size)
	p.inMsg = true
	p.reason = p.reason[:0]
	return nil
}

// arrival converts a printed arrival time, reusing the last answer when
// the text repeats (mail arrives in bursts within the same second).
func (p *textParser) arrival(b []byte) (int64, error) {
	if p.lastDate != "" && string(b) == p.lastDate {
		return p.lastArrival, nil
	}
	s := string(b)
	t, err := textArrival(s, p.opt.Now, p.opt.Loc)
	if err != nil {
		return 0, err
	}
	p.lastDate, p.lastArrival = s, t.Unix()
	return p.lastArrival, nil
}

var weekdays = map[string]time.Weekday{
	"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday, "Wed": time.Wednesday,
	"Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday,
}

// textArrival turns asctime's "Mon Feb 24 13:35:18" into a time in loc:
// the latest year, not more than a day after now (clock skew), whose date
// falls on the printed weekday; failing that, the latest such year at all.
func textArrival(s string, now time.Time, loc *time.Location) (time.Time, error) {
	p, err := time.ParseInLocation("Mon Jan _2 15:04:05", s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("arrival time %q: %w", s, err)
	}
	wd := weekdays[s[:3]]
	limit := now.Add(24 * time.Hour)
	var fallback time.Time
	for y := now.In(loc).Year() + 1; y >= now.In(loc).Year()-7; y-- {
		c := time.Date(y, p.Month(), p.Day(), p.Hour(), p.Minute(), p.Second(), 0, loc)
		if c.Month() != p.Month() || c.After(limit) {
			continue // Feb 29 of a common year, or in the future
		}
		if c.Weekday() == wd {
			return c, nil
		}
		if fallback.IsZero() {
			fallback = c
		}
	}
	if fallback.IsZero() {
		return time.Time{}, fmt.Errorf("arrival time %q: no matching year", s)
	}
	return fallback, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
