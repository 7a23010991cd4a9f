// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// A DNSBL zone whose server never answers (the harness dnsmasq forwards MWH_DNS_HANG_ZONE to a
// blackhole on loopback) is a timeout, never a listing, and does not hold up the answers of
// the zone that works: both come from the same run, which ends within the collector's
// timeout (issue #8).
func TestDNSBLHangingZone(t *testing.T) {
	t.Parallel()
	env := LoadEnv(t)
	hang := env.Var("MWH_DNS_HANG_ZONE")
	if hang == "" {
		t.Skip("MWH_DNS_HANG_ZONE is not set: this harness has no hanging zone")
	}
	const section = `  dnsbl:
    enabled: true
    interval: 5m
    timeout: 10s
    resolver: {servers: ["{{.Env.DNSServer}}"], query_timeout: 2s}
    addresses: [{{.Env.DNSBLListed}}]
    zones: [{zone: {{.Env.DNSBLZone}}, kind: ip}, {zone: {{.Vars.Hang}}, kind: ip}]
`
	d := StartDaemon(t, env, DaemonOptions{Config: OnlyConfig(map[string]string{"dnsbl": section}), Vars: map[string]string{"Hang": hang}})
	dnsbl := map[string]string{"collector": "dnsbl"}
	mfs := d.WaitMetrics(t, 30*time.Second, func(mfs map[string]*dto.MetricFamily) error {
		if v, err := SampleValue(mfs, "mailwatch_collector_runs_total", dnsbl); err != nil || v < 1 {
			return fmt.Errorf("the dnsbl collector has not finished a run: %g %v", v, err)
		}
		return nil
	})
	listed := map[string]string{"target": env.DNSBLListed, "zone": env.DNSBLZone}
	hung := map[string]string{"target": env.DNSBLListed, "zone": hang}
	wantValue(t, mfs, "mailwatch_dnsbl_listed", listed, 1)
	wantValue(t, mfs, "mailwatch_dnsbl_query_success", listed, 1)
	wantValue(t, mfs, "mailwatch_dnsbl_listed", hung, 0)
	wantValue(t, mfs, "mailwatch_dnsbl_query_success", hung, 0)
	if v, err := SampleValue(mfs, "mailwatch_dnsbl_query_errors_total", map[string]string{"zone": hang, "reason": "timeout"}); err != nil || v < 1 {
		t.Errorf("mailwatch_dnsbl_query_errors_total{zone=%q,reason=\"timeout\"} = %g (%v), want >= 1", hang, v, err)
	}
	// The run was not cut off by the collector's timeout: a query timed out, the run did not.
	wantValue(t, mfs, "mailwatch_collector_success", dnsbl, 1)
	wantValue(t, mfs, "mailwatch_collector_failures_total", dnsbl, 0)
	if v, err := SampleValue(mfs, "mailwatch_collector_duration_seconds", dnsbl); err != nil || v >= 10 {
		t.Errorf("mailwatch_collector_duration_seconds{collector=\"dnsbl\"} = %g (%v), want below the 10 s timeout", v, err)
	}
}
