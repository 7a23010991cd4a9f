// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

// saturationRows: one row per Postfix instance and one for Dovecot naming
// the busiest service, and a warning row per service at or above the
// threshold share of its limit (services limited to 1 process, which run
// at their limit by design, left out, as in the alert rules) or in stress
// mode.
func saturationRows(f Families, th config.Thresholds) []Row {
	var rows []Row
	type svc struct {
		procs, limit float64
		stress       bool
	}
	insts := map[string]map[string]*svc{}
	for _, s := range f.samples("mailwatch_postfix_service_processes") {
		in := s.labels["postfix_instance"]
		if insts[in] == nil {
			insts[in] = map[string]*svc{}
		}
		v := &svc{procs: s.value}
		v.limit, _ = f.value("mailwatch_postfix_service_process_limit", s.labels)
		st, _ := f.value("mailwatch_postfix_stress_mode", s.labels)
		v.stress = st == 1
		insts[in][s.labels["service"]] = v
	}
	judge := func(item string, services map[string]*svc) {
		busiest, ratio := "", -1.0
		for _, name := range slices.Sorted(maps.Keys(services)) {
			v := services[name]
			if v.stress {
				rows = append(rows, Row{Area: "saturation", Item: item + " " + name, Value: "stress mode (master ran out of processes)", Level: Warn})
			}
			if v.limit <= 1 {
				continue
			}
			r := v.procs / v.limit
			if r >= th.ProcessLimitWarningRatio {
				rows = append(rows, Row{Area: "saturation", Item: item + " " + name, Value: fmt.Sprintf("%.0f of %.0f processes", v.procs, v.limit), Level: Warn})
			}
			if r > ratio {
				busiest, ratio = name, r
			}
		}
		if busiest != "" {
			v := services[busiest]
			rows = append(rows, Row{Area: "saturation", Item: item, Value: fmt.Sprintf("busiest %s: %.0f of %.0f processes", busiest, v.procs, v.limit), Level: OK})
		}
	}
	for _, in := range slices.Sorted(maps.Keys(insts)) {
		judge("postfix "+in, insts[in])
	}
	dovecot := map[string]*svc{}
	for _, s := range f.samples("mailwatch_dovecot_service_processes") {
		v := &svc{procs: s.value}
		v.limit, _ = f.value("mailwatch_dovecot_service_process_limit", s.labels)
		dovecot[s.labels["service"]] = v
	}
	judge("dovecot", dovecot)
	return rows
}

// quarantineRows: one row per quarantine set, a warning when it could not
// be scanned.
func quarantineRows(f Families, now time.Time) []Row {
	var rows []Row
	for _, s := range f.samples("mailwatch_quarantine_messages") {
		q := s.labels["quarantine"]
		val := fmt.Sprintf("%.0f messages", s.value)
		if b, ok := f.value("mailwatch_quarantine_bytes", s.labels); ok {
			val += ", " + HumanBytes(b)
		}
		if ts, ok := f.value("mailwatch_quarantine_oldest_message_timestamp_seconds", s.labels); ok {
			val += ", oldest " + HumanDuration(since(now, ts)) + " old"
		}
		lvl := OK
		if ok, _ := f.value("mailwatch_quarantine_scan_success", s.labels); ok == 0 {
			val += ", NOT FULLY SCANNED"
			lvl = Warn
		}
		rows = append(rows, Row{Area: "quarantine", Item: q, Value: val, Level: lvl})
	}
	return rows
}
