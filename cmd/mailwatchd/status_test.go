// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	promcollectors "github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/check"
	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/maintenance"
	"github.com/mailwatchd/mailwatchd/internal/config"
	"github.com/mailwatchd/mailwatchd/internal/scheduler"
	mwweb "github.com/mailwatchd/mailwatchd/internal/web"
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
	v := verdict(reg, statuses, func() config.Thresholds { return th }, nil)

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
	got := verdict(failingGatherer{storageRegistry(t)}, func() []scheduler.Status { return nil }, func() config.Thresholds { return th }, nil)()
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

// BenchmarkStatusPage is the cost of one status request on a large host:
// 20 watched paths, 8 services, 20 certificates, 4 addresses on 10 DNSBL
// zones, the Go runtime and process series, judged and rendered.
func BenchmarkStatusPage(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(promcollectors.NewGoCollector(), promcollectors.NewProcessCollector(promcollectors.ProcessCollectorOpts{}))
	vec := func(name string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, labels)
		reg.MustRegister(g)
		return g
	}
	fs := map[string]*prometheus.GaugeVec{}
	for _, n := range []string{"stat_success", "size_bytes", "avail_bytes", "files", "files_free", "readonly"} {
		fs[n] = vec("mailwatch_filesystem_"+n, "path")
	}
	for i := range 20 {
		p := fmt.Sprintf("/srv/mail/%d", i)
		for n, v := range map[string]float64{"stat_success": 1, "size_bytes": 1e12, "avail_bytes": 4e11, "files": 1e8, "files_free": 9e7, "readonly": 0} {
			fs[n].WithLabelValues(p).Set(v)
		}
	}
	present, state := vec("mailwatch_service_present", "unit"), vec("mailwatch_service_state", "unit", "state")
	for i := range 8 {
		u := fmt.Sprintf("unit%d.service", i)
		present.WithLabelValues(u).Set(1)
		for _, s := range []string{"active", "reloading", "activating", "deactivating", "inactive", "failed"} {
			state.WithLabelValues(u, s).Set(collectors.B2F(s == "active"))
		}
	}
	ok, notAfter := vec("mailwatch_cert_check_success", "target"), vec("mailwatch_cert_not_after_timestamp_seconds", "target")
	for i := range 20 {
		tg := fmt.Sprintf("smtp://mx%d.example.org:25", i)
		ok.WithLabelValues(tg).Set(1)
		notAfter.WithLabelValues(tg).Set(float64(time.Now().Add(60 * 24 * time.Hour).Unix()))
	}
	q, listed := vec("mailwatch_dnsbl_query_success", "target", "zone"), vec("mailwatch_dnsbl_listed", "target", "zone")
	for i := range 4 {
		for z := range 10 {
			tg, zone := fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("zone%d.example", z)
			q.WithLabelValues(tg, zone).Set(1)
			listed.WithLabelValues(tg, zone).Set(0)
		}
	}
	var th config.Thresholds
	th.ApplyDefaults()
	statuses := func() []scheduler.Status {
		return []scheduler.Status{{Name: "filesystem", Runs: 9, Success: true, LastRun: time.Now()}, {Name: "certs", Runs: 9, Failures: 1, LastError: "dial: refused"}}
	}
	h := mwweb.NewHandler(mwweb.Options{Gatherer: reg, Statuses: statuses, Logger: zap.NewNop(),
		Verdict: verdict(reg, statuses, func() config.Thresholds { return th }, nil)})
	for _, target := range []string{"/", "/?format=json"} {
		b.Run(target, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
				if rec.Code != 200 {
					b.Fatalf("%s: %d", target, rec.Code)
				}
			}
		})
	}
}

// TestMaintenanceSection: the status page shows the window `mailwatchd
// maintenance start` wrote, nothing without one, and says so when the file
// is broken.
func TestMaintenanceSection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	section := maintenanceSection(dir)
	if got := section(); got != nil {
		t.Errorf("no window: %+v, want nil", got)
	}
	now := time.Now()
	if err := maintenance.Write(dir, maintenance.State{Start: now.Add(-time.Minute), End: now.Add(time.Hour), Reason: "kernel <update>"}); err != nil {
		t.Fatal(err)
	}
	got := section()
	if got == nil || !got.Active || got.Reason != "kernel <update>" || !got.Until.Equal(now.Add(time.Hour)) {
		t.Errorf("set window: %+v", got)
	}
	if err := os.WriteFile(maintenance.Path(dir), []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := section(); got == nil || got.Active || !strings.Contains(got.Reason, "unreadable maintenance file") {
		t.Errorf("broken file: %+v", got)
	}
}
