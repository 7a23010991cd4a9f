// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"bytes"
	"strings"
	"time"
)

// What a line of fail2ban's log means to the failure count.
type eventKind int

const (
	evNone      eventKind = iota
	evFound               // a failure: "[jail] Found <id> - <time>"
	evBan                 // the address was banned: "[jail] Ban <id>"
	evJailReset           // "Jail 'name' started|stopped": its failures are gone
	evRestart             // fail2ban started or exited: all failures are gone
)

type event struct {
	kind eventKind
	jail string
	id   string // the failing address (or fail2ban ID); a map key, never a label
	at   time.Time
}

// logTimeLayout is the asctime of fail2ban's file log, without the
// milliseconds, in the local time of the host.
const logTimeLayout = "2006-01-02 15:04:05"

// maxIDLen bounds the stored length of a failure ID (an IPv6 address is 45
// bytes at most; fail2ban also allows other IDs such as user names).
const maxIDLen = 64

// parseLine reads one line of fail2ban's file log, whose format is
//
//	%(asctime)s %(name)-24s[%(process)d]: %(levelname)-7s %(message)s
//
// for example
//
//	2026-11-23 07:30:05,123 fail2ban.filter         [812]: INFO    [postfix] Found 192.0.2.7 - 2026-11-23 07:30:05
//	2026-11-23 07:30:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Ban 192.0.2.7
//
// Lines of other shapes, and messages that do not change the failure count
// ("Restore Ban", "Unban", "Increase Ban", ...), give evNone.
func parseLine(line []byte, loc *time.Location) event {
	if len(line) < len(logTimeLayout) {
		return event{}
	}
	stamp, err := time.ParseInLocation(logTimeLayout, string(line[:len(logTimeLayout)]), loc)
	if err != nil {
		return event{}
	}
	i := bytes.Index(line, []byte("]: "))
	if i < 0 {
		return event{}
	}
	rest := strings.TrimSpace(string(line[i+3:]))
	level, msg, ok := strings.Cut(rest, " ")
	if !ok || level == "" {
		return event{}
	}
	msg = strings.TrimSpace(msg)
	if strings.HasPrefix(msg, "[") {
		return jailMessage(msg, stamp, loc)
	}
	return serverMessage(msg)
}

// jailMessage reads "[jail] Found id - time" and "[jail] Ban id".
func jailMessage(msg string, stamp time.Time, loc *time.Location) event {
	jail, what, ok := strings.Cut(msg[1:], "] ")
	if !ok || jail == "" {
		return event{}
	}
	verb, args, _ := strings.Cut(what, " ")
	id, tail, _ := strings.Cut(strings.TrimSpace(args), " ")
	if id == "" {
		return event{}
	}
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	switch verb {
	case "Found":
		// The time after " - " is the failure's own time, from the watched
		// log; fail2ban ages failures by it, so this does too.
		at := stamp
		if t, ok := strings.CutPrefix(tail, "- "); ok && len(t) >= len(logTimeLayout) {
			if ft, err := time.ParseInLocation(logTimeLayout, t[:len(logTimeLayout)], loc); err == nil {
				at = ft
			}
		}
		return event{kind: evFound, jail: jail, id: id, at: at}
	case "Ban":
		return event{kind: evBan, jail: jail, id: id, at: stamp}
	}
	return event{}
}

// serverMessage reads the lines that empty fail2ban's failure lists: a jail
// (re)started or stopped, fail2ban starting or exiting.
func serverMessage(msg string) event {
	if name, ok := strings.CutPrefix(msg, "Jail '"); ok {
		for _, suffix := range []string{"' started", "' stopped"} {
			if j, ok := strings.CutSuffix(name, suffix); ok && j != "" && !strings.Contains(j, "'") {
				return event{kind: evJailReset, jail: j}
			}
		}
		return event{}
	}
	if strings.HasPrefix(msg, "Starting Fail2ban") || strings.HasPrefix(msg, "Exiting Fail2ban") {
		return event{kind: evRestart}
	}
	return event{}
}
