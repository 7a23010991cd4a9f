// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package postfixqueue measures Postfix's mail queues: per queue (maildrop,
// incoming, active, deferred, hold, corrupt) the messages, recipients,
// bytes and the arrival time of the oldest message, and why deferred mail
// is stuck, as a fixed set of reason classes. Several Postfix instances
// (postmulti) are read side by side, each labelled postfix_instance.
//
// The queue is read, in the configured order, from:
//
//   - showq: the showq(8) service socket <spool>/public/showq, streamed and
//     parsed as it arrives, in the Postfix 3.x attribute format or the 2.x
//     text format. The public/ directory is mode 0710 owned by postfix,
//     group postdrop, so the daemon needs the supplementary group postdrop
//     (SupplementaryGroups=postdrop in the unit); nothing else.
//   - postqueue: "postqueue -j", run without a shell and killed at the
//     deadline. postqueue is set-group-ID postdrop, so this works without
//     the group; off by default because it runs a program.
//   - walk: reading the queue directories, for a host where Postfix is
//     stopped. They are mode 0700 postfix: the daemon must run as root or
//     postfix for this to work.
//
// showq does not list the corrupt queue; with showq and postqueue it is
// counted from the directory when the daemon may read it (root or
// postfix), and stays 0 otherwise.
//
// No queue id, sender or recipient address ever becomes a label. The
// optional top-N deferred domains are the one label taken from queue
// content; they are checked to be plain host names, at most 50 are
// exported, and everything else is summed as _other.
package postfixqueue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

const subsystem = "postfix_queue"

var (
	queueLabels = []string{"postfix_instance", "queue"}

	messagesDesc   = collectors.NewDesc(Name, subsystem, "messages", "Messages in the Postfix queue.", queueLabels...)
	recipientsDesc = collectors.NewDesc(Name, subsystem, "recipients", "Recipients not yet delivered of the messages in the Postfix queue.", queueLabels...)
	sizeDesc       = collectors.NewDesc(Name, subsystem, "size_bytes", "Total size of the messages in the Postfix queue, in bytes.", queueLabels...)
	oldestDesc     = collectors.NewDesc(Name, subsystem, "oldest_message_timestamp_seconds", "Arrival time of the oldest message in the Postfix queue, in Unix seconds; absent when the queue is empty.", queueLabels...)
	deferredDesc   = collectors.NewDesc(Name, subsystem, "deferred_recipients", "Recipients in the deferred queue by class of their delay reason.", "postfix_instance", "reason")
	domainDesc     = collectors.NewDesc(Name, subsystem, "deferred_domain_recipients", "Recipients in the deferred queue by recipient domain, the top N domains and the rest as _other.", "postfix_instance", "domain")
	successDesc    = collectors.NewDesc(Name, subsystem, "read_success", "1 if the queue of the Postfix instance was read completely in the last run, 0 if every source failed.", "postfix_instance")
	sourceDesc     = collectors.NewDesc(Name, subsystem, "source", "1 for the source the queue of the Postfix instance was read from (showq, postqueue, walk), 0 for the others.", "postfix_instance", "source")
)

var allSources = []string{SourceShowq, SourcePostqueue, SourceWalk}

// Collector is the Postfix queue collector.
type Collector struct {
	spools  []Spool
	sources []namedSource
	topN    int
	logger  *zap.Logger

	logs collectors.LogOnChange // per instance
}

// New builds the collector from its config section.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	cfg.ApplyDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("postfix_queue config: %w", errors.Join(errs...))
	}
	var srcs []namedSource
	for _, name := range cfg.Sources {
		srcs = append(srcs, namedSource{name, builtinSource(name, cfg.PostqueuePath, time.Now)})
	}
	return newCollector(cfg, srcs, logger), nil
}

func newCollector(cfg Config, srcs []namedSource, logger *zap.Logger) *Collector {
	return &Collector{
		spools:  append([]Spool(nil), cfg.Spools...),
		sources: srcs,
		topN:    cfg.TopDeferredDomains,
		logger:  logger,
	}
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch, messagesDesc, recipientsDesc, sizeDesc, oldestDesc, deferredDesc, domainDesc, successDesc, sourceDesc)
}

