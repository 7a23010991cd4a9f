// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"strconv"
	"time"
)

// tsFormat tells how Entry.Timestamp is to be read.
type tsFormat uint8

const (
	tsNone      tsFormat = iota
	tsBSD                // "Nov 22 05:34:01" or "Nov  2 05:34:01.123456": no year, local time
	tsRFC3339            // "2026-11-22T05:34:01.123456+00:00"
	tsFail2ban           // "2026-11-22 05:34:01,123": local time
	tsUnixMicro          // journal __REALTIME_TIMESTAMP, in Entry.usec
	tsRspamd             // "2026-11-22 05:34:01" or "2026-11-22 05:34:01.12345": local time
)

// Entry is one log record split into its parts. The slices alias the parsed
// line and are only valid as long as it is.
type Entry struct {
	Timestamp []byte
	Host      []byte // empty for formats without a host (Dovecot log_path, fail2ban)
	Program   []byte // syslog tag without the pid: "postfix/submission/smtpd", "dovecot"
	PID       []byte
	Message   []byte

	tsFmt tsFormat
	usec  int64
}

// Parse splits one line, without its trailing newline, into an Entry. It
// accepts:
//
//	Nov 22 05:34:01 host prog[pid]: message          traditional syslog, Postfix maillog_file
//	2026-11-22T05:34:01.123+00:00 host prog[pid]: m  RFC 3339 (rsyslog's default on Debian 12)
//	Nov 22 05:34:01 imap-login: Info: message        Dovecot log_path (no host)
//	2026-11-22 05:34:01,123 fail2ban.actions [12]: NOTICE [jail] Ban 192.0.2.1
//	2026-11-22 05:34:01 #1234(normal) <1a2b3c>; task; rspamd_task_write_log: ...
//	                                                 Rspamd's own log file (parseRspamd)
//
// with an optional "<PRI>" prefix. It reports false for anything else; it
// never panics and does not allocate.
func Parse(line []byte) (Entry, bool) {
	var e Entry
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > 0 && line[0] == '<' {
		line = skipPRI(line)
	}
	var rest []byte
	switch {
	case len(line) >= 16 && line[3] == ' ' && monthIndex(line[:3]) > 0:
		e.Timestamp, rest = cutBSD(line)
		e.tsFmt = tsBSD
	case len(line) >= 20 && line[4] == '-' && line[7] == '-' && line[10] == 'T':
		e.Timestamp, rest = cutRFC3339(line)
		e.tsFmt = tsRFC3339
	case len(line) >= 24 && line[4] == '-' && line[10] == ' ' && line[19] == ',':
		return parseFail2ban(line)
	case len(line) >= 22 && line[4] == '-' && line[7] == '-' && line[10] == ' ' && line[13] == ':' &&
		(line[19] == ' ' || line[19] == '.'):
		return parseRspamd(line)
	}
	if e.Timestamp == nil {
		return Entry{}, false
	}
	rest = trimLeftSpace(rest)
	tok, after, _ := bytes.Cut(rest, []byte{' '})
	if len(tok) > 1 && tok[len(tok)-1] == ':' {
		// No host: "Nov 22 05:34:01 lmtp(123): Info: ..." (Dovecot log_path).
		return finishNoHost(e, rest, tok[:len(tok)-1], after)
	}
	e.Host = tok
	rest = trimLeftSpace(after)
	tok, after, _ = bytes.Cut(rest, []byte{' '})
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return Entry{}, false
	}
	if !splitTag(&e, tok[:len(tok)-1]) {
		return Entry{}, false
	}
	e.Message = after
	return e, true
}

// finishNoHost completes a line without a host. Dovecot's own log file is
// recognised by its process names and turned into the shape Dovecot has in
// syslog: program "dovecot", message "imap-login: Info: ...".
func finishNoHost(e Entry, rest, tag, after []byte) (Entry, bool) {
	if len(tag) == 0 {
		return Entry{}, false
	}
	if isDovecotProcess(dovecotBase(tag)) {
		e.Program = []byte("dovecot")
		e.Message = rest
		return e, true
	}
	if !splitTag(&e, tag) {
		return Entry{}, false
	}
	e.Message = after
	return e, true
}

