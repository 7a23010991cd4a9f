// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// postqueue -j (Postfix 3.1+) prints one JSON object per message. It reads
// the same showq socket, but postqueue is set-group-ID postdrop, so it works
// for a daemon that lacks the group; as root it also lists the queue while
// Postfix is down. It is the only place this package runs a program, with
// the kit's collectors.Command: no shell, the context kills it at the
// deadline, and collectors.WaitDelay bounds the wait for its pipes after
// that.

// pqMessage is the part of a postqueue -j object that is counted.
type pqMessage struct {
	QueueName   string   `json:"queue_name"`
	ArrivalTime *int64   `json:"arrival_time"`
	MessageSize *int64   `json:"message_size"`
	Recipients  []pqRcpt `json:"recipients"`
}

type pqRcpt struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason"`
}

// parsePostqueueJSON reads postqueue -j output into t.
func parsePostqueueJSON(r io.Reader, t *tally) error {
	dec := json.NewDecoder(r)
	var m pqMessage
	for n := 0; ; n++ {
		m = pqMessage{Recipients: m.Recipients[:0]}
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postqueue -j object %d: %w", n, err)
		}
		q, ok := queueByName([]byte(m.QueueName))
		if !ok || m.ArrivalTime == nil || m.MessageSize == nil || *m.ArrivalTime < 0 || *m.MessageSize < 0 {
			return fmt.Errorf("postqueue -j object %d: missing or bad queue_name, arrival_time or message_size", n)
		}
		for _, rc := range m.Recipients {
			t.recipient(q, []byte(rc.Address), []byte(rc.DelayReason))
		}
		t.message(q, *m.ArrivalTime, *m.MessageSize)
	}
}

// runPostqueue runs postqueue -j for one instance and counts its output.
func runPostqueue(ctx context.Context, path, configDir string, t *tally) error {
	args := []string{"-j"}
	if configDir != "" {
		args = []string{"-c", configDir, "-j"}
	}
	return collectors.Command{Path: path, Args: args, Name: path + " -j"}.
		Stream(ctx, func(out io.Reader) error { return parsePostqueueJSON(out, t) })
}
