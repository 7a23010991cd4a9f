// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"math"
	"math/bits"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// sourceCounters are the self-health counters of one configured source:
// what its sink counts of the lines, and what its follower met.
type sourceCounters struct {
	follow.Stats
	lines      atomic.Uint64
	malformed  atomic.Uint64
	lastLineTS atomic.Uint64 // math.Float64bits of Unix seconds; 0 = no line yet
}

// counters are the pipeline's counters. They are created once and survive
// reloads; the set of rule and source series changes with the config.
type counters struct {
	events    [maillog.NumEvents]atomic.Uint64
	actions   [maillog.NumActions]atomic.Uint64
	reasons   [maillog.NumReasons]atomic.Uint64
	unmatched [maillog.NumPrograms]atomic.Uint64
	delivery  deliveryCounters
	flow      flowCounters
	sasl      *saslTracker

	stateSaveFailures atomic.Uint64
	gen               atomic.Uint64 // moves at every change the scrape key must see (scrapekey.go)

	mu        sync.Mutex
	rules     map[string]*atomic.Uint64
	providers map[string]*providerCounters
	services  map[string]*serviceCounters
	sources   map[string]*sourceCounters
}

func newCounters() *counters {
	return &counters{rules: map[string]*atomic.Uint64{}, providers: map[string]*providerCounters{},
		services: map[string]*serviceCounters{}, sources: map[string]*sourceCounters{}, flow: newFlowCounters(),
		sasl: newSASLTracker(time.Now)}
}

// ruleSet pairs a classifier with the counters of its user rules, in the
// classifier's rule index order, of its providers, in
// maillog.Delivery.Provider order, and of its services, in
// maillog.Flow.Service order. It is swapped as a whole on reload.
type ruleSet struct {
	cls              *maillog.Classifier
	ruleCounters     []*atomic.Uint64
	providerCounters []*providerCounters
	serviceCounters  []*serviceCounters
}

// newRuleSet compiles rules, providers and services (nil: the default
// services) and binds them to counters, keeping the values of rules,
// providers and services that already exist and dropping the series of
// removed ones.
func (c *counters) newRuleSet(rules []RuleConfig, providers []ProviderConfig, services []string) (*ruleSet, error) {
	mr := make([]maillog.Rule, len(rules))
	for i, r := range rules {
		mr[i] = maillog.Rule{Name: r.Name, Program: r.Program, Match: r.Match.Regexp}
	}
	if services == nil {
		services = maillog.DefaultServices()
	}
	cls, err := maillog.NewClassifier(mr, classifierProviders(providers), services...)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := make(map[string]*atomic.Uint64, len(rules))
	rs := &ruleSet{cls: cls, ruleCounters: make([]*atomic.Uint64, len(rules))}
	for i, r := range rules {
		ctr := c.rules[r.Name]
		if ctr == nil {
			ctr = new(atomic.Uint64)
		}
		keep[r.Name] = ctr
		rs.ruleCounters[i] = ctr
	}
	c.rules = keep
	keepProv := map[string]*providerCounters{}
	for _, name := range cls.ProviderNames() {
		pc := c.providers[name]
		if pc == nil {
			pc = new(providerCounters)
		}
		keepProv[name] = pc
		rs.providerCounters = append(rs.providerCounters, pc)
	}
	c.providers = keepProv
	keepSvc := map[string]*serviceCounters{}
	for _, name := range cls.ServiceNames() {
		sc := c.services[name]
		if sc == nil {
			sc = new(serviceCounters)
		}
		keepSvc[name] = sc
		rs.serviceCounters = append(rs.serviceCounters, sc)
	}
	c.services = keepSvc
	return rs, nil
}

// raiseLastLine sets the last-line timestamp to t unless it is newer.
func (s *sourceCounters) raiseLastLine(t time.Time) {
	v := float64(t.UnixNano()) / 1e9
	for {
		old := s.lastLineTS.Load()
		if v <= math.Float64frombits(old) || s.lastLineTS.CompareAndSwap(old, math.Float64bits(v)) {
			return
		}
	}
}

// source returns the counters of a source, creating them at 0.
func (c *counters) source(name string) *sourceCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sources[name]
	if s == nil {
		s = &sourceCounters{}
		c.sources[name] = s
	}
	return s
}

// retainSources deletes the series of sources not in names.
func (c *counters) retainSources(names map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.sources {
		if !names[n] {
			delete(c.sources, n)
		}
	}
}

