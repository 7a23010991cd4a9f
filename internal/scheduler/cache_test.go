// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// text renders families as the text exposition format, failing on a gather
// error.
func text(t *testing.T, mfs []*dto.MetricFamily, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// scrapeText gathers g and renders the result as text.
func scrapeText(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	return text(t, mfs, err)
}

// sameFamilies reports whether two gathers returned the very same family
// objects, i.e. the second was served from the cache.
func sameFamilies(a, b []*dto.MetricFamily) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCacheFollowsRunsAndStaleWindow walks one collector through runs that
// succeed, fail and go stale, with a maxAge far longer than the test, so
// that only the generation and the stale window can refresh the cache.
func TestCacheFollowsRunsAndStaleWindow(t *testing.T) {
	t.Parallel()
	const interval = time.Minute
	c, results := steppedCollector()
	s, clock := newFakeScheduler()
	j := job("c", c, interval, time.Hour)
	// Run 3 fails within run 2's window (an interval after it, at most
	// 66 s), and run 4 is due at least 54 s after run 3, past the window's
	// end (108 s after run 2): no run starts while the window runs out.
	j.StaleAfter = 100 * time.Second
	cache := NewCache(s, time.Hour)
	s.Apply([]Job{j})
	defer func() { close(results); s.Stop() }()

	results <- nil // run 1 succeeds with value 1
	clock.waitFor(t, "run 1", func() bool { return status(s, "c").Runs == 1 })
	first, err := cache.Gather()
	if out := text(t, first, err); !strings.Contains(out, `mailwatch_test_value{source="run"} 1`+"\n") {
		t.Fatalf("want value 1 after run 1:\n%s", out)
	}
	// Nothing changed: the same families are served again, not re-gathered.
	if again, _ := cache.Gather(); !sameFamilies(first, again) {
		t.Fatal("second scrape without a change was gathered again; the cache is not used")
	}

	clock.nextRun(t, interval)
	results <- nil // run 2: the very next scrape must show it
	clock.waitFor(t, "run 2", func() bool { return status(s, "c").Runs == 2 })
	out := scrapeText(t, cache)
	for _, want := range []string{`mailwatch_test_value{source="run"} 2` + "\n", `mailwatch_collector_runs_total{collector="c"} 2` + "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("scrape right after run 2 lacks %q:\n%s", want, out)
		}
	}

	clock.nextRun(t, interval)
	results <- errors.New("down") // run 3 fails: value 2 stays, success drops to 0
	clock.waitFor(t, "run 3", func() bool { return status(s, "c").Runs == 3 })
	kept, err := cache.Gather()
	out = text(t, kept, err)
	if !strings.Contains(out, `mailwatch_test_value{source="run"} 2`+"\n") || !strings.Contains(out, `mailwatch_collector_success{collector="c"} 0`) {
		t.Fatalf("want the last good value 2 and success 0 after a failed run:\n%s", out)
	}

	edge := status(s, "c").LastSuccess.Add(j.StaleAfter)
	clock.Advance(edge.Sub(clock.Now())) // exactly at the edge of run 2's stale window
	out = scrapeText(t, cache)
	if !strings.Contains(out, `mailwatch_test_value{source="run"} 2`) {
		t.Fatalf("snapshot dropped before its stale window ended:\n%s", out)
	}
	clock.Advance(time.Nanosecond) // past it, and nowhere near maxAge
	out = scrapeText(t, cache)
	if strings.Contains(out, "mailwatch_test_value") {
		t.Fatalf("snapshot past its stale window still served from the cache:\n%s", out)
	}
	if uncached := gather(t, s); strings.Contains(uncached, "mailwatch_test_value") {
		t.Fatalf("uncached scrape disagrees:\n%s", uncached)
	}
}

