// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

// The fixed label enumerations. Every value here is exported (at 0) from the
// start, so alerts and dashboards can rely on the series existing.

// Program is the family of software a log line comes from; it is the value
// of the program label and the prefix of the per-program severity events.
type Program uint8

// Programs, in label order.
const (
	ProgOther Program = iota
	ProgPostfix
	ProgDovecot
	ProgOpenDKIM
	ProgFail2ban
	ProgClamAV
	ProgFreshclam
	ProgAmavis
	ProgRspamd
	// NumPrograms is the number of Program values.
	NumPrograms
)

var programNames = [NumPrograms]string{
	ProgOther:     "other",
	ProgPostfix:   "postfix",
	ProgDovecot:   "dovecot",
	ProgOpenDKIM:  "opendkim",
	ProgFail2ban:  "fail2ban",
	ProgClamAV:    "clamav",
	ProgFreshclam: "freshclam",
	ProgAmavis:    "amavis",
	ProgRspamd:    "rspamd",
}

func (p Program) String() string { return programNames[p] }

// Severity is the level a program wrote into the message text itself
// ("warning: " for Postfix, "Error: " for Dovecot, "ERROR" for fail2ban).
// Levels only known from syslog priority are not used, so that a file and
// the journal give the same counts.
type Severity uint8

// Severities.
const (
	SevNone Severity = iota
	SevWarning
	SevError
	SevFatal
	SevPanic
)

// Event is a value of the event label of mailwatch_log_events_total.
type Event uint8

// Built-in events. The per-program severity events follow the specific ones.
const (
	EvNone Event = iota
	EvSASLAuthFailure
	EvRelayDenied
	EvConnectRefused
	EvConnectTimeout
	EvConnectNoRoute
	EvTLSLibraryProblem
	EvTLSHandshakeFailure
	EvMilterConnectFailed
	EvMilterReject
	EvDovecotAuthFailure
	EvDovecotLogin
	EvDovecotPasswordMismatch
	EvDovecotUnknownUser
	EvDKIMSigned
	EvDKIMVerified
	EvDKIMBadSignature
	EvDKIMUnknownKey
	EvDKIMKeyRetrievalFailed
	EvOpenDKIMError
	EvFail2banBan
	EvFail2banUnban
	EvFail2banRestoreBan
	EvFail2banFound
	EvVirusFound
	EvAmavisSpamBlocked
	EvAmavisBanned
	EvRspamdReject
	EvRspamdSoftReject
	EvRspamdGreylist
	EvRspamdAddHeader
	EvRspamdRewriteSubject
	EvPostfixProcessLimit
	EvPostfixAnvilLimit
	EvPostfixQueueSpace
	EvPostfixTableLookupFailure
	EvPostfixSASLBackendUnreachable
	EvPostfixSASLSubmission
	EvDovecotConnectionLimit
	EvDovecotProcessLimit
	EvDovecotMailboxPermission
	EvPostfixWarning
	EvPostfixError
	EvPostfixFatal
	EvPostfixPanic
	EvDovecotWarning
	EvDovecotError
	EvDovecotFatal
	EvDovecotPanic
	EvFail2banWarning
	EvFail2banError
	EvFail2banFatal
	EvClamAVWarning
	EvClamAVError
	EvFreshclamWarning
	EvFreshclamError
	EvAmavisWarning
	EvAmavisError
	// NumEvents is the number of Event values, EvNone included.
	NumEvents
)

