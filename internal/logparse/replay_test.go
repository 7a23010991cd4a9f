// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReplayFormats(t *testing.T) {
	in := "Nov 23 07:00:00 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.20]: 554 5.7.1 <v@example.net>: Relay access denied; from=<p@b.example> to=<v@example.net> proto=ESMTP helo=<x>\n" +
		"Nov 23 07:00:01 mx1 postfix/smtpd[1]: frobnicated 12 widgets for <a@example.org> from [192.0.2.1]\n" +
		"Nov 23 07:00:02 mx1 postfix/smtpd[2]: frobnicated 7 widgets for <b@example.net> from [192.0.2.9]\n" +
		"garbage\n"
	cfg := Config{Rules: []RuleConfig{newUserRule("relay_seen", "postfix", "Relay access")}}
	var text bytes.Buffer
	if err := Replay(context.Background(), cfg, &text, FormatText, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"lines 4, malformed 1",
		"  rejected                           1",
		"  relay_denied                       1",
		"  relay_seen                         1",
		// Both unknown lines collapse into one masked shape.
		"         2  postfix/smtpd: frobnicated N widgets for <*> from [*]",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var prom bytes.Buffer
	if err := Replay(context.Background(), cfg, &prom, FormatPrometheus, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(mustReplayer(t, cfg, in))
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	for _, want := range []string{
		`mailwatch_postfix_rejects_total{reason="relay_denied"} 1`,
		`mailwatch_log_events_total{event="relay_seen"} 1`,
		`mailwatch_log_lines_total{source="replay"} 4`,
		`mailwatch_log_unmatched_lines_total{program="postfix"} 2`,
		"# TYPE mailwatch_log_events_total counter",
	} {
		if !strings.Contains(prom.String(), want) {
			t.Errorf("prometheus output lacks %q", want)
		}
	}
}

func mustReplayer(t *testing.T, cfg Config, in string) *Replayer {
	t.Helper()
	r, err := NewReplayer(cfg, "replay")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Feed(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenInputGzip(t *testing.T) {
	dir := t.TempDir()
	plain := lines(3)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, plain)
	zw.Close()
	os.WriteFile(filepath.Join(dir, "mail.log.2.gz"), gz.Bytes(), 0o600)
	os.WriteFile(filepath.Join(dir, "mail.log.1"), []byte(plain), 0o600)
	for _, name := range []string{"mail.log.2.gz", "mail.log.1"} {
		in, err := OpenInput(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(in)
		in.Close()
		if string(got) != plain {
			t.Errorf("%s: read %q", name, got)
		}
	}
	if _, err := OpenInput(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file opened")
	}
}

func TestReplayCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := NewReplayer(Config{}, "replay")
	if err := r.Feed(ctx, strings.NewReader(lines(10))); err == nil {
		t.Error("canceled replay returned no error")
	}
}

func TestMaskShape(t *testing.T) {
	tests := map[string]string{
		"0B1C2D3E4F: to=<a@example.org>, relay=mx.example.net[203.0.113.5]:25, delay=1.2": "QID: to=<*>, relay=mx.example.net[*]:N, delay=N.N",
		"connect from unknown[192.0.2.1]":                                                 "connect from unknown[*]",
		"session=<dDhrO57rA2tTTQAAg+zDdQ> user alice@example.org":                         "session=<*> user ADDR",
		"id 7a3f2c9b1d0e4f5a6b7c8d9e":                                                     "id ID",
		"nul \x00 and \xff bytes":                                                         "nul ? and ? bytes",
	}
	for in, want := range tests {
		if got := maskShape([]byte(in)); got != want {
			t.Errorf("maskShape(%q) = %q, want %q", in, got, want)
		}
	}
	if n := len(maskShape(bytes.Repeat([]byte("word "), 1000))); n != 160 {
		t.Errorf("shape of a long line has %d bytes", n)
	}
}
