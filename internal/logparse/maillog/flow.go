// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"bytes"
	"fmt"
)

// Flow is what one line says for the mail flow metrics other than the
// deliveries: smtpd connections, TLS, postscreen, the queue manager's
// message size line and the antispam verdicts. At most one of its parts is
// set for a line.
type Flow struct {
	// Conn is set on smtpd's "connect from" (ConnConnect) and "lost
	// connection after STAGE from" (ConnLost, with After) lines; Service is
	// then 0 for other, else 1 + the index of the classifier's service.
	Conn    ConnKind
	Service uint8
	After   SMTPStage
	// TLSTrust is set (not TrustNone) on "<Trust> TLS connection
	// established from|to ..." lines, with TLSDir.
	TLSTrust TLSTrust
	TLSDir   TLSDirection
	// Postscreen is set on postscreen's verdict lines.
	Postscreen PostscreenEvent
	// Scanner is set on a verdict of a scanner, with Verdict.
	Scanner Scanner
	Verdict Verdict
	// HasSize is set on qmgr's "QID: from=<...>, size=N, nrcpt=M (queue
	// active)": Size is N, Rcpts M. Removed is set on qmgr's "QID:
	// removed". QueueID is the line's queue id for both.
	HasSize bool
	Removed bool
	Size    uint64
	Rcpts   uint64
	QueueID []byte
}

// ConnKind tells which smtpd connection line a Flow is.
type ConnKind uint8

// Connection line kinds.
const (
	ConnNone ConnKind = iota
	ConnConnect
	ConnLost
)

// MaxServices bounds the configured services: with "other", the service
// label has at most MaxServices+1 values.
const MaxServices = 8

// OtherService is the service label of connections to a service that is
// not configured.
const OtherService = "other"

// DefaultServices are the master.cf services of a Debian mail host: smtp
// (port 25), submission (587) and submissions (465), named by the
// syslog_name the Debian master.cf gives them (postfix/submission,
// postfix/submissions).
func DefaultServices() []string { return []string{"smtp", "submission", "submissions"} }

// CheckService returns why name cannot be a service label value, or "".
func CheckService(name string) string {
	switch {
	case name == "":
		return "is empty"
	case name == OtherService:
		return "is the label of services not listed"
	case len(name) > 64:
		return "is longer than 64 bytes"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "has a character other than a-z, 0-9, '_', '-' and '.'"
		}
	}
	return ""
}

func checkServices(services []string) error {
	if len(services) > MaxServices {
		return fmt.Errorf("%d services, at most %d", len(services), MaxServices)
	}
	seen := map[string]bool{}
	for _, s := range services {
		if why := CheckService(s); why != "" {
			return fmt.Errorf("service %q %s", s, why)
		}
		if seen[s] {
			return fmt.Errorf("duplicate service %q", s)
		}
		seen[s] = true
	}
	return nil
}

// ServiceNames returns the service label values in Flow.Service order:
// "other", then the configured services.
func (c *Classifier) ServiceNames() []string {
	return append([]string{OtherService}, c.services...)
}

// ServiceOfTag returns the master.cf service a Postfix syslog tag names:
// the tag is syslog_name + "/" + daemon, and syslog_name is the instance's
// name ("postfix", "postfix-out": multi-instance), optionally followed by
// "/" and the service that master.cf's "-o syslog_name=postfix/submission"
// gives it. So "postfix/smtpd" and "postfix-out/smtpd" are smtp (the
// default syslog_name: the port 25 service), "postfix/submission/smtpd" and
// "postfix-out/submission/smtpd" submission, and a syslog_name without the
// instance ("-o syslog_name=submission", tag "submission/smtpd") names the
// service itself.
func ServiceOfTag(tag []byte) []byte {
	i := bytes.LastIndexByte(tag, '/')
	if i < 0 {
		return []byte("smtp")
	}
	name := tag[:i]
	if j := bytes.LastIndexByte(name, '/'); j >= 0 {
		return name[j+1:]
	}
	if string(name) == "postfix" || bytes.HasPrefix(name, []byte("postfix-")) {
		return []byte("smtp")
	}
	return name
}

