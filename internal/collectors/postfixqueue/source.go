// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// readFunc is the outside world of this collector: it reads the whole
// queue of one instance into a fresh t, or fails (t is then discarded). It
// must return promptly once ctx is done; Update calls it from one goroutine
// per instance, so it must not share mutable state between calls.
type readFunc func(ctx context.Context, sp Spool, t *tally) error

// namedSource is a configured source; name is its source label value.
type namedSource struct {
	name string
	read readFunc
}

// builtinSource returns the reader of a configured source name.
func builtinSource(name, postqueue string, now func() time.Time) readFunc {
	switch name {
	case SourceShowq:
		return func(ctx context.Context, sp Spool, t *tally) error {
			err := readShowq(ctx, filepath.Join(sp.Path, "public", "showq"), t, now)
			if err == nil {
				countCorrupt(sp.Path, t)
			}
			return err
		}
	case SourcePostqueue:
		return func(ctx context.Context, sp Spool, t *tally) error {
			err := runPostqueue(ctx, postqueue, sp.ConfigDirectory, t)
			if err == nil {
				countCorrupt(sp.Path, t)
			}
			return err
		}
	case SourceWalk:
		return func(ctx context.Context, sp Spool, t *tally) error { return walkSpool(ctx, sp.Path, t) }
	}
	panic("postfixqueue: unknown source " + name) // Validate refuses it first
}

// readShowq connects to the showq socket at path and parses the listing as
// it streams in. The dial honours ctx; when ctx is done (deadline or
// cancellation) the connection's deadline is moved to the past, so a showq
// that accepts and never answers, or stalls mid-record, ends the read then.
func readShowq(ctx context.Context, path string, t *tally, now func() time.Time) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("dial showq %s: %w", path, err)
	}
	defer conn.Close()
	// The read deadline is set only once ctx is done, so a read that
	// times out always has ctx.Err() to report, and the error says which.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	err = parseShowq(conn, t, textOptions{Now: now(), Loc: time.Local})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("read showq %s: %w", path, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("read showq %s: %w", path, err)
	}
	return nil
}

// countCorrupt counts the corrupt queue from its directory, which showq
// does not list. It is mode 0700 postfix: without root or the postfix user
// the count stays 0, as it cannot be known.
func countCorrupt(spool string, t *tally) {
	d, err := os.Open(filepath.Join(spool, "corrupt"))
	if err != nil {
		return
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(readdirBatch)
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			if fi, err := e.Info(); err == nil {
				t.message(qCorrupt, fi.ModTime().Unix(), fi.Size())
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.queues[qCorrupt] = queueStats{} // partial: report nothing
			}
			return
		}
	}
}
