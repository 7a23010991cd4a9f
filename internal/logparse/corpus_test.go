// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of the corpus test")

// The corpus in testdata/corpus was written on the loopback mail stack
// (Postfix 3.7.11, Dovecot 2.3.19.1, OpenDKIM 2.11.0, fail2ban 1.0.2,
// rsyslog, journald) and anonymised, plus hand-written ClamAV, amavis,
// Rspamd and rarer Postfix lines, and broken input. Each FILE.log has a
// FILE.golden: the non-zero series a replay exports (of the delivery delay
// histograms only _sum and _count: TestDeliveryDelayBuckets checks the
// buckets), then the unmatched shapes. Run with -update after a deliberate
// rule change and review the diff.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := replayGolden(t, f)
			golden := strings.TrimSuffix(f, ".log") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCorpus -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func replayGolden(t *testing.T, path string) string {
	t.Helper()
	r, err := NewReplayer(Config{}, "corpus")
	if err != nil {
		t.Fatal(err)
	}
	r.sink.now = func() time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) }
	r.sink.loc = time.UTC
	in, err := OpenInput(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := r.Feed(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	var prom bytes.Buffer
	if err := r.WritePrometheus(&prom); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(&prom)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "#") && !strings.HasSuffix(l, " 0") &&
			!strings.HasPrefix(l, "mailwatch_postfix_delivery_delay_seconds_bucket{") &&
			!strings.HasPrefix(l, "mailwatch_postfix_provider_delivery_delay_seconds_bucket{") {
			out.WriteString(l + "\n")
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text, 1000); err != nil {
		t.Fatal(err)
	}
	if _, shapes, ok := strings.Cut(text.String(), "most frequent unmatched shapes"); ok {
		out.WriteString("# unmatched shapes" + shapes)
	}
	return out.String()
}

// TestCorpusGrep checks the seed error patterns against grep: each event
// counter must equal the number of lines a plain pattern finds.
func TestCorpusGrep(t *testing.T) {
	patterns := map[string]string{
		"sasl_auth_failure":                `(postfix[^ ]*/smtpd\[\d+\]: warning: [^ ]+: SASL \w+ authentication failed|saslauthd\[\d+\]: do_auth +: auth failure: | (auth|dovecot[^ ]*)(\[\d+\])?: pam_unix\((smtp|smtps|submission|dovecot|imap|imaps|pop3|pop3s|pop|sieve|managesieve|mail):auth\): authentication failure;)`,
		"tls_library_problem":              `postfix[^ ]*\[\d+\]: warning: TLS library problem: `,
		"relay_denied":                     `: reject: RCPT from .*: Relay access denied;`,
		"connect_refused":                  `postfix[^ ]*/(smtp|lmtp)\[\d+\]: connect to .*: Connection refused$`,
		"connect_timeout":                  `postfix[^ ]*/(smtp|lmtp)\[\d+\]: connect to .*: Connection timed out$`,
		"dkim_signed":                      `opendkim\[\d+\]: [0-9A-F]+: DKIM-Signature field added`,
		"dkim_unknown_key":                 `opendkim\[\d+\]: [0-9A-F]+: signing table references unknown key`,
		"dovecot_auth_failure":             `(dovecot: |^\w{3} [ \d]\d [\d:]{8} )[a-z0-9-]+-login: .*\(auth failed, `,
		"fail2ban_ban":                     `fail2ban\.actions *\[\d+\]: NOTICE +\[[^]]+\] Ban `,
		"fail2ban_unban":                   `fail2ban\.actions *\[\d+\]: NOTICE +\[[^]]+\] Unban `,
		"milter_connect_failed":            `postfix[^ ]*\[\d+\]: warning: connect to Milter service `,
		"postfix_warning":                  `postfix[^ ]*\[\d+\]: warning: `,
		"dkim_key_retrieval_failed":        `opendkim\[\d+\]: [0-9A-F]+: key retrieval failed`,
		"postfix_process_limit":            `postfix[^ ]*/master\[\d+\]: warning: service "[^"]+" \(\S+\) has reached its process limit `,
		"postfix_anvil_limit":              `postfix[^ ]*/smtpd\[\d+\]: warning: [A-Za-z ]+ limit exceeded: \d+ from .* for service `,
		"postfix_queue_space":              `postfix[^ ]*\[\d+\]: warning: not enough free space in mail queue`,
		"postfix_sasl_backend_unreachable": `postfix[^ ]*\[\d+\]: (warning: SASL: Connect to |warning: SASL authentication failure: cannot connect to saslauthd|fatal: no SASL authentication mechanisms)`,
		"postfix_sasl_submission":          `postfix[^ ]*/smtpd\[\d+\]: [0-9A-F]+: client=.*, sasl_username=`,
		"dovecot_process_limit":            `dovecot: master: Warning: service\([^)]+\): process_limit \(\d+\) reached`,
		"dovecot_connection_limit":         `(dovecot: master: Warning: service\([^)]+\): client_limit|-login: Maximum number of connections from user\+IP exceeded)`,
	}
	files, _ := filepath.Glob("testdata/corpus/*.log")
	r, err := NewReplayer(Config{}, "corpus")
	if err != nil {
		t.Fatal(err)
	}
	grep := map[string]int{}
	for _, f := range files {
		if strings.HasSuffix(f, "journal.log") {
			continue // JSON: the same traffic as traditional.log
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			for ev, p := range patterns {
				if regexp.MustCompile(p).Match(line) {
					grep[ev]++
				}
			}
		}
		if err := r.Feed(context.Background(), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	st := r.counters.snapshot()
	for ev := range patterns {
		if got := int(st.Events[ev]); got != grep[ev] {
			t.Errorf("%s: counter %d, grep %d", ev, got, grep[ev])
		}
	}
}

// TestCorpusJournalMatchesFile: the same messages through journald and
// through a syslog file give the same classification.
func TestCorpusJournalMatchesFile(t *testing.T) {
	count := func(path string) counterState {
		r, err := NewReplayer(Config{}, "x")
		if err != nil {
			t.Fatal(err)
		}
		in, err := OpenInput(path)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		if err := r.Feed(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		return r.counters.snapshot()
	}
	file := count("testdata/corpus/traditional.log")
	journal := count("testdata/corpus/journal.log")
	// journal.log carries one extra binary message (a postfix warning).
	journal.Events["postfix_warning"]--
	// The last-sent times are times, not counts: the two files were written
	// at different moments.
	// So are the last-event and last-action times: a journal entry's time
	// is when journald received the line (__REALTIME_TIMESTAMP), a file
	// line's the time syslog wrote in it. The same kinds must have one.
	for _, st := range []*counterState{&file, &journal} {
		for name, ps := range st.Providers {
			ps.LastSent = 0
			st.Providers[name] = ps
		}
		for k := range st.LastEvent {
			st.LastEvent[k] = 1
		}
		for k := range st.LastAction {
			st.LastAction[k] = 1
		}
		st.SASLWindow = nil // its slots are of the lines' times; the ranks are in the golden files
	}
	if diff := cmp.Diff(file, journal); diff != "" {
		t.Errorf("file vs journal (-file +journal):\n%s", diff)
	}
}