// service maps a tag to the Flow.Service index.
func (c *Classifier) service(tag []byte) uint8 {
	s := ServiceOfTag(tag)
	for i, n := range c.services {
		if string(s) == n {
			return uint8(i + 1)
		}
	}
	return 0
}

// leadingQID returns the queue id in front of "QID: ..." (nil if none).
func leadingQID(msg []byte) []byte {
	i := bytes.IndexByte(msg[:min(len(msg), 24)], ':')
	if i < 0 || !IsQueueID(msg[:i]) {
		return nil
	}
	return msg[:i]
}

// smtpdConnect marks smtpd's "connect from host[addr]" (smtpd.c
// smtpd_proto: one per accepted connection; postscreen's own "CONNECT
// from" is another rule).
func smtpdConnect(_ *view, r *Result) bool {
	r.Flow.Conn = ConnConnect
	return true
}

// smtpdLost reads the stage of "lost connection after STAGE[ (N bytes)]
// from host[addr]": smtpd_proto logs "%s after %s from %s" with the
// reason and state->where. Only the client's hang-up ("lost connection")
// counts; "timeout after" and "too many errors after", smtpd ending the
// session itself, are other rules (known, not counted here).
func smtpdLost(v *view, r *Result) bool {
	rest := v.body[len("lost connection after "):]
	end := bytes.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	r.Flow.Conn = ConnLost
	r.Flow.After = stageOf(rest[:end])
	return true
}

func stageOf(w []byte) SMTPStage {
	switch string(w) {
	case "CONNECT":
		return AfterConnect
	case "EHLO":
		return AfterEHLO
	case "HELO":
		return AfterHELO
	case "STARTTLS":
		return AfterSTARTTLS
	case "AUTH":
		return AfterAUTH
	case "MAIL":
		return AfterMAIL
	case "RCPT":
		return AfterRCPT
	case "DATA", "BDAT":
		return AfterDATA
	case "END-OF-MESSAGE", "END-OF-DATA":
		return AfterEndOfData
	case "RSET":
		return AfterRSET
	case "QUIT":
		return AfterQUIT
	case "UNKNOWN":
		return AfterUnknown
	}
	return AfterOther
}

// tlsEstablished returns the rule function of "<Trust> TLS connection
// established from|to ...": tls_misc.c's tls_log_summary writes
// "%s TLS connection %s %s %s%s%s: %s with cipher ..." with the trust word,
// "established", "from" for a server (smtpd, tlsproxy for postscreen) or
// "to" for a client (smtp, lmtp, tlsproxy for them), and the peer.
func tlsEstablished(trust TLSTrust, skip int) func(v *view, r *Result) bool {
	return func(v *view, r *Result) bool {
		rest := v.body[skip:]
		switch {
		case bytes.HasPrefix(rest, []byte("from ")):
			r.Flow.TLSDir = TLSIn
		case bytes.HasPrefix(rest, []byte("to ")):
			r.Flow.TLSDir = TLSOut
		default:
			return true // known, not counted
		}
		r.Flow.TLSTrust = trust
		return true
	}
}

// postscreenRules are postscreen's verdict lines (postscreen_early.c,
// postscreen_smtpd.c, postscreen_dnsbl.c, postscreen_tests.c): one line per
// test a client fails or passes. Postfix 3.6 renamed WHITELISTED and
// BLACKLISTED to ALLOWLISTED and DENYLISTED; both spellings are read. The
// NOQUEUE: reject lines are counted by postfixReject.
func postscreenRules() []rule {
	const P = ProgPostfix
	ps := pfd("postscreen")
	set := func(e PostscreenEvent) func(*view, *Result) bool {
		return func(_ *view, r *Result) bool { r.Flow.Postscreen = e; return true }
	}
	var rs []rule
	for _, p := range []struct {
		prefix string
		ev     PostscreenEvent
	}{
		{"PASS NEW ", PSPassNew}, {"PASS OLD ", PSPassOld}, {"PREGREET ", PSPregreet}, {"DNSBL rank ", PSDNSBL},
		{"HANGUP ", PSHangup}, {"COMMAND PIPELINING ", PSPipelining}, {"NON-SMTP COMMAND ", PSNonSMTPCommand},
		{"BARE NEWLINE ", PSBareNewline}, {"WHITELISTED ", PSAllowlisted}, {"ALLOWLISTED ", PSAllowlisted},
		{"BLACKLISTED ", PSDenylisted}, {"DENYLISTED ", PSDenylisted}, {"WHITELIST VETO ", PSOther},
		{"ALLOWLIST VETO ", PSOther}, {"COMMAND TIME LIMIT ", PSOther}, {"COMMAND COUNT LIMIT ", PSOther},
		{"COMMAND LENGTH LIMIT ", PSOther},
	} {
		rs = append(rs, rule{fam: P, daemons: ps, sev: sNone, qid: qNone, prefix: p.prefix, fn: set(p.ev)})
	}
	return rs
}

