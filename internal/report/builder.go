// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// Defaults of Options.
const (
	DefaultMaxKeys  = 10000
	DefaultMaxQueue = 200000
	DefaultTop      = 20
)

// Options shape a report.
type Options struct {
	// Since and Until bound the lines counted: Since <= time < Until; a
	// zero value does not bound. Lines before Since still teach the sizes
	// of the messages they name (a message received yesterday and
	// delivered today has its bytes counted today), and are counted nowhere.
	Since, Until time.Time
	// MaxKeys bounds the distinct keys of every table (default
	// DefaultMaxKeys); updates of keys beyond it go to the OtherKey row.
	MaxKeys int
	// MaxQueue bounds the messages whose size and origin are remembered
	// between their lines (default DefaultMaxQueue): Postfix's "removed"
	// forgets a message, and so does the arrival of MaxQueue later ones
	// (counted in Report.QueueForgotten).
	MaxQueue int
	// Location reads timestamps without a zone (default time.Local); Now
	// gives traditional syslog timestamps their year (default time.Now()).
	Location *time.Location
	Now      time.Time
}

// msgState is what is remembered of a queued message between its lines.
type msgState struct {
	seq       uint64 // when it was first seen (see Builder.msg)
	size      uint64
	sizeKnown bool
	// from is where the message came from, set by its smtpd client= line
	// (the client's host/domain) or pickup ("pickup"), and cleared when
	// its qmgr from= line counted it as received.
	from     string
	received bool
	deferred bool
}

// Builder reads log lines into a report. It is a follow.Sink: feed it with
// Feed (or follow.ReadAll), then call Report. It classifies each line with
// the daemon's classifier, so that its totals are the daemon's counters.
type Builder struct {
	opt Options
	cls *maillog.Classifier

	e   maillog.Entry
	res maillog.Result

	r Report // the counts; its tables are filled at Report()

	delivery   *table[domainDelivery]
	received   *table[domainReceived]
	deferrals  *table[counter]
	bounces    *table[counter]
	rejects    *table[counter]
	rejClients *table[counter]
	senders    *table[userRow]
	recipients *table[userRow]
	conns      *table[counter]
	auth       *table[counter]
	bans       *table[counter]
	verdicts   *table[counter]
	problems   *table[counter]
	unmatched  *table[counter]
	days       *table[Traffic]

	queue map[string]*msgState
	ring  []queued // queue ids in the order first seen (see msg)
	head  int      // the oldest slot once the ring is full
	seq   uint64

	// Counts by enumeration, turned into the report's maps at the end.
	totals          [maillog.NumActions]uint64
	events          [maillog.NumEvents]uint64
	unmatchedByProg [maillog.NumPrograms]uint64
	key             []byte // scratch for table keys

	lastDay    [2]int // year, yday of dayRow
	dayRow     *Traffic
	lastMinute int64  // Unix minute of hourRow
	lastTS     []byte // the timestamp text last read, and its time
	lastT      time.Time
	lastDated  bool
	hourRow    *Traffic
	first, end time.Time
}

type domainDelivery struct {
	sent, deferred, bounced, bytes uint64
	delaySum, delayMax             uint64 // microseconds
}

type domainReceived struct{ messages, bytes uint64 }

type userRow struct{ messages, bytes uint64 }

var _ follow.Sink = (*Builder)(nil)

