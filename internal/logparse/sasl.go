// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// The compromised-account signals (issue #18): per SASL user over a
// sliding window, the messages submitted, their recipients, the distinct
// client addresses and the deferred and bounced outcomes of their mail.
// Only rank slots reach /metrics; the names behind them are read with
// TopSASLSenders (status page, check, the daemon's log).
//
// The lines followed, as Postfix writes them (smtpd.c, qmgr_active.c,
// log_adhoc.c):
//
//	QID: client=host[addr], sasl_method=PLAIN, sasl_username=user[, sasl_sender=s]  (smtpd)
//	QID: from=<sender>, size=N, nrcpt=M (queue active)                               (qmgr)
//	QID: to=<rcpt>, relay=..., status=deferred|bounced (...)                        (smtp, lmtp, local...)
//	QID: removed                                                                    (qmgr)
//
// A message counts at its client= line (when it was submitted: smtpd
// opens the queue file and logs the line at the first recipient it
// accepts, smtpd.c rcpt_cmd -> mail_open_stream, with the default
// smtpd_delay_open_until_valid_rcpt; so a message a milter then rejects
// counts, as it counts as received, and a NOQUEUE transaction does not), its
// recipients and the sender check at the first qmgr from= line of its
// queue id, an outcome at each deferred or bounced delivery line. The
// window is cut in saslSlots slots: a count leaves the window a slot at a
// time, so a 1h window moves in 5-minute steps.
//
// Memory is bounded: at most maxUsers users and maxQIDs queue ids are
// tracked. When a table is full, entries idle for longer than the window
// are dropped first; if none is, the new user or queue id is not tracked
// and mailwatch_postfix_sasl_tracking_dropped_total counts it. A user's
// distinct client addresses are kept up to saslMaxIPs (the count saturates
// there), a user name up to saslMaxUser bytes. With the defaults (10000
// users, 50000 queue ids) the tables stay under SASLMemoryBound.
//
// The window (its users and queue ids, idle ones left out) is saved with
// the counters in the state file, so a restart continues it: lines of a
// message submitted before the restart are still attributed. A window
// saved with another slot length (sasl_window changed) is dropped.

const (
	saslSlots   = 12
	saslMaxIPs  = 32
	saslMaxUser = 256
	// MaxSASLTopSenders bounds the rank label: "1" .. "10".
	MaxSASLTopSenders = 10
	// SASLMemoryBound is the documented bound of the tracking tables with
	// the default caps (DefaultSASLMaxUsers, DefaultSASLMaxQueueIDs),
	// checked by TestSASLMillionUsersMemory.
	SASLMemoryBound = 32 << 20
)

// saslSlot is one slot of a user's window.
type saslSlot struct {
	epoch                              int64 // the slot's index since the Unix epoch; its counts are stale when it is too old
	messages, rcpts, deferred, bounced uint32
}

// saslIP is a client address, kept as the 64-bit FNV-1a hash of its text
// (qidHash): telling addresses apart needs no more, and the hash is never
// 0 (an empty slot).
type saslIP struct {
	h    uint64
	last int64 // slot index of the last submission from the address
}

type saslUser struct {
	name  string
	slots [saslSlots]saslSlot
	ips   []saslIP
	last  int64 // slot index of the last activity
}

type saslQID struct {
	user    *saslUser
	epoch   int64 // slot index of the client= line
	counted bool  // its qmgr from= line was seen
}

// SASLSender is one user's counts over the window.
type SASLSender struct {
	User                                    string
	Messages, Recipients, Deferred, Bounced int
	ClientIPs                               int
}

type saslTracker struct {
	mismatch    atomic.Uint64
	droppedUser atomic.Uint64
	droppedQID  atomic.Uint64
	now         func() time.Time

	mu       sync.Mutex
	slotDur  int64 // nanoseconds
	top      int
	maxUsers int
	maxQIDs  int
	users    map[string]*saslUser
	qids     map[string]*saslQID
	latest   int64 // newest slot index seen in a line
	swept    int64 // slot index of the last sweep that ran because a table was full
}