// result is one instance's outcome of a run.
type result struct {
	spool  Spool
	t      *tally
	source string
	err    error
}

// Update implements collectors.Collector. Instances are read in parallel, so
// one hung showq does not starve the others; each source honours ctx.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	results := make([]result, len(c.spools))
	var wg sync.WaitGroup
	for i, sp := range c.spools {
		wg.Go(func() { results[i] = c.readInstance(ctx, sp) })
	}
	wg.Wait()
	return c.emit(results, ch)
}

// readInstance tries the sources in order until one reads the whole queue.
// A source that fails leaves nothing behind: each gets a fresh tally.
func (c *Collector) readInstance(ctx context.Context, sp Spool) result {
	if _, err := os.Stat(sp.Path); errors.Is(err, fs.ErrNotExist) {
		return result{spool: sp, err: fmt.Errorf("spool %s: %w", sp.Path, collectors.ErrNotApplicable)}
	}
	var errs []error
	for _, s := range c.sources {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, ctx.Err()))
			break
		}
		t := newTally(c.topN > 0)
		err := s.read(ctx, sp, t)
		if err == nil {
			return result{spool: sp, t: t, source: s.name}
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
	}
	return result{spool: sp, err: errors.Join(errs...)}
}

func (c *Collector) emit(results []result, ch chan<- prometheus.Metric) error {
	var failed []error
	absent := 0
	for _, r := range results {
		c.noteError(r.spool, r.err)
		inst := r.spool.Name
		ch <- collectors.Gauge(successDesc, collectors.B2F(r.err == nil), inst)
		for _, s := range allSources {
			ch <- collectors.Gauge(sourceDesc, collectors.B2F(s == r.source), inst, s)
		}
		if r.err != nil {
			if errors.Is(r.err, collectors.ErrNotApplicable) {
				absent++
			}
			failed = append(failed, fmt.Errorf("%s: %w", inst, r.err))
			continue
		}
		c.emitTally(r.t, inst, ch)
	}
	switch {
	case len(failed) < len(results) || len(results) == 0:
		return nil
	case absent == len(results):
		return fmt.Errorf("no configured Postfix spool exists: %w", collectors.ErrNotApplicable)
	}
	return fmt.Errorf("no Postfix queue could be read: %w", errors.Join(failed...))
}

func (c *Collector) emitTally(t *tally, inst string, ch chan<- prometheus.Metric) {
	for q := range numQueues {
		s := t.queues[q]
		name := q.String()
		ch <- collectors.Gauge(messagesDesc, float64(s.Messages), inst, name)
		ch <- collectors.Gauge(recipientsDesc, float64(s.Recipients), inst, name)
		ch <- collectors.Gauge(sizeDesc, float64(s.SizeBytes), inst, name)
		if s.Messages > 0 {
			ch <- collectors.Gauge(oldestDesc, float64(s.Oldest), inst, name)
		}
	}
	for r := range numReasons {
		ch <- collectors.Gauge(deferredDesc, float64(t.deferred[r]), inst, r.String())
	}
	if c.topN > 0 {
		for _, d := range t.topDomains(c.topN) {
			ch <- collectors.Gauge(domainDesc, float64(d.Count), inst, d.Domain)
		}
	}
}

// noteError logs an instance's failure when it starts or changes, and its
// recovery, never the same failure every interval.
func (c *Collector) noteError(sp Spool, err error) {
	p := collectors.Problem{Level: zap.WarnLevel, Failed: "cannot read postfix queue", Recovered: "postfix queue readable again"}
	if errors.Is(err, collectors.ErrNotApplicable) {
		p.Level = zap.InfoLevel // no Postfix here: say so once
	}
	c.logs.Note(c.logger, sp.Name, err, p, zap.String("postfix_instance", sp.Name), zap.String("spool", sp.Path))
}

var _ collectors.Collector = (*Collector)(nil)
