// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package mailbox measures the mail stored on the host: bytes and messages
// per mailbox under the configured roots (Maildir trees such as
// /home/*/Maildir or /var/mail/vhosts/*/*, and mbox files such as
// /var/mail/*), optional per-domain totals, and optionally Dovecot's quota
// usage from `doveadm quota get`.
//
// A mailbox is named by the parts of its path the root pattern's wildcards
// match ("alice", "example.org/alice"): a label only because the admin
// configured the root. Only the largest mailboxes (top, default 10) are
// labelled; the rest are summed as "_other", so the series count does not
// grow with the number of users.
//
// Cost. Results are cached per directory, keyed by the directory's stamp
// (mtime, inode, size): Maildir delivery and flag changes rename files in
// new/ and cur/, which moves those directories' mtime, so an unchanged
// mailbox costs one stat per directory and no reads. Maildir++ file names
// carry the size (",S=1234"), used instead of a stat where present. Large
// directories are streamed in batches, so a run holds memory in proportion
// to the number of mailboxes and directories, never to messages. An mbox is
// counted by reading it; after a delivery (an append) only the new bytes
// are read. A run cut by its deadline keeps what it cached, so the next
// run goes on from there.
//
// Permissions: listing other users' Maildirs (mode 0700) needs root or
// CAP_DAC_READ_SEARCH; mbox files in /var/mail are readable by the group
// mail. doveadm needs root, or access to Dovecot's doveadm-server socket.
package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailwatchd/mailwatchd/internal/collectors"
)

// other is the label value of everything not labelled on its own.
const other = "_other"

var (
	sizeDesc = collectors.NewDesc(Name, "mailbox", "size_bytes",
		"Bytes of the messages in the mailbox (cur/ and new/ of every Maildir folder, or the mbox file); the largest mailboxes are labelled, the rest summed as _other.", "mailbox")
	msgsDesc = collectors.NewDesc(Name, "mailbox", "messages",
		"Messages in the mailbox; the largest mailboxes are labelled, the rest summed as _other.", "mailbox")
	rootMailboxesDesc = collectors.NewDesc(Name, "mailbox", "root_mailboxes",
		"Mailboxes found under the configured root pattern.", "root")
	rootUnmeasuredDesc = collectors.NewDesc(Name, "mailbox", "root_unmeasured_mailboxes",
		"Mailboxes under the root not measured wholly in the last run (unreadable, vanished mid-walk, a symbolic link loop, or beyond max_mailboxes).", "root")
	rootSuccessDesc = collectors.NewDesc(Name, "mailbox", "root_success",
		"1 if every directory of the root pattern could be listed; a root whose base directory does not exist has no mailboxes and counts as listed.", "root")
	domainSizeDesc = collectors.NewDesc(Name, "mailbox", "domain_size_bytes",
		"Bytes of the messages in the domain's mailboxes; the largest domains are labelled, the rest and mailboxes without a domain summed as _other.", "domain")
	domainMsgsDesc = collectors.NewDesc(Name, "mailbox", "domain_messages",
		"Messages in the domain's mailboxes; the largest domains are labelled, the rest summed as _other.", "domain")
	domainBoxesDesc = collectors.NewDesc(Name, "mailbox", "domain_mailboxes",
		"Mailboxes of the domain; the largest domains are labelled, the rest summed as _other.", "domain")
	quotaSuccessDesc = collectors.NewDesc(Name, "mailbox", "quota_success",
		"1 if doveadm quota get ran and exited cleanly and its output parsed.")
	quotaUsedBytesDesc = collectors.NewDesc(Name, "mailbox", "quota_used_bytes",
		"Storage counted against the Dovecot quota (the quota root closest to its limit); _other sums the Dovecot users not labelled.", "mailbox")
	quotaLimitBytesDesc = collectors.NewDesc(Name, "mailbox", "quota_limit_bytes",
		"Dovecot storage quota limit in bytes; absent when unlimited, and for _other.", "mailbox")
	quotaUsedMsgsDesc = collectors.NewDesc(Name, "mailbox", "quota_used_messages",
		"Messages counted against the Dovecot quota; _other sums the Dovecot users not labelled.", "mailbox")
	quotaLimitMsgsDesc = collectors.NewDesc(Name, "mailbox", "quota_limit_messages",
		"Dovecot message-count quota limit; absent when unlimited, and for _other.", "mailbox")
	quotaRatioDesc = collectors.NewDesc(Name, "mailbox", "quota_usage_ratio",
		"Usage of the Dovecot quota resource closest to its limit, 0 to 1 (above 1 when overshot); for _other the highest among the Dovecot users not labelled.", "mailbox")
)

// Collector is the mailbox collector. Its cache belongs to the walk in
// flight under the guard, and there is at most one.
type Collector struct {
	roots        []Root
	top          int
	domains      int
	maxMailboxes int
	scan         *scanner
	quota        quotaSource
	logger       *zap.Logger

	logs collectors.LogOnChange // per root, and of the quota

	guard collectors.Guard[walkResult] // the walk, which owns scan while it runs
}

// New builds the collector on the real file system.
func New(cfg Config, logger *zap.Logger) (*Collector, error) {
	var q quotaSource
	if cfg.Quota.Enabled {
		q = doveadm{prog: cfg.Quota.Doveadm, users: cfg.Quota.Users, limit: cfg.MaxMailboxes}
	}
	return newCollector(cfg, OSFS{}, q, time.Now, logger), nil
}

