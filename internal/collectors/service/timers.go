// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package service

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// Timers: the chores that fail silently (certbot renew, apt's daily
// upgrade, logrotate, a backup), as the systemd timers that run them see
// them, or, on hosts without systemd, the traces the same chores leave when
// cron runs them (timerfiles.go).

var (
	timerPresentDesc = collectors.NewDesc(Name, "timer", "present",
		"1 if the timer is installed (a loaded, unmasked systemd timer; without systemd, the chore's log or stamp file exists), 0 if not.", "timer")
	timerLastDesc = collectors.NewDesc(Name, "timer", "last_trigger_timestamp_seconds",
		"Unix time the timer last started its service (systemd's LastTriggerUSec; without systemd, the time of the chore's last log or stamp); absent if it never ran.", "timer")
	timerNextDesc = collectors.NewDesc(Name, "timer", "next_elapse_timestamp_seconds",
		"Unix time the timer next elapses (systemd's NextElapseUSecRealtime); absent when none is scheduled or without systemd.", "timer")
	timerSuccessDesc = collectors.NewDesc(Name, "timer", "last_result_success",
		"1 if the last run of the service the timer triggers succeeded (systemd's Result \"success\"; without systemd, the chore's log or stamps), 0 if it failed; absent if it never ran or the result is unknown.", "timer")
	timerExitDesc = collectors.NewDesc(Name, "timer", "last_exit_status",
		"Exit status of the main process of the service's last run (systemd's ExecMainStatus); absent without systemd or when it never ran.", "timer")
)

var timerDescs = []*prometheus.Desc{timerPresentDesc, timerLastDesc, timerNextDesc, timerSuccessDesc, timerExitDesc}

// timerSource reports on the configured timers. Like source.Query, an error
// means nothing learned can be trusted; one timer's problem is its Err.
type timerSource interface {
	Timers(ctx context.Context) ([]timerStatus, error)
}

// timerStatus is what one run learned about one timer.
type timerStatus struct {
	Name        string
	Present     bool
	LastTrigger optional // Unix seconds
	NextElapse  optional // Unix seconds
	Success     optional // 1 or 0
	ExitStatus  optional
	// Result is systemd's Result of the triggered service ("exit-code"),
	// for the log.
	Result string
	Err    error
}

func emitTimer(ch chan<- prometheus.Metric, ts timerStatus) {
	ch <- collectors.Gauge(timerPresentDesc, collectors.B2F(ts.Present), ts.Name)
	for _, f := range []struct {
		d *prometheus.Desc
		v optional
	}{
		{timerLastDesc, ts.LastTrigger},
		{timerNextDesc, ts.NextElapse},
		{timerSuccessDesc, ts.Success},
		{timerExitDesc, ts.ExitStatus},
	} {
		if f.v.ok {
			ch <- collectors.Gauge(f.d, f.v.v, ts.Name)
		}
	}
}

// Timers implements timerSource over the same connection and with the same
// deadline handling as Query: ListUnitsByNames for the timers, then per
// installed timer the properties of org.freedesktop.systemd1.Timer
// (LastTriggerUSec, NextElapseUSecRealtime, Unit) and of the service it
// triggers (Service.Result, Service.ExecMainStatus), as documented in
// org.freedesktop.systemd1(5).
func (s *systemdSource) Timers(ctx context.Context) ([]timerStatus, error) {
	if len(s.timers) == 0 {
		return nil, nil
	}
	conn, done, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	list, err := conn.ListUnitsByNamesContext(ctx, s.timers)
	if err != nil {
		s.failed(err)
		return nil, fmt.Errorf("systemd ListUnitsByNames (timers): %w", err)
	}
	if len(list) != len(s.timers) {
		return nil, fmt.Errorf("systemd ListUnitsByNames returned %d units for %d timers", len(list), len(s.timers))
	}
	out := make([]timerStatus, len(s.timers))
	for i, name := range s.timers {
		ts := timerStatus{Name: name, Present: present(list[i])}
		if ts.Present {
			r := propReader{ctx: ctx, conn: conn, unit: name}
			// Microseconds since the epoch; 0 means never (and "no next
			// elapse" for NextElapseUSecRealtime, UINT64_MAX as well).
			if v, ok := r.uint("Timer", "LastTriggerUSec"); ok && v > 0 && v != math.MaxUint64 {
				ts.LastTrigger = some(float64(v) / 1e6)
			}
			if v, ok := r.uint("Timer", "NextElapseUSecRealtime"); ok && v > 0 && v != math.MaxUint64 {
				ts.NextElapse = some(float64(v) / 1e6)
			}
			target, _ := r.str("Timer", "Unit")
			var errs []error
			if ts.LastTrigger.ok && unitType(target) == "Service" {
				sr := propReader{ctx: ctx, conn: conn, unit: target}
				if res, ok := sr.str("Service", "Result"); ok {
					ts.Result = res
					ts.Success = some(collectors.B2F(res == "success"))
				}
				if v, ok := sr.int("Service", "ExecMainStatus"); ok {
					ts.ExitStatus = some(float64(v))
				}
				if sr.fatal != nil {
					s.failed(sr.fatal)
					return nil, sr.fatal
				}
				errs = sr.errs
			}
			if r.fatal != nil {
				s.failed(r.fatal)
				return nil, r.fatal
			}
			ts.Err = errors.Join(append(r.errs, errs...)...)
		}
		out[i] = ts
	}
	return out, nil
}

var _ timerSource = (*systemdSource)(nil)
