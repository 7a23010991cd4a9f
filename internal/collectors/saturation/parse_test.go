// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package saturation

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestChildService(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv   []string
		key    string
		stress bool
		ok     bool
	}{
		{[]string{"smtpd", "-n", "smtp", "-t", "inet", "-u", "-c", "-o", "stress=", "-s", "2"}, "smtp/inet", false, true},
		{[]string{"smtpd", "-n", "submission", "-t", "inet", "-u", "-o", "stress=yes", "-o", "syslog_name=postfix/submission"}, "submission/inet", true, true},
		{[]string{"smtpd", "-n", "127.0.0.1:2541", "-t", "inet", "-u"}, "127.0.0.1:2541/inet", false, true},
		{[]string{"pickup", "-l", "-t", "unix", "-u", "-c"}, "pickup/unix", false, true},
		{[]string{"smtpd", "-t", "pass", "-u"}, "smtpd/pass", false, true},
		{[]string{"postlogd", "-l", "-n", "postlog", "-t", "unix-dgram", "-u"}, "postlog/unix-dgram", false, true},
		// an -o value that merely says stress=yes as another option's value
		{[]string{"smtpd", "-n", "x", "-t", "inet", "-o", "syslog_name=stress=yes"}, "x/inet", false, true},
		{[]string{"smtpd", "-n", "x", "-t", "inet", "-o", "stress=", "-o", "stress=yes"}, "x/inet", true, true},
		{[]string{"smtpd", "-n", "x", "-t", "inet", "-o", "stress=yes", "-o", "stress="}, "x/inet", false, true},
		{[]string{"/usr/lib/postfix/sbin/master", "-w"}, "", false, false},
		{nil, "", false, false},
	}
	for _, tc := range tests {
		key, stress, ok := childService(tc.argv)
		if key != tc.key || stress != tc.stress || ok != tc.ok {
			t.Errorf("childService(%q) = %q, %v, %v; want %q, %v, %v", tc.argv, key, stress, ok, tc.key, tc.stress, tc.ok)
		}
	}
}

func TestParseMasterCF(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "master.txt")) // postconf -M of the e2e harness
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := parseMasterCF(b, 100)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]pfService{}
	for _, s := range svcs {
		byKey[s.key] = s
	}
	if len(svcs) != 42 {
		t.Errorf("%d services, want the 42 lines", len(svcs))
	}
	for key, limit := range map[string]int{"smtp/inet": 100, "pickup/unix": 1, "cleanup/unix": 0, "127.0.0.1:2555/inet": 1, "postlog/unix-dgram": 1, "smtpd/pass": 100, "scalemail-backend/unix": 2} {
		if s, ok := byKey[key]; !ok || s.limit != limit {
			t.Errorf("%s: limit %d (present %v), want %d", key, s.limit, ok, limit)
		}
	}
	if got := byKey["submission/inet"].opts; got["smtpd_tls_security_level"] != "encrypt" || got["syslog_name"] != "postfix/submission" {
		t.Errorf("submission -o overrides = %v", got)
	}
	for _, bad := range []string{"smtp inet n - y\n", "smtp inet n - y - many smtpd\n", "smtp inet n - y - -1 smtpd\n"} {
		if _, err := parseMasterCF([]byte(bad), 100); err == nil {
			t.Errorf("parseMasterCF(%q): want an error", bad)
		}
	}
}

func TestParseTimeUnit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"60s": 60, "60": 60, "2m": 120, "1h": 3600, "1d": 86400, "1w": 604800} {
		if got, err := parseTimeUnit(in); err != nil || got != want {
			t.Errorf("parseTimeUnit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "s", "-1s", "1y", "$foo"} {
		if _, err := parseTimeUnit(bad); err == nil {
			t.Errorf("parseTimeUnit(%q): want an error", bad)
		}
	}
}

func TestParseDoveconf(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "doveconf.txt")) // Dovecot 2.3.19 on Debian 12, the harness's configuration
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := parseDoveconf(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]dcService{
		"imap-login":        {name: "imap-login", executable: "imap-login", processLimit: 100, clientLimit: 1000},
		"imap":              {name: "imap", executable: "imap", processLimit: 1024, clientLimit: 1},
		"auth":              {name: "auth", executable: "auth", processLimit: 1, clientLimit: 1000},
		"auth-worker":       {name: "auth-worker", executable: "auth -w", processLimit: 100, clientLimit: 1},
		"managesieve-login": {name: "managesieve-login", executable: "managesieve-login", processLimit: 100, clientLimit: 1000},
	}
	for name, w := range want {
		if got := svcs[name]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %+v, want %+v", name, got, w)
		}
	}
	for _, bad := range []string{"", "default_process_limit = 100\n", "default_process_limit = x\ndefault_client_limit = 1\nservice a {\n}\n", "default_process_limit = 1\ndefault_client_limit = 1\nservice a {\n process_limit = lots\n}\n"} {
		if _, err := parseDoveconf([]byte(bad)); err == nil {
			t.Errorf("parseDoveconf(%q): want an error", bad)
		}
	}
}

func TestExecComm(t *testing.T) {
	t.Parallel()
	for exe, want := range map[string][2]string{
		"imap-login":                {"imap-login", ""},
		"auth -w":                   {"auth", "-w"},
		"managesieve-login":         {"managesieve-log", ""},
		"/usr/lib/dovecot/imap":     {"imap", ""},
		"script -p health-check.sh": {"script", "-p health-check.sh"},
	} {
		if c, a := execComm(exe); c != want[0] || a != want[1] {
			t.Errorf("execComm(%q) = %q, %q; want %q", exe, c, a, want)
		}
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	p, err := parseStat([]byte("42 (a) b (c)) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"))
	if err != nil || p.pid != 42 || p.ppid != 7 || p.comm != "a) b (c)" || p.state != 'S' {
		t.Errorf("parseStat = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "42 a S 1", "x (a) S 1", "42 (a) S", "42 (a) S x"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q): want an error", bad)
		}
	}
}
