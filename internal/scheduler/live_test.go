// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A LiveCache gathers again when its key moves or maxAge passed, and
// serves the very same families otherwise.
func TestLiveCacheKeyAndAge(t *testing.T) {
	t.Parallel()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailwatch_test_value", Help: "Test."})
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	var key atomic.Uint64
	now := time.Unix(1_800_000_000, 0)
	c := NewLiveCache(reg, func(dst []uint64) []uint64 { return append(dst, key.Load()) }, time.Second)
	c.now = func() time.Time { return now }

	first, _ := c.Gather()
	g.Set(2)
	again, _ := c.Gather()
	if !sameFamilies(first, again) {
		t.Fatal("key unchanged, time unchanged: gathered again")
	}
	key.Add(1)
	if out := scrapeText(t, c); out != "# HELP mailwatch_test_value Test.\n# TYPE mailwatch_test_value gauge\nmailwatch_test_value 2\n" {
		t.Fatalf("after the key moved:\n%s", out)
	}
	g.Set(3)
	now = now.Add(time.Second)
	if out := scrapeText(t, c); out != "# HELP mailwatch_test_value Test.\n# TYPE mailwatch_test_value gauge\nmailwatch_test_value 3\n" {
		t.Fatalf("after maxAge:\n%s", out)
	}

	th := NewLiveCache(reg, nil, time.Second) // a throttle
	th.now = func() time.Time { return now }
	a, _ := th.Gather()
	g.Set(4)
	now = now.Add(999 * time.Millisecond)
	if b, _ := th.Gather(); !sameFamilies(a, b) {
		t.Fatal("throttle: gathered again within maxAge")
	}
	now = now.Add(time.Millisecond)
	if out := scrapeText(t, th); out != "# HELP mailwatch_test_value Test.\n# TYPE mailwatch_test_value gauge\nmailwatch_test_value 4\n" {
		t.Fatalf("throttle after maxAge:\n%s", out)
	}
}

// seqGatherer returns what the test sets, counting calls.
type seqGatherer struct {
	mfs []*dto.MetricFamily
	err error
}

func (s *seqGatherer) Gather() ([]*dto.MetricFamily, error) { return s.mfs, s.err }

func family(name string) *dto.MetricFamily {
	typ := dto.MetricType_GAUGE
	v := 1.0
	return &dto.MetricFamily{Name: &name, Help: &name, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}
}

// Merged keeps its version while every input returns the very same
// families, moves it when one does not or fails, and merges as Merge does.
func TestMergedVersion(t *testing.T) {
	t.Parallel()
	a := &seqGatherer{mfs: []*dto.MetricFamily{family("b"), family("d")}}
	b := &seqGatherer{mfs: []*dto.MetricFamily{family("a"), family("c")}}
	c := &seqGatherer{mfs: []*dto.MetricFamily{family("e")}}
	m := MergeAll(a, b, c)
	names := func(mfs []*dto.MetricFamily) string {
		s := ""
		for _, mf := range mfs {
			s += mf.GetName()
		}
		return s
	}
	mfs, v1, err := m.GatherVersion()
	if err != nil || names(mfs) != "abcde" {
		t.Fatalf("merged %q, %v; want abcde", names(mfs), err)
	}
	mfs2, v2, _ := m.GatherVersion()
	if v2 != v1 || !sameFamilies(mfs, mfs2) {
		t.Fatalf("nothing changed: version %d then %d", v1, v2)
	}
	b.mfs = []*dto.MetricFamily{b.mfs[0], family("c")} // one family replaced
	mfs3, v3, _ := m.GatherVersion()
	if v3 == v2 || names(mfs3) != "abcde" || mfs3[2] == mfs2[2] || mfs3[0] != mfs2[0] {
		t.Fatalf("one family changed: version %d then %d, %q", v2, v3, names(mfs3))
	}
	c.err = errors.New("broken")
	_, v4, err := m.GatherVersion()
	_, v5, _ := m.GatherVersion()
	if err == nil || v4 == v3 || v5 == v4 {
		t.Fatalf("an input failing: versions %d %d %d, error %v; want new versions and the error", v3, v4, v5, err)
	}
	a.mfs = append(a.mfs, family("a")) // a clash: Merge's fallback reports it
	c.err = nil
	if _, _, err := m.GatherVersion(); err == nil {
		t.Fatal("a family in two inputs: no error")
	}
}
