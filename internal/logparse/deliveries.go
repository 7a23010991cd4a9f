// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// delayBuckets are the upper bounds, in seconds, of
// mailwatch_postfix_delivery_delay_seconds. delay= runs from the moment a
// message arrived to the end of one delivery attempt, so it spans local
// deliveries (tens of milliseconds), remote ones with TLS and content
// filters (seconds), connection and greeting timeouts (30 s is
// smtp_connect_timeout, 300 s smtp_helo_timeout) and then the retries of
// deferred mail: 300 s is minimal_backoff_time, 3600 s about
// maximal_backoff_time (4000 s), 4 h the deferred age of `mailwatchd check`
// and the shipped alert, 5 d maximal_queue_lifetime, when Postfix gives up.
// 15 finite buckets: enough to tell "slow" from "retried" from "stuck"
// without a series per second of resolution.
var delayBuckets = [...]float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 432000}

// delayBucketsUS are delayBuckets in microseconds, for the hot path.
var delayBucketsUS = func() []uint64 {
	out := make([]uint64, len(delayBuckets))
	for i, b := range delayBuckets {
		out[i] = uint64(math.Round(b * 1e6))
	}
	return out
}()

// histogramStatuses are the status label values of the histogram: the
// recipient lines, which carry a delay (expired lines do not).
var histogramStatuses = []maillog.DeliveryStatus{maillog.StatusSent, maillog.StatusDeferred, maillog.StatusBounced}

// delayHistogram is one series of the delay histogram. Buckets are kept
// non-cumulative (one atomic add per observation) and summed at collection;
// the count is their total, so _count and the +Inf bucket always agree.
// The sum is kept in microseconds, exactly: Postfix writes at most six
// decimals.
type delayHistogram struct {
	buckets [len(delayBuckets) + 1]atomic.Uint64 // the last is the +Inf bucket
	sumUS   atomic.Uint64
}