var eventNames = [NumEvents]string{
	EvSASLAuthFailure:               "sasl_auth_failure",
	EvRelayDenied:                   "relay_denied",
	EvConnectRefused:                "connect_refused",
	EvConnectTimeout:                "connect_timeout",
	EvConnectNoRoute:                "connect_no_route",
	EvTLSLibraryProblem:             "tls_library_problem",
	EvTLSHandshakeFailure:           "tls_handshake_failure",
	EvMilterConnectFailed:           "milter_connect_failed",
	EvMilterReject:                  "milter_reject",
	EvDovecotAuthFailure:            "dovecot_auth_failure",
	EvDovecotLogin:                  "dovecot_login",
	EvDovecotPasswordMismatch:       "dovecot_auth_password_mismatch",
	EvDovecotUnknownUser:            "dovecot_auth_unknown_user",
	EvDKIMSigned:                    "dkim_signed",
	EvDKIMVerified:                  "dkim_verified",
	EvDKIMBadSignature:              "dkim_bad_signature",
	EvDKIMUnknownKey:                "dkim_unknown_key",
	EvDKIMKeyRetrievalFailed:        "dkim_key_retrieval_failed",
	EvOpenDKIMError:                 "opendkim_error",
	EvFail2banBan:                   "fail2ban_ban",
	EvFail2banUnban:                 "fail2ban_unban",
	EvFail2banRestoreBan:            "fail2ban_restore_ban",
	EvFail2banFound:                 "fail2ban_found",
	EvVirusFound:                    "virus_found",
	EvAmavisSpamBlocked:             "amavis_spam_blocked",
	EvAmavisBanned:                  "amavis_banned",
	EvRspamdReject:                  "rspamd_reject",
	EvRspamdSoftReject:              "rspamd_soft_reject",
	EvRspamdGreylist:                "rspamd_greylist",
	EvRspamdAddHeader:               "rspamd_add_header",
	EvRspamdRewriteSubject:          "rspamd_rewrite_subject",
	EvPostfixProcessLimit:           "postfix_process_limit",
	EvPostfixAnvilLimit:             "postfix_anvil_limit",
	EvPostfixQueueSpace:             "postfix_queue_space",
	EvPostfixTableLookupFailure:     "postfix_table_lookup_failure",
	EvPostfixSASLBackendUnreachable: "postfix_sasl_backend_unreachable",
	EvPostfixSASLSubmission:         "postfix_sasl_submission",
	EvDovecotConnectionLimit:        "dovecot_connection_limit",
	EvDovecotProcessLimit:           "dovecot_process_limit",
	EvDovecotMailboxPermission:      "dovecot_mailbox_permission",
	EvPostfixWarning:                "postfix_warning",
	EvPostfixError:                  "postfix_error",
	EvPostfixFatal:                  "postfix_fatal",
	EvPostfixPanic:                  "postfix_panic",
	EvDovecotWarning:                "dovecot_warning",
	EvDovecotError:                  "dovecot_error",
	EvDovecotFatal:                  "dovecot_fatal",
	EvDovecotPanic:                  "dovecot_panic",
	EvFail2banWarning:               "fail2ban_warning",
	EvFail2banError:                 "fail2ban_error",
	EvFail2banFatal:                 "fail2ban_fatal",
	EvClamAVWarning:                 "clamav_warning",
	EvClamAVError:                   "clamav_error",
	EvFreshclamWarning:              "freshclam_warning",
	EvFreshclamError:                "freshclam_error",
	EvAmavisWarning:                 "amavis_warning",
	EvAmavisError:                   "amavis_error",
}

func (e Event) String() string { return eventNames[e] }

// severityEvents maps a program's text severity to its event; EvNone where
// the program never writes that level.
var severityEvents = [NumPrograms][SevPanic + 1]Event{
	ProgPostfix:   {SevWarning: EvPostfixWarning, SevError: EvPostfixError, SevFatal: EvPostfixFatal, SevPanic: EvPostfixPanic},
	ProgDovecot:   {SevWarning: EvDovecotWarning, SevError: EvDovecotError, SevFatal: EvDovecotFatal, SevPanic: EvDovecotPanic},
	ProgFail2ban:  {SevWarning: EvFail2banWarning, SevError: EvFail2banError, SevFatal: EvFail2banFatal},
	ProgClamAV:    {SevWarning: EvClamAVWarning, SevError: EvClamAVError},
	ProgFreshclam: {SevWarning: EvFreshclamWarning, SevError: EvFreshclamError},
	ProgAmavis:    {SevWarning: EvAmavisWarning, SevError: EvAmavisError},
}

// Action is a value of the action label of mailwatch_postfix_messages_total,
// counted with pflogsumm's definitions.
type Action uint8

// Postfix actions.
const (
	ActNone Action = iota
	ActReceived
	ActDelivered
	ActForwarded
	ActDeferred
	ActBounced
	ActRejected
	ActRejectWarning
	ActHeld
	ActDiscarded
	ActExpired
	// NumActions is the number of Action values, ActNone included.
	NumActions
)

