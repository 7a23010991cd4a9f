// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/scheduler"
)

// metricsFixture is a set of collectors split over two registries, served
// as the daemon serves them (LiveCaches merged by scheduler.MergeAll, a key
// the test moves) and as one plain registry.
type metricsFixture struct {
	key     atomic.Uint64
	counter *prometheus.CounterVec
	hist    prometheus.Histogram
	cached  http.Handler // NewHandler's /metrics
	plain   http.Handler // promhttp over one registry
}

func newMetricsFixture(t *testing.T) *metricsFixture {
	t.Helper()
	f := &metricsFixture{}
	f.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwatch_test_events_total", Help: "Test events."}, []string{"kind"})
	f.counter.WithLabelValues(`quote " backslash \ newline ` + "\n").Add(3)
	f.counter.WithLabelValues("plain").Add(12)
	f.hist = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailwatch_test_latency_seconds", Help: "Test latency.", Buckets: []float64{0.1, 1}})
	f.hist.Observe(0.3)
	sum := prometheus.NewSummary(prometheus.SummaryOpts{Name: "a_test_summary", Help: "Test summary.", Objectives: map[float64]float64{0.5: 0.05}})
	sum.Observe(2)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "zz_last", Help: "Sorts last."})
	g.Set(-1.5)
	untyped := prometheus.NewUntypedFunc(prometheus.UntypedOpts{Name: "mailwatch_test_untyped", Help: "Help with \\ and\nnewline."}, func() float64 { return 7 })

	a, b, one := prometheus.NewRegistry(), prometheus.NewRegistry(), prometheus.NewRegistry()
	a.MustRegister(f.counter, g)
	b.MustRegister(f.hist, sum, untyped)
	one.MustRegister(f.counter, g, f.hist, sum, untyped)
	keyOf := func(dst []uint64) []uint64 { return append(dst, f.key.Load()) }
	merged := scheduler.MergeAll(scheduler.NewLiveCache(a, keyOf, time.Hour), scheduler.NewLiveCache(b, keyOf, time.Hour))
	f.cached = NewHandler(Options{Gatherer: merged, Logger: zap.NewNop()})
	f.plain = promhttp.HandlerFor(one, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 10 * time.Second})
	return f
}

// TestCachedMetricsIdenticalToPromhttp: /metrics served from the encoded
// response of the current version is byte for byte what promhttp serves
// from one registry, in every format, escaping and encoding a client may
// negotiate (gzip streams included), whether encoded just now, served from
// the cache, or encoded again after a change; and requests the cache does
// not handle get promhttp's answer.
func TestCachedMetricsIdenticalToPromhttp(t *testing.T) {
	t.Parallel()
	f := newMetricsFixture(t)
	accepts := []string{
		"",
		"text/plain;version=0.0.4",
		"text/plain;version=1.0.0;escaping=allow-utf-8",
		"text/plain;version=1.0.0;escaping=underscores",
		"text/plain;version=1.0.0;escaping=dots",
		"application/openmetrics-text;version=1.0.0", // not offered: text
		// Prometheus 3's default scrape protocols.
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		"*/*",
	}
	encodings := []string{"", "gzip", "gzip, deflate, br", "identity, gzip", "br", "gzip;q=0", "*", "GZIP"}
	queries := []string{"", "?name[]=zz_last&name[]=mailwatch_test_events_total"}

	check := func(round string) {
		t.Helper()
		for _, accept := range accepts {
			for _, enc := range encodings {
				for _, q := range queries {
					req := func() *http.Request {
						r := httptest.NewRequest("GET", "/metrics"+q, nil)
						if accept != "" {
							r.Header.Set("Accept", accept)
						}
						if enc != "" {
							r.Header.Set("Accept-Encoding", enc)
						}
						return r
					}
					want, got := httptest.NewRecorder(), httptest.NewRecorder()
					f.plain.ServeHTTP(want, req())
					f.cached.ServeHTTP(got, req())
					what := round + ": Accept " + accept + ", Accept-Encoding " + enc + ", query " + q
					if want.Code != 200 || got.Code != 200 {
						t.Fatalf("%s: status %d promhttp, %d cached", what, want.Code, got.Code)
					}
					for _, h := range []string{"Content-Type", "Content-Encoding"} {
						if w, g := want.Header().Get(h), got.Header().Get(h); w != g {
							t.Errorf("%s: %s %q promhttp, %q cached", what, h, w, g)
						}
					}
					if w, g := want.Header().Values("Vary"), got.Header().Values("Vary"); len(w) != len(g) {
						t.Errorf("%s: Vary %q promhttp, %q cached", what, w, g)
					}
					if want.Body.Len() == 0 || !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
						t.Errorf("%s: bodies differ (%d and %d bytes):\npromhttp:\n%q\ncached:\n%q", what,
							want.Body.Len(), got.Body.Len(), want.Body, got.Body)
					}
				}
			}
		}
	}
	check("encoded")
	check("from the cache")
	f.counter.WithLabelValues("plain").Inc() // one registry changes, not the other
	f.key.Add(1)
	check("after a change")
	f.hist.Observe(5)
	f.counter.WithLabelValues("new").Inc()
	f.key.Add(1)
	check("after a change of both")
}

// TestCachedMetricsFollowsVersion: a change shows in the very next scrape
// once the key moved, and not before (the cache serves the families it
// gathered; the key is what says they changed).
func TestCachedMetricsFollowsVersion(t *testing.T) {
	t.Parallel()
	f := newMetricsFixture(t)
	scrape := func() string {
		rec := httptest.NewRecorder()
		f.cached.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	before := scrape()
	f.counter.WithLabelValues("plain").Add(30)
	if got := scrape(); got != before {
		t.Fatalf("served a change before the key moved: the cache is not in use")
	}
	f.key.Add(1)
	if got := scrape(); !bytes.Contains([]byte(got), []byte(`mailwatch_test_events_total{kind="plain"} 42`)) {
		t.Fatalf("the key moved, but the next scrape does not show the change:\n%s", got)
	}
}

func TestPlainGzip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values   []string
		gz, ok   bool
		whatWhat string
	}{
		{nil, false, true, "absent"},
		{[]string{""}, false, true, "empty"},
		{[]string{"gzip"}, true, true, "gzip"},
		{[]string{"deflate", "gzip"}, true, true, "two headers"},
		{[]string{"br, gzip, identity"}, false, true, "identity named"},
		{[]string{"br"}, false, true, "nothing offered"},
		{[]string{"gzip;q=0.5"}, false, false, "q-value"},
		{[]string{"*"}, false, false, "wildcard"},
		{[]string{"Gzip"}, false, false, "upper case"},
	} {
		gz, ok := plainGzip(tc.values)
		if gz != tc.gz || ok != tc.ok {
			t.Errorf("%s %q: gzip %v ok %v, want %v %v", tc.whatWhat, tc.values, gz, ok, tc.gz, tc.ok)
		}
	}
}
