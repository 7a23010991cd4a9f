// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSaturationAndQuarantineRows(t *testing.T) {
	t.Parallel()
	in := `
mailwatch_postfix_service_processes{postfix_instance="postfix",service="smtp/inet"} 95
mailwatch_postfix_service_process_limit{postfix_instance="postfix",service="smtp/inet"} 100
mailwatch_postfix_stress_mode{postfix_instance="postfix",service="smtp/inet"} 1
mailwatch_postfix_service_processes{postfix_instance="postfix",service="submission/inet"} 3
mailwatch_postfix_service_process_limit{postfix_instance="postfix",service="submission/inet"} 100
mailwatch_postfix_stress_mode{postfix_instance="postfix",service="submission/inet"} 0
mailwatch_postfix_service_processes{postfix_instance="postfix",service="qmgr/unix"} 1
mailwatch_postfix_service_process_limit{postfix_instance="postfix",service="qmgr/unix"} 1
mailwatch_postfix_service_processes{postfix_instance="postfix",service="cleanup/unix"} 4
mailwatch_dovecot_service_processes{service="imap-login"} 12
mailwatch_dovecot_service_process_limit{service="imap-login"} 100
mailwatch_dovecot_service_processes{service="auth"} 1
mailwatch_dovecot_service_process_limit{service="auth"} 1
mailwatch_quarantine_messages{quarantine="amavis"} 3
mailwatch_quarantine_bytes{quarantine="amavis"} 2048
mailwatch_quarantine_oldest_message_timestamp_seconds{quarantine="amavis"} 1799913600
mailwatch_quarantine_scan_success{quarantine="amavis"} 1
mailwatch_quarantine_messages{quarantine="junk"} 0
mailwatch_quarantine_bytes{quarantine="junk"} 0
mailwatch_quarantine_scan_success{quarantine="junk"} 0
`
	got := Evaluate(families(t, in), nil, thresholds(), now)
	want := []Row{
		{Area: "saturation", Item: "dovecot", Value: "busiest imap-login: 12 of 100 processes", Level: OK},
		{Area: "saturation", Item: "postfix postfix", Value: "busiest smtp/inet: 95 of 100 processes", Level: OK},
		{Area: "saturation", Item: "postfix postfix smtp/inet", Value: "stress mode (master ran out of processes)", Level: Warn},
		{Area: "saturation", Item: "postfix postfix smtp/inet", Value: "95 of 100 processes", Level: Warn},
		{Area: "quarantine", Item: "amavis", Value: "3 messages, 2.0 KiB, oldest 24 h old", Level: OK},
		{Area: "quarantine", Item: "junk", Value: "0 messages, 0 B, NOT FULLY SCANNED", Level: Warn},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}