var actionNames = [NumActions]string{
	ActReceived:      "received",
	ActDelivered:     "delivered",
	ActForwarded:     "forwarded",
	ActDeferred:      "deferred",
	ActBounced:       "bounced",
	ActRejected:      "rejected",
	ActRejectWarning: "reject_warning",
	ActHeld:          "held",
	ActDiscarded:     "discarded",
	ActExpired:       "expired",
}

func (a Action) String() string { return actionNames[a] }

// Reason is a value of the reason label of mailwatch_postfix_rejects_total.
type Reason uint8

// Reject reasons.
const (
	ReasonNone Reason = iota
	ReasonRelayDenied
	ReasonUnknownUser
	ReasonClient
	ReasonHelo
	ReasonSender
	ReasonRBL
	ReasonOther
	// NumReasons is the number of Reason values, ReasonNone included.
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonRelayDenied: "relay_denied",
	ReasonUnknownUser: "unknown_user",
	ReasonClient:      "client",
	ReasonHelo:        "helo",
	ReasonSender:      "sender",
	ReasonRBL:         "rbl",
	ReasonOther:       "other",
}

func (r Reason) String() string { return reasonNames[r] }

// IsBuiltinEvent reports whether name is a built-in event label value,
// which a user rule may not take.
func IsBuiltinEvent(name string) bool {
	for _, n := range eventNames[1:] {
		if n == name {
			return true
		}
	}
	return false
}

// Transport is the transport label of the delivery metrics: the Postfix
// daemon that wrote a status= line, the last element of its syslog tag
// ("postfix/slow/smtp" is smtp). Any other daemon (qmgr, which writes the
// expired lines, or one this list does not know) is TransportOther.
type Transport uint8

// Transports, in label order.
const (
	TransportOther Transport = iota
	TransportSMTP
	TransportLMTP
	TransportLocal
	TransportVirtual
	TransportPipe
	TransportError
	TransportRetry
	TransportDiscard
	// NumTransports is the number of Transport values.
	NumTransports
)

var transportNames = [NumTransports]string{
	TransportOther:   "other",
	TransportSMTP:    "smtp",
	TransportLMTP:    "lmtp",
	TransportLocal:   "local",
	TransportVirtual: "virtual",
	TransportPipe:    "pipe",
	TransportError:   "error",
	TransportRetry:   "retry",
	TransportDiscard: "discard",
}

func (t Transport) String() string { return transportNames[t] }

// DeliveryStatus is the status label of the delivery metrics.
type DeliveryStatus uint8

// Delivery statuses. Sent, deferred and bounced are the recipient lines
// ("to=<...>, relay=..., delay=..., status=sent (...)"); expired is qmgr's
// per-message "from=<...>, status=expired, returned to sender" (and
// force-expired), which names no recipient and carries no delay.
const (
	StatusNone DeliveryStatus = iota
	StatusSent
	StatusDeferred
	StatusBounced
	StatusExpired
	// NumStatuses is the number of DeliveryStatus values, StatusNone included.
	NumStatuses
)

var statusNames = [NumStatuses]string{
	StatusSent:     "sent",
	StatusDeferred: "deferred",
	StatusBounced:  "bounced",
	StatusExpired:  "expired",
}

func (s DeliveryStatus) String() string { return statusNames[s] }

// DeliveryReason is the reason label of the delivery metrics: the class of
// the reply text of a deferred or bounced recipient (see ReplyClassifier).
// The nine from DRConnectionRefused to DROther are, in this order, the
// classes of the queue collector's deferred recipients.
type DeliveryReason uint8

// Delivery reasons.
const (
	// DRNone: the line carries no reply to classify (sent, expired).
	DRNone DeliveryReason = iota
	DRConnectionRefused
	DRTimedOut
	DRDNSFailure
	DRTLSFailure
	DRGreylisted
	DRRateLimited
	DRMailboxFull
	DRRemote4xx
	DROther
	DRUnknownUser
	DRReputation
	DRAuthPolicy
	DRRemote5xx
	// NumDeliveryReasons is the number of DeliveryReason values, DRNone included.
	NumDeliveryReasons
)

// NumQueueReasons is the number of queue classes: DRConnectionRefused to
// DROther.
const NumQueueReasons = int(DROther - DRConnectionRefused + 1)

