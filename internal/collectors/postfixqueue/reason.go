// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import "bytes"

// reason is the class of a deferred recipient's delay reason: a fixed enum,
// so the free text Postfix and remote servers write never becomes a label.
type reason uint8

const (
	rConnectionRefused reason = iota
	rTimedOut
	rDNSFailure
	rTLSFailure
	rGreylisted
	rRateLimited
	rMailboxFull
	rRemote4xx
	rOther
	numReasons
)

var reasonNames = [numReasons]string{
	"connection_refused",
	"timed_out",
	"dns_failure",
	"tls_failure",
	"greylisted",
	"rate_limited",
	"mailbox_full",
	"remote_4xx",
	"other",
}

func (r reason) String() string { return reasonNames[r] }

// A delay reason is either Postfix's own description of what went wrong
// locally ("connect to mx[ip]:25: Connection refused", "Host or domain name
// not found. Name service error ...", "TLS is required, but was not offered
// by host ...", "conversation with mx[ip] timed out while ...") or a remote
// server's reply quoted after "host mx[ip] said:" or "refused to talk to
// me:". "delivery temporarily suspended: <reason>" wraps either kind.
//
// The remote reply is classified on its own, so that a host name in the
// local part ("connect to quota.example[...]") cannot steer it. Patterns
// are lower case; the text is lower-cased before matching.
var remoteMarkers = [][]byte{[]byte(" said:"), []byte("refused to talk to me:")}

type pattern struct {
	class reason
	words [][]byte
}

func words(ws ...string) [][]byte {
	out := make([][]byte, len(ws))
	for i, w := range ws {
		out[i] = []byte(w)
	}
	return out
}

// remotePatterns are tried in order on a remote reply. Mailbox and rate
// problems come first: their replies often also say "try again later".
// Rspamd and many other greylisters answer a plain "451 4.7.1 Try again
// later", so that phrase counts as greylisting.
var remotePatterns = []pattern{
	{rMailboxFull, words("mailbox full", "mailbox is full", "quota", "4.2.2", "insufficient storage", "mailbox size limit", "storage limit")},
	{rRateLimited, words("rate limit", "ratelimit", "rate-limit", "too many", "throttl", "4.7.28", "sending rate", "unusual rate")},
	{rGreylisted, words("greylist", "graylist", "grey-list", "gray-list", "try again later", "try later")},
	{rTLSFailure, words("starttls", "tls")},
}

// localPatterns are tried in order on Postfix's own text. A timeout during
// the TLS handshake is a timeout: the network is the first thing to check.
var localPatterns = []pattern{
	{rConnectionRefused, words("connection refused")},
	{rTimedOut, words("timed out", "connection timeout")},
	{rTLSFailure, words("tls is required", "cannot start tls", "tls handshake", "tls library problem", "starttls", "certificate verification failed", "server certificate not verified", "untrusted issuer", "tls session")},
	{rDNSFailure, words("host or domain name not found", "name service error", "domain not found", "host not found", "no mx host", "nxdomain", "servfail", "dns lookup", "name or service not known", "temporary failure in name resolution", "dnssec")},
}

// classifier caches classes by exact text: a stuck destination repeats the
// same reason for thousands of recipients. The cache is dropped whenever it
// fills, so replies with per-message ids cannot grow it.
type classifier struct {
	cache map[string]reason
	lower []byte
}

const classifierCacheSize = 4096

func (c *classifier) classify(why []byte) reason {
	if r, ok := c.cache[string(why)]; ok {
		return r
	}
	c.lower = appendLower(c.lower[:0], why)
	r := classifyLower(c.lower)
	if c.cache == nil || len(c.cache) >= classifierCacheSize {
		c.cache = make(map[string]reason, 64)
	}
	c.cache[string(why)] = r
	return r
}

// classifyReason is the uncached classification of one delay reason.
func classifyReason(why string) reason {
	return classifyLower(appendLower(nil, []byte(why)))
}

func classifyLower(s []byte) reason {
	if len(bytes.TrimSpace(s)) == 0 {
		return rOther
	}
	for _, m := range remoteMarkers {
		if i := bytes.Index(s, m); i >= 0 {
			return classifyRemote(s[i+len(m):])
		}
	}
	for _, p := range localPatterns {
		if containsAny(s, p.words) {
			return p.class
		}
	}
	return rOther
}

func classifyRemote(reply []byte) reason {
	for _, p := range remotePatterns {
		if containsAny(reply, p.words) {
			return p.class
		}
	}
	if reply = bytes.TrimLeft(reply, " "); len(reply) > 0 && reply[0] == '4' {
		return rRemote4xx
	}
	return rOther
}

func containsAny(s []byte, ws [][]byte) bool {
	for _, w := range ws {
		if bytes.Contains(s, w) {
			return true
		}
	}
	return false
}

func appendLower(dst, s []byte) []byte {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
