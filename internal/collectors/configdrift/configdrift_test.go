// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package configdrift

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestExampleIsTheDefaults(t *testing.T) {
	t.Parallel()
	collectortest.ExampleIsTheDefaults[Config](t, Name, collectors.Defaults{Enabled: true, Interval: 5 * time.Minute, Timeout: time.Minute, MinInterval: 30 * time.Second})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	collectortest.Validation(t, []collectortest.Case[Config]{
		{Name: "defaults"},
		{Name: "off", Modify: func(c *Config) { c.Doveconf, c.PostfixCheck = Off, Off }},
		{Name: "paths", Modify: func(c *Config) { c.Postconf, c.OpendkimConfig = "postconf", "/etc/../opendkim.conf" }, Want: []string{
			`postconf: must be an absolute path or "off", got "postconf"`,
			`opendkim_config: "/etc/../opendkim.conf" is not clean`,
		}},
	})
}

// doveconf -n as Dovecot 2.3.19 prints it, on two hosts of one fleet.
const (
	doveconfA = "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n# Pigeonhole version 0.5.19 (4eae2f79)\n# OS: Linux 6.1.0-28-amd64 x86_64 Debian 12.11 ext4\n# Hostname: mx1.example.org\nauth_mechanisms = plain login\nmail_location = maildir:~/Maildir\nprotocols = \" imap lmtp\"\n"
	doveconfB = "# 2.3.19.1 (9b53102964): /etc/dovecot/dovecot.conf\n# Pigeonhole version 0.5.19 (4eae2f79)\n# OS: Linux 6.1.0-31-amd64 x86_64 Debian 12.12 ext4\n# Hostname: mx2.example.org\nauth_mechanisms = plain login\nmail_location = maildir:~/Maildir\nprotocols = \" imap lmtp\"\n"
)

func TestHash(t *testing.T) {
	t.Parallel()
	a, b := Hash([]byte(doveconfA)), Hash([]byte(doveconfB))
	if a != b {
		t.Errorf("hosts differing only in doveconf's header lines hash differently: %s %s", a, b)
	}
	if len(a) != 12 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("hash %q is not 12 hex digits", a)
	}
	if c := Hash([]byte(strings.Replace(doveconfA, "plain login", "plain", 1))); c == a {
		t.Error("a changed setting kept the hash")
	}
	if c := Hash([]byte("# OpenDKIM\n\nDomain example.org  \n   # indented comment\nSelector mail\n")); c != Hash([]byte("Domain example.org\nSelector mail\n")) {
		t.Error("comments, blank lines or trailing blanks changed the hash")
	}
}

