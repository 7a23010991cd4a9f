// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
)

// TestGathererServesCachedAndLiveSeries wires /metrics as serve does: the
// scheduler's series come through a cache, everything else must still be
// current in the very next scrape, and no family may be served twice.
func TestGathererServesCachedAndLiveSeries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "mail.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "global:\n  state_dir: %s\nlogs:\n  poll_interval: 10ms\n  sources:\n    - name: mail\n      paths: [%s]\ncollectors:\n", dir, logPath)
	for _, f := range (&config.Collectors{}).Sections() {
		if f.Name != "filesystem" {
			fmt.Fprintf(&yaml, "  %s:\n    enabled: false\n", f.Name)
		}
	}
	fmt.Fprintf(&yaml, "  filesystem:\n    interval: 1h\n    paths: [%s]\n", dir)
	cfg, err := config.Parse("test.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	logger := zap.NewNop()
	js, err := jobs(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := logparse.New(cfg.Logs, cfg.Global.StateDir, logger)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{logger: logger, sched: scheduler.New(logger), logs: pipe}
	h := mwweb.NewHandler(mwweb.Options{Gatherer: d.gatherer(), Logger: logger})
	d.sched.Apply(js)
	defer d.sched.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	logsDone := make(chan struct{})
	go func() { defer close(logsDone); _ = pipe.Run(ctx) }()
	defer func() { cancel(); <-logsDone }()

	scrape := func() string {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != 200 {
			t.Fatalf("/metrics: %d\n%s", rec.Code, body)
		}
		return string(body)
	}
	waitFor := func(line string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := scrape()
			if strings.Contains(out, line) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("metrics never showed %q:\n%s", line, out)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	out := waitFor(`mailwatch_collector_runs_total{collector="filesystem"} 1`)
	for _, want := range []string{"go_goroutines ", "mailwatch_build_info{", "mailwatch_filesystem_", `mailwatch_log_lines_total{source="mail"} 0`} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(out, -1) {
		if n := strings.Count(out, "# TYPE "+m[1]+" "); n != 1 {
			t.Errorf("family %s served %d times", m[1], n)
		}
	}

	// Every part is cached now; a reload shows in the very next scrape.
	d.setReload(true)
	if out := scrape(); !strings.Contains(out, "mailwatch_config_last_reload_successful 1\n") {
		t.Errorf("reload gauge set, but the next scrape does not show it:\n%s", out)
	}
	d.setReload(false)
	if out := scrape(); !strings.Contains(out, "mailwatch_config_last_reload_successful 0\n") {
		t.Errorf("reload gauge reset, but the next scrape does not show it:\n%s", out)
	}
	// Log counters move with every line, between two collector runs.
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("Dec  5 10:00:00 mx postfix/qmgr[1]: 4F1A2B3C4D: removed\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(`mailwatch_log_lines_total{source="mail"} 1`)
}