// splitTag splits "prog[pid]" or "prog" into the entry.
func splitTag(e *Entry, tag []byte) bool {
	if len(tag) == 0 {
		return false
	}
	if tag[len(tag)-1] == ']' {
		i := bytes.IndexByte(tag, '[')
		if i <= 0 {
			return false
		}
		e.Program, e.PID = tag[:i], tag[i+1:len(tag)-1]
		return true
	}
	e.Program = tag
	return true
}

// parseFail2ban reads fail2ban's own log format:
// "2026-11-22 05:34:01,123 fail2ban.actions        [1234]: NOTICE  [sshd] Ban 192.0.2.1".
func parseFail2ban(line []byte) (Entry, bool) {
	e := Entry{Timestamp: line[:23], tsFmt: tsFail2ban}
	if !isDigits(line[:4]) || !isDigits(line[11:13]) || line[23] != ' ' {
		return Entry{}, false
	}
	rest := trimLeftSpace(line[24:])
	end := bytes.IndexAny(rest, " [:")
	if end <= 0 {
		return Entry{}, false
	}
	e.Program = rest[:end]
	rest = trimLeftSpace(rest[end:])
	if len(rest) > 0 && rest[0] == '[' {
		i := bytes.IndexByte(rest, ']')
		if i < 0 {
			return Entry{}, false
		}
		e.PID, rest = rest[1:i], rest[i+1:]
	}
	if len(rest) == 0 || rest[0] != ':' {
		return Entry{}, false
	}
	e.Message = trimLeftSpace(rest[1:])
	return e, true
}

var rspamdTag = []byte("rspamd")

// parseRspamd reads Rspamd's file logger format (logger_file.c and
// rspamd_log_fill_iov): "%F %H:%M:%S", five decimals with log_usec, an
// optional "[severity] " with log_severity, "#PID(process type) ", then the
// same "<id>; module; function: message" Rspamd sends to syslog, which
// becomes the message, so that both forms classify alike.
func parseRspamd(line []byte) (Entry, bool) {
	if !isDigits(line[:4]) || !isDigit(line[11]) || !isDigit(line[12]) {
		return Entry{}, false
	}
	end := 19
	if line[end] == '.' {
		end++
		for end < len(line) && isDigit(line[end]) {
			end++
		}
	}
	e := Entry{Timestamp: line[:end], tsFmt: tsRspamd, Program: rspamdTag}
	rest := trimLeftSpace(line[end:])
	if len(rest) > 0 && rest[0] == '[' {
		i := bytes.IndexByte(rest, ']')
		if i < 0 || i > 10 {
			return Entry{}, false
		}
		rest = trimLeftSpace(rest[i+1:])
	}
	if len(rest) < 2 || rest[0] != '#' {
		return Entry{}, false
	}
	i := 1
	for i < len(rest) && isDigit(rest[i]) {
		i++
	}
	if i == 1 || i >= len(rest) || rest[i] != '(' {
		return Entry{}, false
	}
	e.PID = rest[1:i]
	j := bytes.IndexByte(rest[i:], ')')
	if j < 0 {
		return Entry{}, false
	}
	e.Message = trimLeftSpace(rest[i+j+1:])
	return e, true
}

func skipPRI(line []byte) []byte {
	for i := 1; i < len(line) && i <= 5; i++ {
		if line[i] == '>' {
			return line[i+1:]
		}
		if line[i] < '0' || line[i] > '9' {
			break
		}
	}
	return line
}

// cutBSD cuts "Mmm dd hh:mm:ss[.frac]" off line (len >= 16 is checked).
func cutBSD(line []byte) (ts, rest []byte) {
	if (line[4] != ' ' && !isDigit(line[4])) || !isDigit(line[5]) || line[6] != ' ' {
		return nil, nil
	}
	if !isDigit(line[7]) || !isDigit(line[8]) || line[9] != ':' || !isDigit(line[10]) ||
		!isDigit(line[11]) || line[12] != ':' || !isDigit(line[13]) || !isDigit(line[14]) {
		return nil, nil
	}
	i := 15
	if line[i] == '.' {
		i++
		for i < len(line) && isDigit(line[i]) {
			i++
		}
	}
	if i >= len(line) || line[i] != ' ' {
		return nil, nil
	}
	return line[:i], line[i:]
}