// fakeHost writes stand-ins for postconf, doveconf and postfix that print
// the files out.postconf, out.doveconf and out.check.
func fakeHost(t *testing.T) (*Host, string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := collectortest.WriteExecutable(p, []byte("#!/bin/sh\n"+body)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	h := &Host{
		Postconf:   write("postconf", `[ "$*" = -n ] || exit 64; [ "$LC_ALL" = C ] || exit 65; cat "$(dirname "$0")/out.postconf"`),
		Doveconf:   write("doveconf", `[ "$*" = -n ] || exit 64; cat "$(dirname "$0")/out.doveconf"`),
		Postfix:    write("postfix", `[ "$*" = check ] || exit 64; cat "$(dirname "$0")/out.check" >&2; exit $(cat "$(dirname "$0")/rc.check")`),
		PostfixDir: filepath.Join(dir, "etc-postfix"),
		DovecotDir: filepath.Join(dir, "etc-dovecot"),
		Opendkim:   filepath.Join(dir, "opendkim.conf"),
		Root:       true,
	}
	for _, d := range []string{h.PostfixDir, h.DovecotDir, filepath.Join(h.DovecotDir, "conf.d")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h, dir
}

func put(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCollector(t *testing.T) {
	t.Parallel()
	h, dir := fakeHost(t)
	t1 := time.Unix(1796500000, 0)
	t2 := time.Unix(1796600000, 0)
	put(t, filepath.Join(dir, "out.postconf"), "myhostname = mx1.example.org\nsmtpd_tls_security_level = may\n", time.Time{})
	put(t, filepath.Join(dir, "out.doveconf"), doveconfA, time.Time{})
	put(t, filepath.Join(dir, "out.check"), "", time.Time{})
	put(t, filepath.Join(dir, "rc.check"), "0", time.Time{})
	put(t, filepath.Join(h.PostfixDir, "main.cf"), "x", t1)
	put(t, filepath.Join(h.PostfixDir, "master.cf"), "x", t1.Add(-time.Hour))
	put(t, h.Opendkim, "Domain example.org\n", t1)
	put(t, filepath.Join(h.DovecotDir, "conf.d", "10-ssl.conf"), "ssl = required\n", t2)
	for _, d := range []string{filepath.Join(h.DovecotDir, "conf.d"), h.DovecotDir} {
		if err := os.Chtimes(d, t1, t1); err != nil {
			t.Fatal(err)
		}
	}
	c := NewWithSource(h, zap.NewNop())
	got, err := collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	pf := Hash([]byte("myhostname = mx1.example.org\nsmtpd_tls_security_level = may\n"))
	want := map[string]float64{
		`mailwatch_config_info{hash="` + pf + `",program="postfix"}`:                                    1,
		`mailwatch_config_info{hash="` + Hash([]byte(doveconfA)) + `",program="dovecot"}`:               1,
		`mailwatch_config_info{hash="` + Hash([]byte("Domain example.org\n")) + `",program="opendkim"}`: 1,
		`mailwatch_config_read_success{program="postfix"}`:                                              1,
		`mailwatch_config_read_success{program="dovecot"}`:                                              1,
		`mailwatch_config_read_success{program="opendkim"}`:                                             1,
		`mailwatch_config_change_timestamp_seconds{program="postfix"}`:                                  float64(t1.Unix()),
		`mailwatch_config_change_timestamp_seconds{program="dovecot"}`:                                  float64(t2.Unix()),
		`mailwatch_config_change_timestamp_seconds{program="opendkim"}`:                                 float64(t1.Unix()),
		`mailwatch_postfix_check_success{}`:                                                             1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	collectortest.Lint(t, c)

	// postconf -e changes a setting; postfix check warns; doveconf fails.
	put(t, filepath.Join(dir, "out.postconf"), "myhostname = mx1.example.org\nsmtpd_tls_security_level = encrypt\n", time.Time{})
	put(t, filepath.Join(dir, "out.check"), "postfix/postfix-script: warning: not owned by root: /etc/postfix/./main.cf\n", time.Time{})
	if err := os.Remove(filepath.Join(dir, "out.doveconf")); err != nil {
		t.Fatal(err)
	}
	got, err = collectortest.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got[`mailwatch_config_info{hash="`+pf+`",program="postfix"}`] != 0 ||
		got[`mailwatch_config_info{hash="`+Hash([]byte("myhostname = mx1.example.org\nsmtpd_tls_security_level = encrypt\n"))+`",program="postfix"}`] != 1 {
		t.Errorf("postfix hash did not follow the change: %v", got)
	}
	if got[`mailwatch_postfix_check_success{}`] != 0 {
		t.Error("a warning of postfix check passed")
	}
	if v, ok := got[`mailwatch_config_read_success{program="dovecot"}`]; !ok || v != 0 {
		t.Errorf("failed doveconf: read_success %v %v", v, ok)
	}
	for k := range got {
		if strings.HasPrefix(k, "mailwatch_config_info") && strings.Contains(k, `program="dovecot"`) {
			t.Errorf("a failed read kept a hash: %s", k)
		}
	}
	put(t, filepath.Join(dir, "out.check"), "", time.Time{})
	put(t, filepath.Join(dir, "rc.check"), "1", time.Time{})
	if got, _ := collectortest.Run(context.Background(), c); got[`mailwatch_postfix_check_success{}`] != 0 {
		t.Error("postfix check exiting 1 passed")
	}
	// Not root: postfix check is not run, and not reported.
	h.Root = false
	if got, _ := collectortest.Run(context.Background(), c); strings.Contains(strings.Join(keys(got), " "), "postfix_check") {
		t.Errorf("postfix check reported without root: %v", got)
	}
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNothingInstalled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := &Host{Postconf: filepath.Join(dir, "postconf"), Doveconf: Off, Opendkim: filepath.Join(dir, "x"), Postfix: filepath.Join(dir, "postfix"), Root: true}
	_, err := collectortest.Run(context.Background(), NewWithSource(h, zap.NewNop()))
	if err == nil || !strings.Contains(err.Error(), collectors.ErrNotApplicable.Error()) {
		t.Errorf("got %v, want ErrNotApplicable", err)
	}
}

// TestRealPostconf hashes what this machine's Postfix prints, where it is
// installed: the stand-ins above must not be the only postconf it met.
func TestRealPostconf(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(DefaultPostconf); err != nil {
		t.Skip("no postconf here")
	}
	h := &Host{Postconf: DefaultPostconf, PostfixDir: DefaultPostfixConfigDir, Doveconf: Off, Opendkim: Off, Postfix: Off}
	rs := h.Read(context.Background())
	if len(rs) != 1 || rs[0].Err != nil || len(rs[0].Hash) != 12 || rs[0].Changed == 0 {
		t.Errorf("real postconf -n: %+v", rs)
	}
}
