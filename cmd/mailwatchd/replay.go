// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
)

// runReplay is `mailwatchd replay [FILE...]`: classify log files (plain or
// gzip, or stdin) with the configured rules and print what the daemon would
// have counted, without touching the saved positions.
func runReplay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := commandFlags("mailwatchd replay", stderr,
		"Usage: mailwatchd replay [flags] [FILE...]\n\nClassifies mail log lines (files, gzip files, or standard input) and prints the counts.\n\nFlags:")
	cfgFile := fs.String("config.file", "", "Configuration whose logs.rules are used (default: built-in rules only).")
	format := fs.String("format", logparse.FormatText, "Output: "+logparse.FormatText+" (a report) or "+logparse.FormatPrometheus+" (the counters in exposition format).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *format != logparse.FormatText && *format != logparse.FormatPrometheus {
		fmt.Fprintf(stderr, "mailwatchd replay: --format must be %s or %s, got %q\n", logparse.FormatText, logparse.FormatPrometheus, *format)
		return 2
	}
	var cfg logparse.Config
	if *cfgFile != "" {
		c, err := config.Load(*cfgFile)
		if err != nil {
			fmt.Fprintf(stderr, "mailwatchd replay: %v\n", err)
			return 1
		}
		cfg = c.Logs
	} else {
		cfg.ApplyDefaults()
	}
	var inputs []io.Reader
	for _, p := range fs.Args() {
		if p == "-" {
			inputs = append(inputs, stdin)
			continue
		}
		f, err := logparse.OpenInput(p)
		if err != nil {
			fmt.Fprintf(stderr, "mailwatchd replay: %v\n", err)
			return 1
		}
		defer f.Close()
		inputs = append(inputs, f)
	}
	if len(inputs) == 0 {
		inputs = append(inputs, stdin)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := logparse.Replay(ctx, cfg, stdout, *format, inputs...); err != nil {
		fmt.Fprintf(stderr, "mailwatchd replay: %v\n", err)
		return 1
	}
	return 0
}
