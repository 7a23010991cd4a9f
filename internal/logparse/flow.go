// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// sizeBuckets are the upper bounds, in bytes, of
// mailwatch_postfix_message_size_bytes (qmgr's size=, the queue file's
// message content). A plain text mail is 2-10 KiB, an HTML one or a
// newsletter 20-100 KiB, a mail with an office document or a photo a few
// MiB; 10240000 is Postfix's default message_size_limit, and 25 MiB and
// 50 MiB the limits admins raise it to (the big providers accept 20-25 MiB).
var sizeBuckets = []uint64{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 10240000, 25 << 20, 50 << 20}

// rcptBuckets are the upper bounds of mailwatch_postfix_message_recipients
// (qmgr's nrcpt=): most mail has one recipient, a reply-to-all a handful, a
// team list tens, a mailing list hundreds; 1000 is Postfix's default
// smtpd_recipient_limit per SMTP transaction.
var rcptBuckets = []uint64{1, 2, 5, 10, 20, 50, 100, 1000}

// uintHistogram is a histogram of whole numbers with fixed bounds: per-bucket
// (non-cumulative) atomic counts, the last for +Inf, and an exact sum.
type uintHistogram struct {
	bounds  []uint64
	buckets []atomic.Uint64
	sum     atomic.Uint64
}

func newUintHistogram(bounds []uint64) *uintHistogram {
	return &uintHistogram{bounds: bounds, buckets: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *uintHistogram) observe(v uint64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sum.Add(v)
}

func (h *uintHistogram) metric(d *prometheus.Desc) prometheus.Metric {
	cum := make(map[float64]uint64, len(h.bounds))
	var run uint64
	for i, b := range h.bounds {
		run += h.buckets[i].Load()
		cum[float64(b)] = run
	}
	run += h.buckets[len(h.bounds)].Load()
	return prometheus.MustNewConstHistogram(d, run, float64(h.sum.Load()), cum)
}

// uintHistogramState is the persisted form: the bounds it was counted
// with, the per-bucket counts (+Inf last) and the sum.
type uintHistogramState struct {
	Bounds  []uint64 `json:"bounds"`
	Buckets []uint64 `json:"buckets"`
	Sum     uint64   `json:"sum"`
}

func (h *uintHistogram) snapshot() *uintHistogramState {
	st := &uintHistogramState{Bounds: h.bounds, Buckets: make([]uint64, len(h.buckets)), Sum: h.sum.Load()}
	for i := range h.buckets {
		st.Buckets[i] = h.buckets[i].Load()
	}
	return st
}

// restore loads st; one counted with other bounds (another version) is
// dropped, and Prometheus sees a counter reset.
func (h *uintHistogram) restore(st *uintHistogramState) {
	if st == nil || !slices.Equal(st.Bounds, h.bounds) || len(st.Buckets) != len(h.buckets) {
		st = &uintHistogramState{Buckets: make([]uint64, len(h.buckets))}
	}
	for i := range h.buckets {
		h.buckets[i].Store(st.Buckets[i])
	}
	h.sum.Store(st.Sum)
}

// serviceCounters are one smtpd service's series.
type serviceCounters struct {
	connections atomic.Uint64
	lost        [maillog.NumSMTPStages]atomic.Uint64
}

// queueIDSet remembers the queue ids whose size line was observed, so that
// a deferred message that re-enters the active queue is observed once, as
// pflogsumm counts a message's size once per queue id. It is bounded: a
// fixed table of 64-bit hashes of the ids, in which an id is looked for in
// a window of qidWindow slots; qmgr's "QID: removed" frees its slot, and
// when the window is full the oldest-placed slot is overwritten. So it
// holds every message still in the queue unless more than qidSlots
// (65536) ids were seen without their removal, and costs 512 KiB.
type queueIDSet struct {
	mu    sync.Mutex
	slots [qidSlots]uint64
	next  [qidSlots / qidWindow]uint8 // per window: the slot to overwrite next
}

const (
	qidSlots  = 1 << 16
	qidWindow = 8
)

// qidHash is FNV-1a (64 bits) of the queue id, never 0 (0 is a free slot).
func qidHash(qid []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range qid {
		h ^= uint64(c)
		h *= 1099511628211
	}
	if h == 0 {
		return 1
	}
	return h
}

// add records h and reports whether it was new.
func (s *queueIDSet) add(h uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := int(h % (qidSlots / qidWindow))
	win := s.slots[w*qidWindow : (w+1)*qidWindow]
	free := -1
	for i, v := range win {
		if v == h {
			return false
		}
		if v == 0 && free < 0 {
			free = i
		}
	}
	if free < 0 {
		free = int(s.next[w])
		s.next[w] = uint8((free + 1) % qidWindow)
	}
	win[free] = h
	return true
}

// remove forgets h.
func (s *queueIDSet) remove(h uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := int(h % (qidSlots / qidWindow))
	for i := w * qidWindow; i < (w+1)*qidWindow; i++ {
		if s.slots[i] == h {
			s.slots[i] = 0
		}
	}
}

func (s *queueIDSet) snapshot() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	for _, v := range s.slots {
		if v != 0 {
			out = append(out, v)
		}
	}
	return out
}

