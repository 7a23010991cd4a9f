// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import "bytes"

// rule is one built-in classification rule. A rule applies to one program
// family; it is looked up by the first byte of the message body (after the
// family's head: Postfix severity and queue id, Dovecot process and level,
// ...) and then checked by cheap literal comparisons. No built-in rule runs a
// regular expression. The first rule of the family that matches wins.
type rule struct {
	fam      Program
	daemons  uint64 // bit i: daemon index i of the family's table; 0 = any daemon
	sev      sevSel
	qid      qidSel
	prefix   string   // the body starts with this
	contains []string // the body contains each of these
	event    Event
	action   Action
	// fn, when set, decides the match itself (after the checks above) and
	// may fill the result; it reports whether the rule matched.
	fn func(v *view, r *Result) bool
}

type sevSel uint8

const (
	sAny sevSel = iota
	sNone
	sWarning
)

type qidSel uint8

const (
	qAny  qidSel = iota
	qNone        // no queue id
	qSome        // NOQUEUE or a queue id
	qReal        // a queue id
)

func (rl *rule) match(v *view, r *Result) bool {
	if rl.daemons != 0 && rl.daemons&(1<<uint(v.daemon)) == 0 {
		return false
	}
	switch rl.sev {
	case sNone:
		if v.sev != SevNone {
			return false
		}
	case sWarning:
		if v.sev != SevWarning {
			return false
		}
	}
	switch rl.qid {
	case qNone:
		if v.qid != qidNone {
			return false
		}
	case qSome:
		if v.qid == qidNone {
			return false
		}
	case qReal:
		if v.qid != qidReal {
			return false
		}
	}
	if !bytes.HasPrefix(v.body, []byte(rl.prefix)) {
		return false
	}
	for _, s := range rl.contains {
		if !bytes.Contains(v.body, []byte(s)) {
			return false
		}
	}
	if rl.fn != nil && !rl.fn(v, r) {
		return false
	}
	r.addEvent(rl.event)
	if rl.action != ActNone {
		r.Action = rl.action
	}
	return true
}

// daemonMask builds the daemon bit set of a rule from names in table.
func daemonMask(table map[string]int, names ...string) uint64 {
	var m uint64
	for _, n := range names {
		i, ok := table[n]
		if !ok || i >= 64 {
			panic("logparse: unknown daemon " + n) // programmer error in the rule table
		}
		m |= 1 << uint(i)
	}
	return m
}

func pfd(names ...string) uint64 { return daemonMask(postfixDaemonIndex, names...) }

// postscreenDaemon is postscreen's index in postfixDaemonIndex.
var postscreenDaemon = postfixDaemonIndex["postscreen"]

func dvd(names ...string) uint64 { return daemonMask(dovecotProcIndex, names...) }

// benign returns rules that only mark lines as known (matched, no counter):
// this keeps mailwatch_log_unmatched_lines_total a signal of messages the
// rules do not know yet.
func benign(fam Program, daemons uint64, sev sevSel, qid qidSel, prefixes ...string) []rule {
	rs := make([]rule, len(prefixes))
	for i, p := range prefixes {
		rs[i] = rule{fam: fam, daemons: daemons, sev: sev, qid: qid, prefix: p}
	}
	return rs
}

var builtinRules = concatRules(postfixRules(), dovecotRules(), opendkimRules(), fail2banRules(),
	clamavRules(), amavisRules(), rspamdRules(), authLogRules())

func concatRules(sets ...[]rule) []rule {
	var all []rule
	for _, s := range sets {
		all = append(all, s...)
	}
	return all
}

