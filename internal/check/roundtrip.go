// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"fmt"
	"time"
)

// roundTripResults are the probe's results with their level: the mail that
// does not arrive is critical, a copy that fails a check a warning.
var roundTripResults = []struct {
	result, text string
	level        Level
}{
	{"ok", "delivered", OK},
	{"submit_error", "SUBMISSION FAILED", Crit},
	{"timeout", "NOT DELIVERED in time", Crit},
	{"mailbox_error", "probe mailbox unusable", Warn},
	{"dkim_fail", "delivered WITHOUT A VALID DKIM SIGNATURE", Warn},
	{"spam_header_missing", "delivered WITHOUT THE SPAM FILTER'S HEADER", Warn},
}

// roundTripRows: one row for the mail round-trip probe, from its last
// result, with the latency and the time of the last success.
func roundTripRows(f Families, now time.Time) []Row {
	for _, r := range roundTripResults {
		v, ok := f.value("mailwatch_roundtrip_last_result", map[string]string{"result": r.result})
		if !ok || v != 1 {
			continue
		}
		val := r.text
		if lat, ok := f.value("mailwatch_roundtrip_last_latency_seconds", nil); ok && r.result != "submit_error" && r.result != "timeout" {
			val += fmt.Sprintf(" in %.1f s", lat)
		}
		if ts, ok := f.value("mailwatch_roundtrip_last_success_timestamp_seconds", nil); ok && r.result != "ok" {
			val += ", last success " + HumanDuration(since(now, ts)) + " ago"
		}
		if n, ok := f.value("mailwatch_roundtrip_stragglers_removed_total", nil); ok && n == 1 {
			val += ", 1 late probe deleted"
		} else if ok && n > 1 {
			val += fmt.Sprintf(", %.0f late probes deleted", n)
		}
		return []Row{{Area: "roundtrip", Item: "mail round trip", Value: val, Level: r.level}}
	}
	return nil
}
