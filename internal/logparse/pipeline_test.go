// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"context"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

func newUserRule(name, program, expr string) RuleConfig {
	return RuleConfig{Name: name, Program: program, Match: confval.Regexp{Regexp: regexp.MustCompile(expr)}}
}

func TestMetricsLint(t *testing.T) {
	cfg := testConfig("/nonexistent/mail.log")
	cfg.Rules = []RuleConfig{newUserRule("greylisted", "postfix/smtp", "Greylisted")}
	p, err := New(cfg, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("lint %s: %s", pr.Metric, pr.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(p); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	// Every built-in series is there at 0 from the start; the last-line
	// timestamp only once there is a line.
	n := testutil.CollectAndCount(p)
	want := int(maillog.NumPrograms) + int(maillog.NumEvents-1) + int(maillog.NumActions-1) + int(maillog.NumReasons-1) + 1 /* state failures */ +
		1 /* user rule */ + 7 /* per-source series without the timestamp */ +
		int(maillog.NumStages) /* delay stages; the other delivery series appear once counted */
	// The flow series: per default service (3 and other) connections and
	// lost connections per stage, TLS by direction and trust, postscreen
	// events, the scanners' verdicts, the two histograms; the last-event
	// and last-action timestamps only once seen.
	want += 4*(1+int(maillog.NumSMTPStages)) + int(maillog.NumTLSDirections)*int(maillog.NumTLSTrusts-1) +
		int(maillog.NumPostscreenEvents-1) + 7 + 7 + 2 + 1 + 2
	// The SASL window: two rank families of the default 5 slots, active
	// senders, the mismatch counter, drops by table.
	want += 2*DefaultSASLTopSenders + 1 + 1 + 2
	if n != want {
		t.Errorf("%d series, want %d", n, want)
	}
	err = testutil.CollectAndCompare(p, strings.NewReader(`
# HELP mailwatch_log_events_total Classified log events: the built-in taxonomy and the user rules of the config.
# TYPE mailwatch_log_events_total counter
mailwatch_log_events_total{event="greylisted"} 0
mailwatch_log_events_total{event="sasl_auth_failure"} 0
`), "mailwatch_log_events_total")
	if err == nil || !strings.Contains(err.Error(), "dovecot_auth_failure") {
		t.Errorf("want the comparison to list every built-in event, got %v", err)
	}
}

func TestApply(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mail.log")
	cfg := testConfig(path)
	cfg.Rules = []RuleConfig{newUserRule("old_rule", "", "seq 1\\b"), newUserRule("kept", "postfix", "SASL")}
	h := start(t, cfg, "")
	appendFile(t, path, lines(2))
	h.poll()
	src := h.p.runners["mail"].src

	cfg2 := testConfig(path)
	cfg2.Rules = []RuleConfig{newUserRule("kept", "postfix", "SASL"), newUserRule("new_rule", "", "seq")}
	if err := h.p.Apply(cfg2); err != nil {
		t.Fatal(err)
	}
	if h.p.runners["mail"].src != src {
		t.Error("an unchanged source was restarted")
	}
	appendFile(t, path, lines(1))
	h.poll()
	h.wantLines(3) // nothing read twice
	got := map[string]uint64{}
	for name, c := range h.p.counters.rules {
		got[name] = c.Load()
	}
	if len(got) != 2 || got["kept"] != 3 || got["new_rule"] != 1 {
		t.Errorf("rule counters after Apply = %v, want kept 3 (kept its value), new_rule 1 (from 0), old_rule gone", got)
	}

	// A changed source restarts from its position; a removed one disappears.
	other := filepath.Join(dir, "other.log")
	appendFile(t, other, lines(4))
	cfg3 := testConfig(path, other)
	cfg3.Sources = append(cfg3.Sources, SourceConfig{Name: "second", Type: SourceFile, Paths: []string{other}})
	if err := h.p.Apply(cfg3); err != nil {
		t.Fatal(err)
	}
	h.waitPolled(2) // both new runners' first polls
	h.wantLines(7)  // 3 kept, 4 from other.log; mail.log not re-read
	if err := h.p.Apply(testConfig(path)); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.p.counters.sources["second"]; ok {
		t.Error("a removed source's series survive")
	}
	bad := testConfig(path)
	bad.StartAt = "sometime"
	if err := h.p.Apply(bad); err == nil {
		t.Error("Apply accepted an invalid config")
	}
}

func TestRunTwice(t *testing.T) {
	h := start(t, testConfig(filepath.Join(t.TempDir(), "mail.log")), "")
	if err := h.p.Run(context.Background()); err == nil {
		t.Error("second Run accepted")
	}
}

// TestPeek: without a saved state, Peek takes the last-line time of each
// file source from the last line of its files, reading and counting nothing
// else; journal sources and files without a time get none.
func TestPeek(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, lines(2)+"2026-11-23T05:00:00.250000+00:00 mx1 postfix/qmgr[7]: 4B1C2D: removed\n")
	appendFile(t, b, "2026-11-23T06:00:00Z mx1 postfix/qmgr[7]: 4B1C2D: removed\nnot a log line\n")
	cfg := testConfig(filepath.Join(dir, "*.log"))
	cfg.Sources = append(cfg.Sources, SourceConfig{Name: "other", Type: SourceFile, Paths: []string{b}},
		SourceConfig{Name: "journal", Type: SourceJournal, Units: []string{"postfix.service"}})
	p, err := New(cfg, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if p.Peek() {
		t.Error("Peek reports a restored state without one")
	}
	for name, want := range map[string]float64{
		"mail":    float64(time.Date(2026, 11, 23, 5, 0, 0, 250e6, time.UTC).UnixNano()) / 1e9,
		"other":   0,
		"journal": 0,
	} {
		s := p.counters.source(name)
		if got := math.Float64frombits(s.lastLineTS.Load()); got != want || s.lines.Load() != 0 {
			t.Errorf("%s: last line timestamp %v, lines %d; want %v and 0", name, got, s.lines.Load(), want)
		}
	}
}