// postfixRules follow pflogsumm 1.1.5 for the actions: what it counts, from
// which daemons, with which queue id, so the two can be reconciled.
func postfixRules() []rule {
	const P = ProgPostfix
	server := pfd("smtpd", "postscreen")
	notServer := ^pfd("smtpd", "postscreen", "master") // any daemon but these, unknown ones (bit 0) included
	rs := []rule{
		// smtpd / postscreen: "NOQUEUE: reject: ..." or "QID: reject: ...".
		{fam: P, daemons: server, qid: qSome, prefix: "reject: ", fn: postfixReject},
		{fam: P, daemons: server, qid: qSome, prefix: "reject_warning: ", action: ActRejectWarning},
		{fam: P, daemons: server, qid: qSome, prefix: "hold: ", action: ActHeld},
		{fam: P, daemons: server, qid: qSome, prefix: "discard: ", action: ActDiscarded},
		{fam: P, daemons: server, qid: qReal, prefix: "client=", action: ActReceived, fn: saslSubmission},
		{fam: P, daemons: pfd("smtpd"), qid: qSome, prefix: "milter-reject: ", event: EvMilterReject},
		// cleanup: header/body checks and milters at end of message.
		{fam: P, daemons: pfd("cleanup"), prefix: "reject: ", fn: contentCheck(ActRejected, 8)},
		{fam: P, daemons: pfd("cleanup"), prefix: "milter-reject: ", event: EvMilterReject, fn: contentCheck(ActRejected, 15)},
		{fam: P, daemons: pfd("cleanup"), sev: sNone, prefix: "warning: ", fn: contentCheck(ActRejectWarning, 9)},
		{fam: P, daemons: pfd("cleanup"), prefix: "hold: ", fn: contentCheck(ActHeld, 6)},
		{fam: P, daemons: pfd("cleanup"), prefix: "discard: ", fn: contentCheck(ActDiscarded, 9)},
		// The same words without a queue id, from any daemon (pflogsumm's $qid eq 'reject').
		{fam: P, qid: qNone, sev: sNone, prefix: "reject: ", fn: postfixReject},
		{fam: P, qid: qNone, sev: sNone, prefix: "reject_warning: ", action: ActRejectWarning},
		{fam: P, qid: qNone, sev: sNone, prefix: "hold: ", action: ActHeld},
		{fam: P, qid: qNone, sev: sNone, prefix: "discard: ", action: ActDiscarded},
		// Deliveries: one line per recipient.
		{fam: P, daemons: notServer, qid: qReal, prefix: "to=<", fn: postfixStatus},
		{fam: P, daemons: pfd("pickup"), qid: qReal, prefix: "uid=", action: ActReceived},
		{fam: P, daemons: pfd("pickup"), qid: qReal, prefix: "sender=", action: ActReceived},
		{fam: P, daemons: pfd("qmgr", "oqmgr"), qid: qReal, prefix: "from=<", fn: qmgrFrom},
		{fam: P, daemons: pfd("qmgr", "oqmgr"), sev: sNone, qid: qReal, prefix: "removed", fn: qmgrRemoved},
		// Inbound connections and TLS.
		{fam: P, daemons: pfd("smtpd"), sev: sNone, qid: qNone, prefix: "connect from ", fn: smtpdConnect},
		{fam: P, daemons: pfd("smtpd"), sev: sNone, qid: qNone, prefix: "lost connection after ", fn: smtpdLost},
		{fam: P, sev: sNone, qid: qNone, prefix: "Anonymous TLS connection established ", fn: tlsEstablished(TrustAnonymous, 37)},
		{fam: P, sev: sNone, qid: qNone, prefix: "Untrusted TLS connection established ", fn: tlsEstablished(TrustUntrusted, 37)},
		{fam: P, sev: sNone, qid: qNone, prefix: "Trusted TLS connection established ", fn: tlsEstablished(TrustTrusted, 35)},
		{fam: P, sev: sNone, qid: qNone, prefix: "Verified TLS connection established ", fn: tlsEstablished(TrustVerified, 36)},
		// Events.
		{fam: P, sev: sWarning, prefix: "TLS library problem: ", event: EvTLSLibraryProblem},
		{fam: P, sev: sWarning, prefix: "connect to Milter service ", event: EvMilterConnectFailed},
		{fam: P, sev: sWarning, contains: []string{": SASL ", " authentication failed"}, event: EvSASLAuthFailure},
		{fam: P, sev: sNone, qid: qNone, prefix: "SSL_accept error from ", event: EvTLSHandshakeFailure},
		{fam: P, sev: sNone, qid: qNone, prefix: "SSL_connect error to ", event: EvTLSHandshakeFailure},
		{fam: P, daemons: pfd("smtp", "lmtp"), sev: sNone, qid: qNone, prefix: "connect to ", fn: connectFailure},
	}
	rs = append(rs, postscreenRules()...)
	// Saturation and misconfiguration; the table lookup rule has no prefix
	// and so sits in every bucket: it comes last (it matches warnings,
	// errors and fatals only, which no benign rule does).
	pe, anyPrefix := postfixEventRules()
	rs = append(rs, pe...)
	rs = append(rs, benign(P, 0, sNone, qNone, "connect from ", "disconnect from ", "lost connection after ",
		"timeout after ", "too many errors after ", "improper command pipelining after ",
		"Anonymous TLS connection established ", "Untrusted TLS connection established ",
		"Trusted TLS connection established ", "Verified TLS connection established ",
		"statistics: ", "Deleted: ", "Released from hold: ", "Placed on hold: ", "Requeued: ",
		"Force-expired: ", "Expired: ", "daemon started -- ", "reload -- ", "terminating on signal ",
		"starting the Postfix mail system", "stopping the Postfix mail system",
		"refreshing the Postfix mail system", "addr ", "CONNECT from ", "DISCONNECT ", "PASS NEW ",
		"PASS OLD ", "DNSBL rank ", "PREGREET ", "HANGUP ", "WHITELISTED ", "ALLOWLISTED ",
		"BLACKLISTED ", "DENYLISTED ", "WHITELIST VETO ", "ALLOWLIST VETO ", "NON-SMTP COMMAND ",
		"BARE NEWLINE ", "COMMAND PIPELINING ", "COMMAND TIME LIMIT ", "COMMAND COUNT LIMIT ",
		"COMMAND LENGTH LIMIT ")...)
	rs = append(rs, benign(P, 0, sNone, qReal, "message-id=", "resent-message-id=", "removed",
		"sender non-delivery notification: ", "sender delivery status notification: ",
		"sender delay notification: ", "postmaster non-delivery notification: ",
		"postmaster delivery status notification: ", "info: ", "released from hold", "placed on hold",
		"expired", "requeued", "skipped, still being delivered", "passing <", "milter-hold: ",
		"milter-discard: ", "enabling PIX workarounds: ", "client=", "Cannot start TLS: ")...)
	return append(rs, anyPrefix...)
}