func newSASLTracker(now func() time.Time) *saslTracker {
	t := &saslTracker{now: now, users: map[string]*saslUser{}, qids: map[string]*saslQID{}}
	t.configure(DefaultSASLWindow, DefaultSASLTopSenders, DefaultSASLMaxUsers, DefaultSASLMaxQueueIDs)
	return t
}

// configure sets the window and the caps; a new window length empties
// the window (its slots no longer mean the same time).
func (t *saslTracker) configure(window time.Duration, top, maxUsers, maxQIDs int) {
	window, top = cmp.Or(window, DefaultSASLWindow), cmp.Or(top, DefaultSASLTopSenders)
	maxUsers, maxQIDs = cmp.Or(maxUsers, DefaultSASLMaxUsers), cmp.Or(maxQIDs, DefaultSASLMaxQueueIDs)
	t.mu.Lock()
	defer t.mu.Unlock()
	d := int64(window) / saslSlots
	if d <= 0 {
		d = 1
	}
	if d != t.slotDur {
		t.slotDur = d
		clear(t.users)
		clear(t.qids)
		t.latest, t.swept = 0, 0
	}
	t.top, t.maxUsers, t.maxQIDs = top, maxUsers, maxQIDs
}

func (t *saslTracker) slotOf(ts time.Time) int64 { return ts.UnixNano() / t.slotDur }

// ref is the slot index the window ends at: the newest line's, or the
// clock's when it is later (no mail for a while: the window still moves).
func (t *saslTracker) ref() int64 {
	return max(t.latest, t.now().UnixNano()/t.slotDur)
}

// Epoch is the slot index now: the scrape key moves with it, so that the
// window's gauges are gathered again when a slot leaves it.
func (t *saslTracker) epoch() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return uint64(t.ref()) //nolint:gosec // a bit pattern for the scrape key
}

// observe follows one classified line; ts is its time.
func (t *saslTracker) observe(r *maillog.Result, msg []byte, ts time.Time) {
	switch {
	case r.Action == maillog.ActReceived && hasEvent(r, maillog.EvPostfixSASLSubmission):
		qid, rest := splitQID(msg)
		user, addr := parseSASLClient(rest)
		if len(user) > 0 {
			t.submission(qid, user, addr, ts)
		}
	case r.Flow.HasSize:
		_, rest := splitQID(msg)
		t.queued(r.Flow.QueueID, senderOf(rest), r.Flow.Rcpts)
	case r.Flow.Removed:
		t.mu.Lock()
		delete(t.qids, string(r.Flow.QueueID))
		t.mu.Unlock()
	case r.Delivery.Status == maillog.StatusDeferred || r.Delivery.Status == maillog.StatusBounced:
		qid, _ := splitQID(msg)
		t.outcome(qid, r.Delivery.Status == maillog.StatusBounced, ts)
	}
}

func hasEvent(r *maillog.Result, e maillog.Event) bool {
	return slices.Contains(r.Events[:r.NEvents], e)
}

// splitQID splits "QID: rest" at its first ": ".
func splitQID(msg []byte) (qid, rest []byte) {
	i := bytes.Index(msg, []byte(": "))
	if i <= 0 || i > 32 {
		return nil, msg
	}
	return msg[:i], msg[i+2:]
}

// parseSASLClient reads "client=name[addr], ..., sasl_username=user[,
// sasl_sender=...]". The user name runs to ", sasl_sender=" or the end:
// smtpd writes sasl_sender last, after the user name.
// addr is the hash of the address between the brackets (0 for none).
func parseSASLClient(rest []byte) (user []byte, addr uint64) {
	if lb := bytes.IndexByte(rest, '['); lb >= 0 {
		if rb := bytes.IndexByte(rest[lb:], ']'); rb > 1 {
			addr = qidHash(rest[lb+1 : lb+rb])
		}
	}
	i := bytes.Index(rest, []byte(", sasl_username="))
	if i < 0 {
		return nil, addr
	}
	user = rest[i+len(", sasl_username="):]
	if j := bytes.Index(user, []byte(", sasl_sender=")); j >= 0 {
		user = user[:j]
	}
	if len(user) > saslMaxUser {
		user = user[:saslMaxUser]
	}
	return user, addr
}

