// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package fail2ban

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// berlin is a zone away from UTC, so a test would notice local time read as
// UTC.
var berlin = time.FixedZone("CET", 3600)

func local(s string) time.Time {
	t, err := time.ParseInLocation(logTimeLayout, s, berlin)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want event
	}{
		{"2026-11-23 09:30:05,123 fail2ban.filter         [812]: INFO    [postfix] Found 192.0.2.7 - 2026-11-23 09:30:01",
			event{kind: evFound, jail: "postfix", id: "192.0.2.7", at: local("2026-11-23 09:30:01")}},
		{"2026-11-23 09:30:05,123 fail2ban.filter         [812]: INFO    [postfix-sasl] Found 2001:db8::7 - 2026-11-23 09:29:58\n",
			event{kind: evFound, jail: "postfix-sasl", id: "2001:db8::7", at: local("2026-11-23 09:29:58")}},
		{"2026-11-23 09:30:05,123 fail2ban.filter         [812]: INFO    [dovecot] Found 192.0.2.8",
			event{kind: evFound, jail: "dovecot", id: "192.0.2.8", at: local("2026-11-23 09:30:05")}},
		{"2026-11-23 09:30:05,123 fail2ban.filter         [812]: INFO    [dovecot] Found 192.0.2.8 - yesterday",
			event{kind: evFound, jail: "dovecot", id: "192.0.2.8", at: local("2026-11-23 09:30:05")}},
		{"2026-11-23 09:30:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Ban 192.0.2.7",
			event{kind: evBan, jail: "postfix", id: "192.0.2.7", at: local("2026-11-23 09:30:06")}},
		{"2026-11-23 09:30:06,456 fail2ban.server         [812]: INFO    Jail 'postfix' started", event{kind: evJailReset, jail: "postfix"}},
		{"2026-11-23 09:30:06,456 fail2ban.jail           [812]: INFO    Jail 'dovecot' stopped", event{kind: evJailReset, jail: "dovecot"}},
		{"2026-11-23 09:30:06,456 fail2ban.server         [812]: INFO    Starting Fail2ban v1.0.2", event{kind: evRestart}},
		{"2026-11-23 09:30:06,456 fail2ban.server         [812]: INFO    Exiting Fail2ban", event{kind: evRestart}},
		// Lines that change nothing.
		{"2026-11-23 09:30:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Restore Ban 192.0.2.7", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Unban 192.0.2.7", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Increase Ban 192.0.2.7 (2 # 1:00:00 -> 2026-11-23 10:40:06)", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.filter         [812]: INFO    [postfix] Ignore 127.0.0.1 by ip", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.jail           [812]: INFO    Creating new jail 'postfix'", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.jail           [812]: INFO    Jail 'postfix' uses pyinotify {}", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.filter         [812]: INFO    [postfix] Found", event{}},
		{"2026-11-23 09:40:06,456 fail2ban.filter         [812]: INFO    [] Found 192.0.2.1", event{}},
		{"Nov 23 09:30:05 host fail2ban-server[812]: [postfix] Found 192.0.2.7", event{}}, // syslog target: not this format
		{"2026-11-23 09:30:05,123 no colon here", event{}},
		{"", event{}},
	}
	for _, tc := range tests {
		got := parseLine([]byte(tc.line), berlin)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(event{})); diff != "" {
			t.Errorf("%q (-want +got)\n%s", tc.line, diff)
		}
	}
	long := "2026-11-23 09:30:05,123 fail2ban.filter [1]: INFO [j] Found " + strings.Repeat("x", 500)
	if ev := parseLine([]byte(long), berlin); len(ev.id) != maxIDLen {
		t.Errorf("long id kept %d bytes, want %d", len(ev.id), maxIDLen)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2026-11-23 09:30:05,123 fail2ban.filter         [812]: INFO    [postfix] Found 192.0.2.7 - 2026-11-23 09:30:01",
		"2026-11-23 09:30:06,456 fail2ban.actions        [812]: NOTICE  [postfix] Ban 192.0.2.7",
		"2026-11-23 09:30:06,456 fail2ban.server         [812]: INFO    Jail 'postfix' started",
		"2026-11-23 09:30:06,456 fail2ban.server         [812]: INFO    Starting Fail2ban v1.0.2",
		"2026-11-23 09:30:06,456 x]: A [",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev := parseLine(line, berlin)
		switch ev.kind {
		case evFound, evBan:
			if ev.jail == "" || ev.id == "" || len(ev.id) > maxIDLen || ev.at.IsZero() {
				t.Errorf("incomplete event %+v from %q", ev, line)
			}
		case evJailReset:
			if ev.jail == "" {
				t.Errorf("reset without jail from %q", line)
			}
		}
	})
}

// logFile is a fail2ban log under test.
type logFile struct {
	t    *testing.T
	path string
}

func (l logFile) append(lines ...string) {
	l.t.Helper()
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	for _, s := range lines {
		if _, err := f.WriteString(s + "\n"); err != nil {
			l.t.Fatal(err)
		}
	}
}

func found(at, jail, ip string) string {
	return fmt.Sprintf("%s,001 fail2ban.filter         [812]: INFO    [%s] Found %s - %s", at, jail, ip, at)
}

func banLine(at, jail, ip string) string {
	return fmt.Sprintf("%s,002 fail2ban.actions        [812]: NOTICE  [%s] Ban %s", at, jail, ip)
}

func poll(t *testing.T, tr *LogTracker, now string) map[string]int {
	t.Helper()
	f, err := tr.Poll(local(now))
	if err != nil {
		t.Fatal(err)
	}
	return f.ByJail
}

