// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mailwatchd/mailwatchd/internal/collectors/collectortest"
)

func TestParsePostconf(t *testing.T) {
	t.Parallel()
	out := `smtpd_tls_cert_file = /etc/letsencrypt/live/mail.example.org/fullchain.pem
smtpd_tls_eccert_file =
smtpd_tls_dcert_file = relative.pem
smtpd_tls_chain_files = /etc/postfix/rsa.pem, /etc/postfix/ecdsa.pem /etc/postfix/rsa.pem
smtpd_tls_key_file = /etc/ssl/private/key.pem
postconf: warning: /etc/postfix/main.cf: unused parameter: foo=bar
submission/inet/syslog_name = postfix/submission
submission/inet/smtpd_tls_cert_file = /etc/ssl/submission.pem
submissions/inet/smtpd_tls_wrappermode = yes
smtp_tls_cert_file = /etc/ssl/client.pem
`
	want := []string{
		"/etc/letsencrypt/live/mail.example.org/fullchain.pem",
		"/etc/postfix/rsa.pem", "/etc/postfix/ecdsa.pem",
		"/etc/ssl/submission.pem",
	}
	if diff := cmp.Diff(want, parsePostconf([]byte(out))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// fakePostconf writes an executable script standing in for postconf.
func fakePostconf(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/postconf"
	if err := collectortest.WriteExecutable(p, []byte("#!/bin/sh\n"+body)); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiscoverPostfixRunsPostconf(t *testing.T) {
	t.Parallel()
	pc := fakePostconf(t, `case "$1" in
-x) echo "smtpd_tls_cert_file = /etc/ssl/main.pem"; echo "smtpd_tls_chain_files =";;
-P) echo "submission/inet/smtpd_tls_cert_file = /etc/ssl/sub.pem";;
esac
`)
	got, err := discoverPostfix(context.Background(), runCommand, pc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/etc/ssl/main.pem", "/etc/ssl/sub.pem"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := discoverPostfix(context.Background(), runCommand, t.TempDir()+"/none"); !errors.Is(err, errAbsent) {
		t.Errorf("missing postconf: got %v, want errAbsent", err)
	}
}

func TestRunCommandFailures(t *testing.T) {
	t.Parallel()
	failing := fakePostconf(t, "echo 'postconf: fatal: open /etc/postfix/main.cf: Permission denied' >&2\nexit 1\n")
	_, err := runCommand(context.Background(), failing, "-x")
	if err == nil || !strings.Contains(err.Error(), "Permission denied") || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("failing command: got %v", err)
	}
	chatty := fakePostconf(t, "head -c 2000000 /dev/zero\n")
	if _, err := runCommand(context.Background(), chatty); err == nil || !strings.Contains(err.Error(), "output larger than") {
		t.Errorf("chatty command: got %v", err)
	}
}

// TestRunCommandKilledAtDeadline: a hung postconf is killed when the
// run's context ends, and the call returns.
func TestRunCommandKilledAtDeadline(t *testing.T) {
	t.Parallel()
	hung := fakePostconf(t, "exec sleep 60\n")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := runCommand(ctx, hung)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runCommand did not return after its deadline")
	}
}

func TestDiscoverDovecot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/dovecot.conf", []byte(`# Dovecot main file
protocols = imap pop3 sieve
!include_try /nonexistent/protocols.d/*.protocol
!include conf.d/*.conf
!include_try local.conf
!include_try missing.conf
`))
	writeFile(t, dir+"/conf.d/10-ssl.conf", []byte(`ssl = required
ssl_cert = </etc/dovecot/private/dovecot.pem
ssl_key = </etc/dovecot/private/dovecot.key
#ssl_alt_cert = </etc/ssl/commented.pem
ssl_alt_cert = </etc/ssl/ecdsa.pem
`))
	writeFile(t, dir+"/conf.d/20-local-names.conf", []byte(`local_name imap.example.org {
  ssl_cert = </etc/ssl/imap.pem
  ssl_key = </etc/ssl/imap.key
}
protocol sieve {
  ssl_cert = "</etc/ssl/sieve.pem"
}
service imap-login {
  inet_listener imaps {
    port = 993
  }
}
`))
	writeFile(t, dir+"/local.conf", []byte(`ssl_cert = </etc/letsencrypt/live/mail.example.org/fullchain.pem # renewed by certbot
ssl_alt_cert =
ssl_server {
  cert_file = /etc/ssl/dovecot24.pem
}
`))
	got, err := discoverDovecot(dir + "/dovecot.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/etc/letsencrypt/live/mail.example.org/fullchain.pem", // the last global wins
		"/etc/ssl/dovecot24.pem",
		"/etc/ssl/imap.pem",
		"/etc/ssl/sieve.pem",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := discoverDovecot(dir + "/none.conf"); !errors.Is(err, errAbsent) {
		t.Errorf("missing config: got %v, want errAbsent", err)
	}
}

func TestDiscoverDovecotFaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A required include that is missing fails discovery but keeps what
	// was found; an include loop stops at the depth limit.
	writeFile(t, dir+"/a.conf", []byte("ssl_cert = </etc/ssl/a.pem\n!include gone.conf\n"))
	got, err := discoverDovecot(dir + "/a.conf")
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing include: got %v", err)
	}
	if diff := cmp.Diff([]string{"/etc/ssl/a.pem"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	writeFile(t, dir+"/loop.conf", []byte("!include loop.conf\n"))
	if _, err := discoverDovecot(dir + "/loop.conf"); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("include loop: got %v", err)
	}
}
