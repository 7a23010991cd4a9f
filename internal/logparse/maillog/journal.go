// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// JournalDecoder turns `journalctl --output=json` lines into entries. The
// zero value is ready to use; a decoder is used by one goroutine.
type JournalDecoder struct {
	rec journalRecord
}

type journalRecord struct {
	Cursor     string          `json:"__CURSOR"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"`
	Message    json.RawMessage `json:"MESSAGE"`
	Identifier json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	SyslogPID  json.RawMessage `json:"SYSLOG_PID"`
	PID        json.RawMessage `json:"_PID"`
	Comm       json.RawMessage `json:"_COMM"`
	Hostname   json.RawMessage `json:"_HOSTNAME"`
}

var errNoMessage = errors.New("journal entry without MESSAGE")

// Decode returns the entry of one JSON line and its cursor. A line that is
// not JSON, or has no MESSAGE, is an error; the cursor is returned when
// the record has one. The entry's slices are valid until the next call,
// and no longer than line.
func (d *JournalDecoder) Decode(line []byte) (Entry, string, error) {
	if e, cursor, ok := decodeFast(line); ok { // journalfast.go
		if e.Message == nil {
			return Entry{}, cursor, errNoMessage
		}
		return e, cursor, nil
	}
	return d.decodeJSON(line)
}

// decodeJSON is Decode with encoding/json, for every line.
func (d *JournalDecoder) decodeJSON(line []byte) (Entry, string, error) {
	d.rec = journalRecord{}
	if err := json.Unmarshal(line, &d.rec); err != nil {
		return Entry{}, "", err
	}
	e := Entry{tsFmt: tsUnixMicro}
	e.usec, _ = strconv.ParseInt(d.rec.Realtime, 10, 64)
	e.Message = journalValue(d.rec.Message)
	if e.Message == nil {
		return Entry{}, d.rec.Cursor, errNoMessage
	}
	e.Program = journalValue(d.rec.Identifier)
	if len(e.Program) == 0 {
		e.Program = journalValue(d.rec.Comm)
	}
	if e.PID = journalValue(d.rec.SyslogPID); len(e.PID) == 0 {
		e.PID = journalValue(d.rec.PID)
	}
	e.Host = journalValue(d.rec.Hostname)
	e.Timestamp = []byte(d.rec.Realtime)
	return e, d.rec.Cursor, nil
}

// journalValue reads a journal JSON field: a string, an array of byte
// values (binary data), an array of those (a field present several times:
// the first is used), or null (too large, without --all).
func journalValue(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		return []byte(s)
	}
	var nums []byte
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil
	}
	if v := bytes.TrimSpace(list[0]); len(v) > 0 && (v[0] == '"' || v[0] == '[') {
		return journalValue(list[0])
	}
	for _, n := range list {
		b, err := strconv.ParseUint(string(bytes.TrimSpace(n)), 10, 8)
		if err != nil {
			return nil
		}
		nums = append(nums, byte(b))
	}
	return bytes.TrimRight(nums, "\n")
}