// cutRFC3339 cuts an RFC 3339 timestamp off line; the layout is checked
// loosely here and fully by Entry.Time.
func cutRFC3339(line []byte) (ts, rest []byte) {
	i := bytes.IndexByte(line, ' ')
	if i < 20 || !isDigits(line[:4]) || !isDigit(line[11]) || line[13] != ':' {
		return nil, nil
	}
	return line[:i], line[i:]
}

// monthIndex returns 1..12 for a month abbreviation, 0 otherwise.
func monthIndex(b []byte) int {
	if len(b) != 3 {
		return 0
	}
	switch uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 1
	case 'F'<<16 | 'e'<<8 | 'b':
		return 2
	case 'M'<<16 | 'a'<<8 | 'r':
		return 3
	case 'A'<<16 | 'p'<<8 | 'r':
		return 4
	case 'M'<<16 | 'a'<<8 | 'y':
		return 5
	case 'J'<<16 | 'u'<<8 | 'n':
		return 6
	case 'J'<<16 | 'u'<<8 | 'l':
		return 7
	case 'A'<<16 | 'u'<<8 | 'g':
		return 8
	case 'S'<<16 | 'e'<<8 | 'p':
		return 9
	case 'O'<<16 | 'c'<<8 | 't':
		return 10
	case 'N'<<16 | 'o'<<8 | 'v':
		return 11
	case 'D'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

func trimLeftSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// Stamp is the part of an Entry that Time reads: what a caller keeps to
// learn the time of a line later, smaller than the Entry. It aliases the
// parsed line as the Entry does.
type Stamp struct {
	ts    []byte
	tsFmt tsFormat
	usec  int64
}

// Stamp returns the entry's Stamp.
func (e *Entry) Stamp() Stamp { return Stamp{ts: e.Timestamp, tsFmt: e.tsFmt, usec: e.usec} }

// Time returns the time of the stamp's entry, as Entry.Time.
func (s *Stamp) Time(now time.Time, loc *time.Location) (time.Time, bool) {
	e := Entry{Timestamp: s.ts, tsFmt: s.tsFmt, usec: s.usec}
	return e.Time(now, loc)
}

// Time returns the entry's timestamp. Formats without a year (traditional
// syslog) take the year that puts the time closest to now, at most a day in
// the future; formats without a zone are read in loc.
func (e *Entry) Time(now time.Time, loc *time.Location) (time.Time, bool) {
	switch e.tsFmt {
	case tsUnixMicro:
		return time.UnixMicro(e.usec), e.usec > 0
	case tsRFC3339:
		t, err := time.Parse(time.RFC3339Nano, string(e.Timestamp))
		return t, err == nil
	case tsFail2ban:
		t, err := time.ParseInLocation("2006-01-02 15:04:05,000", string(e.Timestamp), loc)
		return t, err == nil
	case tsRspamd:
		t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", string(e.Timestamp), loc)
		return t, err == nil
	case tsBSD:
		return bsdTime(e.Timestamp, now, loc)
	}
	return time.Time{}, false
}

func bsdTime(ts []byte, now time.Time, loc *time.Location) (time.Time, bool) {
	mon := monthIndex(ts[:3])
	day := int(ts[5] - '0')
	if ts[4] != ' ' {
		day += 10 * int(ts[4]-'0')
	}
	hh := int(ts[7]-'0')*10 + int(ts[8]-'0')
	mm := int(ts[10]-'0')*10 + int(ts[11]-'0')
	ss := int(ts[13]-'0')*10 + int(ts[14]-'0')
	nsec := 0
	if len(ts) > 16 {
		frac := ts[16:]
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.Atoi(string(frac))
		if err == nil {
			for i := len(frac); i < 9; i++ {
				n *= 10
			}
			nsec = n
		}
	}
	if mon == 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	now = now.In(loc)
	t := time.Date(now.Year(), time.Month(mon), day, hh, mm, ss, nsec, loc)
	if t.Sub(now) > 24*time.Hour {
		t = t.AddDate(-1, 0, 0)
	}
	return t, true
}
