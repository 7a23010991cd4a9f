// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

// Package report is `mailwatchd report`: the daily or weekly mail report of
// a host, read from its logs with the daemon's parser and classifier, so
// that its totals are the daemon's counters, and with the names the metrics
// never carry (domains, addresses, users, clients, reply texts). Its tables
// are bounded: each keeps at most Options.MaxKeys keys and folds the rest
// into one OtherKey row, and the report says how much it folded.
package report

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// SchemaVersion is the version of the JSON schema (docs in README.md); it
// changes only when a field changes meaning or goes away.
const SchemaVersion = 1

// Report is a finished report, and its JSON form.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Generated     time.Time `json:"generated"`
	// Since and Until are the window asked for (null: unbounded); First
	// and Last the times of the first and last line counted.
	Since  *time.Time `json:"since"`
	Until  *time.Time `json:"until"`
	First  *time.Time `json:"first_line"`
	Last   *time.Time `json:"last_line"`
	Inputs []string   `json:"inputs"`

	Lines         uint64 `json:"lines"`
	Malformed     uint64 `json:"malformed"`
	OutsideWindow uint64 `json:"outside_window"`
	Undated       uint64 `json:"undated"`

	// Totals are mailwatch_postfix_messages_total by action, every action
	// present.
	Totals map[string]uint64 `json:"totals"`
	Bytes  struct {
		Received  uint64 `json:"received"`
		Delivered uint64 `json:"delivered"`
	} `json:"bytes"`
	// DeferredMessages counts distinct deferred messages (Totals
	// "deferred" counts deferral lines, one per recipient and attempt).
	DeferredMessages uint64 `json:"deferred_messages"`
	// SizeUnknown counts deliveries whose message size was not in the
	// logs read (received before them), counted with 0 bytes.
	SizeUnknown uint64 `json:"deliveries_size_unknown"`
	// QueueForgotten counts messages forgotten because MaxQueue messages
	// were remembered at once.
	QueueForgotten uint64 `json:"queue_forgotten"`
	// Events are mailwatch_log_events_total by event, non-zero only;
	// UnmatchedByProgram mailwatch_log_unmatched_lines_total.
	Events             map[string]uint64 `json:"events"`
	UnmatchedByProgram map[string]uint64 `json:"unmatched_by_program"`

	PerHour [24]Traffic `json:"per_hour"`
	PerDay  []Traffic   `json:"per_day"`

	DeliveryByDomain []DomainDelivery `json:"delivery_by_domain"`
	ReceivedByDomain []DomainReceived `json:"received_by_domain"`
	Deferrals        []Detail         `json:"deferrals"`
	Bounces          []Detail         `json:"bounces"`
	Rejects          []Detail         `json:"rejects"`
	RejectClients    []Count          `json:"reject_clients"`
	SendersByCount   []Address        `json:"senders_by_count"`
	SendersBySize    []Address        `json:"senders_by_size"`
	RecipientsByCnt  []Address        `json:"recipients_by_count"`
	RecipientsBySize []Address        `json:"recipients_by_size"`
	Connections      []Count          `json:"connections_by_client_domain"`
	AuthFailures     []AuthFailure    `json:"auth_failures"`
	Fail2banBans     []Count          `json:"fail2ban_bans"`
	Verdicts         []Verdict        `json:"verdicts"`
	Problems         []Problem        `json:"problems"`
	Unmatched        []Count          `json:"unmatched"`

	// Tables describes each table: its distinct keys, the rows shown, and
	// the updates folded into its OtherKey row.
	Tables map[string]TableInfo `json:"tables"`
}

// Traffic is one row of the per-hour (Hour set) or per-day (Day set) table.
type Traffic struct {
	Hour      *int   `json:"hour,omitempty"`
	Day       string `json:"day,omitempty"`
	Received  uint64 `json:"received"`
	Delivered uint64 `json:"delivered"`
	Deferred  uint64 `json:"deferred"`
	Bounced   uint64 `json:"bounced"`
	Rejected  uint64 `json:"rejected"`
}

// DomainDelivery is a row of delivery_by_domain: the recipients of one
// domain (delays in seconds; the average over the sent recipients, the
// maximum over sent and deferred, as pflogsumm has them).
type DomainDelivery struct {
	Domain      string  `json:"domain"`
	Sent        uint64  `json:"sent"`
	Deferred    uint64  `json:"deferred"`
	Bounced     uint64  `json:"bounced"`
	Bytes       uint64  `json:"bytes"`
	AvgDelaySec float64 `json:"avg_delay_seconds"`
	MaxDelaySec float64 `json:"max_delay_seconds"`
}