// saslSubmission marks a message received from a client that authenticated
// (smtpd's "client=host[addr], sasl_method=PLAIN, sasl_username=user"): a
// submission, which the user's mail then leaves signed (or not).
func saslSubmission(v *view, r *Result) bool {
	if bytes.Contains(v.body, []byte(", sasl_username=")) {
		r.addEvent(EvPostfixSASLSubmission)
	}
	return true
}

// postfixReject counts a reject line and its reason class.
func postfixReject(v *view, r *Result) bool {
	r.Action = ActRejected
	if v.daemon == postscreenDaemon {
		r.Flow.Postscreen = PSReject
	}
	r.Reason = rejectReason(v.body)
	if r.Reason == ReasonRelayDenied {
		r.addEvent(EvRelayDenied)
	}
	return true
}

// rejectReason classifies the reply text of a Postfix reject.
func rejectReason(b []byte) Reason {
	switch {
	case bytes.Contains(b, []byte("Relay access denied")):
		return ReasonRelayDenied
	case bytes.Contains(b, []byte(" blocked using ")):
		return ReasonRBL
	case bytes.Contains(b, []byte("User unknown")),
		bytes.Contains(b, []byte("Recipient address rejected: undeliverable address")):
		return ReasonUnknownUser
	case bytes.Contains(b, []byte("Client host rejected")):
		return ReasonClient
	case bytes.Contains(b, []byte("Helo command rejected")):
		return ReasonHelo
	case bytes.Contains(b, []byte("Sender address rejected")):
		return ReasonSender
	}
	return ReasonOther
}

