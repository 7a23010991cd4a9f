// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTripRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []Row
	}{
		{"no probe yet", "mailwatch_roundtrip_probes_total{result=\"ok\"} 0\n", nil},
		{"ok", `
mailwatch_roundtrip_last_result{result="ok"} 1
mailwatch_roundtrip_last_result{result="timeout"} 0
mailwatch_roundtrip_last_latency_seconds 1.25
mailwatch_roundtrip_last_success_timestamp_seconds 1799996400
mailwatch_roundtrip_stragglers_removed_total 0
`, []Row{{Area: "roundtrip", Item: "mail round trip", Value: "delivered in 1.2 s", Level: OK}}},
		{"timeout", `
mailwatch_roundtrip_last_result{result="ok"} 0
mailwatch_roundtrip_last_result{result="timeout"} 1
mailwatch_roundtrip_last_latency_seconds 1.25
mailwatch_roundtrip_last_success_timestamp_seconds 1799992800
mailwatch_roundtrip_stragglers_removed_total 2
`, []Row{{Area: "roundtrip", Item: "mail round trip", Value: "NOT DELIVERED in time, last success 2 h ago, 2 late probes deleted", Level: Crit}}},
		{"dkim", `
mailwatch_roundtrip_last_result{result="ok"} 0
mailwatch_roundtrip_last_result{result="dkim_fail"} 1
mailwatch_roundtrip_last_latency_seconds 3
`, []Row{{Area: "roundtrip", Item: "mail round trip", Value: "delivered WITHOUT A VALID DKIM SIGNATURE in 3.0 s", Level: Warn}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(families(t, tc.in), nil, thresholds(), now)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
		})
	}
}
