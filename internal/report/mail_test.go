// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeSendmail writes a script that saves its arguments and standard input
// next to itself, then runs tail (exit code, stderr, or a sleep).
func fakeSendmail(t *testing.T, tail string) (path, argsFile, inFile string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "sendmail")
	argsFile, inFile = filepath.Join(dir, "args"), filepath.Join(dir, "stdin")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\ncat > " + inFile + "\n" + tail + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argsFile, inFile
}

func TestMailThroughSendmail(t *testing.T) {
	r := build(t, Options{}, harnessLog)
	now := time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)
	msg, err := r.Message([]string{"postmaster@example.test", "Ops <ops@example.test>", "root"}, "", now)
	if err != nil {
		t.Fatal(err)
	}
	sendmail, argsFile, inFile := fakeSendmail(t, "exit 0")
	if err := Sendmail(context.Background(), sendmail, msg, 0); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(argsFile)
	if string(args) != "-t\n-i\n" {
		t.Errorf("sendmail arguments %q, want -t -i", args)
	}
	got, _ := os.ReadFile(inFile)
	if !bytes.Equal(got, msg) {
		t.Fatal("sendmail did not get the message")
	}
	m, err := mail.ReadMessage(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if to := m.Header.Get("To"); to != "<postmaster@example.test>, \"Ops\" <ops@example.test>, root" {
		t.Errorf("To: %q", to)
	}
	if d, err := m.Header.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date: %v (%v)", d, err)
	}
	if !regexp.MustCompile(`^<mailwatchd-report\.20261206T060000\.[0-9a-f]{24}@[A-Za-z0-9._+-]+>$`).MatchString(m.Header.Get("Message-ID")) {
		t.Errorf("Message-ID: %q", m.Header.Get("Message-ID"))
	}
	if !strings.HasPrefix(m.Header.Get("Subject"), "mail report ") {
		t.Errorf("Subject: %q", m.Header.Get("Subject"))
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v)", m.Header.Get("Content-Type"), err)
	}
	var text, page bytes.Buffer
	r.WriteText(&text)
	r.WriteHTML(&page)
	want := map[string][]byte{"text/plain": text.Bytes(), "text/html": page.Bytes()}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var order []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if cp["charset"] != "utf-8" || p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part headers %v", p.Header)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		// Text parts travel with CRLF line ends (RFC 2045).
		if !bytes.Equal(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")), want[ct]) {
			t.Errorf("part %s differs from the report", ct)
		}
		order = append(order, ct)
	}
	// The last alternative is the preferred one: the HTML page.
	if strings.Join(order, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", order)
	}
}

func TestMailErrors(t *testing.T) {
	r := build(t, Options{}, harnessLog)
	if _, err := r.Message([]string{"not an address\r\nBcc: x@example.test"}, "", time.Now()); err == nil {
		t.Error("a bad address is refused")
	}
	msg, err := r.Message([]string{"root@example.test"}, "report\r\nBcc: x@example.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Bcc") != "" {
		t.Error("a subject injected a header")
	}

	sendmail, _, _ := fakeSendmail(t, "echo 'sendmail: fatal: no such user' >&2; exit 75")
	err = Sendmail(context.Background(), sendmail, msg, 0)
	if err == nil || !strings.Contains(err.Error(), "no such user") || !strings.Contains(err.Error(), "exit status 75") {
		t.Errorf("a failing sendmail: %v", err)
	}
	// A sendmail that never returns is killed at the timeout.
	sendmail, _, _ = fakeSendmail(t, "exec sleep 600")
	err = Sendmail(context.Background(), sendmail, msg, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer in 100ms") {
		t.Errorf("a hung sendmail: %v", err)
	}
	if err := Sendmail(context.Background(), filepath.Join(t.TempDir(), "missing"), msg, 0); err == nil {
		t.Error("a missing sendmail is an error")
	}
}
