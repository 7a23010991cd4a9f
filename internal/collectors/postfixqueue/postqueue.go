// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// postqueue -j (Postfix 3.1+) prints one JSON object per message. It reads
// the same showq socket, but postqueue is set-group-ID postdrop, so it works
// for a daemon that lacks the group; as root it also lists the queue while
// Postfix is down. It is the only place this package runs a program: no
// shell, the context kills it at the deadline, and WaitDelay bounds the wait
// for its pipes after that.

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

// postqueueWaitDelay is how long Wait waits for the pipes once the process
// was killed or exited (a child holding stdout must not hang the run).
const postqueueWaitDelay = 2 * time.Second

// runPostqueue runs postqueue -j for one instance and counts its output.
func runPostqueue(ctx context.Context, path, configDir string, t *tally) error {
	args := []string{"-j"}
	if configDir != "" {
		args = []string{"-c", configDir, "-j"}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = postqueueWaitDelay
	stderr := &headBuffer{max: 512}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("postqueue: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	perr := parsePostqueueJSON(out, t)
	if perr != nil {
		_ = cmd.Process.Kill() // the rest of its output is of no use
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s -j: %w", path, ctx.Err())
	case perr != nil:
		return perr
	case werr != nil:
		return fmt.Errorf("%s -j: %w: %s", path, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	max int
	b   []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string { return string(h.b) }
