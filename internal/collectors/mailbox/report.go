// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package mailbox

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// report logs what changed and sends the metrics of a complete walk.
func (c *Collector) report(ch chan<- prometheus.Metric, w walkResult) error {
	roots, q := w.roots, w.q
	c.logRoots(roots)
	c.logQuota(q.err)

	absent, good := 0, 0
	var firstErr error
	for _, r := range roots {
		if r.absent {
			absent++
		}
		// Zero mailboxes is a good answer; all of them unmeasured is not.
		if len(r.listErrs) == 0 && (r.found == 0 || r.unmeasured < r.found) {
			good++
		}
		if firstErr == nil && len(r.listErrs) > 0 {
			firstErr = r.listErrs[0]
		}
		if firstErr == nil {
			firstErr = r.firstErr
		}
	}
	quotaAbsent := c.quota == nil || errors.Is(q.err, errQuotaAbsent)
	if absent == len(roots) && quotaAbsent {
		return fmt.Errorf("none of the %d mailbox roots exists: %w", len(roots), collectors.ErrNotApplicable)
	}
	if good == 0 && quotaAbsent {
		return fmt.Errorf("no mailbox could be measured under any root: %w", firstErr)
	}
	labelled := c.emitMailboxes(ch, w.t)
	c.emitDomains(ch, w.t)
	for _, r := range roots {
		ch <- collectors.Gauge(rootMailboxesDesc, float64(r.found), r.path)
		ch <- collectors.Gauge(rootUnmeasuredDesc, float64(r.unmeasured), r.path)
		ch <- collectors.Gauge(rootSuccessDesc, collectors.B2F(len(r.listErrs) == 0), r.path)
	}
	if !quotaAbsent {
		emitQuota(ch, q, labelled)
	}
	return nil
}

// emitMailboxes exports the top mailboxes and _other, and returns the
// labelled names.
func (c *Collector) emitMailboxes(ch chan<- prometheus.Metric, t *tally) map[string]bool {
	order := make([]int, len(t.boxes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := t.boxes[a], t.boxes[b]
		return cmp.Or(cmp.Compare(y.u.bytes, x.u.bytes), cmp.Compare(x.name, y.name))
	})
	labelled := map[string]bool{}
	var rest usage
	for _, i := range order {
		b := t.boxes[i]
		if len(labelled) < c.top && b.name != other {
			labelled[b.name] = true
			ch <- collectors.Gauge(sizeDesc, float64(b.u.bytes), b.name)
			ch <- collectors.Gauge(msgsDesc, float64(b.u.msgs), b.name)
			continue
		}
		rest.add(b.u)
	}
	ch <- collectors.Gauge(sizeDesc, float64(rest.bytes), other)
	ch <- collectors.Gauge(msgsDesc, float64(rest.msgs), other)
	return labelled
}

// emitDomains exports per-domain totals when configured.
func (c *Collector) emitDomains(ch chan<- prometheus.Metric, t *tally) {
	if c.domains == 0 {
		return
	}
	type dom struct {
		name  string
		u     usage
		boxes int
	}
	idx := map[string]int{}
	var doms []dom
	var rest dom
	for _, b := range t.boxes {
		if b.domain == "" || b.domain == other {
			rest.u.add(b.u)
			rest.boxes++
			continue
		}
		i, ok := idx[b.domain]
		if !ok {
			i = len(doms)
			idx[b.domain] = i
			doms = append(doms, dom{name: b.domain})
		}
		doms[i].u.add(b.u)
		doms[i].boxes++
	}
	slices.SortFunc(doms, func(x, y dom) int {
		return cmp.Or(cmp.Compare(y.u.bytes, x.u.bytes), cmp.Compare(x.name, y.name))
	})
	for i, d := range doms {
		if i >= c.domains {
			rest.u.add(d.u)
			rest.boxes += d.boxes
			continue
		}
		ch <- collectors.Gauge(domainSizeDesc, float64(d.u.bytes), d.name)
		ch <- collectors.Gauge(domainMsgsDesc, float64(d.u.msgs), d.name)
		ch <- collectors.Gauge(domainBoxesDesc, float64(d.boxes), d.name)
	}
	ch <- collectors.Gauge(domainSizeDesc, float64(rest.u.bytes), other)
	ch <- collectors.Gauge(domainMsgsDesc, float64(rest.u.msgs), other)
	ch <- collectors.Gauge(domainBoxesDesc, float64(rest.boxes), other)
}