var deliveryReasonNames = [NumDeliveryReasons]string{
	DRNone:              "none",
	DRConnectionRefused: "connection_refused",
	DRTimedOut:          "timed_out",
	DRDNSFailure:        "dns_failure",
	DRTLSFailure:        "tls_failure",
	DRGreylisted:        "greylisted",
	DRRateLimited:       "rate_limited",
	DRMailboxFull:       "mailbox_full",
	DRRemote4xx:         "remote_4xx",
	DROther:             "other",
	DRUnknownUser:       "unknown_user",
	DRReputation:        "reputation",
	DRAuthPolicy:        "auth_policy",
	DRRemote5xx:         "remote_5xx",
}

func (r DeliveryReason) String() string { return deliveryReasonNames[r] }

// DelayStage is the stage label of the delivery delay stage counter: the
// four parts of Postfix's delays=a/b/c/d.
type DelayStage uint8

// Delay stages, in the order of delays=.
const (
	StageBeforeQueueManager DelayStage = iota
	StageInQueueManager
	StageConnectionSetup
	StageTransmission
	// NumStages is the number of DelayStage values.
	NumStages
)

var stageNames = [NumStages]string{
	StageBeforeQueueManager: "before_queue_manager",
	StageInQueueManager:     "in_queue_manager",
	StageConnectionSetup:    "connection_setup",
	StageTransmission:       "transmission",
}

func (s DelayStage) String() string { return stageNames[s] }

// SMTPStage is the after label of the lost connection counter: the SMTP
// stage smtpd names in "lost connection after STAGE from ...", lower-cased.
// smtpd.h names the stages CONNECT, "DATA content" and END-OF-MESSAGE
// (SMTPD_AFTER_*) and otherwise logs the command being served (HELO, EHLO,
// STARTTLS, AUTH, MAIL, RCPT, DATA, BDAT, RSET, QUIT, NOOP, VRFY, ETRN,
// XCLIENT, XFORWARD) or UNKNOWN for a command it does not know.
type SMTPStage uint8

// SMTP stages, in label order. BDAT (CHUNKING) is data, as DATA is.
const (
	AfterConnect SMTPStage = iota
	AfterEHLO
	AfterHELO
	AfterSTARTTLS
	AfterAUTH
	AfterMAIL
	AfterRCPT
	AfterDATA
	AfterEndOfData
	AfterRSET
	AfterQUIT
	AfterUnknown
	AfterOther
	// NumSMTPStages is the number of SMTPStage values.
	NumSMTPStages
)

var smtpStageNames = [NumSMTPStages]string{
	AfterConnect:   "connect",
	AfterEHLO:      "ehlo",
	AfterHELO:      "helo",
	AfterSTARTTLS:  "starttls",
	AfterAUTH:      "auth",
	AfterMAIL:      "mail",
	AfterRCPT:      "rcpt",
	AfterDATA:      "data",
	AfterEndOfData: "end_of_data",
	AfterRSET:      "rset",
	AfterQUIT:      "quit",
	AfterUnknown:   "unknown",
	AfterOther:     "other",
}

func (s SMTPStage) String() string { return smtpStageNames[s] }

// TLSDirection is the direction label of the TLS connection counter: in
// for "... TLS connection established from" (smtpd, tlsproxy for
// postscreen), out for "... established to" (smtp, lmtp, tlsproxy for
// them).
type TLSDirection uint8

// TLS directions.
const (
	TLSIn TLSDirection = iota
	TLSOut
	// NumTLSDirections is the number of TLSDirection values.
	NumTLSDirections
)

var tlsDirectionNames = [NumTLSDirections]string{TLSIn: "in", TLSOut: "out"}

func (d TLSDirection) String() string { return tlsDirectionNames[d] }

// TLSTrust is the trust label of the TLS connection counter: the first word
// of Postfix's "<Trust> TLS connection established" (tls_misc.c's
// Anonymous, Untrusted, Trusted, Verified), lower-cased.
type TLSTrust uint8

// TLS trust levels; TrustNone is no TLS line.
const (
	TrustNone TLSTrust = iota
	TrustAnonymous
	TrustUntrusted
	TrustTrusted
	TrustVerified
	// NumTLSTrusts is the number of TLSTrust values, TrustNone included.
	NumTLSTrusts
)

