// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Cache is a prometheus.Gatherer over a scheduler's series (snapshots and
// meta-metrics) that gathers them again only when they can have changed.
//
// Gathering is most of the cost of a scrape: the registry converts, checks
// for consistency, hashes and sorts every series, and nearly all series are
// snapshots that change only when their collector runs (every 15 s to 1 h).
// Cache keeps the result of its own registry's Gather and serves it until
//
//   - the scheduler's generation moves (a run recorded, Apply, RunOnce),
//   - a snapshot served after failed runs crosses its stale window, the
//     only change that comes from the clock alone, or
//   - maxAge has passed: a backstop, so that a change which failed to move
//     the generation is not served for longer than that.
//
// So a cached Gather returns what an uncached one would return at the same
// moment. This relies on collectors sending only const metrics, as the
// collectors package requires: a metric whose Write read live state would
// be frozen for up to maxAge.
//
// The returned families are shared between callers and must not be
// modified; each caller gets its own slice.
type Cache struct {
	s      *Scheduler
	maxAge time.Duration
	reg    *prometheus.Registry
	col    *cacheCollector

	mu      sync.Mutex // held across a rebuild, so concurrent scrapes wait for one Gather instead of each doing their own
	built   bool
	gen     uint64
	expires time.Time
	mfs     []*dto.MetricFamily
	err     error
}

// NewCache returns a Cache over s whose result is at most maxAge old. s must
// not also be registered in the registry the Cache is combined with (see
// Merge), or its series would be served twice.
func NewCache(s *Scheduler, maxAge time.Duration) *Cache {
	c := &Cache{s: s, maxAge: maxAge, reg: prometheus.NewRegistry(), col: &cacheCollector{s: s}}
	c.reg.MustRegister(c.col)
	return c
}

// Gather implements prometheus.Gatherer.
func (c *Cache) Gather() ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The generation is read before collecting: a run recorded while the
	// registry gathers moves it past c.gen, and the next Gather rebuilds.
	gen, now := c.s.gen.Load(), c.s.clk.Now()
	if !c.built || gen != c.gen || !now.Before(c.expires) {
		c.col.now = now
		c.mfs, c.err = c.reg.Gather()
		c.built, c.gen, c.expires = true, gen, now.Add(c.maxAge)
		if at := c.col.staleAt; !at.IsZero() && at.Before(c.expires) {
			c.expires = at
		}
	}
	return slices.Clone(c.mfs), c.err
}

// cacheCollector runs the scheduler's collect at the Cache's clock reading
// and keeps when the result will go stale. Its fields are only used under
// Cache.mu; the registry's Gather returns after Collect has.
type cacheCollector struct {
	s       *Scheduler
	now     time.Time
	staleAt time.Time
}

// Describe sends nothing, as the scheduler's own Describe (unchecked).
func (cc *cacheCollector) Describe(chan<- *prometheus.Desc) {}

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	cc.staleAt = cc.s.collect(ch, cc.now)
}

// Merge returns a Gatherer serving the families of live (gathered on every
// call: Go runtime, process, log pipeline, reload gauges) and of cached (a
// Cache) as one registry holding both would.
//
// prometheus.Gatherers would do, but it checks, hashes and sorts every
// series again on every call, which is most of what Cache saves. Each input
// has already been checked by its own registry, so the only checks left are
// between them: no family name in both and no histogram or summary suffix
// clash (foo vs foo_count). When a name is suspect, the call falls back to
// prometheus.Gatherers, which reports the clash as a single registry would
// have and serves the rest. Families come out sorted by name like a
// registry's, so the exposition is byte for byte the same.
func Merge(live, cached prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		a, errA := live.Gather()
		b, errB := cached.Gather()
		if clash(a, b) {
			return prometheus.Gatherers{fixed(a, errA), fixed(b, errB)}.Gather()
		}
		out := make([]*dto.MetricFamily, 0, len(a)+len(b))
		for len(a) > 0 && len(b) > 0 {
			if a[0].GetName() < b[0].GetName() {
				out, a = append(out, a[0]), a[1:]
			} else {
				out, b = append(out, b[0]), b[1:]
			}
		}
		out = append(append(out, a...), b...)
		var errs prometheus.MultiError
		for _, err := range []error{errA, errB} {
			var me prometheus.MultiError
			if errors.As(err, &me) {
				errs = append(errs, me...)
			} else if err != nil {
				errs = append(errs, err)
			}
		}
		return out, errs.MaybeUnwrap()
	})
}

// clash reports whether a family name is in both a and b, or one side has
// a histogram or summary's derived name (foo_count, foo_sum, foo_bucket) and
// the other its base name. It ignores the types, so it also flags pairs a
// registry would accept; those only take the slower path.
func clash(a, b []*dto.MetricFamily) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	inB := make(map[string]bool, len(a)+len(b)) // name -> found in b
	for _, mf := range a {
		inB[mf.GetName()] = false
	}
	for _, mf := range b {
		if _, dup := inB[mf.GetName()]; dup {
			return true
		}
		inB[mf.GetName()] = true
	}
	for _, mfs := range [][]*dto.MetricFamily{a, b} {
		for _, mf := range mfs {
			name := mf.GetName()
			for _, sfx := range []string{"_count", "_sum", "_bucket"} {
				if base, ok := strings.CutSuffix(name, sfx); ok {
					if other, ok := inB[base]; ok && other != inB[name] {
						return true
					}
				}
			}
		}
	}
	return false
}

// fixed is a Gatherer returning a result already gathered.
func fixed(mfs []*dto.MetricFamily, err error) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return mfs, err })
}
