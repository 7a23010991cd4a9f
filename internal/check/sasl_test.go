// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

func TestSASLRows(t *testing.T) {
	var th config.Thresholds
	th.ApplyDefaults()
	quiet := []SASLSender{{User: "bob@example.org", Messages: 12, ClientIPs: 2}, {User: "carol", Messages: 300, ClientIPs: 10}}
	rows := SASLRows(quiet, th)
	if len(rows) != 1 || rows[0].Level != OK || rows[0].Value != "2 active; at most 300 messages, 10 client IPs per user in the window" {
		t.Errorf("at the thresholds: %+v", rows)
	}
	for _, r := range rows {
		if strings.Contains(r.Item+r.Value, "bob") || strings.Contains(r.Item+r.Value, "carol") {
			t.Errorf("a user below the thresholds is named: %+v", r)
		}
	}
	loud := append(quiet, SASLSender{User: "alice@example.org", Messages: 301, ClientIPs: 1}, SASLSender{User: "mallory", Messages: 3, ClientIPs: 11})
	rows = SASLRows(loud, th)
	if len(rows) != 2 || rows[0].Item != "SASL sender alice@example.org" || rows[1].Item != "SASL sender mallory" ||
		rows[0].Level != Warn || !strings.HasPrefix(rows[0].Value, "301 messages from 1 client IPs") {
		t.Errorf("above the thresholds: %+v", rows)
	}
	var many []SASLSender
	for i := range 8 {
		many = append(many, SASLSender{User: fmt.Sprint("u", i), Messages: 1000})
	}
	rows = SASLRows(many, th)
	if len(rows) != maxSASLRows+1 || rows[maxSASLRows].Value != "3 more users above the thresholds" {
		t.Errorf("many users: %+v", rows)
	}
}