// contentCheck matches cleanup's "<word>: header|body|END-OF-MESSAGE ..."
// (pflogsumm's cleanup rule); skip is the length of "<word>: ".
func contentCheck(a Action, skip int) func(v *view, r *Result) bool {
	return func(v *view, r *Result) bool {
		rest := v.body[skip:]
		if !bytes.HasPrefix(rest, []byte("header ")) && !bytes.HasPrefix(rest, []byte("body ")) &&
			!bytes.HasPrefix(rest, []byte("END-OF-MESSAGE ")) {
			return false
		}
		r.Action = a
		if a == ActRejected {
			r.Reason = ReasonOther
		}
		return true
	}
}

// postfixStatus reads a delivery line, "to=<a>, [orig_to=<b>, ]relay=...,
// delay=..., ..., status=sent (...)", like pflogsumm: sent is delivered,
// or forwarded when the text says "forwarded as"; deferred and bounced count
// once per line. Other statuses (deliverable, undeliverable, ...) are known
// but not counted. Every counted line is also a Delivery (readDelivery), so
// the delivery counts per status equal the actions.
func postfixStatus(v *view, r *Result) bool {
	b := v.body
	i := bytes.Index(b, []byte(", status="))
	if i < 0 {
		return false
	}
	l, ok := cutDeliveryLine(b[:i])
	if !ok {
		return false
	}
	st := b[i+len(", status="):]
	word, text := st, []byte(nil)
	if j := bytes.IndexByte(st, ' '); j >= 0 {
		word, text = st[:j], st[j+1:]
	}
	var status DeliveryStatus
	switch string(word) {
	case "sent":
		if bytes.Contains(st, []byte("forwarded as ")) {
			r.Action = ActForwarded
		} else {
			r.Action = ActDelivered
		}
		status = StatusSent
	case "deferred":
		r.Action = ActDeferred
		status = StatusDeferred
	case "bounced":
		r.Action = ActBounced
		status = StatusBounced
	}
	if status != StatusNone {
		if len(text) > 0 && text[0] == '(' {
			text = bytes.TrimSuffix(text[1:], []byte(")"))
		}
		readDelivery(v, r, l, status, text)
	}
	return true
}

// qmgrFrom counts "from=<a>, status=expired, returned to sender" (and
// force-expired, Postfix >= 3.5) and reads the size line (qmgrSize); other
// from= lines are known.
// The delivery it records has no recipient, relay, delay or reply.
func qmgrFrom(v *view, r *Result) bool {
	if bytes.Contains(v.body, []byte(", status=expired, returned to sender")) ||
		bytes.Contains(v.body, []byte(", status=force-expired, returned to sender")) {
		r.Action = ActExpired
		r.Delivery = Delivery{Status: StatusExpired, Transport: transportOf(v.daemon)}
		return true
	}
	qmgrSize(v.body, r)
	return true
}

// connectFailure classifies the SMTP/LMTP client's "connect to host[addr]:port: <error>".
func connectFailure(v *view, r *Result) bool {
	switch b := v.body; {
	case bytes.HasSuffix(b, []byte(": Connection refused")):
		r.addEvent(EvConnectRefused)
	case bytes.HasSuffix(b, []byte(": Connection timed out")):
		r.addEvent(EvConnectTimeout)
	case bytes.HasSuffix(b, []byte(": No route to host")), bytes.HasSuffix(b, []byte(": Network is unreachable")):
		r.addEvent(EvConnectNoRoute)
	}
	return true
}

