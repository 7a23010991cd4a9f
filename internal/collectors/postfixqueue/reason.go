// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package postfixqueue

import "github.com/mailwatchd/mailwatchd/internal/logparse/maillog"

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

// The classes are those of the log pipeline's reply classifier
// (maillog.ClassifyQueueReason), which walks the same table as the
// log's delivery reasons but keeps to these nine: the log's unknown_user,
// reputation, auth_policy and remote_5xx are, here, what the rest of the
// table says (a remote 5xx under soft_bounce is other, Microsoft's "rate
// limited due to IP reputation" is rate_limited). The order of reason
// follows maillog's, from maillog.DRConnectionRefused (TestReasonNamesFollowMaillog).

func fromMaillog(r maillog.DeliveryReason) reason {
	if r < maillog.DRConnectionRefused || r > maillog.DROther {
		return rOther // not reached: ClassifyQueueReason keeps to the nine
	}
	return reason(r - maillog.DRConnectionRefused)
}

// classifier caches classes by exact text: a stuck destination repeats the
// same reason for thousands of recipients. The cache is dropped whenever it
// fills, so replies with per-message ids cannot grow it.
type classifier struct {
	cache map[string]reason
}

const classifierCacheSize = 4096

func (c *classifier) classify(why []byte) reason {
	if r, ok := c.cache[string(why)]; ok {
		return r
	}
	r := fromMaillog(maillog.ClassifyQueueReason(why))
	if c.cache == nil || len(c.cache) >= classifierCacheSize {
		c.cache = make(map[string]reason, 64)
	}
	c.cache[string(why)] = r
	return r
}

// classifyReason is the uncached classification of one delay reason.
func classifyReason(why string) reason {
	return fromMaillog(maillog.ClassifyQueueReason([]byte(why)))
}
