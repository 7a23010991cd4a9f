// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/confval"
	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/report"
)

// runReport is `mailwatchd report [FILE...]`: the mail report of the given
// logs, or of the configured sources (with their rotated files) over the
// window.
func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runReportAt(args, stdin, stdout, stderr, time.Now())
}

func runReportAt(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	fs := commandFlags("mailwatchd report", stderr,
		"Usage: mailwatchd report [flags] [FILE...]\n\n"+
			"The mail report of the given logs (plain or gzip; - is standard input), or, without FILE, of\n"+
			"the configured log sources: files with their rotated siblings (mail.log.1, mail.log.2.gz, ...)\n"+
			"and the journal, over the window. Same parser, rules and counts as the daemon.\n\nFlags:")
	cfgFile := fs.String("config.file", "", "Configuration whose logs.rules, logs.providers and, without FILE, logs.sources are used (default: "+config.DefaultPath+" without FILE, built-in rules with FILE).")
	since := fs.String("since", "", "Count lines from this time on: a duration back from now (24h, 7d), today or yesterday (local midnight), a date (2026-12-01, local midnight) or a time (2026-12-01T06:00:00, RFC 3339 or local). Default: every line.")
	until := fs.String("until", "", "Count lines before this time (same forms as --since). Default: no bound.")
	format := fs.String("format", report.FormatText, "Output: text, html or json.")
	top := fs.Int("top", report.DefaultTop, "Rows of each table (0: all the rows kept).")
	maxKeys := fs.Int("max-keys", report.DefaultMaxKeys, "Distinct keys each table keeps; further ones are counted in its (other) row.")
	var mailTo listFlag
	fs.Var(&mailTo, "mail-to", "Send the report (HTML with a text part) to this address through sendmail instead of printing it (repeatable).")
	subject := fs.String("mail-subject", "", "Subject of the mail (default: the report's title).")
	sendmail := fs.String("sendmail.path", report.DefaultSendmail, "sendmail program --mail-to pipes the message to, as `sendmail -t -i`.")
	mailTimeout := fs.Duration("sendmail.timeout", report.DefaultMailTimeout, "How long sendmail may take.")
	journalctl := fs.String("journalctl.path", "journalctl", "journalctl program for journal sources.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "mailwatchd report: "+format+"\n", a...)
		return code
	}
	if *format != report.FormatText && *format != report.FormatHTML && *format != report.FormatJSON {
		return fail(2, "--format must be text, html or json, got %q", *format)
	}
	if *top < 0 || *maxKeys < 1 {
		return fail(2, "--top must be 0 or more and --max-keys 1 or more")
	}
	opt := report.Options{MaxKeys: *maxKeys, Now: now, Location: time.Local}
	var err error
	if opt.Since, err = parseWhen(*since, now); err != nil {
		return fail(2, "--since: %v", err)
	}
	if opt.Until, err = parseWhen(*until, now); err != nil {
		return fail(2, "--until: %v", err)
	}
	if !opt.Since.IsZero() && !opt.Until.IsZero() && !opt.Since.Before(opt.Until) {
		return fail(2, "--since must be before --until")
	}
	files := fs.Args()
	var cfg logparse.Config
	switch {
	case *cfgFile != "" || len(files) == 0:
		path := *cfgFile
		if path == "" {
			path = config.DefaultPath
		}
		c, err := config.Load(path)
		if err != nil {
			return fail(1, "%v", err)
		}
		cfg = c.Logs
	default:
		cfg.ApplyDefaults()
	}
	b, err := report.NewBuilder(cfg, opt)
	if err != nil {
		return fail(1, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(files) > 0 {
		for _, f := range files {
			if f == "-" {
				err = b.Feed(ctx, "-", stdin)
			} else {
				err = b.FeedFile(ctx, f)
			}
			if err != nil {
				return fail(1, "%v", err)
			}
		}
	} else if code := feedSources(ctx, b, cfg, opt.Since, *journalctl, stderr); code != 0 {
		return code
	}
	rep := b.Report(*top)
	if len(mailTo) > 0 {
		msg, err := rep.Message(mailTo, *subject, now)
		if err != nil {
			return fail(2, "%v", err)
		}
		if err := report.Sendmail(ctx, *sendmail, msg, *mailTimeout); err != nil {
			return fail(1, "%v", err)
		}
		return 0
	}
	var out bytes.Buffer // nothing is written when the report fails
	if err := rep.Write(&out, *format); err != nil {
		return fail(1, "%v", err)
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return fail(1, "%v", err)
	}
	return 0
}

// feedSources reads the configured sources: each file source's files with
// their rotated siblings, each journal source through journalctl.
func feedSources(ctx context.Context, b *report.Builder, cfg logparse.Config, since time.Time, journalctl string, stderr io.Writer) int {
	if len(cfg.Sources) == 0 {
		fmt.Fprintln(stderr, "mailwatchd report: logs.sources is empty: nothing to read (give files)")
		return 1
	}
	for _, sc := range cfg.Sources {
		if sc.Type == logparse.SourceJournal {
			if err := b.FeedJournal(ctx, journalctl, sc); err != nil {
				fmt.Fprintf(stderr, "mailwatchd report: source %s: %v\n", sc.Name, err)
				return 1
			}
			continue
		}
		files, skipped, err := report.LogFiles(sc.Paths, since)
		if err != nil {
			fmt.Fprintf(stderr, "mailwatchd report: source %s: %v\n", sc.Name, err)
			return 1
		}
		for _, s := range skipped {
			fmt.Fprintf(stderr, "mailwatchd report: %s: skipped: only gzip compression is read\n", s)
		}
		if len(files) == 0 {
			fmt.Fprintf(stderr, "mailwatchd report: source %s: no file matches %s\n", sc.Name, strings.Join(sc.Paths, ", "))
			return 1
		}
		for _, f := range files {
			if err := b.FeedFile(ctx, f); err != nil {
				fmt.Fprintf(stderr, "mailwatchd report: %v\n", err)
				return 1
			}
		}
	}
	return 0
}

// parseWhen reads --since and --until: "" (no bound), "today" or
// "yesterday" (local midnight), a duration back from now ("24h", "7d",
// "1w"), a date (local midnight), a local date and time, or an RFC 3339
// time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	switch s {
	case "":
		return time.Time{}, nil
	case "today", "yesterday":
		y, m, d := now.In(time.Local).Date()
		t := time.Date(y, m, d, 0, 0, 0, 0, time.Local)
		if s == "yesterday" {
			t = t.AddDate(0, 0, -1)
		}
		return t, nil
	}
	if d, err := confval.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is no duration (24h, 7d), today, yesterday, date (2026-12-01) or time (2026-12-01T06:00:00)", s)
}