func (h *delayHistogram) observe(us uint64) {
	i := 0
	for i < len(delayBucketsUS) && us > delayBucketsUS[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumUS.Add(us)
}

// deliveryCounters are the counters of the delivery metrics but the
// per-provider ones (providerCounters, which follow the config).
type deliveryCounters struct {
	deliveries [maillog.NumTransports][maillog.NumStatuses][maillog.NumDeliveryReasons]atomic.Uint64
	delay      [maillog.NumTransports][maillog.NumStatuses]delayHistogram
	stagesUS   [maillog.NumStages]atomic.Uint64
}

// providerCounters are one provider's series.
type providerCounters struct {
	deliveries [maillog.NumStatuses][maillog.NumDeliveryReasons]atomic.Uint64
	sentDelay  delayHistogram // delay= of the status=sent lines
	lastSent   atomic.Uint64  // math.Float64bits of Unix seconds; 0 = none yet
}

// raiseLastSent sets the last-sent timestamp to t unless it is newer.
func (p *providerCounters) raiseLastSent(t time.Time) {
	v := float64(t.UnixNano()) / 1e9
	for {
		old := p.lastSent.Load()
		if v <= math.Float64frombits(old) || p.lastSent.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// record counts one delivery line. providers are the counters of
// the rule set's providers, in maillog.Delivery.Provider order.
func (c *deliveryCounters) record(providers []*providerCounters, d *maillog.Delivery) {
	c.deliveries[d.Transport][d.Status][d.Reason].Add(1)
	if d.HasDelay {
		c.delay[d.Transport][d.Status].observe(d.Delay)
		for i, v := range d.Stages {
			if v != 0 {
				c.stagesUS[i].Add(v)
			}
		}
	}
	if d.Status != maillog.StatusExpired && int(d.Provider) < len(providers) {
		p := providers[d.Provider]
		p.deliveries[d.Status][d.Reason].Add(1)
		if d.Status == maillog.StatusSent && d.HasDelay {
			p.sentDelay.observe(d.Delay)
		}
	}
}

// deliveryDescs are the descriptors of the delivery metrics.
type deliveryDescs struct {
	delay, stages, deliveries, providerDeliveries, providerLastSent, providerDelay *prometheus.Desc
}

func newDeliveryDescs(d func(sub, name, help string, labels ...string) *prometheus.Desc) deliveryDescs {
	return deliveryDescs{
		delay: d("postfix", "delivery_delay_seconds", "Postfix delivery delays (delay=: from the message's arrival to the end of the attempt), one observation per recipient status= line, by delivering daemon and status. Expired messages carry no delay and are not observed.",
			"transport", "status"),
		stages: d("postfix", "delivery_delay_stage_seconds_total", "Sum of the four parts of Postfix's delays=a/b/c/d over the recipient status= lines: before the queue manager, in the queue manager, connection setup (DNS, HELO, TLS), transmission.",
			"stage"),
		deliveries: d("postfix", "deliveries_total", "Postfix recipient status= lines (sent, deferred, bounced) and expired messages, by delivering daemon, status and the class of the reply (none for sent and expired). A combination appears once counted.",
			"transport", "status", "reason"),
		providerDeliveries: d("postfix", "provider_deliveries_total", "Postfix recipient status= lines by mailbox provider (logs.providers: relay host, else recipient domain), status and reply class. A combination appears once counted.",
			"provider", "status", "reason"),
		providerLastSent: d("postfix", "provider_last_sent_timestamp_seconds", "Time written in the last status=sent line of the mailbox provider, in Unix seconds; absent before the first.",
			"provider"),
		providerDelay: d("postfix", "provider_delivery_delay_seconds", "Postfix delivery delays (delay=) of the status=sent lines, by mailbox provider (logs.providers); the same buckets as mailwatch_postfix_delivery_delay_seconds. A provider appears once it was delivered to.",
			"provider"),
	}
}

func (d *deliveryDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.delay, d.stages, d.deliveries, d.providerDeliveries, d.providerLastSent, d.providerDelay}
}

func usToSeconds(us uint64) float64 { return float64(us) / 1e6 }

// collect sends the delivery series but the per-provider ones. The stage
// series always exist; the others once counted.
func (c *deliveryCounters) collect(d *deliveryDescs, ch chan<- prometheus.Metric) {
	for s := range maillog.NumStages {
		ch <- prometheus.MustNewConstMetric(d.stages, prometheus.CounterValue, usToSeconds(c.stagesUS[s].Load()), s.String())
	}
	for t := range maillog.NumTransports {
		for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
			for r := range maillog.NumDeliveryReasons {
				if v := c.deliveries[t][s][r].Load(); v != 0 {
					ch <- prometheus.MustNewConstMetric(d.deliveries, prometheus.CounterValue, float64(v), t.String(), s.String(), r.String())
				}
			}
		}
		for _, s := range histogramStatuses {
			c.delay[t][s].collect(d.delay, ch, t.String(), s.String())
		}
	}
}

// collect sends the histogram as one series with the given label values,
// unless nothing was observed.
func (h *delayHistogram) collect(desc *prometheus.Desc, ch chan<- prometheus.Metric, labels ...string) {
	var counts [len(delayBuckets) + 1]uint64
	var total uint64
	for i := range counts {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return
	}
	cum := make(map[float64]uint64, len(delayBuckets))
	var run uint64
	for i, ub := range delayBuckets {
		run += counts[i]
		cum[ub] = run
	}
	ch <- prometheus.MustNewConstHistogram(desc, total, usToSeconds(h.sumUS.Load()), cum, labels...)
}

func (p *providerCounters) collect(d *deliveryDescs, name string, ch chan<- prometheus.Metric) {
	p.sentDelay.collect(d.providerDelay, ch, name)
	for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
		for r := range maillog.NumDeliveryReasons {
			if v := p.deliveries[s][r].Load(); v != 0 {
				ch <- prometheus.MustNewConstMetric(d.providerDeliveries, prometheus.CounterValue, float64(v), name, s.String(), r.String())
			}
		}
	}
	if ts := p.lastSent.Load(); ts != 0 {
		ch <- prometheus.MustNewConstMetric(d.providerLastSent, prometheus.GaugeValue, math.Float64frombits(ts), name)
	}
}

// Persisted form (see counterState). Keys join label values with '/'.

// histogramState is one series of the delay histogram.
type histogramState struct {
	// Buckets are per bucket, not cumulative, in delay_bounds order, the
	// +Inf bucket last.
	Buckets []uint64 `json:"buckets"`
	SumUS   uint64   `json:"sum_us"`
}