func (s *queueIDSet) restore(hs []uint64) {
	s.mu.Lock()
	s.slots = [qidSlots]uint64{}
	s.next = [qidSlots / qidWindow]uint8{}
	s.mu.Unlock()
	for _, h := range hs {
		if h != 0 {
			s.add(h)
		}
	}
}

// flowCounters are the counters of the flow metrics but the per-service
// ones (serviceCounters, which follow the config).
type flowCounters struct {
	tls        [maillog.NumTLSDirections][maillog.NumTLSTrusts]atomic.Uint64
	postscreen [maillog.NumPostscreenEvents]atomic.Uint64
	verdicts   [maillog.NumScanners][maillog.NumVerdicts]atomic.Uint64
	size       *uintHistogram
	rcpts      *uintHistogram
	queueIDs   queueIDSet
	// The time of the newest line of each built-in event and Postfix
	// action: math.Float64bits of Unix seconds, 0 for none yet.
	lastEvent  [maillog.NumEvents]atomic.Uint64
	lastAction [maillog.NumActions]atomic.Uint64
}

func newFlowCounters() flowCounters {
	return flowCounters{size: newUintHistogram(sizeBuckets), rcpts: newUintHistogram(rcptBuckets)}
}

// record counts the flow part of one classified line. services are the
// counters of the rule set's services, in maillog.Flow.Service order.
func (c *flowCounters) record(services []*serviceCounters, f *maillog.Flow) {
	switch {
	case f.Conn != maillog.ConnNone:
		if int(f.Service) < len(services) {
			sc := services[f.Service]
			if f.Conn == maillog.ConnConnect {
				sc.connections.Add(1)
			} else {
				sc.lost[f.After].Add(1)
			}
		}
	case f.TLSTrust != maillog.TrustNone:
		c.tls[f.TLSDir][f.TLSTrust].Add(1)
	case f.Postscreen != maillog.PSNone:
		c.postscreen[f.Postscreen].Add(1)
	case f.Scanner != maillog.ScannerNone:
		c.verdicts[f.Scanner][f.Verdict].Add(1)
	case f.HasSize:
		if f.QueueID == nil || c.queueIDs.add(qidHash(f.QueueID)) {
			c.size.observe(f.Size)
			c.rcpts.observe(f.Rcpts)
		}
	case f.Removed:
		c.queueIDs.remove(qidHash(f.QueueID))
	}
}

