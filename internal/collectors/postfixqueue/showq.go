// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// The showq(8) service writes the whole queue to whoever connects to
// public/showq and then closes the connection; the client sends nothing.
//
// Postfix 3.x writes attr_print0 records: "name\0value\0" pairs, a record
// closed by an empty name ("\0"). Since 3.x the first record announces the
// protocol (protocol=mail_queue_list_protocol). Each message is one record,
// in the order showq.c sends it: queue_name, queue_id, time (arrival, or
// the file mtime when the queue file has none), size, forced_expire (3.1+),
// sender, then a recipient/reason pair per recipient (reason is empty
// unless the defer log has one). An empty record ends the list; a stream
// that closes before it was cut short and is an error, not a small queue.
//
// Postfix 2.x writes the text that mailq(1) prints; see showqtext.go.

const (
	readBufSize = 64 << 10
	// maxNameLen bounds an attribute name: the real ones are short, so a
	// long one means the stream is not showq.
	maxNameLen = 64
	// maxValueLen bounds an attribute value that is kept (a recipient, a
	// delay reason). It keeps memory flat on garbage input.
	maxValueLen = 1 << 20
)

var (
	errTruncated = errors.New("stream ended before the end-of-queue marker (truncated)")
	errEmpty     = errors.New("empty response")
)

// textOptions is what the 2.x text format needs to turn "Mon Feb 24
// 13:35:18" into a time: it carries neither year nor zone.
type textOptions struct {
	Now time.Time
	Loc *time.Location
}

// parseShowq reads one showq response in either format into t.
func parseShowq(r io.Reader, t *tally, opt textOptions) error {
	br := bufio.NewReaderSize(r, readBufSize)
	binary, err := detectFormat(br)
	if err != nil {
		return err
	}
	if binary {
		return parseAttrStream(br, t)
	}
	return parseText(br, t, opt)
}

