// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import "bytes"

// A reply text is what Postfix writes in parentheses after status=deferred
// or status=bounced, and what the queue holds as a deferred recipient's
// delay reason. It is either Postfix's own description of what went wrong
// ("connect to mx[ip]:25: Connection refused", "Host or domain name not
// found. Name service error ...", "TLS is required, but was not offered by
// host ...", "User unknown in virtual mailbox table") or a remote server's
// reply quoted after "host mx[ip] said:" or "refused to talk to me:";
// "delivery temporarily suspended: <reason>" wraps either kind.
//
// The remote reply is classified on its own, so that a host name in the
// local part ("connect to quota.example[...]") cannot steer it. Words are
// lower case and matched as substrings of the text without regard to ASCII
// case, so a reply folded over several lines ("... rate of 421-4.7.28
// unsolicited mail ...") still matches single words.
//
// One table serves the log and the queue collector. The queue keeps its nine
// classes and the results it had before the log used the table: it walks the
// same entries in the same order but skips those marked logOnly, and a
// remote reply that matches nothing is remote_4xx for a 4xx and other for
// anything else; the DSN is not used. What the log calls unknown_user,
// reputation, auth_policy or remote_5xx is, in the queue, what the rest of
// the table says (Microsoft's "451 4.7.650 ... rate limited due to IP
// reputation" is reputation in the log and rate_limited in the queue;
// Yahoo's "421 4.7.0 [TSS04] ... user complaints" is reputation and
// remote_4xx; a 550 under soft_bounce is remote_5xx and other).
//
// The remote reply is what follows the first " said:" or, without one, the
// first "refused to talk to me:" (remoteReply).
type replyPattern struct {
	class   DeliveryReason
	logOnly bool // the queue skips this entry
	words   [][]byte
}

func words(ws ...string) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = []byte(w)
	}
	return out
}

// remotePatterns are tried in order on a remote reply. Mailbox problems come
// first: their replies often also say "try again later". Bad recipients,
// authentication and reputation come before rate limits and greylisting,
// since the big providers' reputation deferrals say "rate limited" and
// "try again later" too, and the cause is what to act on. Authentication
// comes before reputation: Gmail's "fails to pass authentication checks"
// replies also speak of protecting users from spam. Rspamd and many other
// greylisters answer a plain "451 4.7.1 Try again later", so that phrase
// counts as greylisting.
var remotePatterns = []replyPattern{
	{class: DRMailboxFull, words: words("mailbox full", "mailbox is full", "quota", "4.2.2", "insufficient storage",
		"mailbox size limit", "storage limit")},
	{class: DRUnknownUser, logOnly: true, words: words("user unknown", "unknown user", "no such user", "user not found",
		"unknown recipient", "recipient unknown", "recipient not found", "recipientnotfound", "invalid recipient",
		"no such recipient", "no such mailbox", "mailbox not found", "no mailbox here", "unrouteable address",
		"undeliverable address", "unknown or illegal alias", "requested action not taken: mailbox unavailable",
		"account that you tried to reach", "user does not exist", "mailbox does not exist",
		"recipient does not exist", "address does not exist", "account does not exist", "user doesn't have",
		"mailbox is disabled", "account is disabled", "account has been disabled")},
	{class: DRAuthPolicy, logOnly: true, words: words("dmarc", "unauthenticated", "authentication information",
		"authentication checks", "authentication level", "sender policy framework", "spf check", "spf validation",
		"fails to pass spf", "spf fail", "dkim fail", "dkim check", "dkim validation", "dkim signature",
		"ptr record", "reverse dns")},
	{class: DRReputation, logOnly: true, words: words("unsolicited", "reputation", "blocklist", "block list",
		"blacklist", "black list", "blocked using", "spamhaus", "barracuda", "spamcop", "dnsbl",
		"banned sending ip", "traffic not accepted from this ip", "s3140", "s3150", "[ts0", "[tss", "[bl2",
		"[cs0", "[hm0", "user complaints", "unexpected volume", "suspicious", "as spam", "spam message",
		"spam detected", "likely spam", "spam rate", "spam complaint", "high spam", "spam score", "spam content")},
	{class: DRRateLimited, words: words("rate limit", "ratelimit", "rate-limit", "too many", "throttl", "4.7.28",
		"sending rate", "unusual rate")},
	{class: DRRateLimited, logOnly: true, words: words("server busy", "maximum number of connections",
		"receiving mail at a rate")},
	{class: DRGreylisted, words: words("greylist", "graylist", "grey-list", "gray-list", "try again later", "try later")},
	{class: DRTLSFailure, words: words("starttls", "tls")},
}