// raise sets a timestamp slot to t unless it holds a newer time.
func raise(slot *atomic.Uint64, t time.Time) {
	v := float64(t.UnixNano()) / 1e9
	for {
		old := slot.Load()
		if v <= math.Float64frombits(old) || slot.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// flowDescs are the descriptors of the flow metrics.
type flowDescs struct {
	connections, lost, tls, size, rcpts, postscreen, verdicts, lastEvent, lastAction *prometheus.Desc
}

func newFlowDescs(d func(sub, name, help string, labels ...string) *prometheus.Desc) flowDescs {
	return flowDescs{
		connections: d("postfix", "smtpd_connections_total", "Connections the Postfix SMTP server accepted (\"connect from\" lines of smtpd; postscreen's are not counted), by master.cf service (logs.services, from the syslog name; other for the rest).",
			"service"),
		lost: d("postfix", "smtpd_lost_connections_total", "Connections the client dropped during the SMTP session (smtpd's \"lost connection after STAGE\"), by service and stage. Timeouts and too many errors are not counted.",
			"service", "after"),
		tls: d("postfix", "tls_connections_total", "TLS connections Postfix established (\"<Trust> TLS connection established\"), in (from clients) and out (to servers), by the trust in the peer's certificate.",
			"direction", "trust"),
		size:  d("postfix", "message_size_bytes", "Sizes of the messages the Postfix queue manager took into the active queue (qmgr's size=), observed once per queue id."),
		rcpts: d("postfix", "message_recipients", "Recipient counts of the messages the Postfix queue manager took into the active queue (qmgr's nrcpt=), observed once per queue id."),
		postscreen: d("postfix", "postscreen_events_total", "Postscreen verdicts: tests passed (new, old), failed (pregreet, dnsbl, hangup, pipelining, non-SMTP command, bare newline), the permanent allow and deny lists, rejects and other verdicts.",
			"event"),
		verdicts: d("antispam", "verdicts_total", "Messages scanned, by scanner and verdict: rspamd's action, amavis' content category, SpamAssassin spamd's result, ClamAV's infected files.",
			"scanner", "verdict"),
		lastEvent: d("log", "last_event_timestamp_seconds", "Time written in the newest line of each built-in event, in Unix seconds; absent before the first.",
			"event"),
		lastAction: d("postfix", "last_action_timestamp_seconds", "Time written in the newest Postfix line of each action of mailwatch_postfix_messages_total, in Unix seconds; absent before the first.",
			"action"),
	}
}

func (d *flowDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.connections, d.lost, d.tls, d.size, d.rcpts, d.postscreen, d.verdicts, d.lastEvent, d.lastAction}
}

// collect sends the flow series but the per-service ones. The enumerated
// series always exist; the timestamps once seen.
func (c *flowCounters) collect(d *flowDescs, ch chan<- prometheus.Metric) {
	for dir := range maillog.NumTLSDirections {
		for t := maillog.TrustNone + 1; t < maillog.NumTLSTrusts; t++ {
			ch <- prometheus.MustNewConstMetric(d.tls, prometheus.CounterValue, float64(c.tls[dir][t].Load()), dir.String(), t.String())
		}
	}
	for e := maillog.PSNone + 1; e < maillog.NumPostscreenEvents; e++ {
		ch <- prometheus.MustNewConstMetric(d.postscreen, prometheus.CounterValue, float64(c.postscreen[e].Load()), e.String())
	}
	for s := maillog.ScannerNone + 1; s < maillog.NumScanners; s++ {
		for _, v := range maillog.ScannerVerdicts[s] {
			ch <- prometheus.MustNewConstMetric(d.verdicts, prometheus.CounterValue, float64(c.verdicts[s][v].Load()), s.String(), v.String())
		}
	}
	ch <- c.size.metric(d.size)
	ch <- c.rcpts.metric(d.rcpts)
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		if ts := c.lastEvent[e].Load(); ts != 0 {
			ch <- prometheus.MustNewConstMetric(d.lastEvent, prometheus.GaugeValue, math.Float64frombits(ts), e.String())
		}
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		if ts := c.lastAction[a].Load(); ts != 0 {
			ch <- prometheus.MustNewConstMetric(d.lastAction, prometheus.GaugeValue, math.Float64frombits(ts), a.String())
		}
	}
}

