// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package roundtrip is the mail round-trip probe (issue #19): every run
// submits one probe message (local sendmail, or SMTP submission with a
// login), waits until it lands in the probe mailbox (a Maildir on this
// host, or an IMAP folder), records the latency, checks that the delivered
// copy carries a valid DKIM-Signature of the configured domain and the
// spam filter's header when one is configured, and deletes it.
//
// One probe is in flight at a time: a run is the whole probe, and the
// scheduler never overlaps runs. A probe that has not arrived within
// delivery_timeout counts as lost (result "timeout"); if it arrives later,
// or a crash left one behind, the next run finds it by its marker header
// (X-Mailwatchd-Probe naming this host), deletes it and counts it as a
// straggler. Only messages with that marker are ever read to the end or
// deleted; the probe mailbox should be one that receives nothing else.
//
// Label values are the fixed result names; never an address, a message
// id or a host name.
package roundtrip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// Results of a probe, the values of the result label.
const (
	ResultOK                = "ok"
	ResultSubmitError       = "submit_error"
	ResultTimeout           = "timeout"
	ResultMailboxError      = "mailbox_error"
	ResultDKIMFail          = "dkim_fail"
	ResultSpamHeaderMissing = "spam_header_missing"
)

// Results lists every result, in the order of the exposition.
var Results = []string{ResultOK, ResultSubmitError, ResultTimeout, ResultMailboxError, ResultDKIMFail, ResultSpamHeaderMissing}

// latencyBuckets: local delivery takes about a second; a milter or a
// content filter queue adds seconds; minutes mean trouble.
var latencyBuckets = []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}

var (
	probesDesc = collectors.NewDesc(Name, "roundtrip", "probes_total",
		"Round-trip probes by result (ok, submit_error, timeout, mailbox_error, dkim_fail, spam_header_missing).", "result")
	latencyDesc = collectors.NewDesc(Name, "roundtrip", "latency_seconds",
		"Time from the submission of a probe to its arrival in the probe mailbox, of every probe that arrived in time.")
	lastResultDesc = collectors.NewDesc(Name, "roundtrip", "last_result",
		"1 for the result of the last round-trip probe, 0 for the others; absent before the first probe.", "result")
	lastLatencyDesc = collectors.NewDesc(Name, "roundtrip", "last_latency_seconds",
		"Latency of the last probe that arrived in time; absent until one has.")
	lastSuccessDesc = collectors.NewDesc(Name, "roundtrip", "last_success_timestamp_seconds",
		"When the last probe with result ok ended, as a Unix timestamp; absent until one has since the daemon started.")
	lastProbeDesc = collectors.NewDesc(Name, "roundtrip", "last_probe_timestamp_seconds",
		"When the last probe ended, whatever its result, as a Unix timestamp; absent before the first probe.")
	stragglersDesc = collectors.NewDesc(Name, "roundtrip", "stragglers_removed_total",
		"Probe messages of this host found in the probe mailbox after their run had given up on them (late arrivals, leftovers of a crash), deleted.")
)

// outcome is what one probe found.
type outcome struct {
	result     string
	latency    time.Duration // > 0 when the probe arrived
	stragglers int
	err        error // why the result is not ok
	end        time.Time
}

// Collector is the round-trip probe.
type Collector struct {
	cfg    Config
	host   string
	now    func() time.Time
	poll   time.Duration
	submit submitter
	open   func(ctx context.Context) (mailbox, error)
	dns    resolver
	logger *zap.Logger
	logs   collectors.LogOnChange
	guard  collectors.Guard[outcome]

	// Counted from the results, in Update only.
	st state
}

type state struct {
	probes      map[string]float64
	stragglers  float64
	buckets     []uint64 // per latencyBuckets, not cumulative
	count       uint64
	sum         float64
	last        string
	lastLatency time.Duration
	lastSuccess time.Time
	lastProbe   time.Time
}

// New builds the collector.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	r, err := dnsclient.New(cfg.Resolver, nil)
	if err != nil {
		return nil, err
	}
	return newCollector(cfg, host, r, time.Now, logger), nil
}