func dovecotRules() []rule {
	const D = ProgDovecot
	login := dvd("imap-login", "pop3-login", "submission-login", "managesieve-login", "imap-urlauth-login")
	authd := dvd("auth", "auth-worker")
	rs := []rule{
		{fam: D, daemons: dvd("master"), sev: sWarning, prefix: "service(", fn: dovecotServiceLimit},
		// login-proxy / login processes: "Maximum number of connections from
		// user+IP exceeded (mail_max_userip_connections=10): user=<...>, ..."
		{fam: D, daemons: login, prefix: "Maximum number of connections from user+IP exceeded",
			event: EvDovecotConnectionLimit},
		{fam: D, daemons: login, contains: []string{"(auth failed,"}, event: EvDovecotAuthFailure},
		{fam: D, daemons: login, prefix: "Login: ", event: EvDovecotLogin},
		{fam: D, daemons: login, contains: []string{"TLS handshaking: "}, event: EvTLSHandshakeFailure},
		{fam: D, daemons: authd, contains: []string{"Password mismatch"}, event: EvDovecotPasswordMismatch},
		{fam: D, daemons: authd, contains: []string{": unknown user"}, event: EvDovecotUnknownUser},
		// pam_unix's line under a Dovecot tag ("dovecot-auth: pam_unix(dovecot:auth):
		// authentication failure; ..."): the process cut leaves the text.
		{fam: D, sev: sNone, prefix: "authentication failure; logname=", event: EvSASLAuthFailure},
	}
	rs = append(rs, benign(D, login, sNone, qAny, "Disconnected", "Aborted login", "Login failed",
		"Maximum number of connections")...)
	rs = append(rs, benign(D, 0, sNone, qAny, "Connect from ", "Disconnect from ", "Disconnected",
		"Logged out", "Connection closed", "msgid=", "sieve: ", "Dovecot v", "Killed with signal",
		"conn unix:")...)
	// Without a prefix, so in every bucket: last (Error and Fatal lines
	// only, which no benign rule matches).
	return append(rs, rule{fam: D, fn: dovecotMailboxPermission, event: EvDovecotMailboxPermission})
}

func opendkimRules() []rule {
	const O = ProgOpenDKIM
	rs := []rule{
		{fam: O, prefix: "DKIM-Signature field added", event: EvDKIMSigned},
		{fam: O, prefix: "DKIM verification successful", event: EvDKIMVerified},
		{fam: O, prefix: "bad signature data", event: EvDKIMBadSignature},
		{fam: O, prefix: "signing table references unknown key", event: EvDKIMUnknownKey},
		{fam: O, prefix: "key retrieval failed", event: EvDKIMKeyRetrievalFailed},
		{fam: O, prefix: "error loading key", event: EvOpenDKIMError},
		{fam: O, prefix: "can't load key", event: EvOpenDKIMError},
		{fam: O, prefix: "dkim_eoh(): ", event: EvOpenDKIMError},
		{fam: O, prefix: "dkim_eom(): ", event: EvOpenDKIMError},
		{fam: O, contains: []string{" not internal"}},
	}
	return append(rs, benign(O, 0, sAny, qAny, "not authenticated", "no signature data", "s=",
		"OpenDKIM Filter v", "no signing table match", "external host ", "ADSP ", "DKIM-Signature field")...)
}

func fail2banRules() []rule {
	const F = ProgFail2ban
	return []rule{
		{fam: F, prefix: "[", fn: fail2banJail},
		{fam: F}, // every fail2ban line is known: its level was counted
	}
}