var tlsTrustNames = [NumTLSTrusts]string{
	TrustAnonymous: "anonymous",
	TrustUntrusted: "untrusted",
	TrustTrusted:   "trusted",
	TrustVerified:  "verified",
}

func (t TLSTrust) String() string { return tlsTrustNames[t] }

// PostscreenEvent is the event label of the postscreen counter.
type PostscreenEvent uint8

// Postscreen events; PSNone is no postscreen event.
const (
	PSNone PostscreenEvent = iota
	PSPassNew
	PSPassOld
	PSPregreet
	PSDNSBL
	PSHangup
	PSPipelining
	PSNonSMTPCommand
	PSBareNewline
	PSAllowlisted
	PSDenylisted
	PSReject
	PSOther
	// NumPostscreenEvents is the number of PostscreenEvent values, PSNone included.
	NumPostscreenEvents
)

var postscreenEventNames = [NumPostscreenEvents]string{
	PSPassNew:        "pass_new",
	PSPassOld:        "pass_old",
	PSPregreet:       "pregreet",
	PSDNSBL:          "dnsbl",
	PSHangup:         "hangup",
	PSPipelining:     "pipelining",
	PSNonSMTPCommand: "non_smtp_command",
	PSBareNewline:    "bare_newline",
	PSAllowlisted:    "allowlisted",
	PSDenylisted:     "denylisted",
	PSReject:         "reject",
	PSOther:          "other",
}

func (e PostscreenEvent) String() string { return postscreenEventNames[e] }

// Scanner is the scanner label of the antispam verdict counter.
type Scanner uint8

// Scanners; ScannerNone is no verdict line.
const (
	ScannerNone Scanner = iota
	ScannerRspamd
	ScannerAmavis
	ScannerSpamAssassin
	ScannerClamAV
	// NumScanners is the number of Scanner values, ScannerNone included.
	NumScanners
)

var scannerNames = [NumScanners]string{
	ScannerRspamd:       "rspamd",
	ScannerAmavis:       "amavis",
	ScannerSpamAssassin: "spamassassin",
	ScannerClamAV:       "clamav",
}

func (s Scanner) String() string { return scannerNames[s] }

// Verdict is the verdict label of the antispam verdict counter.
type Verdict uint8

// Verdicts. Which ones a scanner gives is ScannerVerdicts.
const (
	VerdictNone Verdict = iota
	VerdictNoAction
	VerdictGreylist
	VerdictAddHeader
	VerdictRewriteSubject
	VerdictSoftReject
	VerdictReject
	VerdictClean
	VerdictSpam
	VerdictSpamBlocked
	VerdictInfected
	VerdictBanned
	VerdictBadHeader
	VerdictOther
	// NumVerdicts is the number of Verdict values, VerdictNone included.
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{
	VerdictNoAction:       "no_action",
	VerdictGreylist:       "greylist",
	VerdictAddHeader:      "add_header",
	VerdictRewriteSubject: "rewrite_subject",
	VerdictSoftReject:     "soft_reject",
	VerdictReject:         "reject",
	VerdictClean:          "clean",
	VerdictSpam:           "spam",
	VerdictSpamBlocked:    "spam_blocked",
	VerdictInfected:       "infected",
	VerdictBanned:         "banned",
	VerdictBadHeader:      "bad_header",
	VerdictOther:          "other",
}

func (v Verdict) String() string { return verdictNames[v] }

// ScannerVerdicts lists the verdicts each scanner gives: the series of the
// verdict counter, exported from the start. rspamd's other is an action
// outside its six standard ones (discard, quarantine, a custom one);
// amavis' other a content category without its own verdict (UNCHECKED,
// OVERSIZED, MTA-BLOCKED). ClamAV logs clean files only with LogClean (off
// by default), so only infected is counted for it.
var ScannerVerdicts = [NumScanners][]Verdict{
	ScannerRspamd: {VerdictNoAction, VerdictGreylist, VerdictAddHeader, VerdictRewriteSubject, VerdictSoftReject,
		VerdictReject, VerdictOther},
	ScannerAmavis: {VerdictClean, VerdictSpam, VerdictSpamBlocked, VerdictInfected, VerdictBanned, VerdictBadHeader,
		VerdictOther},
	ScannerSpamAssassin: {VerdictClean, VerdictSpam},
	ScannerClamAV:       {VerdictInfected},
}