// localPatterns are tried in order on Postfix's own text. A timeout during
// the TLS handshake is a timeout: the network is the first thing to check.
var localPatterns = []replyPattern{
	{class: DRConnectionRefused, words: words("connection refused")},
	{class: DRTimedOut, words: words("timed out", "connection timeout")},
	{class: DRTLSFailure, words: words("tls is required", "cannot start tls", "tls handshake", "tls library problem",
		"starttls", "certificate verification failed", "server certificate not verified", "untrusted issuer",
		"tls session")},
	{class: DRDNSFailure, words: words("host or domain name not found", "name service error", "domain not found",
		"host not found", "no mx host", "nxdomain", "servfail", "dns lookup", "name or service not known",
		"temporary failure in name resolution", "dnssec")},
	{class: DRUnknownUser, logOnly: true, words: words("user unknown", "unknown user", "no such user",
		"undeliverable address", "unknown or illegal alias")},
	{class: DRMailboxFull, logOnly: true, words: words("quota", "mailbox full", "mailbox is full", "file too large",
		"insufficient storage")},
}

// wordTable finds, in one pass over a text, the first entry of a pattern
// table (in table order) one of whose words the text contains: the result
// of trying each entry's words with bytes.Contains in turn, at the cost of
// one table load per byte of text instead of a search per word. Words are
// grouped by a key of their first three bytes (five bits of each: letters
// map one to one whatever their case, other bytes may share a key, which
// only costs a compare).
type wordTable struct {
	entries []replyPattern
	words   []tableWord
	group   [1 << 15]uint8            // key -> 1 + group index, 0: no word starts so
	groups  []struct{ lo, hi uint16 } // into cand
	cand    []uint16                  // word indexes by group, ascending within a group
}

type tableWord struct {
	w     []byte
	entry uint8
	next  byte // w[3], the first byte after the key; 0 for a three-byte word
}

func trigramKey(a, b, c byte) uint32 { return uint32(a&31)<<10 | uint32(b&31)<<5 | uint32(c&31) }

func newWordTable(entries []replyPattern) *wordTable {
	t := &wordTable{entries: entries}
	for e, p := range entries {
		for _, w := range p.words {
			if len(w) < 3 {
				panic("maillog: reply pattern word shorter than three bytes: " + string(w)) // programmer error
			}
			tw := tableWord{w: w, entry: uint8(e)}
			if len(w) > 3 {
				tw.next = w[3]
			}
			t.words = append(t.words, tw)
		}
	}
	byKey := map[uint32][]uint16{}
	var keys []uint32
	for i, w := range t.words {
		k := trigramKey(w.w[0], w.w[1], w.w[2])
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], uint16(i))
	}
	if len(keys) > 255 {
		panic("maillog: too many reply pattern words") // programmer error
	}
	for _, k := range keys {
		lo := uint16(len(t.cand))
		t.cand = append(t.cand, byKey[k]...)
		t.groups = append(t.groups, struct{ lo, hi uint16 }{lo, uint16(len(t.cand))})
		t.group[k] = uint8(len(t.groups))
	}
	return t
}

// match returns the class of the first entry (skipping log-only ones for
// the queue) with a word in s, or DRNone.
func (t *wordTable) match(s []byte, queue bool) DeliveryReason {
	if len(s) < 3 {
		return DRNone
	}
	first := 0 // the first entry that can match: once found, nothing beats it
	for first < len(t.entries) && queue && t.entries[first].logOnly {
		first++
	}
	best := len(t.entries)
	key := trigramKey(0, s[0], s[1])
	for i, c := range s[2:] {
		key = (key<<5 | uint32(c&31)) & (1<<15 - 1) // the key of s[i:i+3]
		g := t.group[key]
		if g == 0 {
			continue
		}
		at := s[i:]
		gr := t.groups[g-1]
		for k := gr.lo; k < gr.hi; k++ {
			w := &t.words[t.cand[k]]
			if int(w.entry) >= best {
				break
			}
			if w.next != 0 && (len(at) < 4 || lowerByte(at[3]) != w.next) {
				continue
			}
			if queue && t.entries[w.entry].logOnly {
				continue
			}
			if hasPrefixFold(at, w.w) {
				best = int(w.entry)
				break
			}
		}
		if best == first {
			break
		}
	}
	if best == len(t.entries) {
		return DRNone
	}
	return t.entries[best].class
}

var (
	remoteTable = newWordTable(remotePatterns)
	localTable  = newWordTable(localPatterns)
)

// ClassifyReply classifies the reply text of a deferred or bounced
// recipient line (the text in parentheses after status=) and its dsn=
// value (may be empty). It never returns DRNone and does not allocate.
//
// A DSN that names the cause decides alone: X.1.1 (bad destination
// mailbox, RFC 3463) is unknown_user, X.7.20 to X.7.26 (RFC 7372: DKIM,
// SPF, reverse DNS and multiple authentication failures) are auth_policy.
// Otherwise Postfix's own text and remote replies are matched against their
// tables (see remotePatterns and localPatterns). A remote reply that
// matches none is remote_4xx or remote_5xx by its reply code (by the DSN's
// class when the reply has none); Postfix's own text that matches none is
// other.
func ClassifyReply(dsn, text []byte) DeliveryReason {
	if r := reasonOfDSN(dsn); r != DRNone {
		return r
	}
	return classifyReply(dsn, text, false)
}

