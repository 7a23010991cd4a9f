// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// The scrape key moves with every change of the pipeline's series and
// only then, so that a cache keyed on it serves what an uncached gather
// would, at every step.
func TestScrapeKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "mail.log"), filepath.Join(dir, "other.log"))
	cfg.Sources = append(cfg.Sources, SourceConfig{Name: "other", Type: SourceFile, Paths: []string{filepath.Join(dir, "other.log")}})
	cfg.Sources[0].Paths = cfg.Sources[0].Paths[:1]
	p, err := New(cfg, "", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	cache := scheduler.NewLiveCache(reg, p.ScrapeKey, time.Hour)
	text := func(g prometheus.Gatherer) string {
		t.Helper()
		mfs, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	key := p.ScrapeKey(nil)
	step := func(what string, moves bool) {
		t.Helper()
		next := p.ScrapeKey(nil)
		if moved := !slices.Equal(key, next); moved != moves {
			t.Errorf("%s: key moved %v, want %v", what, moved, moves)
		}
		key = next
		if got, want := text(cache), text(reg); got != want {
			t.Errorf("%s: cached and uncached differ:\ncached:\n%s\nuncached:\n%s", what, got, want)
		}
	}
	step("nothing", false)

	mail, other := p.counters.source("mail"), p.counters.source("other")
	s := p.newSink(mail)
	s.Line([]byte("Dec  5 10:00:00 mx postfix/qmgr[1]: 4F1A2B3C4D: removed"))
	s.Line([]byte("Dec  5 10:00:01 mx postfix/smtp[2]: 4F1A2B3C4D: to=<a@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1.2, delays=0.1/0.1/0.5/0.5, dsn=2.0.0, status=sent (250 ok)"))
	s.Flush()
	step("lines counted", true)
	s.Flush()
	step("an empty flush", false)
	s.LastLine([]byte("Dec  5 10:00:02 mx postfix/qmgr[1]: 4F1A2B3C4D: removed"))
	step("a last line noted", true)

	mail.UnreadBytes.Store(100)
	step("unread bytes", true)
	mail.UnreadBytes.Store(0)
	other.UnreadBytes.Store(100) // the same sum over the sources, elsewhere
	step("unread bytes moved to another source", true)
	other.Rotations.Add(1)
	step("a rotation", true)
	mail.ReadErrors.Add(1)
	step("a read error", true)
	p.counters.stateSaveFailures.Add(1)
	step("a failed save", true)

	cfg.Sources = cfg.Sources[:1]
	cfg.Rules = []RuleConfig{{Name: "custom", Program: "postfix/qmgr", Match: confval.Regexp{Regexp: regexp.MustCompile("removed")}}}
	if err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	step("a reload", true)
}