// record adds one classified entry.
func (c *counters) record(rs *ruleSet, r *maillog.Result) {
	for _, e := range r.Events[:r.NEvents] {
		c.events[e].Add(1)
	}
	if r.Action != maillog.ActNone {
		c.actions[r.Action].Add(1)
	}
	if r.Reason != maillog.ReasonNone {
		c.reasons[r.Reason].Add(1)
	}
	for _, i := range r.Rules {
		rs.ruleCounters[i].Add(1)
	}
	if r.Delivery.Status != maillog.StatusNone {
		c.delivery.record(rs.providerCounters, &r.Delivery)
	}
	if !r.Flow.IsZero() {
		c.flow.record(rs.serviceCounters, &r.Flow)
	}
	if !r.Matched {
		c.unmatched[r.Program].Add(1)
	}
}

// descs are the metric descriptors, built per pipeline (no globals).
type descs struct {
	lines, malformed, readErrors, rotations, truncations, skipped, lastTS, unread *prometheus.Desc
	unmatched, events, messages, rejects, stateFailures                           *prometheus.Desc
	delivery                                                                      deliveryDescs
	flow                                                                          flowDescs
	sasl                                                                          saslDescs
}

func newDescs() *descs {
	d := func(sub, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(collectors.Namespace, sub, name), help, labels, nil)
	}
	return &descs{
		delivery:    newDeliveryDescs(d),
		flow:        newFlowDescs(d),
		sasl:        newSASLDescs(d),
		lines:       d("log", "lines_total", "Lines read from the log source.", "source"),
		malformed:   d("log", "malformed_lines_total", "Lines of the log source that could not be split into timestamp, host, program and message, or were longer than the line limit.", "source"),
		readErrors:  d("log", "read_errors_total", "Errors opening, reading or following the log source, since mailwatchd started (not kept across restarts).", "source"),
		rotations:   d("log", "rotations_total", "Times a file of the log source was replaced by a new one (rename, delete and create, symlink swap), seen since mailwatchd started (not kept across restarts).", "source"),
		truncations: d("log", "truncations_total", "Times a file of the log source was truncated (copytruncate rotation, or found shorter than its saved position after a crash), seen since mailwatchd started (not kept across restarts).", "source"),
		skipped:     d("log", "skipped_bytes_total", "Bytes of the log source skipped at start-up because the catch-up exceeded max_catchup_bytes.", "source"),
		lastTS:      d("log", "last_line_timestamp_seconds", "Timestamp written in the last line read from the log source, in Unix seconds.", "source"),
		unread:      d("log", "unread_bytes", "Bytes of the log source's files not read yet, at the last poll.", "source"),
		unmatched:   d("log", "unmatched_lines_total", "Log lines that no built-in or user rule recognised, by program family.", "program"),
		events:      d("log", "events_total", "Classified log events: the built-in taxonomy and the user rules of the config.", "event"),
		messages:    d("postfix", "messages_total", "Postfix messages by action, counted from the log as pflogsumm counts them (deliveries, deferrals and bounces per recipient line).", "action"),
		rejects:     d("postfix", "rejects_total", "Postfix rejects by reason class, counted from the log.", "reason"),
		stateFailures: d("log", "state_save_failures_total",
			"Failed attempts to save log positions and counters to the state directory since mailwatchd started."),
	}
}

func (d *descs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.lines, d.malformed, d.readErrors, d.rotations, d.truncations,
		d.skipped, d.lastTS, d.unread, d.unmatched, d.events, d.messages, d.rejects, d.stateFailures} {
		ch <- x
	}
	for _, x := range d.delivery.list() {
		ch <- x
	}
	for _, x := range d.flow.list() {
		ch <- x
	}
	for _, x := range d.sasl.list() {
		ch <- x
	}
}

