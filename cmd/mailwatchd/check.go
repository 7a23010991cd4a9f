// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// runCheck is `mailwatchd check`: every enabled collector once, in
// parallel under its own timeout, then the status table. Exit status like a
// monitoring plugin: 0 OK, 1 WARN, 2 CRIT, 3 unknown (e.g. bad config).
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := commandFlags("mailwatchd check", stderr,
		"Usage: mailwatchd check [flags]\n\nRuns every enabled collector once and prints a status table.\nExit status: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN.\n\nFlags:")
	cfgFile := configFileFlag(fs)
	format := fs.String("format", "table", "Output: table, json, or summary (one line, for cron mail).")
	color := fs.String("color", "auto", "Colour the status column: auto (only on a terminal), always, never.")
	logLevel := fs.String("log.level", "error", "Log level of the collectors while they run (to stderr).")
	if err := fs.Parse(args); err != nil {
		return int(check.Unknown)
	}
	if *format != "table" && *format != "json" && *format != "summary" {
		fmt.Fprintf(stderr, "mailwatchd check: --format must be table, json or summary, got %q\n", *format)
		return int(check.Unknown)
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintf(stderr, "UNKNOWN: configuration is invalid: %v\n", err)
		return int(check.Unknown)
	}
	logger, err := newLogger(*logLevel, "console", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "UNKNOWN: %v\n", err)
		return int(check.Unknown)
	}
	rows, err := collectOnce(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "UNKNOWN: %v\n", err)
		return int(check.Unknown)
	}
	switch *format {
	case "json":
		err = check.JSON(stdout, rows)
	case "summary":
		_, err = fmt.Fprintln(stdout, check.Summary(rows))
	default:
		err = check.Table(stdout, rows, useColor(*color, stdout))
	}
	if err != nil {
		fmt.Fprintf(stderr, "UNKNOWN: write: %v\n", err)
		return int(check.Unknown)
	}
	return check.Exit(rows)
}

// collectOnce runs the enabled collectors once and judges the results.
func collectOnce(cfg *config.Config, logger *zap.Logger) ([]check.Row, error) {
	js, err := jobs(cfg, logger)
	if err != nil {
		return nil, err
	}
	s := scheduler.New(logger)
	scheduler.RunOnce(context.Background(), s, js)
	reg := prometheus.NewRegistry()
	if err := reg.Register(s); err != nil {
		return nil, err
	}
	// The logs: what the daemon saved last (event counts, last-line times), else the time of
	// each log file's last line. Event counts that were not saved are zeros that say nothing:
	// left out, so that check shows no error counts rather than made-up ones.
	restored := false
	var sasl []check.SASLSender
	if len(cfg.Logs.Sources) > 0 {
		p, err := logparse.New(cfg.Logs, cfg.Global.StateDir, logger)
		if err != nil {
			return nil, err
		}
		restored = p.Peek()
		if restored {
			sasl = saslSenders(p.SASLWindow())
		}
		if err := reg.Register(p); err != nil {
			return nil, err
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	if !restored {
		mfs = slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == "mailwatch_log_events_total" })
	}
	var cols []check.CollectorStatus
	for _, st := range s.Statuses() {
		cols = append(cols, check.CollectorStatus{Name: st.Name, Success: st.Success, Error: st.LastError})
	}
	rows := check.Evaluate(check.Index(mfs), cols, cfg.Thresholds, time.Now())
	if restored {
		// The SASL window saved by the daemon: the names the metrics never carry.
		rows = append(rows, check.SASLRows(sasl, cfg.Thresholds)...)
		check.Sort(rows)
	}
	return rows, nil
}

func useColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
