// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import "bytes"

// Delivery is what a Postfix delivery line says, for the delivery metrics.
// Postfix's log_adhoc() writes one line per recipient and attempt:
//
//	QID: to=<rcpt>[, orig_to=<addr>], relay=HOST[ADDR]:PORT[, conn_use=N],
//	  delay=D, delays=A/B/C/D[, tls=...], dsn=X.Y.Z, status=WORD (TEXT)
//
// with the delays in seconds as format_tv() writes them: an integer part
// and at most six decimals. qmgr writes the per-message "QID: from=<s>,
// status=expired, returned to sender".
type Delivery struct {
	// Status is StatusNone when the line is no delivery.
	Status    DeliveryStatus
	Transport Transport
	// Reason classifies the reply of deferred and bounced lines; DRNone
	// for sent and expired.
	Reason DeliveryReason
	// Provider is 0 for other, else 1 + the index of the classifier's
	// provider. Expired lines have none (they name no recipient).
	Provider uint8
	// HasDelay is set when delay= and delays= were read (every recipient
	// line Postfix writes; never an expired line).
	HasDelay bool
	// Delay is delay=, Stages delays=, in microseconds.
	Delay  uint64
	Stages [NumStages]uint64
}

// transportByDaemon maps the index of a Postfix daemon (postfixDaemonIndex)
// to its transport label.
var transportByDaemon = func() [64]Transport {
	var t [64]Transport
	for name, tr := range map[string]Transport{
		"smtp": TransportSMTP, "lmtp": TransportLMTP, "local": TransportLocal, "virtual": TransportVirtual,
		"pipe": TransportPipe, "error": TransportError, "retry": TransportRetry, "discard": TransportDiscard,
	} {
		t[postfixDaemonIndex[name]] = tr
	}
	return t
}()

func transportOf(daemon int) Transport {
	if daemon < 0 || daemon >= len(transportByDaemon) {
		return TransportOther
	}
	return transportByDaemon[daemon]
}

// deliveryLine is a recipient line cut at ", status=": head holds the
// fields before it ("to=<...>, relay=..., ..., dsn=..."), relay the index
// of " relay=" in head and relayEnd that of the end of its value, delay
// that of " delay=" after it (-1 if none).
type deliveryLine struct {
	head                   []byte
	relay, relayEnd, delay int
}

// cutDeliveryLine finds the fields of head that postfixStatus requires: a
// " relay=", and a " delay=" (ok is false without one). Postfix writes
// delay= after relay= and the optional conn_use=; anywhere else it is
// looked for, as pflogsumm would find it.
func cutDeliveryLine(head []byte) (l deliveryLine, ok bool) {
	l = deliveryLine{head: head, relay: bytes.Index(head, []byte(" relay=")), delay: -1}
	if l.relay < 0 {
		return l, false
	}
	l.relayEnd = len(head)
	if j := bytes.IndexByte(head[l.relay:], ','); j >= 0 {
		l.relayEnd = l.relay + j
	}
	next := head[l.relayEnd:]
	if bytes.HasPrefix(next, []byte(", conn_use=")) {
		if j := bytes.IndexByte(next[1:], ','); j >= 0 {
			next = next[1+j:]
		}
	}
	switch {
	case bytes.HasPrefix(next, []byte(", delay=")):
		l.delay = len(head) - len(next) + 1
	default:
		if j := bytes.Index(head[l.relay:], []byte(" delay=")); j >= 0 {
			l.delay = l.relay + j
		} else if !bytes.Contains(head[:l.relay], []byte(" delay=")) {
			return l, false
		}
	}
	return l, true
}