// collect sends every series. Built-in enumerations are always complete.
func (c *counters) collect(d *descs, ch chan<- prometheus.Metric) {
	cv := func(desc *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), label)
	}
	for p := maillog.Program(0); p < maillog.NumPrograms; p++ {
		cv(d.unmatched, c.unmatched[p].Load(), p.String())
	}
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		cv(d.events, c.events[e].Load(), e.String())
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		cv(d.messages, c.actions[a].Load(), a.String())
	}
	for r := maillog.ReasonNone + 1; r < maillog.NumReasons; r++ {
		cv(d.rejects, c.reasons[r].Load(), r.String())
	}
	ch <- prometheus.MustNewConstMetric(d.stateFailures, prometheus.CounterValue, float64(c.stateSaveFailures.Load()))
	c.delivery.collect(&d.delivery, ch)
	c.flow.collect(&d.flow, ch)
	c.sasl.collect(&d.sasl, ch)
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, v := range c.rules {
		cv(d.events, v.Load(), name)
	}
	for name, pc := range c.providers {
		pc.collect(&d.delivery, name, ch)
	}
	for name, sc := range c.services {
		sc.collect(&d.flow, name, ch)
	}
	for name, s := range c.sources {
		cv(d.lines, s.lines.Load(), name)
		cv(d.malformed, s.malformed.Load(), name)
		cv(d.readErrors, s.ReadErrors.Load(), name)
		cv(d.rotations, s.Rotations.Load(), name)
		cv(d.truncations, s.Truncations.Load(), name)
		cv(d.skipped, s.SkippedBytes.Load(), name)
		ch <- prometheus.MustNewConstMetric(d.unread, prometheus.GaugeValue, float64(s.UnreadBytes.Load()), name)
		if ts := s.lastLineTS.Load(); ts != 0 {
			ch <- prometheus.MustNewConstMetric(d.lastTS, prometheus.GaugeValue, math.Float64frombits(ts), name)
		}
	}
}

// counterState is the persisted form of the counters (see state.go).
type counterState struct {
	Events    map[string]uint64 `json:"events,omitempty"`
	Actions   map[string]uint64 `json:"actions,omitempty"`
	Reasons   map[string]uint64 `json:"reasons,omitempty"`
	Unmatched map[string]uint64 `json:"unmatched,omitempty"`
	Rules     map[string]uint64 `json:"rules,omitempty"`

	// The delivery metrics. Keys join label values with '/':
	// "transport/status/reason", "transport/status", "stage".
	Deliveries    map[string]uint64         `json:"deliveries,omitempty"`
	DelayBounds   []float64                 `json:"delivery_delay_bounds,omitempty"`
	Delay         map[string]histogramState `json:"delivery_delay,omitempty"`
	DelayStagesUS map[string]uint64         `json:"delivery_delay_stages_us,omitempty"`
	Providers     map[string]providerState  `json:"providers,omitempty"`

	// The flow metrics (flow.go). Keys join label values with '/'. A state
	// file written before they existed has none: they start at zero.
	Services          map[string]serviceState `json:"smtpd_services,omitempty"`
	TLS               map[string]uint64       `json:"tls_connections,omitempty"` // "direction/trust"
	Postscreen        map[string]uint64       `json:"postscreen_events,omitempty"`
	Verdicts          map[string]uint64       `json:"antispam_verdicts,omitempty"` // "scanner/verdict"
	MessageSize       *uintHistogramState     `json:"message_size,omitempty"`
	MessageRecipients *uintHistogramState     `json:"message_recipients,omitempty"`
	// QueueIDs are the hashes of the queue ids whose size was observed and
	// whose removal was not seen yet (queueIDSet).
	QueueIDs   []uint64           `json:"message_size_queue_ids,omitempty"`
	LastEvent  map[string]float64 `json:"last_event_timestamps,omitempty"`
	LastAction map[string]float64 `json:"last_action_timestamps,omitempty"`

	// The SASL counters (sasl.go); the window itself is not saved.
	SASLSenderMismatch uint64     `json:"sasl_sender_mismatch,omitempty"`
	SASLDroppedUsers   uint64     `json:"sasl_dropped_users,omitempty"`
	SASLDroppedQIDs    uint64     `json:"sasl_dropped_queue_ids,omitempty"`
	SASLWindow         *saslState `json:"sasl_window,omitempty"`
}

// sourceCounterState is a source's persisted counters: those of what the
// log holds, which a restart continues exactly. What the follower met (read
// errors, rotations, truncations, like state save failures) is counted per
// process and starts at 0: restored, it would lose what happened between
// the last checkpoint and a crash, and a counter that goes back is worse
// than one that resets.
type sourceCounterState struct {
	Lines        uint64  `json:"lines"`
	Malformed    uint64  `json:"malformed"`
	SkippedBytes uint64  `json:"skipped_bytes"`
	LastLineTS   float64 `json:"last_line_timestamp"`
}