// qmgrSize reads "size=N, nrcpt=M (queue active)" (qmgr_message.c logs it
// each time a message enters the active queue, so again for every retry of
// a deferred message; the counters observe a queue id once).
func qmgrSize(b []byte, r *Result) {
	i := bytes.Index(b, []byte(", size="))
	if i < 0 {
		return
	}
	size, n, ok := scanUint(b[i+len(", size="):])
	if !ok {
		return
	}
	rest := b[i+len(", size=")+n:]
	if !bytes.HasPrefix(rest, []byte(", nrcpt=")) {
		return
	}
	rcpts, n, ok := scanUint(rest[len(", nrcpt="):])
	if !ok || !bytes.HasPrefix(rest[len(", nrcpt=")+n:], []byte(" (queue active)")) {
		return
	}
	r.Flow.HasSize, r.Flow.Size, r.Flow.Rcpts = true, size, rcpts
}

// scanUint reads up to 15 decimal digits at the start of b.
func scanUint(b []byte) (v uint64, n int, ok bool) {
	for n < len(b) && isDigit(b[n]) {
		if n == 15 {
			return 0, 0, false
		}
		v = v*10 + uint64(b[n]-'0')
		n++
	}
	return v, n, n > 0
}

// qmgrRemoved marks "QID: removed", the end of a queue file.
func qmgrRemoved(v *view, r *Result) bool {
	if len(v.body) != len("removed") {
		return false
	}
	r.Flow.Removed = true
	return true
}

// postfixEventRules are the saturation and misconfiguration events: the
// rules with a prefix, and those without one.
func postfixEventRules() (prefixed, anyPrefix []rule) {
	const P = ProgPostfix
	anvil := pfd("smtpd")
	prefixed = []rule{
		// master.c: "service \"%s\" (%s) has reached its process limit \"%d\": new
		// clients may experience noticeable delays".
		{fam: P, daemons: pfd("master"), sev: sWarning, prefix: "service ", contains: []string{" has reached its process limit "},
			event: EvPostfixProcessLimit},
		// smtpd_check.c: "not enough free space in mail queue: %lu bytes < ..."
		{fam: P, sev: sWarning, prefix: "not enough free space in mail queue", event: EvPostfixQueueSpace},
		// xsasl_dovecot_server.c: "SASL: Connect to %s failed: %m"; xsasl_cyrus
		// through saslauthd: "SASL authentication failure: cannot connect to
		// saslauthd server: ..."; smtpd without any mechanism: "fatal: no SASL
		// authentication mechanisms".
		{fam: P, sev: sWarning, prefix: "SASL: Connect to ", event: EvPostfixSASLBackendUnreachable},
		{fam: P, sev: sWarning, prefix: "SASL authentication failure: cannot connect to saslauthd server",
			event: EvPostfixSASLBackendUnreachable},
		{fam: P, sev: sAny, prefix: "no SASL authentication mechanisms", fn: notInfo, event: EvPostfixSASLBackendUnreachable},
	}
	// smtpd.c, from anvil's answers, each followed by ": N from host[addr]
	// for service NAME".
	for _, p := range []string{"Connection concurrency limit exceeded: ", "Connection rate limit exceeded: ",
		"Message delivery request rate limit exceeded: ", "Recipient address rate limit exceeded: ",
		"New TLS session rate limit exceeded: ", "AUTH command rate limit exceeded: "} {
		prefixed = append(prefixed, rule{fam: P, daemons: anvil, sev: sWarning, prefix: p, event: EvPostfixAnvilLimit})
	}
	// dict_*.c and the callers of maps_find: a table that cannot answer.
	anyPrefix = []rule{{fam: P, sev: sAny, fn: tableLookupFailure, event: EvPostfixTableLookupFailure}}
	return prefixed, anyPrefix
}

