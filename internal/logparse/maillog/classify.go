// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Result is what one entry contributes to the counters. A Classifier fills
// it; the caller owns it and reuses it from line to line.
type Result struct {
	Program Program
	// Matched is false when neither a built-in rule, a text severity nor a
	// user rule recognised the line: it then counts as unmatched.
	Matched bool
	Events  [3]Event
	NEvents uint8
	Action  Action
	Reason  Reason
	// Rules holds the indexes of the user rules that matched, in config order.
	Rules []int
	// Delivery is set (Status != StatusNone) on a Postfix delivery line:
	// every line counted as delivered, forwarded, deferred, bounced or
	// expired.
	Delivery Delivery
	// Flow is what the line says for the inbound, TLS, postscreen, message
	// size and antispam metrics.
	Flow Flow

	v view // scratch: kept here so that rule functions do not move it to the heap
	// Of a delivery line, for the provider (set with Delivery, read only
	// then): the relay's host name (nil for none and local) and the
	// recipient's domain.
	relayHost, rcptDomain []byte
}

// reset clears what a classification sets; the scratch fields are left
// alone: cutView sets the view whole, readDelivery the delivery's.
func (r *Result) reset() {
	r.Program, r.Matched, r.Events, r.NEvents, r.Action, r.Reason = ProgOther, false, [3]Event{}, 0, ActNone, ReasonNone
	r.Rules = r.Rules[:0]
	r.Delivery = Delivery{}
	r.Flow = Flow{}
}

func (r *Result) addEvent(e Event) {
	if e != EvNone && int(r.NEvents) < len(r.Events) {
		r.Events[r.NEvents] = e
		r.NEvents++
	}
}

// view is an entry cut into the parts the rules of its family look at.
type view struct {
	tag    []byte // the syslog tag (Entry.Program)
	daemon int    // index into the family's daemon table, 0 when unknown
	sev    Severity
	qid    qidKind
	body   []byte
}

type qidKind uint8

const (
	qidNone    qidKind = iota
	qidNOQUEUE         // "NOQUEUE: "
	qidReal            // a Postfix queue id
)

// Classifier maps entries to Results. It is immutable once built and safe
// for concurrent use; a reload builds a new one.
type Classifier struct {
	buckets [NumPrograms]*[256][]*rule
	user    []userRule
	// userAll are the user rules that apply to every program; userByFam the
	// ones restricted to a family or a tag of that family.
	userAll   []int
	userByFam [NumPrograms][]int
	providers *providerSet
	services  []string // the service label values but "other", in Flow.Service order from 1
}

// userRule is a compiled rule from the config.
type userRule struct {
	name    string
	program string  // "" = any; a family name; a tag; or "postfix/<daemon>"
	family  Program // family the program selects, when it selects by family
	byFam   bool    // program is a family name: no further tag check
	re      *regexp.Regexp
	literal []byte // substring every match contains; nil when none is known
}

// Rule is a user rule: lines of Program whose message Match matches count
// as the event Name.
type Rule struct {
	// Name is the event label value.
	Name string
	// Program selects lines: "" for all; a family (postfix, dovecot,
	// opendkim, fail2ban, clamav, freshclam, amavis, rspamd, other); an
	// exact syslog tag ("postfix/submission/smtpd"); or "postfix/<daemon>"
	// for that Postfix daemon under every service and instance name.
	Program string
	// Match runs, unanchored, on the message: the text after "tag[pid]: ".
	Match *regexp.Regexp
}

// NewClassifier builds a classifier with the built-in rules, the given user
// rules, whose Match must be set, the providers of the delivery metrics
// (at most MaxProviders, names unique and not "other", suffixes as
// CheckSuffix wants them) and the services of the smtpd connection metrics
// (at most MaxServices, unique, not "other"; none: every connection is
// "other").
func NewClassifier(rules []Rule, providers []Provider, services ...string) (*Classifier, error) {
	ps, err := newProviderSet(providers)
	if err != nil {
		return nil, err
	}
	if err := checkServices(services); err != nil {
		return nil, err
	}
	c := &Classifier{providers: ps, services: append([]string(nil), services...)}
	for i := range builtinRules {
		r := &builtinRules[i]
		if c.buckets[r.fam] == nil {
			c.buckets[r.fam] = new([256][]*rule)
		}
		b := c.buckets[r.fam]
		if r.prefix == "" {
			for j := range b {
				b[j] = append(b[j], r)
			}
			continue
		}
		b[r.prefix[0]] = append(b[r.prefix[0]], r)
	}
	for i, rc := range rules {
		if rc.Match == nil {
			return nil, fmt.Errorf("rule %q: no match expression", rc.Name)
		}
		u := userRule{name: rc.Name, program: rc.Program, re: rc.Match, literal: requiredLiteral(rc.Match.String())}
		if rc.Program == "" {
			c.userAll = append(c.userAll, i)
		} else {
			if f := familyByName(rc.Program); f != ProgOther || rc.Program == "other" {
				u.family, u.byFam = f, true
			} else {
				u.family, _ = identify([]byte(rc.Program))
			}
			c.userByFam[u.family] = append(c.userByFam[u.family], i)
		}
		c.user = append(c.user, u)
	}
	return c, nil
}