// readDelivery fills r.Delivery, and the relay host and recipient domain of
// r, from a recipient line whose status is st and whose reply (the text in
// parentheses) is text.
func readDelivery(v *view, r *Result, l deliveryLine, st DeliveryStatus, text []byte) {
	d := &r.Delivery
	d.Status = st
	d.Transport = transportOf(v.daemon)
	r.rcptDomain = recipientDomain(l.head[:l.relay])
	r.relayHost = relayHost(l.head[l.relay+len(" relay=") : l.relayEnd])
	if l.delay >= 0 {
		readDelays(d, l.head[l.delay+len(" delay="):])
	}
	if st == StatusDeferred || st == StatusBounced {
		var dsn []byte
		if j := bytes.LastIndexByte(l.head, ','); j >= 0 && bytes.HasPrefix(l.head[j:], []byte(", dsn=")) {
			dsn = l.head[j+len(", dsn="):]
		}
		d.Reason = ClassifyReply(dsn, text)
	}
}

// readDelays reads "D, delays=A/B/C/D, ..." (the text after " delay=") in
// one pass: five numbers as scanSeconds reads them, with their separators.
func readDelays(d *Delivery, b []byte) {
	var v [1 + NumStages]uint64
	i := 0
	for k := range v {
		switch k {
		case 0:
		case 1:
			if len(b)-i < len(", delays=") || string(b[i:i+len(", delays=")]) != ", delays=" {
				return
			}
			i += len(", delays=")
		default:
			if i == len(b) || b[i] != '/' {
				return
			}
			i++
		}
		start := i
		var sec uint64
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			sec = sec*10 + uint64(b[i]-'0')
		}
		if i == start || i-start > 9 || sec > maxSeconds {
			return
		}
		v[k] = sec * 1e6
		if i < len(b) && b[i] == '.' {
			i++
			start = i
			var frac uint64
			for ; i < len(b) && b[i]-'0' <= 9; i++ {
				if i-start < 6 {
					frac = frac*10 + uint64(b[i]-'0')
				}
			}
			if i == start {
				return
			}
			v[k] += frac * pow10us[min(i-start, 6)]
		}
	}
	if i < len(b) && b[i] != ',' {
		return
	}
	d.Delay, d.HasDelay = v[0], true
	copy(d.Stages[:], v[1:])
}

// recipientDomain returns the domain of "to=<local@domain>[, orig_to=<...>],":
// what follows the last '@' before the first '>'.
func recipientDomain(b []byte) []byte {
	at := -1
	for i := len("to=<"); i < len(b); i++ {
		switch b[i] {
		case '@':
			at = i
		case '>':
			if at < 0 {
				return nil
			}
			return b[at+1 : i]
		}
	}
	return nil
}

// relayHost returns the host name of "host[addr]:port", "host[addr]",
// "none" or "local" (these two are no host: nil).
func relayHost(b []byte) []byte {
	if j := bytes.IndexByte(b, '['); j >= 0 {
		return b[:j]
	}
	if string(b) == "none" || string(b) == "local" {
		return nil
	}
	return b
}

// maxSeconds bounds a delay so that sums of many cannot overflow soon: 10
// years, far beyond any queue lifetime.
const maxSeconds = 10 * 366 * 86400

// scanSeconds reads format_tv()'s "193", "0.05", "1.234567" at the start
// of b into microseconds, and returns the length read. Digits beyond the
// sixth decimal (Postfix writes none) are ignored.
func scanSeconds(b []byte) (us uint64, n int, ok bool) {
	var sec uint64
	for ; n < len(b); n++ {
		c := b[n] - '0'
		if c > 9 {
			break
		}
		sec = sec*10 + uint64(c)
	}
	if n == 0 || n > 9 || sec > maxSeconds { // 9 digits cannot overflow; more are beyond maxSeconds
		return 0, 0, false
	}
	us = sec * 1e6
	if n == len(b) || b[n] != '.' {
		return us, n, true
	}
	n++
	start := n
	var frac uint64
	for ; n < len(b); n++ {
		c := b[n] - '0'
		if c > 9 {
			break
		}
		if n-start < 6 {
			frac = frac*10 + uint64(c)
		}
	}
	if n == start {
		return 0, 0, false
	}
	return us + frac*pow10us[min(n-start, 6)], n, true
}

// pow10us[k] turns k decimals into microseconds.
var pow10us = [7]uint64{1e6, 1e5, 1e4, 1e3, 100, 10, 1}
