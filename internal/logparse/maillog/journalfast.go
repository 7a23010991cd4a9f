// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"strconv"
	"unicode/utf8"
)

// decodeFast decodes the lines journalctl writes for ordinary entries
// without encoding/json: one flat object whose keys are journal field
// names (upper case, digits, underscores) and whose values are strings
// without escapes. Decoding such a line with encoding/json cost about as
// much CPU as journalctl spent writing it (20-30 µs, 29 allocations, in a
// benchmark on the bench machine); this costs a scan of the line and one
// allocation (the cursor). The entry's slices point into line.
//
// Anything else (an escape, a number, an array of bytes or of values, null,
// invalid UTF-8 in a field that is used, a key in lower case, malformed
// JSON) reports ok false, and Decode decodes the line with encoding/json:
// the result is always what that would give (FuzzJournalDecodeFast).
func decodeFast(line []byte) (e Entry, cursor string, ok bool) {
	var realtime, message, ident, syslogPID, pid, comm, host, cur []byte
	haveMessage := false
	i := skipSpace(line, 0)
	if i == len(line) || line[i] != '{' {
		return Entry{}, "", false
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			key, next, ok := plainString(line, i)
			if !ok || !fieldName(key) {
				return Entry{}, "", false
			}
			i = skipSpace(line, next)
			if i == len(line) || line[i] != ':' {
				return Entry{}, "", false
			}
			val, next, ok := plainString(line, skipSpace(line, i+1))
			if !ok {
				return Entry{}, "", false
			}
			// The last of duplicate keys wins, as with encoding/json.
			switch string(key) {
			case "__CURSOR":
				cur = val
			case "__REALTIME_TIMESTAMP":
				realtime = val
			case "MESSAGE":
				message, haveMessage = val, true
			case "SYSLOG_IDENTIFIER":
				ident = val
			case "SYSLOG_PID":
				syslogPID = val
			case "_PID":
				pid = val
			case "_COMM":
				comm = val
			case "_HOSTNAME":
				host = val
			}
			i = skipSpace(line, next)
			if i == len(line) {
				return Entry{}, "", false
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return Entry{}, "", false
			}
			i = skipSpace(line, i+1)
		}
	}
	if skipSpace(line, i) != len(line) {
		return Entry{}, "", false
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD.
	for _, v := range [][]byte{realtime, message, ident, syslogPID, pid, comm, host, cur} {
		if !utf8.Valid(v) {
			return Entry{}, "", false
		}
	}
	if !haveMessage {
		return Entry{}, string(cur), true // Decode reports errNoMessage
	}
	e = Entry{tsFmt: tsUnixMicro, Message: message, Host: host, Timestamp: realtime}
	e.usec, _ = strconv.ParseInt(string(realtime), 10, 64)
	if e.Program = ident; len(e.Program) == 0 {
		e.Program = comm
	}
	if e.PID = syslogPID; len(e.PID) == 0 {
		e.PID = pid
	}
	return e, string(cur), true
}

// skipSpace skips JSON whitespace from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the JSON string at b[i] if it has no escape and no
// control character: its contents and the index after its closing quote.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// fieldName reports whether k is a journal field name (systemd.journal-fields(7):
// upper case letters, digits and underscores), which encoding/json would
// match to a struct field only by its exact name.
func fieldName(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
