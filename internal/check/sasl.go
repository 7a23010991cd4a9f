// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package check

import (
	"fmt"

	"github.com/mailwatchd/mailwatchd/internal/config"
)

// SASLSender is one SASL user's counts over the log pipeline's window
// (logparse.SASLSender, passed down as plain values: the metrics carry
// only ranks, so the names come from the pipeline itself).
type SASLSender struct {
	User      string
	Messages  int
	ClientIPs int
}

// maxSASLRows bounds the rows naming users.
const maxSASLRows = 5

// SASLRows judges the SASL users of the window against the thresholds: a
// warning row naming each user above sasl_messages_warning or
// sasl_client_ips_warning (the first maxSASLRows, most messages first, then
// one row counting the rest), else one OK row with the highest figures and
// no name. senders is in any order.
func SASLRows(senders []SASLSender, th config.Thresholds) []Row {
	var rows []Row
	var maxMsgs, maxIPs, more int
	for _, s := range senders {
		maxMsgs, maxIPs = max(maxMsgs, s.Messages), max(maxIPs, s.ClientIPs)
		if s.Messages <= th.SASLMessagesWarning && s.ClientIPs <= th.SASLClientIPsWarning {
			continue
		}
		if len(rows) == maxSASLRows {
			more++
			continue
		}
		rows = append(rows, Row{Area: "logs", Item: "SASL sender " + s.User,
			Value: fmt.Sprintf("%d messages from %d client IPs in the window (warning above %d messages or %d IPs)", s.Messages, s.ClientIPs, th.SASLMessagesWarning, th.SASLClientIPsWarning),
			Level: Warn})
	}
	if more > 0 {
		rows = append(rows, Row{Area: "logs", Item: "SASL senders", Value: fmt.Sprintf("%d more users above the thresholds", more), Level: Warn})
	}
	if len(rows) == 0 {
		rows = append(rows, Row{Area: "logs", Item: "SASL senders",
			Value: fmt.Sprintf("%d active; at most %d messages, %d client IPs per user in the window", len(senders), maxMsgs, maxIPs), Level: OK})
	}
	return rows
}
