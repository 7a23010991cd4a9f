// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import (
	"bytes"

	"github.com/mailwatchd/mailwatchd/internal/logparse"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// The names a report needs are read here from the message text that maillog
// classified: maillog counts and never keeps a name, so it does not cut them
// out. The shapes are Postfix's (src/global/log_adhoc.c for the delivery
// lines, src/qmgr/qmgr_active.c for "from=<...>, size=", src/smtpd/smtpd.c
// for client= and the rejects, src/xsasl/xsasl_cyrus_server.c and
// smtpd_sasl_glue.c for "SASL ... authentication failed: ..., sasl_username=")
// and Dovecot's login processes ("(auth failed, N attempts in S secs):
// user=<u>, method=M, rip=R, lip=L").

// postfixBody cuts the severity word ("warning: ") and a leading queue id
// ("C86F7B8773: ", "NOQUEUE: ") off a Postfix message; qid is nil when the
// message has none (NOQUEUE is no id).
func postfixBody(msg []byte) (qid, body []byte) {
	for _, w := range [...]string{"warning: ", "error: ", "fatal: ", "panic: "} {
		if bytes.HasPrefix(msg, []byte(w)) {
			msg = msg[len(w):]
			break
		}
	}
	n := min(len(msg), 24)
	i := bytes.IndexByte(msg[:n], ':')
	if i < 6 || i+1 >= len(msg) || msg[i+1] != ' ' {
		return nil, msg
	}
	tok := msg[:i]
	if string(tok) == "NOQUEUE" {
		return nil, msg[i+2:]
	}
	if maillog.IsQueueID(tok) {
		return tok, msg[i+2:]
	}
	return nil, msg
}

// daemonOf returns the last element of a Postfix syslog tag:
// "postfix/submission/smtpd" is smtpd.
func daemonOf(tag []byte) []byte {
	if i := bytes.LastIndexByte(tag, '/'); i >= 0 {
		return tag[i+1:]
	}
	return tag
}

// angle returns the text between "<" and the next ">" that follow key
// ("to=" for "to=<a@b>"), and whether key was found.
func angle(b []byte, key string) ([]byte, bool) {
	i := bytes.Index(b, []byte(key+"<"))
	if i < 0 {
		return nil, false
	}
	rest := b[i+len(key)+1:]
	j := bytes.IndexByte(rest, '>')
	if j < 0 {
		return nil, false
	}
	return rest[:j], true
}