// DomainReceived is a row of received_by_domain.
type DomainReceived struct {
	Domain   string `json:"domain"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Detail is a row of deferrals (group: transport), bounces (group: relay)
// and rejects (group: daemon and stage, "smtpd RCPT", "cleanup header").
type Detail struct {
	Group  string `json:"group"`
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
}

// Count is a row of a table of one name and a count.
type Count struct {
	Key   string `json:"key"`
	Count uint64 `json:"count"`
}

// Address is a row of the sender and recipient tables.
type Address struct {
	Address  string `json:"address"`
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// AuthFailure is a row of auth_failures: service is postfix (SMTP AUTH) or
// dovecot (IMAP/POP3 logins); user is "" when the log names none.
type AuthFailure struct {
	Service string `json:"service"`
	User    string `json:"user"`
	Client  string `json:"client"`
	Count   uint64 `json:"count"`
}

// Verdict is a row of verdicts: a spam or virus filter's decision.
type Verdict struct {
	Program string `json:"program"`
	Verdict string `json:"verdict"`
	Count   uint64 `json:"count"`
}

// Problem is a row of problems: warnings, errors, fatal errors and panics
// by program and message shape.
type Problem struct {
	Severity string `json:"severity"`
	Program  string `json:"program"`
	Shape    string `json:"shape"`
	Count    uint64 `json:"count"`
}

// TableInfo describes one table of the report.
type TableInfo struct {
	Keys   int    `json:"keys"`
	Shown  int    `json:"shown"`
	Folded uint64 `json:"folded_updates"`
}

// Feed reads one input to its end.
func (b *Builder) Feed(ctx context.Context, name string, rd io.Reader) error {
	b.r.Inputs = append(b.r.Inputs, name)
	return follow.ReadAll(ctx, rd, b)
}

// Report finishes the report; top limits the rows of each table (0: all
// the rows kept).
func (b *Builder) Report(top int) *Report {
	r := b.r
	r.SchemaVersion = SchemaVersion
	r.Generated = b.opt.Now.UTC()
	if !b.opt.Since.IsZero() {
		s := b.opt.Since
		r.Since = &s
	}
	if !b.opt.Until.IsZero() {
		u := b.opt.Until
		r.Until = &u
	}
	if !b.first.IsZero() {
		f, l := b.first, b.end
		r.First, r.Last = &f, &l
	}
	if r.Inputs == nil {
		r.Inputs = []string{}
	}
	r.Totals = map[string]uint64{}
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		r.Totals[a.String()] = b.totals[a]
	}
	r.UnmatchedByProgram = map[string]uint64{}
	for p := maillog.Program(0); p < maillog.NumPrograms; p++ {
		r.UnmatchedByProgram[p.String()] = b.unmatchedByProg[p]
	}
	r.Events = map[string]uint64{}
	for e := maillog.EvNone + 1; e < maillog.NumEvents; e++ {
		if b.events[e] > 0 {
			r.Events[e.String()] = b.events[e]
		}
	}
	for h := range r.PerHour {
		hh := h
		r.PerHour[h].Hour = &hh
	}
	r.Tables = map[string]TableInfo{}
	info := func(name string, keys, shown int, folded uint64) {
		r.Tables[name] = TableInfo{Keys: keys, Shown: shown, Folded: folded}
	}
	limit := func(n int) int {
		if top > 0 && n > top {
			return top
		}
		return n
	}

	days := b.days.sorted(func(a, c *keyed[Traffic]) bool { return a.Key < c.Key })
	for _, d := range days {
		t := d.Row
		t.Day = d.Key
		r.PerDay = append(r.PerDay, t)
	}
	info("per_day", len(b.days.rows), len(days), b.days.folded)

	dd := b.delivery.sorted(func(a, c *keyed[domainDelivery]) bool {
		if a.Row.sent != c.Row.sent {
			return a.Row.sent > c.Row.sent
		}
		if a.Row.bytes != c.Row.bytes {
			return a.Row.bytes > c.Row.bytes
		}
		if a.Row.deferred+a.Row.bounced != c.Row.deferred+c.Row.bounced {
			return a.Row.deferred+a.Row.bounced > c.Row.deferred+c.Row.bounced
		}
		return a.Key < c.Key
	})
	dd = dd[:limit(len(dd))]
	for _, d := range dd {
		row := DomainDelivery{Domain: d.Key, Sent: d.Row.sent, Deferred: d.Row.deferred, Bounced: d.Row.bounced,
			Bytes: d.Row.bytes, MaxDelaySec: float64(d.Row.delayMax) / 1e6}
		if d.Row.sent > 0 {
			row.AvgDelaySec = float64(d.Row.delaySum) / float64(d.Row.sent) / 1e6
		}
		r.DeliveryByDomain = append(r.DeliveryByDomain, row)
	}
	info("delivery_by_domain", len(b.delivery.rows), len(dd), b.delivery.folded)

	rd := b.received.sorted(func(a, c *keyed[domainReceived]) bool {
		if a.Row.messages != c.Row.messages {
			return a.Row.messages > c.Row.messages
		}
		if a.Row.bytes != c.Row.bytes {
			return a.Row.bytes > c.Row.bytes
		}
		return a.Key < c.Key
	})
	rd = rd[:limit(len(rd))]
	for _, d := range rd {
		r.ReceivedByDomain = append(r.ReceivedByDomain, DomainReceived{Domain: d.Key, Messages: d.Row.messages, Bytes: d.Row.bytes})
	}
	info("received_by_domain", len(b.received.rows), len(rd), b.received.folded)

	details := func(name string, t *table[counter]) []Detail {
		rows := t.sorted(byCount)
		rows = rows[:limit(len(rows))]
		out := []Detail{}
		for _, k := range rows {
			g, reason, _ := strings.Cut(k.Key, sep)
			out = append(out, Detail{Group: g, Reason: reason, Count: k.Row.n})
		}
		info(name, len(t.rows), len(rows), t.folded)
		return out
	}
	r.Deferrals = details("deferrals", b.deferrals)
	r.Bounces = details("bounces", b.bounces)
	r.Rejects = details("rejects", b.rejects)

	counts := func(name string, t *table[counter]) []Count {
		rows := t.sorted(byCount)
		rows = rows[:limit(len(rows))]
		out := []Count{}
		for _, k := range rows {
			out = append(out, Count{Key: k.Key, Count: k.Row.n})
		}
		info(name, len(t.rows), len(rows), t.folded)
		return out
	}
	r.RejectClients = counts("reject_clients", b.rejClients)
	r.Connections = counts("connections_by_client_domain", b.conns)
	r.Fail2banBans = counts("fail2ban_bans", b.bans)
	r.Unmatched = counts("unmatched", b.unmatched)

	users := func(name string, t *table[userRow], bySize bool) []Address {
		rows := t.sorted(func(a, c *keyed[userRow]) bool {
			x, y := a.Row.messages, c.Row.messages
			if bySize {
				x, y = a.Row.bytes, c.Row.bytes
			}
			if x != y {
				return x > y
			}
			return a.Key < c.Key
		})
		rows = rows[:limit(len(rows))]
		out := []Address{}
		for _, k := range rows {
			out = append(out, Address{Address: k.Key, Messages: k.Row.messages, Bytes: k.Row.bytes})
		}
		info(name, len(t.rows), len(rows), t.folded)
		return out
	}
	r.SendersByCount = users("senders_by_count", b.senders, false)
	r.SendersBySize = users("senders_by_size", b.senders, true)
	r.RecipientsByCnt = users("recipients_by_count", b.recipients, false)
	r.RecipientsBySize = users("recipients_by_size", b.recipients, true)

	rows := b.auth.sorted(byCount)
	rows = rows[:limit(len(rows))]
	r.AuthFailures = []AuthFailure{}
	for _, k := range rows {
		parts := strings.SplitN(k.Key, sep, 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		r.AuthFailures = append(r.AuthFailures, AuthFailure{Service: parts[0], User: parts[1], Client: parts[2], Count: k.Row.n})
	}
	info("auth_failures", len(b.auth.rows), len(rows), b.auth.folded)

	rows = b.verdicts.sorted(byCount)
	rows = rows[:limit(len(rows))]
	r.Verdicts = []Verdict{}
	for _, k := range rows {
		p, v, _ := strings.Cut(k.Key, sep)
		r.Verdicts = append(r.Verdicts, Verdict{Program: p, Verdict: v, Count: k.Row.n})
	}
	info("verdicts", len(b.verdicts.rows), len(rows), b.verdicts.folded)

	rows = b.problems.sorted(func(a, c *keyed[counter]) bool {
		sa, sc := severityRank(a.Key), severityRank(c.Key)
		if sa != sc {
			return sa > sc
		}
		return byCount(a, c)
	})
	rows = rows[:limit(len(rows))]
	r.Problems = []Problem{}
	for _, k := range rows {
		parts := strings.SplitN(k.Key, sep, 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		r.Problems = append(r.Problems, Problem{Severity: parts[0], Program: parts[1], Shape: parts[2], Count: k.Row.n})
	}
	info("problems", len(b.problems.rows), len(rows), b.problems.folded)
	if r.PerDay == nil {
		r.PerDay = []Traffic{}
	}
	return &r
}

// severityRank orders problems: panics first, then fatal errors, errors,
// warnings.
func severityRank(key string) int {
	switch {
	case strings.HasPrefix(key, "panic"+sep):
		return 4
	case strings.HasPrefix(key, "fatal"+sep):
		return 3
	case strings.HasPrefix(key, "error"+sep):
		return 2
	}
	return 1
}

// ErrNoInput is returned when a report is asked of no input at all.
var ErrNoInput = errors.New("nothing to read")