func newCollector(cfg Config, host string, r resolver, now func() time.Time, logger *zap.Logger) *Collector {
	c := &Collector{cfg: cfg, host: host, now: now, dns: r, logger: logger, poll: 250 * time.Millisecond}
	c.st.probes = map[string]float64{}
	c.st.buckets = make([]uint64, len(latencyBuckets))
	switch cfg.Submit.Method {
	case MethodSMTP:
		c.submit = smtpSubmitter{srv: cfg.Submit.SMTP}
	default:
		c.submit = sendmailSubmitter{path: cfg.Submit.Sendmail}
	}
	switch cfg.Mailbox.Method {
	case MethodIMAP:
		c.poll = time.Second
		c.open = func(ctx context.Context) (mailbox, error) {
			pw, err := ReadPassword(cfg.Mailbox.IMAP.PasswordFile)
			if err != nil {
				return nil, err
			}
			return dialIMAP(ctx, cfg.Mailbox.IMAP, pw, cfg.Mailbox.Folder, cfg.Mailbox.MaxMessages)
		}
	default:
		c.open = func(context.Context) (mailbox, error) {
			return newMaildir(cfg.Mailbox.Path, cfg.Mailbox.MaxMessages), nil
		}
	}
	return c
}

// Inherit keeps the counters and the last results across a reload, unless
// the previous collector's probe is still stuck.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok || old == c || !old.guard.Retire() {
		return
	}
	c.st = old.st
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, probesDesc, latencyDesc, lastResultDesc, lastLatencyDesc, lastSuccessDesc, lastProbeDesc, stragglersDesc)
}

// Update runs one probe under the guard: should a call ignore the run's
// deadline (a Maildir on a dead mount), the run still ends and later runs
// fail with ErrBusy until it returns; no second probe starts meanwhile.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	o, err := c.guard.Do(ctx, func() outcome { return c.probe(ctx) })
	if err != nil {
		return fmt.Errorf("round-trip probe: %w", err)
	}
	c.record(o)
	c.logs.Note(c.logger, "probe", o.err, collectors.Problem{
		Level: zap.WarnLevel, Failed: "mail round-trip probe failed", Recovered: "mail round-trip probe succeeds again",
		Key: func(error) string { return o.result },
	}, zap.String("result", o.result))
	if o.stragglers > 0 {
		c.logger.Info("deleted probe messages left from earlier runs", zap.Int("count", o.stragglers))
	}
	c.emit(ch)
	return nil
}

func (c *Collector) record(o outcome) {
	s := &c.st
	s.probes[o.result]++
	s.stragglers += float64(o.stragglers)
	s.last = o.result
	s.lastProbe = o.end
	if o.latency > 0 {
		sec := o.latency.Seconds()
		s.count++
		s.sum += sec
		for i, b := range latencyBuckets {
			if sec <= b {
				s.buckets[i]++
				break
			}
		}
		s.lastLatency = o.latency
	}
	if o.result == ResultOK {
		s.lastSuccess = o.end
	}
}

func (c *Collector) emit(ch chan<- prometheus.Metric) {
	s := &c.st
	for _, r := range Results {
		ch <- collectors.Counter(probesDesc, s.probes[r], r)
		if s.last != "" {
			ch <- collectors.Gauge(lastResultDesc, collectors.B2F(s.last == r), r)
		}
	}
	cum := make(map[float64]uint64, len(latencyBuckets))
	var n uint64
	for i, b := range latencyBuckets {
		n += s.buckets[i]
		cum[b] = n
	}
	ch <- prometheus.MustNewConstHistogram(latencyDesc, s.count, s.sum, cum)
	ch <- collectors.Counter(stragglersDesc, s.stragglers)
	if s.lastLatency > 0 {
		ch <- collectors.Gauge(lastLatencyDesc, s.lastLatency.Seconds())
	}
	if !s.lastSuccess.IsZero() {
		ch <- collectors.Gauge(lastSuccessDesc, float64(s.lastSuccess.UnixMilli())/1e3)
	}
	if !s.lastProbe.IsZero() {
		ch <- collectors.Gauge(lastProbeDesc, float64(s.lastProbe.UnixMilli())/1e3)
	}
}

// stragglerAge is the age after which a probe of this host is abandoned:
// the run's timeout, which bounds every probe (delivery_timeout without
// one).
func (c *Collector) stragglerAge() time.Duration {
	return max(c.cfg.Timeout.D(), c.cfg.DeliveryTimeout.D())
}