// fail2banJail reads "[jail] Ban 192.0.2.1" and its siblings.
func fail2banJail(v *view, r *Result) bool {
	i := bytes.IndexByte(v.body, ']')
	if i < 0 || i+1 >= len(v.body) {
		return false
	}
	switch act := trimLeftSpace(v.body[i+1:]); {
	case bytes.HasPrefix(act, []byte("Ban ")):
		r.addEvent(EvFail2banBan)
	case bytes.HasPrefix(act, []byte("Unban ")):
		r.addEvent(EvFail2banUnban)
	case bytes.HasPrefix(act, []byte("Restore Ban ")):
		r.addEvent(EvFail2banRestoreBan)
	case bytes.HasPrefix(act, []byte("Found ")):
		r.addEvent(EvFail2banFound)
	}
	return true
}

func clamavRules() []rule {
	rs := []rule{
		{fam: ProgClamAV, sev: sNone, fn: clamdFound, event: EvVirusFound},
		{fam: ProgClamAV, sev: sNone, contains: []string{" infected by "}, fn: clamavInfected, event: EvVirusFound},
	}
	rs = append(rs, benign(ProgClamAV, 0, sNone, qAny, "SelfCheck: ", "Database correctly reloaded",
		"Reading databases from ", "Database has changed", "Activating the newly loaded database",
		"Database modification detected", "Received ", "Loaded ", "clamd daemon ", "Starting ",
		"Stopped", "Socket file removed", "Pid file removed", "--- Stopped at", "+++ Started at",
		"Limits: ", "LOCAL: ", "TCP: ", "Self checking every ")...)
	rs = append(rs, benign(ProgFreshclam, 0, sNone, qAny, "ClamAV update process started at ",
		"--------------------------------------", "Received signal", "Testing database: ",
		"Database test passed.", "Clamd successfully notified", "Current database is ",
		"Trying to retrieve", "Downloading database patch", "Retrieved ", "freshclam daemon ")...)
	rs = append(rs, rule{fam: ProgFreshclam, sev: sNone, contains: []string{" is up-to-date"}},
		rule{fam: ProgFreshclam, sev: sNone, contains: []string{" updated (version: "}},
		rule{fam: ProgFreshclam, sev: sNone, contains: []string{" database available for update"}})
	return rs
}

// clamdFound matches clamd's "/path/to/file: Signature-Name FOUND".
// It is clamd's one verdict line by default: a clean file is logged only
// with LogClean.
func clamdFound(v *view, r *Result) bool {
	if !bytes.HasSuffix(bytes.TrimRight(v.body, " "), []byte(" FOUND")) {
		return false
	}
	return clamavInfected(v, r)
}

// clamavInfected records ClamAV's infected verdict.
func clamavInfected(_ *view, r *Result) bool {
	r.Flow.Scanner, r.Flow.Verdict = ScannerClamAV, VerdictInfected
	return true
}

func amavisRules() []rule {
	const A = ProgAmavis
	rs := []rule{
		{fam: A, sev: sNone, prefix: "Passed ", fn: amavisVerdict},
		{fam: A, sev: sNone, prefix: "Blocked ", fn: amavisVerdict},
	}
	return append(rs, benign(A, 0, sAny, qAny, "Passed ", "Blocked ", "starting.", "SA info: ",
		"extra modules loaded", "Checking: ", "DKIM-Signature ", "Module ", "Found ")...)
}

func rspamdRules() []rule {
	return []rule{{fam: ProgRspamd, contains: []string{"rspamd_task_write_log: "}, fn: rspamdAction}}
}