// TestCacheMaxAge: a change that did not move the generation (none is
// known; this one is made behind the scheduler's back) is served once
// maxAge has passed, not before.
func TestCacheMaxAge(t *testing.T) {
	t.Parallel()
	s, clock := newFakeScheduler()
	RunOnce(context.Background(), s, []Job{job("c", &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
		ch <- value(1, "x")
		return nil
	}}, time.Hour, time.Minute)})
	cache := NewCache(s, time.Second)
	before := scrapeText(t, cache)

	st := s.states["c"]
	st.mu.Lock()
	st.runs = 42 // no s.changed()
	st.mu.Unlock()
	clock.Advance(time.Second - time.Nanosecond)
	if out := scrapeText(t, cache); out != before {
		t.Fatalf("re-gathered before maxAge without a generation change:\n%s", out)
	}
	clock.Advance(time.Nanosecond)
	if out := scrapeText(t, cache); !strings.Contains(out, `mailwatch_collector_runs_total{collector="c"} 42`) {
		t.Fatalf("change not served after maxAge:\n%s", out)
	}
}

func TestCacheFollowsApply(t *testing.T) {
	t.Parallel()
	ok := func(v float64) *fakeCollector {
		return &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			ch <- value(v, "x")
			return nil
		}}
	}
	s, clock := newFakeScheduler()
	cache := NewCache(s, time.Hour)
	s.Apply([]Job{job("a", ok(1), time.Hour, time.Minute)})
	defer s.Stop()
	clock.waitFor(t, "a's first run", func() bool { return status(s, "a").Runs == 1 })
	if out := scrapeText(t, cache); !strings.Contains(out, `collector="a"`) {
		t.Fatalf("a missing:\n%s", out)
	}

	block := make(chan struct{})
	defer close(block)
	s.Apply([]Job{job("b", &fakeCollector{update: func(context.Context, chan<- prometheus.Metric) error { <-block; return nil }}, time.Hour, time.Minute)})
	// b has not finished a run, but the job set changed: a is gone at once.
	out := scrapeText(t, cache)
	if strings.Contains(out, `collector="a"`) || strings.Contains(out, "mailwatch_test_value") || !strings.Contains(out, `mailwatch_collector_runs_total{collector="b"} 0`) {
		t.Fatalf("scrape after Apply still shows the removed collector or lacks the new one:\n%s", out)
	}
	s.Apply(nil)
	if out := scrapeText(t, cache); out != "" {
		t.Fatalf("no collector left, want an empty scrape:\n%s", out)
	}
}

// identicalScheduler runs, once each, collectors covering what the
// scheduler exports: success, failure after a success, not applicable,
// several types and label sets.
func identicalScheduler(t *testing.T) *Scheduler {
	t.Helper()
	counterDesc := prometheus.NewDesc("mailwatch_test_events_total", "Test events.", []string{"kind"}, nil)
	histDesc := prometheus.NewDesc("mailwatch_test_latency_seconds", "Test latency.", nil, nil)
	s := New(zap.NewNop())
	var calls atomic.Int64
	RunOnce(context.Background(), s, []Job{
		job("ok", &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			for i := range 30 {
				ch <- value(float64(i)/3, fmt.Sprintf("s%02d", i))
				ch <- prometheus.MustNewConstMetric(counterDesc, prometheus.CounterValue, float64(i*7), fmt.Sprintf("k%d", 29-i))
			}
			ch <- prometheus.MustNewConstHistogram(histDesc, 3, 1.5, map[float64]uint64{0.1: 1, 1: 3})
			return nil
		}}, time.Hour, time.Minute),
		job("absent", &fakeCollector{update: func(context.Context, chan<- prometheus.Metric) error {
			return fmt.Errorf("nothing here: %w", collectors.ErrNotApplicable)
		}}, time.Hour, time.Minute),
		job("flaky", &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("mailwatch_flaky_up", "Flaky.", nil, nil), prometheus.GaugeValue, 1)
			if calls.Add(1) > 1 {
				return errors.New("down")
			}
			return nil
		}}, time.Hour, time.Minute),
	})
	RunOnce(context.Background(), s, []Job{s.states["flaky"].job}) // fails, keeps its snapshot
	return s
}

