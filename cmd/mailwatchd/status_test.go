// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// storageRegistry exports what the filesystem collector says about two
// paths: /var/mail 15 % free, /srv not measurable.
func storageRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	gauge := func(name, path string, v float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, []string{"path"})
		reg.MustRegister(g)
		g.WithLabelValues(path).Set(v)
	}
	succ := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mailwatch_filesystem_stat_success", Help: "h"}, []string{"path"})
	reg.MustRegister(succ)
	succ.WithLabelValues("/var/mail").Set(1)
	succ.WithLabelValues("/srv").Set(0)
	gauge("mailwatch_filesystem_size_bytes", "/var/mail", 1000)
	gauge("mailwatch_filesystem_avail_bytes", "/var/mail", 150)
	return reg
}

// The page's verdict is check's: the same rows with the same statuses for
// the same metrics and thresholds, worst first, with the configuration's
// thresholds as they are when the page is asked (a reload changes them).
func TestVerdictIsChecksTable(t *testing.T) {
	t.Parallel()
	reg := storageRegistry(t)
	statuses := func() []scheduler.Status {
		return []scheduler.Status{{Name: "filesystem", Runs: 2, Success: true}, {Name: "certs", Running: true}}
	}
	var th config.Thresholds
	th.ApplyDefaults()
	v := verdict(reg, statuses, func() config.Thresholds { return th })

	got := v()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := check.Evaluate(check.Index(mfs), []check.CollectorStatus{{Name: "filesystem", Success: true}, {Name: "certs", Error: "first run not finished yet"}}, th, time.Now())
	if len(got.Rows) != len(want) {
		t.Fatalf("rows %v, check's %v", got.Rows, want)
	}
	var order []string
	for _, r := range got.Rows {
		order = append(order, r.Status+" "+r.Color+" "+r.Area+" "+r.Item+": "+r.Value)
	}
	// 15 % free is below the 20 % warning ratio; /srv is unknown; the
	// collector that has not finished its first run is a WARN, as in check.
	wantOrder := []string{
		"UNKNOWN magenta storage /srv: cannot measure (absent or hung)",
		"WARN yellow collectors certs: first run not finished yet",
		"WARN yellow storage /var/mail: 15 % free (150 B)",
	}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got.Status != "UNKNOWN" || got.Color != "magenta" || got.Summary != check.Summary(want) {
		t.Errorf("verdict %q %q %q; check says %q", got.Status, got.Color, got.Summary, check.Summary(want))
	}

	// A reload lowering the ratios: /var/mail is OK now, and listed last.
	th.DiskFreeWarningRatio, th.DiskFreeCriticalRatio = 0.1, 0.05
	if rows := v().Rows; rows[2].Item != "/var/mail" || rows[2].Status != "OK" || rows[2].Color != "green" {
		t.Errorf("after the thresholds changed: %v", rows)
	}
	// Raising them: CRIT, first.
	th.DiskFreeWarningRatio, th.DiskFreeCriticalRatio = 0.5, 0.3
	if got := v(); got.Rows[0].Item != "/var/mail" || got.Rows[0].Status != "CRIT" || got.Status != "CRIT" || got.Color != "red" {
		t.Errorf("above the critical ratio: %+v", got)
	}
}

type failingGatherer struct{ prometheus.Gatherer }

func (f failingGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, _ := f.Gatherer.Gather()
	return mfs, errors.New("collected metric x was collected before")
}

// A gather that fails part way is judged on what it returned, and says so.
func TestVerdictOfFailedGather(t *testing.T) {
	t.Parallel()
	var th config.Thresholds
	th.ApplyDefaults()
	got := verdict(failingGatherer{storageRegistry(t)}, func() []scheduler.Status { return nil }, func() config.Thresholds { return th })()
	var found bool
	for _, r := range got.Rows {
		if r.Item == "metrics" && r.Status == "UNKNOWN" && strings.Contains(r.Value, "collected before") {
			found = true
		}
	}
	if !found || len(got.Rows) != 3 {
		t.Errorf("rows %v: want /srv, /var/mail and an UNKNOWN metrics row", got.Rows)
	}
}
