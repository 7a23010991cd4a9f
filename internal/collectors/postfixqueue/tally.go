// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import (
	"sort"
)

// queue is one of Postfix's queues; the order is the label order of the
// exposition only by accident, the names are the contract.
type queue uint8

const (
	qMaildrop queue = iota
	qIncoming
	qActive
	qDeferred
	qHold
	qCorrupt
	numQueues
)

var queueNames = [numQueues]string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt"}

func (q queue) String() string { return queueNames[q] }

// queueByName maps a queue name sent by showq or postqueue to the enum.
// Converting b inside the switch does not allocate.
func queueByName(b []byte) (queue, bool) {
	switch string(b) {
	case "maildrop":
		return qMaildrop, true
	case "incoming":
		return qIncoming, true
	case "active":
		return qActive, true
	case "deferred":
		return qDeferred, true
	case "hold":
		return qHold, true
	case "corrupt":
		return qCorrupt, true
	}
	return 0, false
}

// queueStats is what is exported per queue.
type queueStats struct {
	Messages   int64
	Recipients int64
	SizeBytes  int64
	// Oldest is the earliest arrival time in Unix seconds; valid only when
	// Messages > 0.
	Oldest int64
}

// maxTrackedDomains bounds the domain map of one run: a queue with more
// distinct deferred domains than this counts the excess under _other, so
// the top N is exact unless a domain first shows up after the cap is hit.
const maxTrackedDomains = 10000

// otherDomain is the label value of the domains outside the top N. A real
// domain never matches it: validDomain refuses '_'.
const otherDomain = "_other"

// tally accumulates one read of one instance's queue. The readers feed it
// message by message, so memory stays flat however long the queue is (the
// optional domain map is capped).
type tally struct {
	queues   [numQueues]queueStats
	deferred [numReasons]int64

	trackDomains bool
	domains      map[string]*int64
	domainExcess int64

	cls classifier
	buf []byte
}

func newTally(trackDomains bool) *tally {
	t := &tally{trackDomains: trackDomains}
	if trackDomains {
		t.domains = map[string]*int64{}
	}
	return t
}

// message counts one message of queue q that arrived at arrival (Unix
// seconds) with size bytes.
func (t *tally) message(q queue, arrival, size int64) {
	s := &t.queues[q]
	if s.Messages == 0 || arrival < s.Oldest {
		s.Oldest = arrival
	}
	s.Messages++
	s.SizeBytes += size
}

// recipient counts one recipient of a message of queue q; for the deferred
// queue its delay reason is classified and its domain counted.
func (t *tally) recipient(q queue, addr, why []byte) {
	t.queues[q].Recipients++
	if q != qDeferred {
		return
	}
	t.deferred[t.cls.classify(why)]++
	if t.trackDomains {
		t.countDomain(addr)
	}
}

func (t *tally) countDomain(addr []byte) {
	t.buf = appendDomain(t.buf[:0], addr)
	key := otherDomain
	if len(t.buf) > 0 {
		if p := t.domains[string(t.buf)]; p != nil {
			*p++
			return
		}
		if len(t.domains) >= maxTrackedDomains {
			t.domainExcess++
			return
		}
		key = string(t.buf)
	}
	if p := t.domains[key]; p != nil {
		*p++
		return
	}
	n := int64(1)
	t.domains[key] = &n
}

// domainCount is one row of the top-N list.
type domainCount struct {
	Domain string
	Count  int64
}

// topDomains returns the n domains with the most deferred recipients (ties
// by name) followed by _other with the rest, which is always present.
func (t *tally) topDomains(n int) []domainCount {
	all := make([]domainCount, 0, len(t.domains))
	other := t.domainExcess
	for d, c := range t.domains {
		if d == otherDomain {
			other += *c
			continue
		}
		all = append(all, domainCount{d, *c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Domain < all[j].Domain
	})
	if len(all) > n {
		for _, d := range all[n:] {
			other += d.Count
		}
		all = all[:n]
	}
	return append(all, domainCount{otherDomain, other})
}

// appendDomain appends the lower-cased domain of addr to dst, or nothing
// when addr has no domain or the domain is not a plain host name (address
// literals, odd bytes): those are counted as _other, so no text from a
// queue file can reach a label unchecked.
func appendDomain(dst, addr []byte) []byte {
	at := -1
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			at = i
			break
		}
	}
	if at < 0 {
		return dst
	}
	d := addr[at+1:]
	for len(d) > 0 && d[len(d)-1] == '.' {
		d = d[:len(d)-1]
	}
	if len(d) == 0 || len(d) > 253 || d[0] == '.' || d[0] == '-' {
		return dst
	}
	start := len(dst)
	for _, c := range d {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			return dst[:start]
		}
		dst = append(dst, c)
	}
	return dst
}
