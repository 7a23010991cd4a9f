// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

const (
	// giveUpAfter is how many timeouts of one list in a row, with no
	// answer of that list between them, make a run give the list up.
	giveUpAfter = 2
	// maxEmitMargin bounds how long before its ctx's deadline a run stops
	// waiting for answers (a tenth of the time left, at most this), so that
	// what was answered is sent while the scheduler still takes the run.
	maxEmitMargin = time.Second
)

var (
	errGivenUp = fmt.Errorf("not asked: the list timed out %d times in a row in this run", giveUpAfter)
	errNotSent = errors.New("not asked before the run's deadline")
)

// zoneQueue is the state of one list during a run.
type zoneQueue struct {
	pending  []int // pairs not yet sent, as indexes, in order
	inflight int   // queries sent and not back
	sent     int
	timeouts int // timeouts in a row, reset by any answer of the list
}

// eligible: the list has pairs to send and is not suspect. A list whose
// last query timed out is sent nothing more until its queries in flight
// are back: a list that does not answer is not given more slots to hold.
func (q *zoneQueue) eligible() bool {
	return len(q.pending) > 0 && (q.timeouts == 0 || q.inflight == 0)
}

// before: q gets the next free slot rather than o.
func (q *zoneQueue) before(o *zoneQueue) bool {
	switch {
	case q.inflight != o.inflight:
		return q.inflight < o.inflight
	case q.timeouts != o.timeouts:
		return q.timeouts < o.timeouts
	default:
		return q.sent < o.sent
	}
}

type finished struct {
	i int
	r result
}

// query asks every pair, at most c.maxInFlight at once, and returns one
// result per pair, in order. A free slot goes to the list with the fewest
// queries in flight (then the fewest timeouts in a row, then the fewest
// sent; ties to the list configured first), so that a list that never
// answers holds at most its share of the slots while others have queries
// left. After giveUpAfter timeouts of a list in a row its remaining pairs
// are not sent: they fail with reason timeout and errGivenUp.
//
// query returns when every query is back or when ctx is done, whichever
// comes first; a query still in flight then is reported as a timeout, and
// a pair not yet sent as a timeout with errNotSent. It never waits for a
// query past ctx: a resolver that ignores ctx finishes into a buffered
// channel nobody reads.
func (c *Collector) query(ctx context.Context, pairs []pair) []result {
	var zones []*zoneQueue
	byLabel := map[string]*zoneQueue{}
	zoneOf := make([]*zoneQueue, len(pairs))
	for i, p := range pairs {
		q := byLabel[p.zone.label]
		if q == nil {
			q = &zoneQueue{}
			byLabel[p.zone.label] = q
			zones = append(zones, q)
		}
		q.pending = append(q.pending, i)
		zoneOf[i] = q
	}
	out := make([]result, len(pairs))
	const (
		waiting = iota
		inFlight
		done
	)
	state := make([]int, len(pairs))
	ch := make(chan finished, len(pairs))
	inflight := 0
	settle := func(f finished) {
		q := zoneOf[f.i]
		out[f.i], state[f.i] = f.r, done
		q.inflight--
		inflight--
		switch {
		case f.r.err == nil: // an answer, whatever it says: the list is alive
			q.timeouts = 0
		case f.r.v.Reason == dnsclient.ReasonTimeout:
			q.timeouts++
			if q.timeouts >= giveUpAfter {
				for _, i := range q.pending {
					out[i], state[i] = result{pair: pairs[i], v: Verdict{Reason: dnsclient.ReasonTimeout}, err: errGivenUp}, done
				}
				q.pending = nil
			}
		}
	}
	for {
		for inflight < c.maxInFlight && ctx.Err() == nil {
			var q *zoneQueue
			for _, z := range zones {
				if z.eligible() && (q == nil || z.before(q)) {
					q = z
				}
			}
			if q == nil {
				break
			}
			i := q.pending[0]
			q.pending = q.pending[1:]
			q.inflight++
			q.sent++
			inflight++
			state[i] = inFlight
			go func() { ch <- finished{i, c.check(ctx, pairs[i])} }()
		}
		if inflight == 0 {
			break // every pair answered or given up (or ctx done before any was sent)
		}
		select {
		case f := <-ch:
			settle(f)
			continue
		case <-ctx.Done():
		}
		// Out of time: keep what has come back, report the rest.
		collectors.DrainReady(ch, settle)
		break
	}
	for i, s := range state {
		switch s {
		case inFlight:
			out[i] = result{pair: pairs[i], v: Verdict{Reason: dnsclient.ReasonTimeout}, sent: true,
				err: fmt.Errorf("no answer before the run ended: %w", context.Cause(ctx))}
		case waiting:
			out[i] = result{pair: pairs[i], v: Verdict{Reason: dnsclient.ReasonTimeout}, err: errNotSent}
		}
	}
	return out
}

// withEmitMargin returns ctx with a deadline a little before its own (a
// tenth of the time left, at most maxEmitMargin): the run stops waiting for
// answers then and sends its metrics before the scheduler's deadline, after
// which the scheduler discards a run whole.
func withEmitMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(max(time.Until(dl)/10, 0), maxEmitMargin)
	return context.WithDeadline(ctx, dl.Add(-margin))
}
