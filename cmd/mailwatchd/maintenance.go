// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"
	"os/user"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/confval"
)

const maintenanceUsage = `Usage: mailwatchd maintenance start --for DURATION [--reason TEXT] [flags]
       mailwatchd maintenance stop [flags]
       mailwatchd maintenance status [flags]

Sets, ends or shows this host's maintenance window: a file in global.state_dir
(maintenance.json) that the running daemon reads on its next maintenance run
(15s by default; no restart, no reload). While it is set,
mailwatch_maintenance_active is 1, the alert MailMaintenance fires, and an
Alertmanager inhibit rule on it silences this host's other alerts
(deploy/alertmanager/inhibit.example.yml). A window lasts at most 7d.
Exit status: 0 done (status: in maintenance), 1 status: not in maintenance,
2 usage or I/O error.

Flags:`

// runMaintenance is `mailwatchd maintenance start|stop|status`.
func runMaintenance(args []string, stdout, stderr io.Writer) int {
	return maintenanceCommand(args, stdout, stderr, time.Now)
}

func maintenanceCommand(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := commandFlags("mailwatchd maintenance", stderr, maintenanceUsage)
	cfgFile := configFileFlag(fs)
	forFlag := fs.String("for", "", "start: how long the window lasts (30m, 2h, 1d; at most 7d).")
	reason := fs.String("reason", "", "start: why, shown by status and check (one line, at most 500 bytes).")
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mailwatchd maintenance: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch verb {
	case "start", "stop", "status":
	default:
		fmt.Fprintf(stderr, "mailwatchd maintenance: unknown action %q (start, stop or status)\n", verb)
		return 2
	}
	if verb != "start" && (*forFlag != "" || *reason != "") {
		fmt.Fprintf(stderr, "mailwatchd maintenance %s: --for and --reason belong to start\n", verb)
		return 2
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintf(stderr, "mailwatchd maintenance: configuration is invalid: %v\n", err)
		return 2
	}
	dir := cfg.Global.StateDir
	t := now()
	switch verb {
	case "start":
		if *forFlag == "" {
			fmt.Fprintln(stderr, "mailwatchd maintenance start: --for is required (e.g. --for 2h)")
			return 2
		}
		d, err := confval.ParseDuration(*forFlag)
		if err != nil || d <= 0 || d > maintenance.MaxDuration {
			fmt.Fprintf(stderr, "mailwatchd maintenance start: --for %q: want a duration from 1s to 7d\n", *forFlag)
			return 2
		}
		s := maintenance.State{Start: t.UTC().Truncate(time.Second), Reason: *reason}
		s.End = s.Start.Add(d)
		if u, err := user.Current(); err == nil {
			s.By = u.Username
		}
		if err := maintenance.Write(dir, s); err != nil {
			fmt.Fprintf(stderr, "mailwatchd maintenance start: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "maintenance until %s (%s)\n", s.End.Format(time.RFC3339), check.HumanDuration(d))
		return 0
	case "stop":
		was, err := maintenance.Remove(dir)
		if err != nil {
			fmt.Fprintf(stderr, "mailwatchd maintenance stop: %v\n", err)
			return 2
		}
		if was {
			fmt.Fprintln(stdout, "maintenance ended")
		} else {
			fmt.Fprintln(stdout, "no maintenance was set")
		}
		return 0
	}
	st, err := maintenance.Current(dir, t)
	if err != nil {
		fmt.Fprintf(stderr, "mailwatchd maintenance status: %v\n", err)
		return 2
	}
	switch {
	case st.Active:
		fmt.Fprintf(stdout, "in maintenance until %s (%s left), started %s", st.End.Format(time.RFC3339), check.HumanDuration(st.End.Sub(t)), st.Start.Format(time.RFC3339))
		if st.By != "" {
			fmt.Fprintf(stdout, " by %s", st.By)
		}
		if st.Reason != "" {
			fmt.Fprintf(stdout, ": %s", st.Reason)
		}
		fmt.Fprintln(stdout)
		return 0
	case st.Set && t.Before(st.Start):
		fmt.Fprintf(stdout, "not in maintenance: the window starts %s\n", st.Start.Format(time.RFC3339))
	case st.Set:
		fmt.Fprintf(stdout, "not in maintenance: the window ended %s (mailwatchd maintenance stop removes it)\n", st.End.Format(time.RFC3339))
	default:
		fmt.Fprintln(stdout, "not in maintenance")
	}
	return 1
}