// senderOf reads the address of "from=<addr>, ...".
func senderOf(rest []byte) []byte {
	rest, ok := bytes.CutPrefix(rest, []byte("from=<"))
	if !ok {
		return nil
	}
	if j := bytes.Index(rest, []byte(">, ")); j >= 0 {
		return rest[:j]
	}
	return nil
}

// domainOf is what follows the last '@', or nothing.
func domainOf[S ~string | ~[]byte](a S) S {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == '@' {
			return a[i+1:]
		}
	}
	return a[:0]
}

// equalFoldASCII compares a domain of the user name with one of the
// sender, ASCII case-insensitively (domains in the log are ASCII: IDNs
// appear as xn-- labels), without converting either.
func equalFoldASCII(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (u *saslUser) slot(e int64) *saslSlot {
	s := &u.slots[e%saslSlots]
	if s.epoch != e {
		*s = saslSlot{epoch: e}
	}
	return s
}

func (t *saslTracker) submission(qid, user []byte, addr uint64, ts time.Time) {
	e := t.slotOf(ts)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.latest = max(t.latest, e)
	u := t.users[string(user)]
	if u == nil {
		if len(t.users) >= t.maxUsers {
			t.sweepLocked()
		}
		if len(t.users) >= t.maxUsers {
			t.droppedUser.Add(1)
			return
		}
		u = &saslUser{name: string(user)}
		t.users[u.name] = u
	}
	u.last = max(u.last, e)
	u.slot(e).messages++
	if addr != 0 {
		u.seeIP(addr, e)
	}
	if len(qid) == 0 {
		return
	}
	if q := t.qids[string(qid)]; q != nil { // a queue id reused: the newest message
		*q = saslQID{user: u, epoch: e}
		return
	}
	if len(t.qids) >= t.maxQIDs {
		t.sweepLocked()
		if len(t.qids) >= t.maxQIDs {
			t.droppedQID.Add(1)
			return
		}
	}
	t.qids[string(qid)] = &saslQID{user: u, epoch: e}
}

// seeIP records a submission from a; at saslMaxIPs addresses, one that
// left the window is replaced, else a is not kept (the count saturates).
func (u *saslUser) seeIP(a uint64, e int64) {
	oldest := -1
	for i := range u.ips {
		if u.ips[i].h == a {
			u.ips[i].last = e
			return
		}
		if oldest < 0 || u.ips[i].last < u.ips[oldest].last {
			oldest = i
		}
	}
	if len(u.ips) < saslMaxIPs {
		u.ips = append(u.ips, saslIP{h: a, last: e})
		return
	}
	if u.ips[oldest].last <= e-saslSlots {
		u.ips[oldest] = saslIP{h: a, last: e}
	}
}

func (t *saslTracker) queued(qid, sender []byte, rcpts uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.qids[string(qid)]
	if q == nil || q.counted {
		return
	}
	q.counted = true
	q.user.slot(q.epoch).rcpts += uint32(min(rcpts, 1<<20)) //nolint:gosec // bounded above
	ud, sd := domainOf(q.user.name), domainOf(sender)
	if len(ud) > 0 && len(sd) > 0 && !equalFoldASCII(ud, sd) {
		t.mismatch.Add(1)
	}
}

func (t *saslTracker) outcome(qid []byte, bounced bool, ts time.Time) {
	e := t.slotOf(ts)
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.qids[string(qid)]
	if q == nil {
		return
	}
	t.latest = max(t.latest, e)
	q.user.last = max(q.user.last, e)
	s := q.user.slot(e)
	if bounced {
		s.bounced++
	} else {
		s.deferred++
	}
}

// sweepLocked drops the users and queue ids idle for the whole window; it
// runs at most once per slot, so that a flood of new names when the tables
// are full costs a map lookup per line, not a walk of the tables.
func (t *saslTracker) sweepLocked() {
	r := t.ref()
	if t.swept == r {
		return
	}
	t.swept = r
	t.sweepIdleLocked(r)
}

func (t *saslTracker) sweepIdleLocked(r int64) {
	for k, u := range t.users {
		if u.last <= r-saslSlots {
			delete(t.users, k)
		}
	}
	for k, q := range t.qids {
		if q.epoch <= r-saslSlots {
			delete(t.qids, k)
		}
	}
}

// totals sums u's slots in the window ending at slot r.
func (u *saslUser) totals(r int64) SASLSender {
	s := SASLSender{User: u.name}
	for i := range u.slots {
		sl := &u.slots[i]
		if sl.epoch > r-saslSlots && sl.epoch <= r {
			s.Messages += int(sl.messages)
			s.Recipients += int(sl.rcpts)
			s.Deferred += int(sl.deferred)
			s.Bounced += int(sl.bounced)
		}
	}
	for _, ip := range u.ips {
		if ip.last > r-saslSlots {
			s.ClientIPs++
		}
	}
	return s
}

// window returns every user active in the window, by messages
// (descending, then name), and drops the idle ones.
func (t *saslTracker) window() []SASLSender {
	t.mu.Lock()
	r := t.ref()
	t.sweepIdleLocked(r)
	out := make([]SASLSender, 0, len(t.users))
	for _, u := range t.users {
		if s := u.totals(r); s.Messages > 0 || s.Deferred > 0 || s.Bounced > 0 {
			out = append(out, s)
		}
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b SASLSender) int {
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), cmp.Compare(a.User, b.User))
	})
	return out
}