// TestLogTracker walks a fail2ban log through failures, a ban, expiry, a
// restart, rotation and truncation.
func TestLogTracker(t *testing.T) {
	t.Parallel()
	l := logFile{t, filepath.Join(t.TempDir(), "fail2ban.log")}
	l.append(found("2026-11-23 09:00:00", "postfix", "192.0.2.1")) // too old by the first poll
	tr := NewLogTracker(l.path, 10*time.Minute, berlin)
	tr.limit = 5
	if got := poll(t, tr, "2026-11-23 09:20:00"); len(got) != 0 {
		t.Errorf("old failure counted: %v", got)
	}

	l.append(
		found("2026-11-23 09:20:01", "postfix", "192.0.2.1"),
		found("2026-11-23 09:20:02", "postfix", "192.0.2.1"),
		found("2026-11-23 09:20:03", "postfix", "192.0.2.2"),
		found("2026-11-23 09:20:04", "dovecot", "192.0.2.1"),
		found("2026-11-23 09:20:05", "postfix", "192.0.2.3"),
		banLine("2026-11-23 09:20:06", "postfix", "192.0.2.3"),
		banLine("2026-11-23 09:20:06", "dovecot", "192.0.2.9"), // not failing there: no effect
	)
	want := map[string]int{"postfix": 2, "dovecot": 1}
	if diff := cmp.Diff(want, poll(t, tr, "2026-11-23 09:21:00")); diff != "" {
		t.Errorf("after failures and a ban (-want +got)\n%s", diff)
	}
	// 192.0.2.2 expires at 09:30:03, 192.0.2.1 (postfix) at 09:30:02.
	if diff := cmp.Diff(map[string]int{"dovecot": 1}, poll(t, tr, "2026-11-23 09:30:03")); diff != "" {
		t.Errorf("after expiry (-want +got)\n%s", diff)
	}

	// Half a line is left for the next poll.
	half := found("2026-11-23 09:31:00", "postfix", "192.0.2.4")
	writeRaw(t, l.path, half[:30])
	if got := poll(t, tr, "2026-11-23 09:31:00"); len(got) != 0 {
		t.Errorf("half a line, dovecot expired: got %v", got)
	}
	writeRaw(t, l.path, half[30:]+"\n")
	if diff := cmp.Diff(map[string]int{"postfix": 1}, poll(t, tr, "2026-11-23 09:31:01")); diff != "" {
		t.Errorf("line completed (-want +got)\n%s", diff)
	}

	// fail2ban restarts: its failure lists start empty.
	l.append("2026-11-23 09:32:00,000 fail2ban.server         [900]: INFO    Starting Fail2ban v1.0.2",
		found("2026-11-23 09:32:10", "dovecot", "192.0.2.5"))
	if diff := cmp.Diff(map[string]int{"dovecot": 1}, poll(t, tr, "2026-11-23 09:32:30")); diff != "" {
		t.Errorf("after restart (-want +got)\n%s", diff)
	}
	l.append("2026-11-23 09:33:00,000 fail2ban.jail           [900]: INFO    Jail 'dovecot' stopped")
	if got := poll(t, tr, "2026-11-23 09:33:01"); len(got) != 0 {
		t.Errorf("after jail stop: %v", got)
	}

	// logrotate (create): a new file at the path is read from its start.
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		t.Fatal(err)
	}
	l.append(found("2026-11-23 09:34:00", "postfix", "192.0.2.6"))
	if diff := cmp.Diff(map[string]int{"postfix": 1}, poll(t, tr, "2026-11-23 09:34:01")); diff != "" {
		t.Errorf("after rotation (-want +got)\n%s", diff)
	}
	// copytruncate: the file shrinks in place, and here grows back to the
	// same size before the next poll.
	if err := os.Truncate(l.path, 0); err != nil {
		t.Fatal(err)
	}
	l.append(found("2026-11-23 09:35:00", "postfix", "192.0.2.7"))
	if diff := cmp.Diff(map[string]int{"postfix": 2}, poll(t, tr, "2026-11-23 09:35:01")); diff != "" {
		t.Errorf("after truncation (-want +got)\n%s", diff)
	}

	// More failing addresses than the limit: counted up to it, flagged.
	for i := range 10 {
		l.append(found("2026-11-23 09:36:00", "sshd", fmt.Sprintf("198.51.100.%d", i)))
	}
	res, err := tr.Poll(local("2026-11-23 09:36:01"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Overflowed || res.ByJail["sshd"] != 3 || res.ByJail["postfix"] != 2 {
		t.Errorf("over the limit: got %+v, want sshd 3, postfix 2, overflowed", res)
	}

	if err := os.Remove(l.path); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Poll(local("2026-11-23 09:37:00")); err == nil {
		t.Error("missing log: want an error")
	}
}

// TestLogTrackerFirstWindow: the first poll of a big log reads only its
// end, starting at a line boundary.
func TestLogTrackerFirstWindow(t *testing.T) {
	t.Parallel()
	l := logFile{t, filepath.Join(t.TempDir(), "fail2ban.log")}
	filler := strings.Repeat("2026-11-23 09:00:00,000 fail2ban.filter [1]: INFO    [postfix] Ignore 127.0.0.1 by ip\n", firstReadWindow/80)
	writeRaw(t, l.path, found("2026-11-23 09:59:00", "early", "192.0.2.1")+"\n"+filler)
	l.append(found("2026-11-23 09:59:30", "postfix", "192.0.2.2"))
	tr := NewLogTracker(l.path, 10*time.Minute, berlin)
	if diff := cmp.Diff(map[string]int{"postfix": 1}, poll(t, tr, "2026-11-23 10:00:00")); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func writeRaw(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