// NewBuilder returns a builder that classifies with cfg's rules, as the
// daemon does.
func NewBuilder(cfg logparse.Config, opt Options) (*Builder, error) {
	cls, err := logparse.NewClassifier(cfg)
	if err != nil {
		return nil, err
	}
	if opt.MaxKeys <= 0 {
		opt.MaxKeys = DefaultMaxKeys
	}
	if opt.MaxQueue <= 0 {
		opt.MaxQueue = DefaultMaxQueue
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	m := opt.MaxKeys
	b := &Builder{
		opt: opt, cls: cls,
		delivery: newTable[domainDelivery](m), received: newTable[domainReceived](m),
		deferrals: newTable[counter](m), bounces: newTable[counter](m), rejects: newTable[counter](m),
		rejClients: newTable[counter](m), senders: newTable[userRow](m), recipients: newTable[userRow](m),
		conns: newTable[counter](m), auth: newTable[counter](m), bans: newTable[counter](m),
		verdicts: newTable[counter](m), problems: newTable[counter](m), unmatched: newTable[counter](m),
		days:  newTable[Traffic](m),
		queue: map[string]*msgState{},
	}
	return b, nil
}

// Line takes one raw line.
func (b *Builder) Line(line []byte) {
	b.r.Lines++
	var ok bool
	if b.e, ok = maillog.Parse(line); !ok {
		b.r.Malformed++
		return
	}
	b.entry(&b.e)
}

// Entry takes one journal entry.
func (b *Builder) Entry(e *maillog.Entry) {
	b.r.Lines++
	b.entry(e)
}

// Malformed counts a line that could not be read.
func (b *Builder) Malformed() {
	b.r.Lines++
	b.r.Malformed++
}

// Flush has nothing to publish: the report is read once, at the end.
func (b *Builder) Flush() {}

// LastLine is not used by ReadAll.
func (b *Builder) LastLine([]byte) {}

// sep separates the parts of a composite table key.
const sep = "\x00"

func (b *Builder) entry(e *maillog.Entry) {
	var t time.Time
	var dated bool
	if len(e.Timestamp) > 0 && bytes.Equal(e.Timestamp, b.lastTS) {
		t, dated = b.lastT, b.lastDated // lines of one second share the work
	} else {
		t, dated = e.Time(b.opt.Now, b.opt.Location)
		b.lastTS, b.lastT, b.lastDated = append(b.lastTS[:0], e.Timestamp...), t, dated
	}
	if dated {
		if (!b.opt.Since.IsZero() && t.Before(b.opt.Since)) || (!b.opt.Until.IsZero() && !t.Before(b.opt.Until)) {
			b.r.OutsideWindow++
			if !b.opt.Since.IsZero() && t.Before(b.opt.Since) {
				b.learnSize(e)
			}
			return
		}
		if b.first.IsZero() || t.Before(b.first) {
			b.first = t
		}
		if t.After(b.end) {
			b.end = t
		}
	} else {
		b.r.Undated++
	}
	b.cls.Classify(e, &b.res)
	res := &b.res
	for _, ev := range res.Events[:res.NEvents] {
		b.events[ev]++
	}
	if res.Action != maillog.ActNone {
		b.totals[res.Action]++
	}
	if !res.Matched {
		b.unmatchedByProg[res.Program]++
		b.unmatched.get(string(e.Program)+": "+logparse.MaskShape(e.Message)).n++
	}
	var hour, day *Traffic
	if dated {
		// Every zone's offset is a multiple of a quarter hour: a minute
		// never straddles two local hours, so the rows are looked up once
		// a minute.
		if min := t.Unix() / 60; b.hourRow == nil || min != b.lastMinute {
			lt := t.In(b.opt.Location)
			b.lastMinute, b.hourRow = min, &b.r.PerHour[lt.Hour()]
			if y, d := lt.Year(), lt.YearDay(); b.dayRow == nil || y != b.lastDay[0] || d != b.lastDay[1] {
				b.lastDay = [2]int{y, d}
				b.dayRow = b.days.get(lt.Format("2006-01-02"))
			}
		}
		hour, day = b.hourRow, b.dayRow
	}
	count := func(f func(*Traffic) *uint64) {
		if hour != nil {
			*f(hour)++
			*f(day)++
		}
	}
	switch res.Program {
	case maillog.ProgPostfix:
		b.postfix(e, res, count)
	case maillog.ProgDovecot:
		if hasEvent(res, maillog.EvDovecotAuthFailure) {
			user, client := dovecotFailure(e.Message)
			b.key = append(append(append(append(append(b.key[:0], "dovecot"...), sep...), user...), sep...), client...)
			b.auth.getBytes(b.key).n++
		}
	case maillog.ProgFail2ban:
		if hasEvent(res, maillog.EvFail2banBan) {
			b.bans.get(fail2banJail(e.Message)).n++
		}
	}
	for _, ev := range res.Events[:res.NEvents] {
		switch ev {
		case maillog.EvVirusFound, maillog.EvAmavisSpamBlocked, maillog.EvAmavisBanned, maillog.EvRspamdReject,
			maillog.EvRspamdSoftReject, maillog.EvRspamdGreylist, maillog.EvRspamdAddHeader, maillog.EvRspamdRewriteSubject:
			b.verdicts.get(res.Program.String()+sep+ev.String()).n++
		}
		if sev := severityOf(ev); sev != "" {
			b.problems.get(sev+sep+string(e.Program)+sep+logparse.MaskShape(e.Message)).n++
		}
	}
}

func hasEvent(r *maillog.Result, ev maillog.Event) bool {
	for _, x := range r.Events[:r.NEvents] {
		if x == ev {
			return true
		}
	}
	return false
}

// severityOf returns the level of a per-program severity event
// ("postfix_warning" is warning), "" for the other events.
func severityOf(ev maillog.Event) string {
	if ev < maillog.EvPostfixWarning {
		return ""
	}
	s := ev.String()
	if i := bytes.LastIndexByte([]byte(s), '_'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// learnSize remembers the size of a message from a line before the window.
func (b *Builder) learnSize(e *maillog.Entry) {
	fam := e.Program
	if !bytes.HasPrefix(fam, []byte("postfix")) {
		return
	}
	qid, body := postfixBody(e.Message)
	if qid == nil {
		return
	}
	switch {
	case bytes.HasPrefix(body, []byte("from=<")):
		if size, ok := sizeOf(body); ok {
			m := b.msg(qid)
			if !m.sizeKnown {
				m.size, m.sizeKnown = size, true
			}
		}
	case string(body) == "removed":
		delete(b.queue, string(qid))
	}
}

func sizeOf(body []byte) (uint64, bool) {
	v, ok := field(body, "size")
	if !ok || len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// msg returns the state of a queued message, creating it. The queue ids
// are kept in a ring of MaxQueue in the order they were first seen: a
// message Postfix has not removed by the time MaxQueue later messages have
// been seen is forgotten.
func (b *Builder) msg(qid []byte) *msgState {
	if m, ok := b.queue[string(qid)]; ok {
		return m
	}
	b.seq++
	e := queued{qid: string(qid), seq: b.seq}
	if len(b.ring) < b.opt.MaxQueue {
		b.ring = append(b.ring, e)
	} else {
		// The oldest slot: forgotten unless Postfix removed it already (or
		// its queue id came back since, with another seq).
		old := b.ring[b.head]
		if m, ok := b.queue[old.qid]; ok && m.seq == old.seq {
			delete(b.queue, old.qid)
			b.r.QueueForgotten++
		}
		b.ring[b.head] = e
		b.head = (b.head + 1) % len(b.ring)
	}
	m := &msgState{seq: b.seq}
	b.queue[e.qid] = m
	return m
}

// queued is a slot of the queue ring.
type queued struct {
	qid string
	seq uint64
}

func (b *Builder) postfix(e *maillog.Entry, res *maillog.Result, count func(func(*Traffic) *uint64)) {
	qid, body := postfixBody(e.Message)
	daemon := daemonOf(e.Program)
	switch res.Action {
	case maillog.ActReceived:
		count(func(t *Traffic) *uint64 { return &t.Received })
		if qid == nil {
			return
		}
		m := b.msg(qid)
		m.received = true
		if string(daemon) == "pickup" {
			m.from = "pickup"
		} else if c, ok := field(body, "client"); ok {
			m.from = clientDomain(c)
		}
		return
	case maillog.ActDelivered:
		count(func(t *Traffic) *uint64 { return &t.Delivered })
		b.delivered(qid, body, res)
		return
	case maillog.ActDeferred:
		count(func(t *Traffic) *uint64 { return &t.Deferred })
		b.deferred(qid, body, res)
		return
	case maillog.ActBounced:
		count(func(t *Traffic) *uint64 { return &t.Bounced })
		addr, _ := angle(body, "to=")
		b.key = appendNormAddress(b.key[:0], addr)
		b.delivery.getBytes(domainOf(b.key)).bounced++
		relay, _ := field(body, "relay")
		b.key = append(append(b.key[:0], relay...), sep...)
		b.key = appendReply(b.key, statusText(body, "bounced"))
		b.bounces.getBytes(b.key).n++
		return
	case maillog.ActRejected:
		count(func(t *Traffic) *uint64 { return &t.Rejected })
		stage, client, reply := rejectParts(body)
		b.key = append(append(append(append(b.key[:0], daemon...), ' '), stage...), sep...)
		b.key = appendReply(b.key, reply)
		b.rejects.getBytes(b.key).n++
		if client != nil {
			b.key = appendClientDomain(b.key[:0], client)
			b.rejClients.getBytes(b.key).n++
		}
		return
	}
	switch {
	case qid != nil && (string(daemon) == "qmgr" || string(daemon) == "oqmgr"):
		if bytes.HasPrefix(body, []byte("from=<")) {
			b.qmgrFrom(qid, body)
		} else if string(body) == "removed" {
			delete(b.queue, string(qid))
		}
	case qid == nil && string(daemon) == "smtpd" && bytes.HasPrefix(body, []byte("connect from ")):
		b.key = appendClientDomain(b.key[:0], body[len("connect from "):])
		b.conns.getBytes(b.key).n++
	}
	if hasEvent(res, maillog.EvSASLAuthFailure) {
		user, client := saslFailure(body)
		b.key = append(append(append(append(append(b.key[:0], "postfix"...), sep...), user...), sep...), client...)
		b.auth.getBytes(b.key).n++
	}
}

// qmgrFrom reads "from=<s>, size=N, nrcpt=M (queue active)": the size of
// the message, and, the first time a received message shows it, the
// sender's counts (pflogsumm's definitions: a message counts as received
// by its sender's domain when an smtpd or pickup line said where it came
// from).
func (b *Builder) qmgrFrom(qid, body []byte) {
	size, ok := sizeOf(body)
	if !ok {
		return
	}
	m := b.msg(qid)
	if m.sizeKnown {
		return
	}
	m.size, m.sizeKnown = size, true
	if !m.received {
		return
	}
	m.received = false
	raw, _ := angle(body, "from=")
	b.key = appendNormAddress(b.key[:0], raw)
	var d *domainReceived
	switch {
	case bytes.IndexByte(raw, '@') >= 0:
		d = b.received.getBytes(domainOf(b.key))
	case m.from == "pickup" && len(raw) > 0:
		d = b.received.getBytes(b.key)
	case m.from == "pickup":
		d = b.received.get("from=<>")
	default:
		d = b.received.get(m.from)
	}
	d.messages++
	d.bytes += size
	if len(raw) == 0 {
		b.key = append(b.key[:0], "<>"...)
	}
	s := b.senders.getBytes(b.key)
	s.messages++
	s.bytes += size
	b.r.Bytes.Received += size
	m.from = ""
}

func (b *Builder) delivered(qid, body []byte, res *maillog.Result) {
	raw, _ := angle(body, "to=")
	b.key = appendNormAddress(b.key[:0], raw)
	d := b.delivery.getBytes(domainOf(b.key))
	d.sent++
	if res.Delivery.HasDelay {
		d.delaySum += res.Delivery.Delay
		d.delayMax = max(d.delayMax, res.Delivery.Delay)
	}
	var size uint64
	if qid != nil {
		if m, ok := b.queue[string(qid)]; ok && m.sizeKnown {
			size = m.size
		} else {
			b.r.SizeUnknown++
		}
	}
	d.bytes += size
	u := b.recipients.getBytes(b.key)
	u.messages++
	u.bytes += size
	b.r.Bytes.Delivered += size
}

func (b *Builder) deferred(qid, body []byte, res *maillog.Result) {
	raw, _ := angle(body, "to=")
	b.key = appendNormAddress(b.key[:0], raw)
	d := b.delivery.getBytes(domainOf(b.key))
	d.deferred++
	if res.Delivery.HasDelay {
		d.delayMax = max(d.delayMax, res.Delivery.Delay)
	}
	if qid != nil {
		if m := b.msg(qid); !m.deferred {
			m.deferred = true
			b.r.DeferredMessages++
		}
	}
	b.key = append(append(b.key[:0], res.Delivery.Transport.String()...), sep...)
	b.key = appendReply(b.key, statusText(body, "deferred"))
	b.deferrals.getBytes(b.key).n++
}

// statusText returns the text in parentheses after ", status=WORD ".
func statusText(body []byte, word string) []byte {
	i := bytes.Index(body, []byte(", status="+word+" "))
	if i < 0 {
		return nil
	}
	t := body[i+len(", status=")+len(word)+1:]
	t = bytes.TrimPrefix(t, []byte("("))
	return bytes.TrimSuffix(t, []byte(")"))
}