// probe runs one probe. Its I/O ends a little before the run's deadline,
// so that a hung server or sendmail still gives a result (its error) and
// not an abandoned run.
func (c *Collector) probe(ctx context.Context) (o outcome) {
	defer func() { o.end = c.now() }()
	work := ctx
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(5*time.Second, max(100*time.Millisecond, time.Until(dl)/20))
		var cancel context.CancelFunc
		work, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	fail := func(result string, err error) outcome {
		o.result, o.err = result, err
		return o
	}
	mb, err := c.open(work)
	if err != nil {
		return fail(ResultMailboxError, fmt.Errorf("open probe mailbox: %w", err))
	}
	defer mb.close()

	// Stragglers first: at the start of a run this collector has no probe
	// in flight, so a probe naming this host is left over once it is older
	// than a run can last (a younger one may be another daemon's, on the
	// same host, in flight; it is deleted when it is old enough).
	mine := hostMarker(c.host)
	old, err := mb.find(work, mine)
	if err != nil {
		return fail(ResultMailboxError, fmt.Errorf("look for earlier probes: %w", err))
	}
	for _, ref := range old {
		m, err := mb.marker(work, ref)
		if err != nil {
			return fail(ResultMailboxError, fmt.Errorf("read an earlier probe: %w", err))
		}
		if !strings.Contains(m, mine) {
			// Gone meanwhile: an IMAP server's index can still list a message
			// whose file was deleted (Dovecot, after a Maildir probe on the
			// same mailbox), and the fetch then returns nothing.
			continue
		}
		if t, ok := markerTime(m); ok && c.now().Sub(t) < c.stragglerAge() {
			continue
		}
		if err := mb.remove(work, ref); err != nil {
			return fail(ResultMailboxError, fmt.Errorf("delete an earlier probe: %w", err))
		}
		o.stragglers++
	}

	nonce, err := newNonce()
	if err != nil {
		return fail(ResultSubmitError, err)
	}
	start := c.now()
	msg := probeMessage(c.cfg.From, c.cfg.To, c.host, nonce, start)
	deadline := start.Add(c.cfg.DeliveryTimeout.D())
	sctx, cancel := context.WithDeadline(work, deadline)
	err = c.submit.submit(sctx, c.cfg.From, c.cfg.To, msg)
	cancel()
	if err != nil {
		return fail(ResultSubmitError, fmt.Errorf("submit: %w", err))
	}

	// Wait for it. The marker names this probe's id; a reader that moved
	// it from new/ to cur/ meanwhile does not hide it.
	id := "id=" + nonce
	var refs []string
	for {
		refs, err = mb.find(work, id)
		if err != nil {
			return fail(ResultMailboxError, fmt.Errorf("look for the probe: %w", err))
		}
		if len(refs) > 0 {
			break
		}
		left := deadline.Sub(c.now())
		if wdl, ok := work.Deadline(); ok {
			left = min(left, time.Until(wdl))
		}
		if left <= 0 {
			return fail(ResultTimeout, fmt.Errorf("the probe did not arrive within %s (it is deleted as a straggler if it comes later)", c.cfg.DeliveryTimeout))
		}
		t := time.NewTimer(min(c.poll, left))
		select {
		case <-work.Done():
			t.Stop()
		case <-t.C:
		}
	}
	o.latency = max(c.now().Sub(start), time.Millisecond)

	copyMsg, ferr := mb.fetch(work, refs[0])
	for _, ref := range refs {
		if err := mb.remove(work, ref); err != nil {
			return fail(ResultMailboxError, fmt.Errorf("delete the probe: %w", err))
		}
	}
	if ferr != nil {
		return fail(ResultMailboxError, ferr)
	}
	if c.cfg.DKIMDomain != "" {
		if err := checkDKIM(work, c.dns, copyMsg, c.cfg.DKIMDomain); err != nil {
			return fail(ResultDKIMFail, err)
		}
	}
	if c.cfg.SpamHeader != "" && !hasHeader(copyMsg, c.cfg.SpamHeader) {
		return fail(ResultSpamHeaderMissing, errors.New("the delivered copy has no "+c.cfg.SpamHeader+" header"))
	}
	o.result = ResultOK
	return o
}

var _ collectors.Collector = (*Collector)(nil)