// emitQuota joins Dovecot users to the labelled mailboxes; every other
// user goes to _other.
func emitQuota(ch chan<- prometheus.Metric, q quotaResult, labelled map[string]bool) {
	ch <- collectors.Gauge(quotaSuccessDesc, collectors.B2F(q.err == nil))
	if q.users == nil {
		return
	}
	mine := map[string]*quotaUsage{}
	var rest quotaUsage
	restRatio := 0.0
	for user, u := range q.users {
		if u.failed {
			continue
		}
		name := ""
		for _, cand := range quotaMailboxes(user) {
			if labelled[cand] {
				name = cand
				break
			}
		}
		if name == "" || mine[name] != nil {
			rest.storage.used += u.storage.used
			rest.messages.used += u.messages.used
			restRatio = max(restRatio, u.ratio())
			continue
		}
		mine[name] = u
	}
	for name, u := range mine {
		if u.storage.seen {
			ch <- collectors.Gauge(quotaUsedBytesDesc, float64(u.storage.used), name)
			if u.storage.limit > 0 {
				ch <- collectors.Gauge(quotaLimitBytesDesc, float64(u.storage.limit), name)
			}
		}
		if u.messages.seen {
			ch <- collectors.Gauge(quotaUsedMsgsDesc, float64(u.messages.used), name)
			if u.messages.limit > 0 {
				ch <- collectors.Gauge(quotaLimitMsgsDesc, float64(u.messages.limit), name)
			}
		}
		ch <- collectors.Gauge(quotaRatioDesc, u.ratio(), name)
	}
	ch <- collectors.Gauge(quotaUsedBytesDesc, float64(rest.storage.used), other)
	ch <- collectors.Gauge(quotaUsedMsgsDesc, float64(rest.messages.used), other)
	ch <- collectors.Gauge(quotaRatioDesc, restRatio, other)
}

// logRoots logs a root's problems when they start or change, and its
// recovery; a root with thousands of unreadable mailboxes is one line.
func (c *Collector) logRoots(roots []rootResult) {
	for _, r := range roots {
		var msg string
		var fields []zap.Field
		lvl := zap.WarnLevel
		switch {
		case r.absent:
			msg, lvl = "mailbox root not present on this host", zap.InfoLevel
		case len(r.listErrs) > 0:
			msg, fields = "cannot list mailbox root", []zap.Field{zap.Int("directories", len(r.listErrs)), zap.Error(r.listErrs[0])}
		case r.capped > 0:
			msg, fields = "more mailboxes than max_mailboxes; the rest are not measured", []zap.Field{zap.Int("not_measured", r.capped)}
		case r.unmeasured > 0:
			msg, fields = "cannot measure some mailboxes", []zap.Field{zap.Int("mailboxes", r.unmeasured), zap.Error(r.firstErr)}
		}
		key := ""
		if msg != "" {
			key = fmt.Sprintf("%s|%d|%d|%d|%v", msg, len(r.listErrs), r.capped, r.unmeasured, r.firstErr)
		}
		if _, changed := c.logs.Change("root "+r.path, key); !changed {
			continue
		}
		if msg == "" {
			c.logger.Info("mailbox root measurable again", zap.String("root", r.path))
		} else if ce := c.logger.Check(lvl, msg); ce != nil {
			ce.Write(append(fields, zap.String("root", r.path))...)
		}
	}
}

var (
	quotaProblem = collectors.Problem{Level: zap.WarnLevel,
		Failed: "cannot read dovecot quota", Recovered: "dovecot quota readable again"}
	quotaAbsent = collectors.Problem{Level: zap.InfoLevel,
		Failed: "dovecot quota not available; quota metrics left out", Recovered: "dovecot quota readable again"}
)

func (c *Collector) logQuota(err error) {
	if c.quota == nil {
		return
	}
	p := quotaProblem
	if errors.Is(err, errQuotaAbsent) {
		p = quotaAbsent
	}
	c.logs.Note(c.logger, "quota", err, p)
}
