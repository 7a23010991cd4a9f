// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"io"

	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/doctor"
)

// runDoctor is `mailwatchd doctor`: an audit of this host's setup for
// humans. Exit 0 all good, 1 warnings, 2 problems, 3 invalid config.
func runDoctor(args []string, stdout, stderr io.Writer) int {
	fs := commandFlags("mailwatchd doctor", stderr,
		"Usage: mailwatchd doctor [flags]\n\nAudits this host's mailwatchd setup: permissions, units, what is installed but not\nwatched, unit hardening. Run it as the daemon's user (sudo -u mailwatchd ...).\nExit status: 0 all good, 1 warnings, 2 problems, 3 invalid configuration.\n\nFlags:")
	cfgFile := configFileFlag(fs)
	format := fs.String("format", "text", "Output: text or json.")
	if err := fs.Parse(args); err != nil {
		return 3
	}
	cfg, err := config.Load(*cfgFile)
	if err != nil {
		fmt.Fprintf(stdout, "fail  config        %v\n", err)
		fmt.Fprintln(stdout, "                    fix: mailwatchd --config.check --config.file="+*cfgFile+" lists every problem with its line")
		return 3
	}
	findings := doctor.Audit(cfg, doctor.CurrentHost())
	if *format == "json" {
		err = doctor.WriteJSON(stdout, findings)
	} else {
		err = doctor.Write(stdout, findings)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailwatchd doctor: %v\n", err)
		return 3
	}
	return doctor.Exit(findings)
}