// detectFormat peeks at the first token: the 3.x stream has a NUL within the
// first name ("protocol" or "queue_name"), the text format a line.
func detectFormat(br *bufio.Reader) (binary bool, err error) {
	for n := 1; n <= maxNameLen; n++ {
		b, err := br.Peek(n)
		if len(b) == n {
			switch b[n-1] {
			case 0:
				return true, nil
			case '\n':
				return false, nil
			}
			continue
		}
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return false, errEmpty
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	return false, nil
}

// attrReader splits a NUL-separated stream into tokens without copying the
// ones that fit in the bufio buffer.
type attrReader struct {
	br   *bufio.Reader
	long []byte
}

// token returns the next token without its NUL; the slice is valid until
// the next call. A token longer than limit is an error.
func (a *attrReader) token(limit int) ([]byte, error) {
	b, err := a.br.ReadSlice(0)
	if err == nil {
		if len(b)-1 > limit {
			return nil, fmt.Errorf("attribute longer than %d bytes", limit)
		}
		return b[:len(b)-1], nil
	}
	a.long = append(a.long[:0], b...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(a.long) > limit {
			return nil, fmt.Errorf("attribute longer than %d bytes", limit)
		}
		b, err = a.br.ReadSlice(0)
		a.long = append(a.long, b...)
	}
	switch {
	case err == nil:
		if len(a.long)-1 > limit {
			return nil, fmt.Errorf("attribute longer than %d bytes", limit)
		}
		return a.long[:len(a.long)-1], nil
	case errors.Is(err, io.EOF) && len(a.long) == 0:
		return nil, io.EOF
	case errors.Is(err, io.EOF):
		return nil, errTruncated
	}
	return nil, err
}

// skip discards the next token, however long.
func (a *attrReader) skip() error {
	for {
		_, err := a.br.ReadSlice(0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return errTruncated
		}
		return err
	}
}

// record is the message being read from the attribute stream.
type record struct {
	attrs                      int
	protocol                   bool
	hasQueue, hasTime, hasSize bool
	queue                      queue
	arrival, size              int64
	pending                    bool // a recipient waits for its reason
	addr                       []byte
}

func (m *record) reset() {
	*m = record{addr: m.addr[:0]}
}

// parseAttrStream reads 3.x attribute records until the end-of-list record.
func parseAttrStream(br *bufio.Reader, t *tally) error {
	a := &attrReader{br: br}
	var m record
	for rec := 0; ; {
		name, err := a.token(maxNameLen)
		if err == nil && len(name) > 0 {
			m.attrs++
			err = m.attr(a, t, name)
		}
		switch {
		case errors.Is(err, io.EOF):
			return errTruncated
		case err != nil:
			return fmt.Errorf("record %d: %w", rec, err)
		case len(name) > 0:
			continue
		case m.attrs == 0:
			return expectEOF(br) // the empty record ends the list
		}
		if err := m.finish(t); err != nil {
			return fmt.Errorf("record %d: %w", rec, err)
		}
		m.reset()
		rec++
	}
}

// attr reads the value of the attribute name and applies it.
func (m *record) attr(a *attrReader, t *tally, name []byte) error {
	var err error
	var v []byte
	switch string(name) {
	case "protocol":
		if v, err = a.token(maxNameLen); err == nil && string(v) != "mail_queue_list_protocol" {
			err = fmt.Errorf("unexpected protocol %q", v)
		}
		m.protocol = true
	case "queue_name":
		if v, err = a.token(maxNameLen); err == nil {
			if m.queue, m.hasQueue = queueByName(v); !m.hasQueue {
				err = fmt.Errorf("unknown queue %q", v)
			}
		}
	case "time":
		if v, err = a.token(maxNameLen); err == nil {
			m.arrival, m.hasTime = parseUint(v)
			err = badNumber(m.hasTime, "time", v)
		}
	case "size":
		if v, err = a.token(maxNameLen); err == nil {
			m.size, m.hasSize = parseUint(v)
			err = badNumber(m.hasSize, "size", v)
		}
	case "recipient":
		err = m.recipientAttr(a, t)
	case "reason":
		err = m.reasonAttr(a, t)
	default: // queue_id, sender, forced_expire, and whatever a later Postfix adds
		err = a.skip()
	}
	return err
}

func (m *record) recipientAttr(a *attrReader, t *tally) error {
	if !m.hasQueue {
		return errors.New("recipient before queue_name")
	}
	m.flush(t)
	m.pending = true
	m.addr = m.addr[:0]
	if m.queue != qDeferred || !t.trackDomains {
		return a.skip()
	}
	v, err := a.token(maxValueLen)
	m.addr = append(m.addr[:0], v...)
	return err
}

func (m *record) reasonAttr(a *attrReader, t *tally) error {
	if !m.pending {
		return errors.New("reason without a recipient")
	}
	m.pending = false
	if m.queue != qDeferred {
		t.recipient(m.queue, nil, nil)
		return a.skip()
	}
	v, err := a.token(maxValueLen)
	if err != nil {
		return err
	}
	t.recipient(m.queue, m.addr, v)
	return nil
}

// flush counts a recipient that came without a reason attribute.
func (m *record) flush(t *tally) {
	if m.pending {
		t.recipient(m.queue, m.addr, nil)
		m.pending = false
	}
}

func (m *record) finish(t *tally) error {
	if m.protocol && m.attrs == 1 {
		return nil // the protocol announcement
	}
	if !m.hasQueue || !m.hasTime || !m.hasSize {
		return errors.New("message record without queue_name, time or size")
	}
	m.flush(t)
	t.message(m.queue, m.arrival, m.size)
	return nil
}

// expectEOF checks that the stream ends after the end-of-list record, as
// showq closes the connection there: more bytes mean this is not a showq
// listing (or two got mixed up), and its counts cannot be trusted.
func expectEOF(br *bufio.Reader) error {
	if _, err := br.Peek(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return errors.New("data after the end-of-queue marker")
	}
	return nil
}

// parseUint parses a non-negative decimal that fits in int64.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func badNumber(ok bool, name string, v []byte) error {
	if ok {
		return nil
	}
	return fmt.Errorf("%s is not a non-negative number: %q", name, v)
}