// field returns the value of ", key=" (or key= at the start of b) up to the
// next ", " or the end, and whether it was found.
func field(b []byte, key string) ([]byte, bool) {
	var rest []byte
	if bytes.HasPrefix(b, []byte(key+"=")) {
		rest = b[len(key)+1:]
	} else {
		i := bytes.Index(b, []byte(" "+key+"="))
		if i < 0 {
			return nil, false
		}
		rest = b[i+len(key)+2:]
	}
	if j := bytes.IndexByte(rest, ','); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

// appendNormAddress appends a with its domain (what follows its first
// '@') in lower case, as pflogsumm compares them: local parts are
// case-sensitive in SMTP, domains are not.
func appendNormAddress(dst, a []byte) []byte {
	i := bytes.IndexByte(a, '@')
	if i < 0 {
		return append(dst, a...)
	}
	dst = append(dst, a[:i]...)
	for _, c := range a[i:] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// normAddress is appendNormAddress as a string.
func normAddress(a []byte) string { return string(appendNormAddress(nil, a)) }

// domainOf is the domain of a normalised address: what follows its first
// '@', or the whole address when it has none (a local recipient such as
// "root"), as pflogsumm groups them.
func domainOf(a []byte) []byte {
	if i := bytes.IndexByte(a, '@'); i >= 0 {
		return a[i+1:]
	}
	return a
}

// clientName splits Postfix's "host[addr]" (with an optional ":port") into
// its name and address.
func clientName(b []byte) (host, addr []byte) {
	i := bytes.IndexByte(b, '[')
	if i < 0 {
		return b, nil
	}
	j := bytes.IndexByte(b[i:], ']')
	if j < 0 {
		return b[:i], nil
	}
	return b[:i], b[i+1 : i+j]
}

// clientDomain is the "host/domain" of a client as pflogsumm's gimme_domain
// names it, so that the tables can be compared: the address when the name
// is unknown; else the name reduced by pflogsumm's
// s/^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$/\L$2.$3/: to its last two
// labels when the last has three letters (a.b.example.com is example.com),
// to its last three when they look like a country's second level
// (mail.example.co.uk is example.co.uk), and otherwise left as it is
// (mail.example.de, mx.example.test).
func appendClientDomain(dst, b []byte) []byte {
	host, addr := clientName(b)
	if len(host) == 0 || string(host) == "unknown" {
		return append(dst, addr...)
	}
	// The label boundaries from the right: host[dots[k]+1:] is the last k+1
	// labels.
	var dots [3]int
	n := 0
	for i := len(host) - 1; i >= 0 && n < 3; i-- {
		if host[i] == '.' {
			dots[n] = i
			n++
		}
	}
	lastLen := len(host) - dots[0] - 1
	switch {
	case n >= 2 && lastLen == 3 && dots[0]-dots[1] > 1:
		return appendLower(dst, host[dots[1]+1:])
	case n >= 3 && lastLen == 2 && dots[0]-dots[1]-1 >= 2 && dots[0]-dots[1]-1 <= 3 && dots[1]-dots[2] > 1:
		return appendLower(dst, host[dots[2]+1:])
	}
	return append(dst, host...)
}

// clientDomain is appendClientDomain as a string.
func clientDomain(b []byte) string { return string(appendClientDomain(nil, b)) }

func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// saslFailure reads "host[addr]: SASL MECH authentication failed: reason[,
// sasl_username=user]" (the body after "warning: "): the client address and
// the user, "" when Postfix did not log one.
func saslFailure(body []byte) (user, client []byte) {
	i := bytes.Index(body, []byte(": SASL "))
	if i < 0 {
		return nil, nil
	}
	_, client = clientName(body[:i])
	user, _ = field(body[i:], "sasl_username")
	return user, client
}

// dovecotFailure reads a Dovecot login process's "... (auth failed, N
// attempts in S secs): user=<u>, method=M, rip=R, ...": the user and the
// remote address.
func dovecotFailure(msg []byte) (user, client []byte) {
	user, _ = angle(msg, "user=")
	client, _ = field(msg, "rip")
	return user, client
}

// fail2banJail reads the jail of "NOTICE  [sshd] Ban 192.0.2.1".
func fail2banJail(msg []byte) string {
	i := bytes.IndexByte(msg, '[')
	if i < 0 {
		return ""
	}
	j := bytes.IndexByte(msg[i:], ']')
	if j < 0 {
		return ""
	}
	return string(msg[i+1 : i+j])
}

// maxReason bounds a normalised reply text.
const maxReason = 200

// normalizeReply masks what differs from one message to the next in a reply
// text: addresses (a word with '@', or the contents of <...>) become "<*>"
// or "*@domain" keeps the domain, queue ids "QID", long mixed letter and
// digit tokens (a provider's trace id, "x23si1234567abc.12 - gsmtp") "ID".
// Host names, IP addresses and status codes stay: they are the reason.
func normalizeReply(b []byte) string { return string(appendReply(nil, b)) }

// appendReply appends the normalised reply text b to dst: replay's masking
// scanner (logparse.AppendMasked) over <...> only, with the report's word
// rule, which keeps host names, addresses' domains and status codes.
func appendReply(dst, b []byte) []byte {
	return logparse.AppendMasked(dst, b, maxReason, "<", appendWord)
}

func appendWord(out, w []byte) []byte {
	if at := bytes.IndexByte(w, '@'); at >= 0 {
		out = append(out, '*')
		return append(out, w[at:]...)
	}
	digits, letters := 0, 0
	for _, c := range w {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		}
	}
	switch {
	case digits > 0 && maillog.IsQueueID(w):
		return append(out, "QID"...)
	case len(w) >= 12 && digits > 0 && letters > 0 && bytes.IndexByte(w, '.') != len(w)-1 && !looksLikeHost(w):
		return append(out, "ID"...)
	}
	return append(out, w...)
}

// looksLikeHost keeps names like "mx-01.example.com" and addresses like
// "2001:db8::1" readable: dotted words whose labels are not all mixed ids.
func looksLikeHost(w []byte) bool {
	dots := bytes.Count(w, []byte{'.'})
	return dots >= 2
}

// rejectParts reads a Postfix reject line (the body after the queue id):
//
//	reject: RCPT from host[addr]: 554 5.7.1 <r@d>: Relay access denied; from=<s> to=<r> proto=ESMTP helo=<h>
//	milter-reject: END-OF-MESSAGE from host[addr]: 4.7.1 text; from=<s> to=<r> proto=ESMTP helo=<h>
//	reject: header Subject: x from host[addr]; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 text
//
// into the stage ("RCPT", "header"), the client ("host[addr]") and the reply
// text without the envelope.
func rejectParts(body []byte) (stage, client, reply []byte) {
	_, rest, ok := bytes.Cut(body, []byte(": "))
	if !ok {
		return nil, nil, body
	}
	stage, rest, _ = bytes.Cut(rest, []byte(" "))
	env := bytes.Index(rest, []byte("; from=<"))
	head, tail := rest, []byte(nil)
	if env >= 0 {
		head, tail = rest[:env], rest[env:]
	}
	// smtpd writes the client first ("RCPT from host[addr]: reply"); cleanup
	// after the header or body text, which may itself say "from".
	i := -1
	if bytes.HasPrefix(head, []byte("from ")) {
		i = 0
	} else if j := bytes.LastIndex(head, []byte(" from ")); j >= 0 {
		i = j + 1
	}
	if i >= 0 {
		c := head[i+len("from "):]
		if j := bytes.IndexByte(c, ']'); j >= 0 {
			client = c[:j+1]
			after := bytes.TrimPrefix(bytes.TrimPrefix(c[j+1:], []byte(":")), []byte(" "))
			before := bytes.TrimSpace(head[:i])
			switch {
			case len(before) > 0 && len(after) > 0:
				reply = append(append(append([]byte(nil), before...), ' '), after...)
			case len(before) > 0:
				reply = append([]byte(nil), before...)
			default:
				reply = append([]byte(nil), after...)
			}
		}
	}
	if client == nil {
		reply = head
	}
	// A header or body check puts its reply after the envelope:
	// "...; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 text".
	if tail != nil {
		if h := bytes.Index(tail, []byte(" helo=<")); h >= 0 {
			if j := bytes.Index(tail[h:], []byte(">: ")); j >= 0 {
				reply = append(append(append([]byte(nil), reply...), ": "...), tail[h+j+3:]...)
			}
		}
	}
	return stage, client, reply
}