func (s *serviceCounters) collect(d *flowDescs, name string, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(d.connections, prometheus.CounterValue, float64(s.connections.Load()), name)
	for a := range maillog.NumSMTPStages {
		ch <- prometheus.MustNewConstMetric(d.lost, prometheus.CounterValue, float64(s.lost[a].Load()), name, a.String())
	}
}

// serviceState is one service's persisted series.
type serviceState struct {
	Connections uint64            `json:"connections,omitempty"`
	Lost        map[string]uint64 `json:"lost,omitempty"` // by after
}

func (s *serviceCounters) snapshot() serviceState {
	st := serviceState{Connections: s.connections.Load(), Lost: map[string]uint64{}}
	for a := range maillog.NumSMTPStages {
		putNonZero(st.Lost, a.String(), s.lost[a].Load())
	}
	return st
}

func (s *serviceCounters) restore(st serviceState) {
	s.connections.Store(st.Connections)
	for a := range maillog.NumSMTPStages {
		s.lost[a].Store(st.Lost[a.String()])
	}
}

func (c *flowCounters) snapshot(st *counterState) {
	st.TLS, st.Postscreen, st.Verdicts = map[string]uint64{}, map[string]uint64{}, map[string]uint64{}
	st.LastEvent, st.LastAction = map[string]float64{}, map[string]float64{}
	for dir := range maillog.NumTLSDirections {
		for t := maillog.TrustNone + 1; t < maillog.NumTLSTrusts; t++ {
			putNonZero(st.TLS, dir.String()+"/"+t.String(), c.tls[dir][t].Load())
		}
	}
	for e := maillog.PSNone + 1; e < maillog.NumPostscreenEvents; e++ {
		putNonZero(st.Postscreen, e.String(), c.postscreen[e].Load())
	}
	for s := maillog.ScannerNone + 1; s < maillog.NumScanners; s++ {
		for _, v := range maillog.ScannerVerdicts[s] {
			putNonZero(st.Verdicts, s.String()+"/"+v.String(), c.verdicts[s][v].Load())
		}
	}
	st.MessageSize, st.MessageRecipients = c.size.snapshot(), c.rcpts.snapshot()
	st.QueueIDs = c.queueIDs.snapshot()
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		if ts := c.lastEvent[e].Load(); ts != 0 {
			st.LastEvent[e.String()] = math.Float64frombits(ts)
		}
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		if ts := c.lastAction[a].Load(); ts != 0 {
			st.LastAction[a.String()] = math.Float64frombits(ts)
		}
	}
}

// restore loads persisted values; a state file of an older version has
// none of them, and they start at zero (absent for the timestamps).
func (c *flowCounters) restore(st *counterState) {
	for dir := range maillog.NumTLSDirections {
		for t := maillog.TrustNone + 1; t < maillog.NumTLSTrusts; t++ {
			c.tls[dir][t].Store(st.TLS[dir.String()+"/"+t.String()])
		}
	}
	for e := maillog.PSNone + 1; e < maillog.NumPostscreenEvents; e++ {
		c.postscreen[e].Store(st.Postscreen[e.String()])
	}
	for s := maillog.ScannerNone + 1; s < maillog.NumScanners; s++ {
		for _, v := range maillog.ScannerVerdicts[s] {
			c.verdicts[s][v].Store(st.Verdicts[s.String()+"/"+v.String()])
		}
	}
	c.size.restore(st.MessageSize)
	c.rcpts.restore(st.MessageRecipients)
	c.queueIDs.restore(st.QueueIDs)
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		c.lastEvent[e].Store(floatBits(st.LastEvent[e.String()]))
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		c.lastAction[a].Store(floatBits(st.LastAction[a.String()]))
	}
}

// floatBits stores a persisted timestamp: 0 (none) for anything not
// positive.
func floatBits(v float64) uint64 {
	if v > 0 && !math.IsInf(v, 0) {
		return math.Float64bits(v)
	}
	return 0
}