func newCollector(cfg Config, fsys FS, q quotaSource, now func() time.Time, logger *zap.Logger) *Collector {
	return &Collector{
		roots:        append([]Root(nil), cfg.Roots...),
		top:          cfg.Top,
		domains:      cfg.Domains,
		maxMailboxes: cfg.MaxMailboxes,
		scan:         &scanner{fsys: fsys, cache: newCache(), now: now},
		quota:        q,
		logger:       logger,
	}
}

// Inherit takes over the cache of the collector this one replaces on a
// reload, so that a reload does not cost a full walk. Cache entries are
// keyed by absolute directory path, so they stay right whatever the new
// roots; the first complete walk drops the ones no longer visited. A
// previous walk still stuck in a file system call keeps its cache, and
// this collector starts with an empty one.
func (c *Collector) Inherit(prev collectors.Collector) {
	old, ok := prev.(*Collector)
	if !ok || old == c {
		return
	}
	if !old.guard.Retire() {
		return // its walk is stuck and still uses the cache
	}
	// It never walks again: the cache is this one's now.
	c.scan.cache = old.scan.cache
}

// Describe implements collectors.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	collectors.Describe(ch,
		sizeDesc, msgsDesc, rootMailboxesDesc, rootUnmeasuredDesc, rootSuccessDesc,
		domainSizeDesc, domainMsgsDesc, domainBoxesDesc, quotaSuccessDesc,
		quotaUsedBytesDesc, quotaLimitBytesDesc, quotaUsedMsgsDesc, quotaLimitMsgsDesc, quotaRatioDesc)
}

type quotaResult struct {
	users map[string]*quotaUsage
	err   error
}

// Update implements collectors.Collector. The walk runs under the guard and
// owns the cache until it returns, so a file system call that hangs (a dead
// NFS mount) costs one goroutine, never a stuck run; no new walk starts
// until it returns.
func (c *Collector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	w, err := c.guard.Do(ctx, func() walkResult { return c.walk(ctx) })
	if err != nil {
		return fmt.Errorf("mailbox walk: %w", err)
	}
	if w.err != nil {
		return w.err
	}
	return c.report(ch, w)
}

type walkResult struct {
	t     *tally
	roots []rootResult
	q     quotaResult
	err   error
}

// walk measures every root (and asks doveadm alongside).
func (c *Collector) walk(ctx context.Context) walkResult {
	var quotaDone chan quotaResult
	if c.quota != nil {
		// doveadm must give up before the run's deadline so that the sizes
		// still make it into the snapshot.
		qctx, cancel := softDeadline(ctx)
		quotaDone = make(chan quotaResult, 1)
		go func() {
			defer cancel()
			users, err := c.quota.Quota(qctx)
			quotaDone <- quotaResult{users, err}
		}()
	}
	c.scan.cache.gen++
	w := walkResult{t: &tally{idx: map[string]int{}}, roots: make([]rootResult, 0, len(c.roots))}
	for _, r := range c.roots {
		w.roots = append(w.roots, c.scanRoot(ctx, r, w.t))
		if ctx.Err() != nil {
			break
		}
	}
	if quotaDone != nil {
		w.q = <-quotaDone
	}
	if err := ctx.Err(); err != nil {
		w.err = fmt.Errorf("mailbox walk cut short after %d mailboxes (what was measured is cached for the next run): %w", len(w.t.boxes), err)
		return w
	}
	c.scan.cache.sweep()
	return w
}

// softDeadline leaves a tenth of the remaining time to the rest of the run.
func softDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-time.Until(dl)/10))
}

// box is one mailbox's totals; mailboxes of the same name under several
// roots (a user's mbox inbox and Maildir) are one box.
type box struct {
	name, domain string
	u            usage
}

type tally struct {
	idx   map[string]int
	boxes []box
}

func (t *tally) add(name, domain string, u usage) {
	i, ok := t.idx[name]
	if !ok {
		i = len(t.boxes)
		t.idx[name] = i
		t.boxes = append(t.boxes, box{name: name, domain: domain})
	}
	t.boxes[i].u.add(u)
}

type rootResult struct {
	path       string
	found      int
	unmeasured int
	capped     int
	absent     bool
	listErrs   []error
	firstErr   error
}

// scanRoot measures every mailbox the root's pattern matches.
func (c *Collector) scanRoot(ctx context.Context, r Root, t *tally) rootResult {
	res := rootResult{path: r.Path}
	e := expand(c.scan.fsys, r.Path, func(path string, parts []string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(t.boxes) >= c.maxMailboxes {
			res.found++
			res.unmeasured++
			res.capped++
			return nil
		}
		var u usage
		var err error
		if r.Format == FormatMbox {
			u, err = c.scan.mbox(ctx, path)
		} else {
			u, err = c.scan.maildir(ctx, path)
		}
		switch {
		case errors.Is(err, errNoMailbox):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			res.unmeasured++
			if res.firstErr == nil {
				res.firstErr = err
			}
		}
		res.found++
		t.add(mailboxName(parts), domainOf(parts), u)
		return nil
	})
	res.absent, res.listErrs = e.absent, e.errs
	return res
}

var _ collectors.Collector = (*Collector)(nil)