// identicalLive is a live registry with nothing that moves by itself.
func identicalLive() []prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "mailwatch_config_last_reload_successful", Help: "Test."})
	g.Set(1)
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailwatch_log_lines_total", Help: "Test."}, []string{"source"})
	cv.WithLabelValues("mail").Add(12)
	cv.WithLabelValues("auth").Add(3)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "a_test_histogram_seconds", Help: "Test."})
	h.Observe(0.3)
	return []prometheus.Collector{g, cv, h, prometheus.NewGauge(prometheus.GaugeOpts{Name: "zz_last", Help: "Sorts last."})}
}

// TestCachedScrapeIdenticalToUncached serves /metrics as before (one
// registry with everything) and as now (Merge of a live registry and a
// Cache) and compares the responses byte for byte, in every format and
// encoding promhttp negotiates, gathered and served from the cache.
func TestCachedScrapeIdenticalToUncached(t *testing.T) {
	t.Parallel()
	s := identicalScheduler(t)
	live := identicalLive()
	one := prometheus.NewRegistry()
	one.MustRegister(append(live, s)...)
	rest := prometheus.NewRegistry()
	rest.MustRegister(live...)
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError}
	uncached := promhttp.HandlerFor(one, opts)

	for _, tc := range []struct{ name, accept, encoding, query string }{
		{"text", "", "", ""},
		{"text gzip", "text/plain;version=0.0.4", "gzip", ""},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", "", ""},
		{"openmetrics gzip", "application/openmetrics-text;version=1.0.0", "gzip", ""},
		{"protobuf", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "", ""},
		{"name filter", "", "", "?name[]=mailwatch_collector_success&name[]=mailwatch_log_lines_total"},
	} {
		cached := promhttp.HandlerFor(Merge(rest, NewCache(s, time.Hour)), opts)
		for _, round := range []string{"gathered", "from cache"} {
			t.Run(tc.name+" "+round, func(t *testing.T) {
				req := func() *http.Request {
					r := httptest.NewRequest("GET", "/metrics"+tc.query, nil)
					if tc.accept != "" {
						r.Header.Set("Accept", tc.accept)
					}
					if tc.encoding != "" {
						r.Header.Set("Accept-Encoding", tc.encoding)
					}
					return r
				}
				want, got := httptest.NewRecorder(), httptest.NewRecorder()
				uncached.ServeHTTP(want, req())
				cached.ServeHTTP(got, req())
				if want.Code != 200 || got.Code != 200 {
					t.Fatalf("status %d uncached, %d cached", want.Code, got.Code)
				}
				for _, h := range []string{"Content-Type", "Content-Encoding"} {
					if w, g := want.Header().Get(h), got.Header().Get(h); w != g {
						t.Errorf("%s: %q uncached, %q cached", h, w, g)
					}
				}
				if !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
					t.Errorf("bodies differ:\nuncached:\n%s\ncached:\n%s", want.Body, got.Body)
				}
				if want.Body.Len() == 0 {
					t.Error("empty body")
				}
			})
		}
	}
}

