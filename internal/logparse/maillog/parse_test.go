// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type parsed struct {
	TS, Host, Program, PID, Message string
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want *parsed // nil: malformed
	}{
		{"traditional", "Nov 22 05:34:01 mx1 postfix/smtpd[1234]: connect from unknown[192.0.2.7]",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1234", "connect from unknown[192.0.2.7]"}},
		{"traditional space-padded day", "Nov  2 05:34:01 mx1 postfix/qmgr[88]: 3F2A1B0C9D: removed",
			&parsed{"Nov  2 05:34:01", "mx1", "postfix/qmgr", "88", "3F2A1B0C9D: removed"}},
		{"traditional fraction", "Nov 22 05:34:01.123456 mx1 opendkim[5]: x",
			&parsed{"Nov 22 05:34:01.123456", "mx1", "opendkim", "5", "x"}},
		{"submission service", "Nov 22 05:34:01 mx1 postfix/submission/smtpd[77]: warning: unknown[198.51.100.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/submission/smtpd", "77", "warning: unknown[198.51.100.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"}},
		{"multi-instance", "Nov 22 05:34:01 mx1 postfix-out/smtp[9]: connect to mx.example.net[203.0.113.5]:25: Connection refused",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix-out/smtp", "9", "connect to mx.example.net[203.0.113.5]:25: Connection refused"}},
		{"rfc3339", "2026-11-23T07:26:25.578832+00:00 vm postfix/master[9045]: daemon started -- version 3.7.11, configuration /etc/postfix",
			&parsed{"2026-11-23T07:26:25.578832+00:00", "vm", "postfix/master", "9045", "daemon started -- version 3.7.11, configuration /etc/postfix"}},
		{"rfc3339 zulu", "2026-11-23T07:26:25Z vm dovecot: imap-login: Login: user=<alice>",
			&parsed{"2026-11-23T07:26:25Z", "vm", "dovecot", "", "imap-login: Login: user=<alice>"}},
		{"no pid", "Nov 22 05:34:01 mx1 dovecot: master: Dovecot v2.3.19.1 starting up",
			&parsed{"Nov 22 05:34:01", "mx1", "dovecot", "", "master: Dovecot v2.3.19.1 starting up"}},
		{"empty message", "Nov 22 05:34:01 mx1 postfix/smtpd[1]:",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1", ""}},
		{"pri prefix", "<22>Nov 22 05:34:01 mx1 postfix/smtpd[1]: x",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1", "x"}},
		{"crlf", "Nov 22 05:34:01 mx1 postfix/smtpd[1]: x\r",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1", "x"}},
		{"dovecot log_path", "Nov 23 07:30:38 lmtp(19795): Info: Connect from local",
			&parsed{"Nov 23 07:30:38", "", "dovecot", "", "lmtp(19795): Info: Connect from local"}},
		{"dovecot log_path user", "Nov 23 07:30:39 lmtp(alice)<19801><UFYJBZ/rA2tZTQAAg+zDdQ:T2>: Info: msgid=<a@b>: saved mail to INBOX",
			&parsed{"Nov 23 07:30:39", "", "dovecot", "", "lmtp(alice)<19801><UFYJBZ/rA2tZTQAAg+zDdQ:T2>: Info: msgid=<a@b>: saved mail to INBOX"}},
		{"no host other tag", "Nov 23 07:30:38 myprog[5]: hello",
			&parsed{"Nov 23 07:30:38", "", "myprog", "5", "hello"}},
		{"fail2ban file", "2026-11-23 07:26:51,431 fail2ban.actions        [9073]: NOTICE  [postfix] Ban 127.0.0.3",
			&parsed{"2026-11-23 07:26:51,431", "", "fail2ban.actions", "9073", "NOTICE  [postfix] Ban 127.0.0.3"}},
		{"fail2ban file no pid", "2026-11-23 07:26:51,431 fail2ban.server: INFO    Daemon started",
			&parsed{"2026-11-23 07:26:51,431", "", "fail2ban.server", "", "INFO    Daemon started"}},
		{"empty", "", nil},
		{"garbage", "hello world this is not syslog", nil},
		{"bad month", "Foo 22 05:34:01 mx1 postfix/smtpd[1]: x", nil},
		{"bad time", "Nov 22 05:3x:01 mx1 postfix/smtpd[1]: x", nil},
		{"no tag colon", "Nov 22 05:34:01 mx1 postfix/smtpd[1] x", nil},
		{"only timestamp", "Nov 22 05:34:01 ", nil},
		{"tag without program", "Nov 22 05:34:01 mx1 [12]: x", nil},
		{"cut mid-write", "2026-11-23T07:26:25.57", nil},
		{"nul bytes", "Nov 22 05:34:01 mx1 postfix/smtpd[1]: a\x00b",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1", "a\x00b"}},
		{"invalid utf-8", "Nov 22 05:34:01 mx1 postfix/smtpd[1]: \xff\xfe",
			&parsed{"Nov 22 05:34:01", "mx1", "postfix/smtpd", "1", "\xff\xfe"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := Parse([]byte(tc.line))
			if tc.want == nil {
				if ok {
					t.Fatalf("Parse(%q) = %+v, want malformed", tc.line, e)
				}
				return
			}
			if !ok {
				t.Fatalf("Parse(%q) reported malformed", tc.line)
			}
			got := parsed{string(e.Timestamp), string(e.Host), string(e.Program), string(e.PID), string(e.Message)}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

func TestEntryTime(t *testing.T) {
	utc := time.UTC
	now := time.Date(2026, 1, 3, 12, 0, 0, 0, utc)
	tests := []struct {
		line string
		want time.Time
	}{
		{"Jan  3 11:59:58 h p: m", time.Date(2026, 1, 3, 11, 59, 58, 0, utc)},
		{"Dec 31 23:59:59 h p: m", time.Date(2025, 12, 31, 23, 59, 59, 0, utc)}, // year rollover
		{"Jan  4 00:30:00 h p: m", time.Date(2026, 1, 4, 0, 30, 0, 0, utc)},     // a little ahead: clock skew
		{"Jan  3 11:59:58.25 h p: m", time.Date(2026, 1, 3, 11, 59, 58, 250000000, utc)},
		{"2026-01-03T11:00:00.5+01:00 h p: m", time.Date(2026, 1, 3, 10, 0, 0, 500000000, utc)},
		{"2026-01-03 11:00:00,250 fail2ban.filter [1]: INFO x", time.Date(2026, 1, 3, 11, 0, 0, 250000000, utc)},
	}
	for _, tc := range tests {
		e, ok := Parse([]byte(tc.line))
		if !ok {
			t.Fatalf("Parse(%q) malformed", tc.line)
		}
		got, ok := e.Time(now, utc)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("Time(%q) = %v, %v; want %v", tc.line, got, ok, tc.want)
		}
	}
	bad := Entry{Timestamp: []byte("2026-13-45T99:00:00Z"), tsFmt: tsRFC3339}
	if _, ok := bad.Time(now, utc); ok {
		t.Error("impossible RFC 3339 date accepted")
	}
}

func TestParseLongLine(t *testing.T) {
	line := "Nov 22 05:34:01 mx1 postfix/smtpd[1]: " + strings.Repeat("x", 1<<20)
	e, ok := Parse([]byte(line))
	if !ok || len(e.Message) != 1<<20 {
		t.Fatalf("1 MiB message: ok=%v len=%d", ok, len(e.Message))
	}
}

func TestParseAllocs(t *testing.T) {
	line := []byte("2026-11-23T07:26:25.578832+00:00 vm postfix/smtpd[9045]: connect from unknown[192.0.2.1]")
	if n := testing.AllocsPerRun(100, func() { Parse(line) }); n != 0 {
		t.Errorf("Parse allocates %.0f times per line", n)
	}
}