func notInfo(v *view, _ *Result) bool { return v.sev != SevNone }

// tableLookupTexts are what Postfix writes when a lookup table fails:
// dict_mysql/pgsql/ldap/sqlite/memcache and proxymap's own messages
// ("dict_mysql_get_active: ...", "proxy:mysql:...: table lookup problem",
// maps.c's "%s lookup error for \"%s\"", "... map lookup problem for ...",
// dict_open's "... is unavailable. ..."), in warning, error and fatal
// lines only. Every warning line reaches this rule: it looks for "lookup ",
// "dict_" and the rest only once.
func tableLookupFailure(v *view, _ *Result) bool {
	if v.sev == SevNone {
		return false
	}
	b := v.body
	if i := bytes.Index(b, []byte("lookup ")); i >= 0 {
		if rest := b[i+len("lookup "):]; bytes.HasPrefix(rest, []byte("problem")) || bytes.HasPrefix(rest, []byte("error for ")) {
			return true
		}
	}
	if i := bytes.Index(b, []byte("dict_")); i >= 0 {
		for _, d := range dictDrivers {
			if bytes.HasPrefix(b[i+len("dict_"):], d) {
				return true
			}
		}
	}
	return bytes.Contains(b, []byte("proxymap")) || bytes.Contains(b, []byte(" is unavailable. "))
}

// dictDrivers are the lookup table drivers that talk to a server.
var dictDrivers = [][]byte{[]byte("mysql"), []byte("pgsql"), []byte("ldap"), []byte("sqlite"), []byte("memcache")}

// dovecotServiceLimit reads master's "service(NAME): LIMIT (N) reached,
// client connections are being dropped" (service-monitor.c), where LIMIT is
// process_limit, client_limit or client_limit/service_count.
func dovecotServiceLimit(v *view, r *Result) bool {
	i := bytes.Index(v.body, []byte("): "))
	if i < 0 || !bytes.Contains(v.body, []byte(" reached, client connections are being dropped")) {
		return false
	}
	switch rest := v.body[i+3:]; {
	case bytes.HasPrefix(rest, []byte("process_limit ")):
		r.addEvent(EvDovecotProcessLimit)
	case bytes.HasPrefix(rest, []byte("client_limit")):
		r.addEvent(EvDovecotConnectionLimit)
	default:
		return false
	}
	return true
}

// dovecotMailProcs are the Dovecot processes that open mailboxes.
var dovecotMailProcs = dvd("imap", "pop3", "lmtp", "lda", "submission", "managesieve", "indexer-worker",
	"doveadm", "imap-hibernate", "quota-status")

// dovecotMailboxPermission matches an Error or Fatal line of a mail process
// that says "Permission denied" (open, mkdir, rename of mail files:
// "open(/var/mail/u) failed: Permission denied (euid=...)"), or of any
// process that says mail_location cannot be used ("mail_location not set
// and autodetection failed").
func dovecotMailboxPermission(v *view, _ *Result) bool {
	if v.sev < SevError {
		return false
	}
	if bytes.Contains(v.body, []byte("mail_location")) {
		return true
	}
	return dovecotMailProcs&(1<<uint(v.daemon)) != 0 && bytes.Contains(v.body, []byte("Permission denied"))
}

// pamMailServices are the PAM service names of mail daemons: a pam_unix
// failure of another service (sshd, sudo, login) is no mail event.
var pamMailServices = []string{"smtp", "smtps", "submission", "dovecot", "imap", "imaps", "pop3", "pop3s",
	"pop", "sieve", "managesieve", "mail"}

