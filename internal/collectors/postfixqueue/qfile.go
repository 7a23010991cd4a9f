// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// A Postfix queue file is a sequence of records: one type byte, the length
// as a base-128 number (low 7 bits first, high bit set on all but the last
// byte), then that many bytes (record.c rec_put). The types used here are
// from rec_type.h.
const (
	recSize = 'C' // first record: content size, data offset, rcpt count, ...
	recTime = 'T' // arrival time "sec usec"
	recFrom = 'S' // sender
	recRcpt = 'R' // recipient still to deliver (done ones become 'D')
	recMesg = 'M' // start of the message content
	recPtr  = 'p' // pointer: continue reading at this file offset (0: none)
	recEnd  = 'E' // end of the queue file
)

// qfInfo is what one queue file contributes to the counts.
type qfInfo struct {
	arrival, size       int64
	hasArrival, hasSize bool
	rcpts               [][]byte
}

// queueFile reads queue files; it keeps its buffers between files.
type queueFile struct {
	f    *os.File
	br   *bufio.Reader
	pos  int64
	data []byte
	info qfInfo
	pool []byte // backing store of info.rcpts
}

// read returns the envelope summary of the queue file at path. The result
// is valid until the next call. A damaged file yields what was read before
// the damage: the message is still counted, as showq lists it too.
func (q *queueFile) read(path string) (*qfInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	defer f.Close()
	q.f, q.pos = f, 0
	if q.br == nil {
		q.br = bufio.NewReaderSize(f, 8<<10)
	} else {
		q.br.Reset(f)
	}
	q.info = qfInfo{rcpts: q.info.rcpts[:0]}
	q.pool = q.pool[:0]
	err = q.records()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errDamaged) {
		return nil, fmt.Errorf("walk: read %s: %w", path, err)
	}
	return &q.info, nil
}

var errDamaged = errors.New("damaged queue file")

func (q *queueFile) records() error {
	sender, jumps := false, 0
	for {
		typ, n, err := q.header()
		if err != nil {
			return err
		}
		switch typ {
		case recSize, recTime, recRcpt, recPtr:
			if err := q.load(n); err != nil {
				return err
			}
		default:
			if err := q.skip(int64(n)); err != nil {
				return err
			}
		}
		switch typ {
		case recSize:
			// The first field is the content size; showq trusts it only
			// when the record is digits and spaces.
			if f := bytes.Fields(q.data); len(f) > 0 && !q.info.hasSize && onlyDigitsSpaces(q.data) {
				q.info.size, q.info.hasSize = parseUint(f[0])
			}
		case recTime:
			if f := bytes.Fields(q.data); len(f) > 0 && !q.info.hasArrival {
				q.info.arrival, q.info.hasArrival = parseUint(f[0])
			}
		case recFrom:
			sender = true
		case recRcpt:
			if !sender {
				return errDamaged // showq stops at a recipient before the sender
			}
			start := len(q.pool)
			q.pool = append(q.pool, q.data...)
			q.info.rcpts = append(q.info.rcpts, q.pool[start:len(q.pool):len(q.pool)])
		case recMesg:
			if q.info.hasSize {
				if err := q.seek(q.pos + q.info.size); err != nil {
					return err
				}
			}
		case recPtr:
			off, ok := parseUint(bytes.TrimSpace(q.data))
			if !ok {
				return errDamaged
			}
			if off > 0 {
				if jumps++; jumps > maxJumps {
					return errDamaged
				}
				if err := q.seek(off); err != nil {
					return err
				}
			}
		case recEnd:
			return nil
		}
	}
}

// header reads a record's type and length.
func (q *queueFile) header() (byte, int, error) {
	typ, err := q.br.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	q.pos++
	n, shift := 0, 0
	for {
		c, err := q.br.ReadByte()
		if err != nil {
			return 0, 0, errDamaged
		}
		q.pos++
		n |= int(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
		if shift += 7; shift > 28 {
			return 0, 0, errDamaged
		}
	}
	if n > maxRecordLen {
		return 0, 0, errDamaged
	}
	return typ, n, nil
}

func (q *queueFile) load(n int) error {
	if cap(q.data) < n {
		q.data = make([]byte, n)
	}
	q.data = q.data[:n]
	if _, err := io.ReadFull(q.br, q.data); err != nil {
		return errDamaged
	}
	q.pos += int64(n)
	return nil
}

func (q *queueFile) skip(n int64) error {
	if n <= int64(q.br.Buffered()) {
		_, err := q.br.Discard(int(n))
		q.pos += n
		return err
	}
	return q.seek(q.pos + n)
}

func (q *queueFile) seek(off int64) error {
	if _, err := q.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	q.br.Reset(q.f)
	q.pos = off
	return nil
}

func onlyDigitsSpaces(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && c != ' ' {
			return false
		}
	}
	return true
}