// rspamdAction reads the action of rspamd_task_write_log's line, "id:
// <mid>, qid: <qid>, ..., (default: T (reject): [16.50/15.00] [...]), len:
// ...": the default log_format's "(default: $is_spam ($action): [$scores]
// ...", one line per scanned message. The action names are rspamd's
// (rspamd_action_to_str): no action, greylist, add header, rewrite subject,
// soft reject, reject; discard, quarantine and custom actions are other.
func rspamdAction(v *view, r *Result) bool {
	i := bytes.Index(v.body, []byte("(default: "))
	if i < 0 {
		return true
	}
	rest := v.body[i+len("(default: "):]
	if j := bytes.IndexByte(rest, '('); j >= 0 && j <= 2 {
		rest = rest[j:]
	} else {
		return true
	}
	verdict := VerdictOther
	switch {
	case bytes.HasPrefix(rest, []byte("(no action)")):
		verdict = VerdictNoAction
	case bytes.HasPrefix(rest, []byte("(reject)")):
		r.addEvent(EvRspamdReject)
		verdict = VerdictReject
	case bytes.HasPrefix(rest, []byte("(soft reject)")):
		r.addEvent(EvRspamdSoftReject)
		verdict = VerdictSoftReject
	case bytes.HasPrefix(rest, []byte("(greylist)")):
		r.addEvent(EvRspamdGreylist)
		verdict = VerdictGreylist
	case bytes.HasPrefix(rest, []byte("(add header)")):
		r.addEvent(EvRspamdAddHeader)
		verdict = VerdictAddHeader
	case bytes.HasPrefix(rest, []byte("(rewrite subject)")):
		r.addEvent(EvRspamdRewriteSubject)
		verdict = VerdictRewriteSubject
	}
	r.Flow.Scanner, r.Flow.Verdict = ScannerRspamd, verdict
	return true
}

// cutView applies the family's head parsing to a message.
func cutView(fam Program, daemon, msg []byte) view {
	v := view{body: msg}
	switch fam {
	case ProgPostfix:
		v.daemon = postfixDaemonIndex[string(daemon)]
		v.sev, msg = cutPostfixSeverity(msg)
		v.qid, v.body = cutQID(msg)
	case ProgDovecot:
		proc, rest := cutDovecotProc(msg)
		if proc != nil {
			v.daemon = dovecotProcIndex[string(dovecotBase(proc))]
		}
		v.sev, v.body = cutDovecotLevel(rest)
	case ProgOpenDKIM:
		v.qid, v.body = cutQID(msg)
	case ProgFail2ban:
		v.sev, v.body = cutFail2banLevel(msg)
	case ProgClamAV, ProgFreshclam:
		v.sev, v.body = cutClamAVLevel(msg)
	case ProgAmavis:
		v.sev, v.body = cutAmavisLevel(msg)
	}
	return v
}

func cutPostfixSeverity(b []byte) (Severity, []byte) {
	if len(b) < 7 {
		return SevNone, b
	}
	switch b[0] {
	case 'w':
		if bytes.HasPrefix(b, []byte("warning: ")) {
			return SevWarning, b[9:]
		}
	case 'e':
		if bytes.HasPrefix(b, []byte("error: ")) {
			return SevError, b[7:]
		}
	case 'f':
		if bytes.HasPrefix(b, []byte("fatal: ")) {
			return SevFatal, b[7:]
		}
	case 'p':
		if bytes.HasPrefix(b, []byte("panic: ")) {
			return SevPanic, b[7:]
		}
	}
	return SevNone, b
}

// cutQID cuts a leading Postfix queue id ("C86F7B8773: ", "4Bnpy46sVdz3wBZ: ")
// or "NOQUEUE: " off b.
func cutQID(b []byte) (qidKind, []byte) {
	n := len(b)
	if n > 24 {
		n = 24
	}
	i := bytes.IndexByte(b[:n], ':')
	if i < 6 || i+1 >= len(b) || b[i+1] != ' ' {
		return qidNone, b
	}
	tok := b[:i]
	if string(tok) == "NOQUEUE" {
		return qidNOQUEUE, b[i+2:]
	}
	if IsQueueID(tok) {
		return qidReal, b[i+2:]
	}
	return qidNone, b
}