func familyByName(name string) Program {
	for p, n := range programNames {
		if n == name {
			return Program(p)
		}
	}
	return ProgOther
}

// ProviderNames returns the provider label values in Delivery.Provider
// order: "other", then the providers.
func (c *Classifier) ProviderNames() []string {
	return append([]string(nil), c.providers.names...)
}

// RuleNames returns the names of the user rules, in Result.Rules index order.
func (c *Classifier) RuleNames() []string {
	names := make([]string, len(c.user))
	for i, u := range c.user {
		names[i] = u.name
	}
	return names
}

// Classify fills r for e.
func (c *Classifier) Classify(e *Entry, r *Result) {
	r.reset()
	fam, daemon := identify(e.Program)
	r.Program = fam
	r.v = cutView(fam, daemon, e.Message)
	v := &r.v
	v.tag = e.Program
	if v.sev != SevNone {
		if ev := severityEvents[fam][v.sev]; ev != EvNone {
			r.addEvent(ev)
			r.Matched = true
		}
	}
	if b := c.buckets[fam]; b != nil {
		var first byte
		if len(v.body) > 0 {
			first = v.body[0]
		}
		for _, rl := range b[first] {
			if rl.match(v, r) {
				r.Matched = true
				break
			}
		}
		if s := r.Delivery.Status; s != StatusNone && s != StatusExpired {
			r.Delivery.Provider = c.providers.match(r.relayHost, r.rcptDomain)
		}
		if r.Flow.Conn != ConnNone {
			r.Flow.Service = c.service(e.Program)
		}
		if r.Flow.HasSize || r.Flow.Removed {
			r.Flow.QueueID = leadingQID(e.Message)
		}
	}
	if len(c.user) > 0 {
		c.classifyUser(e, fam, daemon, r)
	}
}

func (c *Classifier) classifyUser(e *Entry, fam Program, daemon []byte, r *Result) {
	for _, i := range c.userAll {
		if c.user[i].matches(e.Message) {
			r.Rules = append(r.Rules, i)
		}
	}
	for _, i := range c.userByFam[fam] {
		u := &c.user[i]
		if !u.byFam && !u.tagMatches(e.Program, fam, daemon) {
			continue
		}
		if u.matches(e.Message) {
			r.Rules = append(r.Rules, i)
		}
	}
	if len(r.Rules) > 0 {
		r.Matched = true
		if len(c.userAll) > 0 && len(c.userByFam[fam]) > 0 {
			sortInts(r.Rules)
		}
	}
}

// tagMatches checks a program selector that is a tag or "postfix/<daemon>".
func (u *userRule) tagMatches(tag []byte, fam Program, daemon []byte) bool {
	if string(tag) == u.program {
		return true
	}
	return fam == ProgPostfix && len(daemon) > 0 && strings.HasPrefix(u.program, "postfix/") &&
		u.program[len("postfix/"):] == string(daemon)
}

func (u *userRule) matches(msg []byte) bool {
	if u.literal != nil && !bytes.Contains(msg, u.literal) {
		return false
	}
	return u.re.Match(msg)
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of expr contains, or nil. It is the prefilter that keeps most lines
// from running the expression at all.
func requiredLiteral(expr string) []byte {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	lit := literalOf(re.Simplify())
	if lit == "" || strings.ContainsRune(lit, utf8.RuneError) {
		return nil
	}
	return []byte(lit)
}

func literalOf(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return literalOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literalOf(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, s := range re.Sub {
			if l := literalOf(s); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