// TestCachedScrapesDuringRuns scrapes through Merge from several goroutines
// while collectors run every millisecond (run with -race). Every scrape must
// show whole runs (all series of a run carry its number, runs_total agrees),
// never go back in time, and include every run that Statuses reported
// before the scrape began.
func TestCachedScrapesDuringRuns(t *testing.T) {
	t.Parallel()
	const collectorsN, seriesN = 4, 20
	s := New(zap.NewNop())
	var jobs []Job
	for i := range collectorsN {
		var runs atomic.Int64
		jobs = append(jobs, job(fmt.Sprintf("c%d", i), &fakeCollector{update: func(_ context.Context, ch chan<- prometheus.Metric) error {
			r := float64(runs.Add(1))
			for k := range seriesN {
				ch <- value(r, fmt.Sprintf("c%d_%02d", i, k))
			}
			return nil
		}}, time.Millisecond, time.Minute))
	}
	live := prometheus.NewRegistry()
	lines := prometheus.NewCounter(prometheus.CounterOpts{Name: "mailwatch_log_lines_total", Help: "Test."})
	live.MustRegister(lines)
	g := Merge(live, NewCache(s, time.Second))
	s.Apply(jobs)
	defer s.Stop()

	// check returns each collector's run number as the scrape shows it.
	check := func(mfs []*dto.MetricFamily, err error) (map[string]float64, error) {
		if err != nil {
			return nil, err
		}
		runsTotal := map[string]float64{}
		seen := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				switch mf.GetName() {
				case "mailwatch_collector_runs_total":
					runsTotal[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
				case "mailwatch_test_value":
					c, _, _ := strings.Cut(m.GetLabel()[0].GetValue(), "_")
					if v, ok := seen[c]; ok && v != m.GetGauge().GetValue() {
						return nil, fmt.Errorf("%s: series from runs %g and %g in one scrape", c, v, m.GetGauge().GetValue())
					}
					seen[c] = m.GetGauge().GetValue()
				}
			}
		}
		for c, v := range seen {
			if runsTotal[c] != v {
				return nil, fmt.Errorf("%s: snapshot of run %g but runs_total %g", c, v, runsTotal[c])
			}
		}
		return runsTotal, nil
	}

	stop := time.Now().Add(300 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := map[string]float64{}
			for time.Now().Before(stop) {
				runs, err := check(g.Gather())
				if err != nil {
					errs <- err
					return
				}
				for c, v := range runs {
					if v < last[c] {
						errs <- fmt.Errorf("%s went back from run %g to %g", c, last[c], v)
						return
					}
					last[c] = v
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // freshness: a run Statuses reports is in the next scrape
		defer wg.Done()
		for n := 1; time.Now().Before(stop); n++ {
			lines.Inc() // live: every scrape has the current value
			before := s.Statuses()
			mfs, err := g.Gather()
			runs, err := check(mfs, err)
			if err != nil {
				errs <- err
				return
			}
			for _, st := range before {
				if runs[st.Name] < float64(st.Runs) {
					errs <- fmt.Errorf("%s: Statuses showed run %d, the next scrape only run %g", st.Name, st.Runs, runs[st.Name])
					return
				}
			}
			if txt := text(t, mfs, nil); !strings.Contains(txt, fmt.Sprintf("mailwatch_log_lines_total %d\n", n)) {
				errs <- fmt.Errorf("live counter not current:\n%s", txt)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if status(s, "c0").Runs < 10 {
		t.Errorf("only %d runs during the test; it proves little", status(s, "c0").Runs)
	}
}

// TestMergeClash: a family in both inputs, or a histogram in one and its
// _count in the other, is reported as a single registry would, and a name
// that only looks like a clash is served in full.
func TestMergeClash(t *testing.T) {
	t.Parallel()
	reg := func(cs ...prometheus.Collector) prometheus.Gatherer {
		r := prometheus.NewRegistry()
		r.MustRegister(cs...)
		return r
	}
	gauge := func(name string) prometheus.Collector {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "Test."})
	}
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mailwatch_test_wait_seconds", Help: "Test."})

	mfs, err := Merge(reg(gauge("mailwatch_a"), gauge("mailwatch_same")), reg(gauge("mailwatch_same"), gauge("mailwatch_z"))).Gather()
	if err == nil {
		t.Error("same family in both: no error")
	}
	if out := text(t, mfs, nil); strings.Count(out, "# TYPE mailwatch_same ") != 1 || !strings.Contains(out, "mailwatch_a 0") || !strings.Contains(out, "mailwatch_z 0") {
		t.Errorf("want the clashing family once and the rest served:\n%s", out)
	}

	if _, err := Merge(reg(hist), reg(gauge("mailwatch_test_wait_seconds_count"))).Gather(); err == nil {
		t.Error("histogram in one, its _count in the other: no error")
	}
	if _, err := Merge(reg(gauge("mailwatch_test_wait_seconds_bucket")), reg(hist)).Gather(); err == nil {
		t.Error("_bucket in one, its histogram in the other: no error")
	}
	mfs, err = Merge(reg(gauge("mailwatch_b")), reg(gauge("mailwatch_b_count"))).Gather()
	if out := text(t, mfs, err); !strings.Contains(out, "mailwatch_b 0") || !strings.Contains(out, "mailwatch_b_count 0") {
		t.Errorf("two gauges that merely look related must both be served:\n%s", out)
	}
}
