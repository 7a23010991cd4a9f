// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateReplay = flag.Bool("update-replay", false, "rewrite the golden files of TestReplayGolden")

// corpus is the log corpus of the log pipeline's own tests.
const corpus = "../../internal/logparse/testdata/corpus/"

// lastLineTS masks the values of the timestamps read from log lines (the
// last line's, the last sent delivery's per provider, the newest line's of
// each event and action): they depend on the time zone and, for lines
// without a year, on the current year.
var lastLineTS = regexp.MustCompile(`(?m)^((?:mailwatch_log_last_line_timestamp_seconds|mailwatch_postfix_provider_last_sent_timestamp_seconds|mailwatch_log_last_event_timestamp_seconds|mailwatch_postfix_last_action_timestamp_seconds)\{[^}]*\}) .*$`)

// TestReplayGolden pins the output of `mailwatchd replay` (stdout, stderr
// and exit code) byte for byte, for reports, exposition output, several
// inputs, standard input, gzip files and usage errors. Run with
// -update-replay after a deliberate change and review the diff.
func TestReplayGolden(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	plain, err := os.ReadFile(corpus + "traditional.log")
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(plain)
	zw.Close()
	gzPath := filepath.Join(t.TempDir(), "mail.log.2.gz")
	if err := os.WriteFile(gzPath, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(corpus + "*.log")
	if len(all) == 0 {
		t.Fatal("no corpus")
	}
	rules := []string{"--config.file", "testdata/replay/rules.yaml"}
	tests := []struct {
		name  string
		args  []string
		stdin string // a file read as standard input; "" for none
	}{
		{"text-all-rules", append(append([]string{}, rules...), all...), ""},
		{"prometheus-all-rules", append(append([]string{"--format", "prometheus"}, rules...), all...), ""},
		{"text-builtin", []string{corpus + "postfix-extra.log", corpus + "malformed.log"}, ""},
		{"prometheus-builtin", []string{"--format=prometheus", corpus + "journal.log"}, ""},
		{"text-gzip", []string{gzPath}, ""},
		{"text-stdin", nil, corpus + "traditional.log"},
		{"prometheus-stdin-among-files", []string{"--format", "prometheus", corpus + "fail2ban.log", "-", corpus + "av-spam.log"}, corpus + "journal.log"},
		{"text-empty", nil, "/dev/null"},
		{"bad-format", []string{"--format", "json", corpus + "fail2ban.log"}, ""},
		{"missing-file", []string{corpus + "fail2ban.log", "testdata/replay/no-such.log"}, ""},
		{"missing-config", []string{"--config.file", "testdata/replay/no-such.yaml"}, ""},
		{"bad-flag", []string{"--bogus"}, ""},
		{"help", []string{"--help"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdin bytes.Buffer
			if tc.stdin != "" {
				b, err := os.ReadFile(tc.stdin)
				if err != nil {
					t.Fatal(err)
				}
				stdin.Write(b)
			}
			var stdout, stderr bytes.Buffer
			code := runReplay(tc.args, &stdin, &stdout, &stderr)
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code,
				lastLineTS.ReplaceAllString(stdout.String(), "$1 MASKED"), stderr.String())
			got = string(bytes.ReplaceAll([]byte(got), []byte(gzPath), []byte("GZIP_FILE")))
			golden := filepath.Join("testdata", "replay", tc.name+".golden")
			if *updateReplay {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestReplayGolden -update-replay)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