// ClassifyQueueReason classifies a deferred recipient's delay reason from
// the queue into one of the nine queue classes (DRConnectionRefused to
// DROther), with the table of ClassifyReply minus its log-only entries.
func ClassifyQueueReason(text []byte) DeliveryReason {
	return classifyReply(nil, text, true)
}

func classifyReply(dsn, text []byte, queue bool) DeliveryReason {
	if len(bytes.TrimSpace(text)) == 0 {
		return DROther
	}
	if reply, ok := remoteReply(text); ok {
		return classifyRemote(reply, dsn, queue)
	}
	// The most frequent deferral, spelled as Postfix writes it (strerror):
	// the first entry of localPatterns, so nothing else can win; one
	// search instead of a scan.
	if bytes.Contains(text, []byte("Connection refused")) {
		return DRConnectionRefused
	}
	if r := localTable.match(text, queue); r != DRNone {
		return r
	}
	return DROther
}

// remoteReply returns the remote reply of s: what follows
// the first " said:" or, without one, the first "refused to talk to me:".
// Both markers end with ':', which a reply text holds few of.
func remoteReply(s []byte) ([]byte, bool) {
	talk := -1
	for i := 0; ; {
		j := bytes.IndexByte(s[i:], ':')
		if j < 0 {
			break
		}
		i += j
		if i > 0 {
			switch lowerByte(s[i-1]) { // the last letter of a marker, before the rest
			case 'd':
				if hasSuffixFold(s[:i], " said") {
					return s[i+1:], true
				}
			case 'e':
				if talk < 0 && hasSuffixFold(s[:i], "refused to talk to me") {
					talk = i
				}
			}
		}
		i++
	}
	if talk >= 0 {
		return s[talk+1:], true
	}
	return nil, false
}

func classifyRemote(reply, dsn []byte, queue bool) DeliveryReason {
	if r := remoteTable.match(reply, queue); r != DRNone {
		return r
	}
	code := byte(0)
	if reply = bytes.TrimLeft(reply, " "); len(reply) > 0 {
		code = reply[0]
	}
	if queue {
		if code == '4' {
			return DRRemote4xx
		}
		return DROther
	}
	if code != '4' && code != '5' && len(dsn) > 0 {
		code = dsn[0]
	}
	switch code {
	case '4':
		return DRRemote4xx
	case '5':
		return DRRemote5xx
	}
	return DROther
}

// reasonOfDSN returns the class an enhanced status code names by itself
// (RFC 3463, RFC 7372), or DRNone.
func reasonOfDSN(dsn []byte) DeliveryReason {
	subject, detail, ok := parseDSN(dsn)
	switch {
	case !ok:
	case subject == 1 && detail == 1:
		return DRUnknownUser
	case subject == 7 && detail >= 20 && detail <= 26:
		return DRAuthPolicy
	}
	return DRNone
}

// parseDSN reads a failure's "class.subject.detail" (4.7.1, 5.1.1): class 4
// or 5.
func parseDSN(b []byte) (subject, detail int, ok bool) {
	if len(b) < 5 || (b[0] != '4' && b[0] != '5') || b[1] != '.' {
		return 0, 0, false
	}
	rest := b[2:]
	subject, rest, ok = readSmallInt(rest)
	if !ok || len(rest) < 2 || rest[0] != '.' {
		return 0, 0, false
	}
	detail, rest, ok = readSmallInt(rest[1:])
	if !ok || len(rest) != 0 {
		return 0, 0, false
	}
	return subject, detail, true
}

// readSmallInt reads 1 to 3 digits.
func readSmallInt(b []byte) (int, []byte, bool) {
	n, i := 0, 0
	for i < len(b) && i < 3 && isDigit(b[i]) {
		n = n*10 + int(b[i]-'0')
		i++
	}
	return n, b[i:], i > 0
}

// lowerByte lowers an ASCII upper-case letter.
func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether b starts with the lower-case w, in any
// ASCII case.
func hasPrefixFold(b, w []byte) bool {
	if len(b) < len(w) {
		return false
	}
	for i, c := range w {
		if lowerByte(b[i]) != c {
			return false
		}
	}
	return true
}

// hasSuffixFold reports whether b ends with the lower-case w, in any ASCII
// case.
func hasSuffixFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	b = b[len(b)-len(w):]
	for i := 0; i < len(w); i++ {
		if lowerByte(b[i]) != w[i] {
			return false
		}
	}
	return true
}