// providerState is one provider's persisted series.
type providerState struct {
	Deliveries map[string]uint64 `json:"deliveries,omitempty"` // "status/reason"
	LastSent   float64           `json:"last_sent_timestamp,omitempty"`
	SentDelay  *histogramState   `json:"sent_delay,omitempty"` // in counterState.DelayBounds
}

func (c *deliveryCounters) snapshot(st *counterState) {
	st.Deliveries = map[string]uint64{}
	st.DelayStagesUS = map[string]uint64{}
	st.Delay = map[string]histogramState{}
	st.DelayBounds = delayBuckets[:]
	for s := range maillog.NumStages {
		putNonZero(st.DelayStagesUS, s.String(), c.stagesUS[s].Load())
	}
	for t := range maillog.NumTransports {
		for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
			for r := range maillog.NumDeliveryReasons {
				putNonZero(st.Deliveries, t.String()+"/"+s.String()+"/"+r.String(), c.deliveries[t][s][r].Load())
			}
		}
		for _, s := range histogramStatuses {
			if hs, ok := c.delay[t][s].snapshot(); ok {
				st.Delay[t.String()+"/"+s.String()] = hs
			}
		}
	}
}

// restore loads persisted values. A histogram saved with other bucket
// bounds (another version) is dropped: Prometheus sees a counter reset.
func (c *deliveryCounters) restore(st *counterState) {
	for s := range maillog.NumStages {
		c.stagesUS[s].Store(st.DelayStagesUS[s.String()])
	}
	sameBounds := slices.Equal(st.DelayBounds, delayBuckets[:])
	for t := range maillog.NumTransports {
		for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
			for r := range maillog.NumDeliveryReasons {
				c.deliveries[t][s][r].Store(st.Deliveries[t.String()+"/"+s.String()+"/"+r.String()])
			}
		}
		for _, s := range histogramStatuses {
			hs, ok := st.Delay[t.String()+"/"+s.String()]
			c.delay[t][s].restore(hs, ok && sameBounds)
		}
	}
}

// snapshot is the persisted form of the histogram; false when it is empty.
func (h *delayHistogram) snapshot() (histogramState, bool) {
	hs := histogramState{Buckets: make([]uint64, len(delayBuckets)+1), SumUS: h.sumUS.Load()}
	var total uint64
	for i := range hs.Buckets {
		hs.Buckets[i] = h.buckets[i].Load()
		total += hs.Buckets[i]
	}
	return hs, total != 0 || hs.SumUS != 0
}

// restore loads a persisted histogram; one saved with other bounds (use
// false), or with another bucket count, is dropped: a counter reset.
func (h *delayHistogram) restore(hs histogramState, use bool) {
	if !use || len(hs.Buckets) != len(delayBuckets)+1 {
		hs = histogramState{}
	}
	for i := range h.buckets {
		var v uint64
		if i < len(hs.Buckets) {
			v = hs.Buckets[i]
		}
		h.buckets[i].Store(v)
	}
	h.sumUS.Store(hs.SumUS)
}

func (p *providerCounters) snapshot() providerState {
	ps := providerState{Deliveries: map[string]uint64{}, LastSent: math.Float64frombits(p.lastSent.Load())}
	if hs, ok := p.sentDelay.snapshot(); ok {
		ps.SentDelay = &hs
	}
	for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
		for r := range maillog.NumDeliveryReasons {
			putNonZero(ps.Deliveries, s.String()+"/"+r.String(), p.deliveries[s][r].Load())
		}
	}
	return ps
}

func (p *providerCounters) restore(ps providerState, sameBounds bool) {
	var hs histogramState
	if ps.SentDelay != nil {
		hs = *ps.SentDelay
	}
	p.sentDelay.restore(hs, ps.SentDelay != nil && sameBounds)
	for s := maillog.StatusNone + 1; s < maillog.NumStatuses; s++ {
		for r := range maillog.NumDeliveryReasons {
			p.deliveries[s][r].Store(ps.Deliveries[s.String()+"/"+r.String()])
		}
	}
	var ts uint64
	if ps.LastSent > 0 {
		ts = math.Float64bits(ps.LastSent)
	}
	p.lastSent.Store(ts)
}