// IsQueueID accepts Postfix short queue ids (upper-case hex) and long ones
// (base-52 time, 'z', base-51 inode: letters and digits with a 'z').
func IsQueueID(t []byte) bool {
	if len(t) < 6 || len(t) > 20 {
		return false
	}
	hex, digit, z := true, false, false
	for _, c := range t {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'A' && c <= 'F':
		case c >= 'G' && c <= 'Z', c >= 'a' && c <= 'z':
			hex = false
			z = z || c == 'z'
		default:
			return false
		}
	}
	return hex || (z && digit && len(t) >= 10)
}

// cutDovecotProc cuts "imap-login: " or "imap(alice)<12><ab:T2>: " off b.
func cutDovecotProc(b []byte) (proc, rest []byte) {
	for i, c := range b {
		switch c {
		case ' ':
			return nil, b
		case ':':
			if i > 0 && i+1 < len(b) && b[i+1] == ' ' {
				return b[:i], b[i+2:]
			}
		}
	}
	return nil, b
}

func cutDovecotLevel(b []byte) (Severity, []byte) {
	if len(b) < 6 || bytes.IndexByte(b[:min(len(b), 9)], ':') < 0 {
		return SevNone, b
	}
	switch {
	case bytes.HasPrefix(b, []byte("Info: ")):
		return SevNone, b[6:]
	case bytes.HasPrefix(b, []byte("Debug: ")):
		return SevNone, b[7:]
	case bytes.HasPrefix(b, []byte("Warning: ")):
		return SevWarning, b[9:]
	case bytes.HasPrefix(b, []byte("Error: ")):
		return SevError, b[7:]
	case bytes.HasPrefix(b, []byte("Fatal: ")):
		return SevFatal, b[7:]
	case bytes.HasPrefix(b, []byte("Panic: ")):
		return SevPanic, b[7:]
	}
	return SevNone, b
}

// cutFail2banLevel cuts the level word ("NOTICE  ") off a fail2ban message.
func cutFail2banLevel(b []byte) (Severity, []byte) {
	word, rest, _ := bytes.Cut(b, []byte{' '})
	rest = trimLeftSpace(rest)
	switch string(word) {
	case "INFO", "NOTICE", "DEBUG", "HEAVYDEBUG", "TRACEDEBUG", "MSG":
		return SevNone, rest
	case "WARNING", "WARN":
		return SevWarning, rest
	case "ERROR":
		return SevError, rest
	case "CRITICAL":
		return SevFatal, rest
	}
	return SevNone, b
}

// cutClamAVLevel strips clamd/freshclam's optional "Sun Nov 22 05:34:01 2026 -> "
// and their level prefix.
func cutClamAVLevel(b []byte) (Severity, []byte) {
	if len(b) > 28 && bytes.HasPrefix(b[24:], []byte(" -> ")) {
		b = b[28:]
	}
	switch {
	case bytes.HasPrefix(b, []byte("WARNING: ")):
		return SevWarning, b[9:]
	case bytes.HasPrefix(b, []byte("ERROR: ")):
		return SevError, b[7:]
	case bytes.HasPrefix(b, []byte("LibClamAV Warning: ")):
		return SevWarning, b[19:]
	case bytes.HasPrefix(b, []byte("LibClamAV Error: ")):
		return SevError, b[17:]
	}
	return SevNone, b
}

// cutAmavisLevel strips amavis' "(12345-01) " log id and its "(!)" warning
// and "(!!)" error marks.
func cutAmavisLevel(b []byte) (Severity, []byte) {
	if len(b) > 0 && b[0] == '(' {
		if i := bytes.IndexByte(b[:min(len(b), 24)], ')'); i > 1 && i+1 < len(b) && b[i+1] == ' ' && isDigit(b[1]) {
			b = b[i+2:]
		}
	}
	switch {
	case bytes.HasPrefix(b, []byte("(!!)")):
		return SevError, trimLeftSpace(b[4:])
	case bytes.HasPrefix(b, []byte("(!)")):
		return SevWarning, trimLeftSpace(b[3:])
	}
	return SevNone, b
}