// pamFailure matches pam_unix's "pam_unix(SERVICE:auth): authentication
// failure; logname=... user=..." (pam_unix_auth.c) of a mail PAM service,
// unless saslauthd logged it: saslauthd's own "do_auth : auth failure" line
// counts that attempt already.
func pamFailure(v *view, _ *Result) bool {
	if string(v.tag) == "saslauthd" {
		return false
	}
	b := v.body[len("pam_unix("):]
	i := bytes.IndexByte(b, ':')
	if i < 0 || !bytes.HasPrefix(b[i:], []byte(":auth): authentication failure;")) {
		return false
	}
	for _, s := range pamMailServices {
		if string(b[:i]) == s {
			return true
		}
	}
	return false
}

// authLogRules read the authentication failures of auth.log (programs of
// the other family: saslauthd, and PAM's lines under the tag of the program
// that called it) and the pam_unix lines Dovecot logs under its own tag.
func authLogRules() []rule {
	return []rule{
		// saslauthd.c do_auth: "do_auth         : auth failure: [user=u]
		// [service=smtp] [realm=] [mech=pam] [reason=...]".
		{fam: ProgOther, prefix: "do_auth", contains: []string{": auth failure: "}, event: EvSASLAuthFailure},
		{fam: ProgOther, prefix: "pam_unix(", fn: pamFailure, event: EvSASLAuthFailure},
		// spamd: "spamd: result: Y 15 - TESTS,... scantime=..." (Y spam, .
		// not): one line per checked message. Its "identified spam" / "clean
		// message" line says the same again and is not counted.
		{fam: ProgOther, prefix: "spamd: result: ", fn: spamdResult},
		{fam: ProgOther, prefix: "spamd: identified spam ("},
		{fam: ProgOther, prefix: "spamd: clean message ("},
	}
}

func spamdResult(v *view, r *Result) bool {
	rest := v.body[len("spamd: result: "):]
	if len(rest) < 2 || rest[1] != ' ' {
		return false
	}
	switch rest[0] {
	case 'Y':
		r.Flow.Scanner, r.Flow.Verdict = ScannerSpamAssassin, VerdictSpam
	case '.':
		r.Flow.Scanner, r.Flow.Verdict = ScannerSpamAssassin, VerdictClean
	default:
		return false
	}
	return true
}

// amavisVerdict reads amavisd-new's main log line, "Passed|Blocked
// CATEGORY[ (detail)] {action}, ...", whose category is the message's main
// content category: CLEAN, SPAM, SPAMMY, INFECTED, BANNED, BAD-HEADER-N,
// UNCHECKED[-detail], OVERSIZED, MTA-BLOCKED. amavis writes one such line
// per message (more only when recipients get different outcomes). The
// events of the older rules are kept: virus_found for INFECTED,
// amavis_spam_blocked for Blocked SPAM and SPAMMY, amavis_banned for
// Blocked BANNED.
func amavisVerdict(v *view, r *Result) bool {
	blocked := v.body[0] == 'B'
	cat := v.body[len("Passed "):]
	if blocked {
		cat = v.body[len("Blocked "):]
	}
	if i := bytes.IndexAny(cat, " ,{("); i >= 0 {
		cat = cat[:i]
	}
	verdict := VerdictOther
	switch {
	case string(cat) == "CLEAN":
		verdict = VerdictClean
	case string(cat) == "SPAM" || string(cat) == "SPAMMY":
		verdict = VerdictSpam
		if blocked {
			verdict = VerdictSpamBlocked
			r.addEvent(EvAmavisSpamBlocked)
		}
	case string(cat) == "INFECTED":
		verdict = VerdictInfected
		r.addEvent(EvVirusFound)
	case string(cat) == "BANNED":
		verdict = VerdictBanned
		if blocked {
			r.addEvent(EvAmavisBanned)
		}
	case bytes.HasPrefix(cat, []byte("BAD-HEADER")):
		verdict = VerdictBadHeader
	}
	r.Flow.Scanner, r.Flow.Verdict = ScannerAmavis, verdict
	return true
}

// IsZero reports whether the line says nothing for the flow metrics.
func (f *Flow) IsZero() bool {
	return f.Conn == ConnNone && f.TLSTrust == TrustNone && f.Postscreen == PSNone && f.Scanner == ScannerNone &&
		!f.HasSize && !f.Removed
}