// TopSASLSenders returns the users of the window with the most messages,
// as many as the rank slots (sasl_top_senders), most first: the names
// behind mailwatch_postfix_sasl_top_sender_messages, never label values.
func (p *Pipeline) TopSASLSenders() []SASLSender {
	all := p.counters.sasl.window()
	p.counters.sasl.mu.Lock()
	n := p.counters.sasl.top
	p.counters.sasl.mu.Unlock()
	return all[:min(n, len(all))]
}

// SASLWindow returns every tracked user active in the window, most
// messages first (at most sasl_max_users).
func (p *Pipeline) SASLWindow() []SASLSender { return p.counters.sasl.window() }

type saslDescs struct {
	messages, ips, active, mismatch, dropped *prometheus.Desc
}

func newSASLDescs(d func(sub, name, help string, labels ...string) *prometheus.Desc) saslDescs {
	return saslDescs{
		messages: d("postfix", "sasl_top_sender_messages", "Messages submitted over the SASL window (logs.sasl_window) by the SASL user of this rank: rank 1 submitted the most. The user names are on the status page, in check and in the log, never in a label.", "rank"),
		ips:      d("postfix", "sasl_top_sender_client_ips", "Distinct client addresses over the SASL window of the SASL user of this rank by that count (ranked on its own: rank 1 used the most addresses; at most 32 per user are told apart).", "rank"),
		active:   d("postfix", "sasl_active_senders", "SASL users that submitted mail over the SASL window (tracked users only: see mailwatch_postfix_sasl_tracking_dropped_total)."),
		mismatch: d("postfix", "sasl_sender_mismatch_total", "Authenticated submissions whose envelope sender domain differs from the domain of the SASL user name (users without a domain are not compared)."),
		dropped:  d("postfix", "sasl_tracking_dropped_total", "SASL users and queue ids not tracked because their table was full (logs.sasl_max_users, logs.sasl_max_queue_ids).", "table"),
	}
}

func (d *saslDescs) list() []*prometheus.Desc {
	return []*prometheus.Desc{d.messages, d.ips, d.active, d.mismatch, d.dropped}
}

var rankLabels = [MaxSASLTopSenders]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}

func (t *saslTracker) collect(d *saslDescs, ch chan<- prometheus.Metric) {
	all := t.window()
	t.mu.Lock()
	n := t.top
	t.mu.Unlock()
	ips := make([]int, 0, len(all))
	for _, s := range all {
		if s.Messages > 0 {
			ips = append(ips, s.ClientIPs)
		}
	}
	slices.SortFunc(ips, func(a, b int) int { return cmp.Compare(b, a) })
	active := 0
	for _, s := range all {
		if s.Messages > 0 {
			active++
		}
	}
	for i := range n {
		var m, c int
		if i < len(all) {
			m = all[i].Messages
		}
		if i < len(ips) {
			c = ips[i]
		}
		ch <- prometheus.MustNewConstMetric(d.messages, prometheus.GaugeValue, float64(m), rankLabels[i])
		ch <- prometheus.MustNewConstMetric(d.ips, prometheus.GaugeValue, float64(c), rankLabels[i])
	}
	ch <- prometheus.MustNewConstMetric(d.active, prometheus.GaugeValue, float64(active))
	ch <- prometheus.MustNewConstMetric(d.mismatch, prometheus.CounterValue, float64(t.mismatch.Load()))
	ch <- prometheus.MustNewConstMetric(d.dropped, prometheus.CounterValue, float64(t.droppedUser.Load()), "user")
	ch <- prometheus.MustNewConstMetric(d.dropped, prometheus.CounterValue, float64(t.droppedQID.Load()), "queue_id")
}