func (c *counters) snapshot() counterState {
	st := counterState{Events: map[string]uint64{}, Actions: map[string]uint64{}, Reasons: map[string]uint64{},
		Unmatched: map[string]uint64{}, Rules: map[string]uint64{}}
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		putNonZero(st.Events, e.String(), c.events[e].Load())
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		putNonZero(st.Actions, a.String(), c.actions[a].Load())
	}
	for r := maillog.ReasonNone + 1; r < maillog.NumReasons; r++ {
		putNonZero(st.Reasons, r.String(), c.reasons[r].Load())
	}
	for p := maillog.Program(0); p < maillog.NumPrograms; p++ {
		putNonZero(st.Unmatched, p.String(), c.unmatched[p].Load())
	}
	c.delivery.snapshot(&st)
	c.flow.snapshot(&st)
	st.SASLSenderMismatch, st.SASLDroppedUsers, st.SASLDroppedQIDs = c.sasl.mismatch.Load(), c.sasl.droppedUser.Load(), c.sasl.droppedQID.Load()
	st.SASLWindow = c.sasl.snapshot()
	st.Providers = map[string]providerState{}
	st.Services = map[string]serviceState{}
	c.mu.Lock()
	for name, v := range c.rules {
		putNonZero(st.Rules, name, v.Load())
	}
	for name, pc := range c.providers {
		st.Providers[name] = pc.snapshot()
	}
	for name, sc := range c.services {
		st.Services[name] = sc.snapshot()
	}
	c.mu.Unlock()
	return st
}

func putNonZero(m map[string]uint64, k string, v uint64) {
	if v != 0 {
		m[k] = v
	}
}

// restore loads persisted values; names that are no longer known are dropped.
func (c *counters) restore(st counterState) {
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		c.events[e].Store(st.Events[e.String()])
	}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		c.actions[a].Store(st.Actions[a.String()])
	}
	for r := maillog.ReasonNone + 1; r < maillog.NumReasons; r++ {
		c.reasons[r].Store(st.Reasons[r.String()])
	}
	for p := maillog.Program(0); p < maillog.NumPrograms; p++ {
		c.unmatched[p].Store(st.Unmatched[p.String()])
	}
	c.delivery.restore(&st)
	c.flow.restore(&st)
	c.sasl.mismatch.Store(st.SASLSenderMismatch)
	c.sasl.droppedUser.Store(st.SASLDroppedUsers)
	c.sasl.droppedQID.Store(st.SASLDroppedQIDs)
	c.sasl.restore(st.SASLWindow)
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, v := range c.rules {
		v.Store(st.Rules[name])
	}
	for name, pc := range c.providers {
		pc.restore(st.Providers[name], slices.Equal(st.DelayBounds, delayBuckets[:]))
	}
	for name, sc := range c.services {
		sc.restore(st.Services[name])
	}
}

func (s *sourceCounters) snapshot() sourceCounterState {
	return sourceCounterState{
		Lines: s.lines.Load(), Malformed: s.malformed.Load(), SkippedBytes: s.SkippedBytes.Load(),
		LastLineTS: math.Float64frombits(s.lastLineTS.Load()),
	}
}

func (s *sourceCounters) restore(st sourceCounterState) {
	s.lines.Store(st.Lines)
	s.malformed.Store(st.Malformed)
	s.SkippedBytes.Store(st.SkippedBytes)
	if st.LastLineTS > 0 {
		s.lastLineTS.Store(math.Float64bits(st.LastLineTS))
	}
}

// sink turns the lines of one source into counter increments: it is the
// follow.Sink of the pipeline's followers and of a Replayer. It batches
// the per-source counters and reads the timestamp of the last line of a
// batch only. A sink is used by one goroutine.
type sink struct {
	rules    *atomic.Pointer[ruleSet]
	counters *counters
	src      *sourceCounters
	loc      *time.Location
	now      func() time.Time

	// onUnmatched, when set, sees every entry no rule recognised (replay).
	onUnmatched func(e *maillog.Entry)

	rs        *ruleSet
	e         maillog.Entry // scratch: a field, so that onUnmatched does not move it to the heap
	res       maillog.Result
	lines     uint64
	malformed uint64
	last      maillog.Entry // the last entry of the batch, for its time; valid while sawEntry
	sawEntry  bool
	// The last status=sent entry of the batch per provider (bit i of
	// sentMask: lastSent[i] is set), whose time is read at Flush.
	lastSent [maillog.MaxProviders + 1]maillog.Entry
	sentMask uint32
	// The last entry of the batch per built-in event and per Postfix
	// action (bit i of the masks: the entry is set), whose times raise
	// the last-event and last-action timestamps at Flush.
	lastEvent  [maillog.NumEvents]maillog.Stamp
	eventMask  [(maillog.NumEvents + 63) / 64]uint64
	lastAction [maillog.NumActions]maillog.Stamp
	actionMask uint64
}

