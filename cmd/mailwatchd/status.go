// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
)

// verdict is the status page's table: check's rules, with the thresholds of
// the configuration in use, over what /metrics serves now (g is the scrape
// gatherer: the scheduler's snapshots and the live log counters; no
// collector runs for it). internal/web sits below internal/check, so it
// gets the rows through this function, as plain values.
//
// sasl, when not nil, gives the SASL users of the log pipeline's window,
// judged by check.SASLRows.
func verdict(g prometheus.Gatherer, statuses func() []scheduler.Status, thresholds func() config.Thresholds, sasl func() []check.SASLSender) func() mwweb.Verdict {
	return func() mwweb.Verdict {
		now := time.Now()
		var cols []check.CollectorStatus
		for _, st := range statuses() {
			c := check.CollectorStatus{Name: st.Name, Success: st.Success, Error: st.LastError}
			if st.Runs == 0 {
				c.Error = "first run not finished yet"
			}
			cols = append(cols, c)
		}
		// With ContinueOnError a failed gather still returns what it could;
		// judge that, and say that the rest is unknown.
		mfs, err := g.Gather()
		th := thresholds()
		rows := check.Evaluate(check.Index(mfs), cols, th, now)
		if sasl != nil {
			rows = append(rows, check.SASLRows(sasl(), th)...)
		}
		if err != nil {
			rows = append(rows, check.Row{Area: "collectors", Item: "metrics", Value: "gathering failed: " + err.Error(), Level: check.Unknown})
		}
		return toVerdict(rows)
	}
}

// toVerdict turns check's rows into the page's, worst first.
func toVerdict(rows []check.Row) mwweb.Verdict {
	check.SortWorstFirst(rows)
	lvl := check.Level(check.Exit(rows))
	v := mwweb.Verdict{Status: lvl.String(), Color: check.Color(lvl), Summary: check.Summary(rows), Rows: make([]mwweb.StatusRow, 0, len(rows))}
	for _, r := range rows {
		v.Rows = append(v.Rows, mwweb.StatusRow{Area: r.Area, Item: r.Item, Value: r.Value, Status: r.Level.String(), Color: check.Color(r.Level)})
	}
	return v
}

// maintenanceSection is the status page's maintenance section: the window
// `mailwatchd maintenance start` wrote to stateDir, read at each request (a
// small file), or nil when none is set. A broken file is shown as such,
// since the collector's row and doctor name it too.
func maintenanceSection(stateDir string) func() *mwweb.Maintenance {
	return func() *mwweb.Maintenance {
		st, err := maintenance.Current(stateDir, time.Now())
		switch {
		case err != nil:
			return &mwweb.Maintenance{Reason: "unreadable maintenance file: " + err.Error()}
		case !st.Set:
			return nil
		}
		return &mwweb.Maintenance{Active: st.Active, Reason: st.Reason, Until: st.End}
	}
}
