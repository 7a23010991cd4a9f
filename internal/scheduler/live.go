// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// LiveCache is a prometheus.Gatherer over a registry of live series (the
// log counters, the Go runtime and process collectors, the reload gauges)
// that gathers again only when they can have changed: when the key its
// owner computes differs from the last one, or when maxAge has passed since
// the last Gather. Between two changes a scrape gets the same families, so
// that Merged and the /metrics handler can reuse their merge and encoding.
//
//   - With a key that moves with every change (the log pipeline's
//     ScrapeKey, the daemon's reload count), a Gather returns what an
//     uncached one would; maxAge is only a backstop.
//   - Without a key it is a throttle: the Go runtime and process readings
//     are at most maxAge old (a second: no Prometheus scrape interval can
//     tell them from fresh ones, and counters among them still never go
//     back).
//
// The returned families are shared between callers and must not be
// modified; each caller gets its own slice.
type LiveCache struct {
	g      prometheus.Gatherer
	key    func(dst []uint64) []uint64 // appends the key; nil: time only
	maxAge time.Duration
	now    func() time.Time

	mu      sync.Mutex // held across a Gather, so concurrent scrapes share one
	built   bool
	keyBuf  []uint64
	last    []uint64
	expires time.Time
	mfs     []*dto.MetricFamily
	err     error
}

// NewLiveCache returns a LiveCache over g. key (nil for none) appends to dst
// values that change whenever g's series may have changed, and returns it.
func NewLiveCache(g prometheus.Gatherer, key func(dst []uint64) []uint64, maxAge time.Duration) *LiveCache {
	return &LiveCache{g: g, key: key, maxAge: maxAge, now: time.Now}
}

// Gather implements prometheus.Gatherer.
func (c *LiveCache) Gather() ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// The key is read before gathering: a change while the registry
	// gathers moves it past what is kept, and the next Gather gathers again.
	if c.key != nil {
		c.keyBuf = c.key(c.keyBuf[:0])
	}
	if !c.built || !now.Before(c.expires) || !slices.Equal(c.keyBuf, c.last) {
		c.mfs, c.err = c.g.Gather()
		c.built, c.expires = true, now.Add(c.maxAge)
		c.last = append(c.last[:0], c.keyBuf...)
	}
	return slices.Clone(c.mfs), c.err
}

// Merged serves the families of several gatherers as one registry holding
// them all would (see Merge), and numbers its results: GatherVersion
// returns the same version, and the very same families, for as long as
// every input returns the same families as before (the inputs are caches:
// LiveCache, Cache). The /metrics handler keeps its encoded response per
// version.
type Merged struct {
	inputs []prometheus.Gatherer

	mu      sync.Mutex
	last    [][]*dto.MetricFamily // per input, what it returned last
	mfs     []*dto.MetricFamily
	err     error
	version uint64
}

// MergeAll returns a Merged over gs, which must each be a registry or a
// cache of one.
func MergeAll(gs ...prometheus.Gatherer) *Merged {
	return &Merged{inputs: gs, last: make([][]*dto.MetricFamily, len(gs))}
}

// Gather implements prometheus.Gatherer.
func (m *Merged) Gather() ([]*dto.MetricFamily, error) {
	mfs, _, err := m.GatherVersion()
	return mfs, err
}

// GatherVersion gathers every input and returns the merged families and
// their version, which moves whenever an input returned anything different
// (or an error). The families must not be modified.
func (m *Merged) GatherVersion() ([]*dto.MetricFamily, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	same := m.version != 0 && m.err == nil
	got := make([][]*dto.MetricFamily, len(m.inputs))
	errs := make([]error, len(m.inputs))
	for i, g := range m.inputs {
		got[i], errs[i] = g.Gather()
		if errs[i] != nil || !slices.Equal(got[i], m.last[i]) {
			same = false
		}
	}
	if same {
		return slices.Clone(m.mfs), m.version, nil
	}
	acc, accErr := got[0], errs[0]
	for i := 1; i < len(got); i++ {
		acc, accErr = Merge(fixed(acc, accErr), fixed(got[i], errs[i])).Gather()
	}
	m.last, m.mfs, m.err = got, acc, accErr
	m.version++
	return slices.Clone(m.mfs), m.version, m.err
}