var _ follow.Sink = (*sink)(nil)

func newSink(rules *atomic.Pointer[ruleSet], c *counters, src *sourceCounters, now func() time.Time) *sink {
	return &sink{rules: rules, counters: c, src: src, loc: time.Local, now: now}
}

// Line handles one raw line (without its newline).
func (s *sink) Line(b []byte) {
	s.lines++
	var ok bool
	if s.e, ok = maillog.Parse(b); !ok {
		s.malformed++
		return
	}
	s.entry(&s.e)
}

// Entry handles one entry that is already split (a journal record).
func (s *sink) Entry(e *maillog.Entry) {
	s.lines++
	s.entry(e)
}

// Malformed counts a line that could not be read.
func (s *sink) Malformed() {
	s.lines++
	s.malformed++
}

func (s *sink) entry(e *maillog.Entry) {
	if s.rs == nil {
		s.rs = s.rules.Load()
	}
	s.rs.cls.Classify(e, &s.res)
	s.counters.record(s.rs, &s.res)
	if r := &s.res; r.Program == maillog.ProgPostfix && (r.Action == maillog.ActReceived || r.Flow.HasSize || r.Flow.Removed ||
		r.Delivery.Status == maillog.StatusDeferred || r.Delivery.Status == maillog.StatusBounced) {
		if t, ok := e.Time(s.now(), s.loc); ok {
			s.counters.sasl.observe(r, e.Message, t)
		}
	}
	if d := &s.res.Delivery; d.Status == maillog.StatusSent {
		s.lastSent[d.Provider] = *e
		s.sentMask |= 1 << d.Provider
	}
	if s.res.NEvents > 0 || s.res.Action != maillog.ActNone {
		st := e.Stamp()
		for _, ev := range s.res.Events[:s.res.NEvents] {
			s.lastEvent[ev] = st
			s.eventMask[ev/64] |= 1 << (ev % 64)
		}
		if a := s.res.Action; a != maillog.ActNone {
			s.lastAction[a] = st
			s.actionMask |= 1 << a
		}
	}
	if !s.res.Matched && s.onUnmatched != nil {
		s.onUnmatched(e)
	}
	s.last, s.sawEntry = *e, true
}

// Flush publishes the batch. It must be called before the buffer the lines
// came from is reused.
func (s *sink) Flush() {
	if s.lines == 0 && !s.sawEntry {
		return
	}
	s.src.lines.Add(s.lines)
	s.src.malformed.Add(s.malformed)
	now := s.now()
	ts := now
	if s.sawEntry {
		if t, ok := s.last.Time(now, s.loc); ok {
			ts = t
		}
	}
	s.src.lastLineTS.Store(math.Float64bits(float64(ts.UnixNano()) / 1e9))
	for m := s.sentMask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		if t, ok := s.lastSent[i].Time(now, s.loc); ok && i < len(s.rs.providerCounters) {
			s.rs.providerCounters[i].raiseLastSent(t)
		}
		s.lastSent[i] = maillog.Entry{}
	}
	s.sentMask = 0
	for w := range s.eventMask {
		for m := s.eventMask[w]; m != 0; m &= m - 1 {
			i := w*64 + bits.TrailingZeros64(m)
			if t, ok := s.lastEvent[i].Time(now, s.loc); ok {
				raise(&s.counters.flow.lastEvent[i], t)
			}
			s.lastEvent[i] = maillog.Stamp{}
		}
		s.eventMask[w] = 0
	}
	for m := s.actionMask; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		if t, ok := s.lastAction[i].Time(now, s.loc); ok {
			raise(&s.counters.flow.lastAction[i], t)
		}
		s.lastAction[i] = maillog.Stamp{}
	}
	s.actionMask = 0
	s.lines, s.malformed, s.sawEntry, s.last, s.rs = 0, 0, false, maillog.Entry{}, nil
	s.counters.gen.Add(1)
}

// LastLine raises the last-line timestamp to the time written in b, a line
// that is not counted.
func (s *sink) LastLine(b []byte) {
	e, ok := maillog.Parse(b)
	if !ok {
		return
	}
	if t, ok := e.Time(s.now(), s.loc); ok {
		s.src.raiseLastLine(t)
		s.counters.gen.Add(1)
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
