// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import "hash/maphash"

// ScrapeKey appends to dst values that change whenever the pipeline's
// series may have changed, and returns it: the /metrics handler gathers
// the log counters again only then (scheduler.LiveCache), so that a scrape
// between two bursts of lines serves the families it served before.
//
// What moves the key:
//   - counters.gen, which a sink bumps at every Flush (every chunk of
//     lines it counted: lines, events, deliveries, last-line and last-sent
//     times) and at LastLine, and Apply bumps after changing rules and
//     sources. Anything else that changes a counter must bump it too.
//   - the SASL window's slot index (sasl.go): its gauges change when a
//     slot leaves the window, without a line.
//   - the follower's Stats and the state save failures, which change
//     outside a sink, read here directly.
//
// Sources are visited in map order, so each source's stats are mixed with
// its name and summed: the key does not depend on the order.
func (p *Pipeline) ScrapeKey(dst []uint64) []uint64 {
	c := p.counters
	dst = append(dst, c.gen.Load(), c.stateSaveFailures.Load(), c.sasl.epoch())
	var sum uint64
	c.mu.Lock()
	for name, s := range c.sources {
		h := maphash.String(scrapeKeySeed, name)
		for i, v := range [...]uint64{s.ReadErrors.Load(), s.Rotations.Load(), s.Truncations.Load(),
			s.SkippedBytes.Load(), uint64(s.UnreadBytes.Load())} { //nolint:gosec // a bit pattern, not a quantity
			sum += mix64(h + uint64(i)*0x9e3779b97f4a7c15 + v)
		}
	}
	c.mu.Unlock()
	return append(dst, sum)
}

var scrapeKeySeed = maphash.MakeSeed()

// mix64 is SplitMix64's finaliser: a change of any input bit changes about
// half of the output bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