// saslState is the saved window (state.go): the users and queue ids
// still in it, with the slot length they were counted in; a state of
// another slot length (sasl_window changed) is dropped.
type saslState struct {
	SlotNanos int64           `json:"slot_ns"`
	Users     []saslUserState `json:"users,omitempty"`
	QueueIDs  []saslQIDState  `json:"queue_ids,omitempty"`
}

type saslUserState struct {
	Name  string          `json:"name"`
	Last  int64           `json:"last"`
	Slots []saslSlotState `json:"slots,omitempty"`
	IPs   []saslIPState   `json:"ips,omitempty"`
}

type saslSlotState struct {
	Epoch    int64  `json:"slot"`
	Messages uint32 `json:"messages,omitempty"`
	Rcpts    uint32 `json:"recipients,omitempty"`
	Deferred uint32 `json:"deferred,omitempty"`
	Bounced  uint32 `json:"bounced,omitempty"`
}

type saslIPState struct {
	Hash uint64 `json:"hash"` // of the address: the state file holds no client address
	Last int64  `json:"last"`
}

type saslQIDState struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Epoch   int64  `json:"slot"`
	Counted bool   `json:"counted,omitempty"`
}

// snapshot returns the window, idle entries left out.
func (t *saslTracker) snapshot() *saslState {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.ref()
	st := &saslState{SlotNanos: t.slotDur}
	for _, u := range t.users {
		if u.last <= r-saslSlots {
			continue
		}
		us := saslUserState{Name: u.name, Last: u.last}
		for _, s := range u.slots {
			if s.epoch > r-saslSlots && s != (saslSlot{epoch: s.epoch}) {
				us.Slots = append(us.Slots, saslSlotState{s.epoch, s.messages, s.rcpts, s.deferred, s.bounced})
			}
		}
		for _, ip := range u.ips {
			if ip.last > r-saslSlots {
				us.IPs = append(us.IPs, saslIPState{ip.h, ip.last})
			}
		}
		st.Users = append(st.Users, us)
	}
	for id, q := range t.qids {
		if q.epoch > r-saslSlots {
			st.QueueIDs = append(st.QueueIDs, saslQIDState{ID: id, User: q.user.name, Epoch: q.epoch, Counted: q.counted})
		}
	}
	slices.SortFunc(st.Users, func(a, b saslUserState) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(st.QueueIDs, func(a, b saslQIDState) int { return cmp.Compare(a.ID, b.ID) })
	return st
}

// restore loads a saved window, within the caps.
func (t *saslTracker) restore(st *saslState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.users)
	clear(t.qids)
	if st == nil || st.SlotNanos != t.slotDur {
		return
	}
	for _, us := range st.Users {
		if len(t.users) >= t.maxUsers || len(us.Name) > saslMaxUser || t.users[us.Name] != nil {
			continue
		}
		u := &saslUser{name: us.Name, last: us.Last}
		for _, s := range us.Slots {
			sl := u.slot(s.Epoch)
			sl.messages, sl.rcpts, sl.deferred, sl.bounced = s.Messages, s.Rcpts, s.Deferred, s.Bounced
		}
		for _, ip := range us.IPs {
			if len(u.ips) < saslMaxIPs && ip.Hash != 0 {
				u.ips = append(u.ips, saslIP{ip.Hash, ip.Last})
			}
		}
		t.users[u.name] = u
		t.latest = max(t.latest, u.last)
	}
	for _, q := range st.QueueIDs {
		if u := t.users[q.User]; u != nil && len(t.qids) < t.maxQIDs {
			t.qids[q.ID] = &saslQID{user: u, epoch: q.Epoch, counted: q.Counted}
		}
	}
}
