// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import "bytes"

// postfixDaemons are the program names Postfix logs under, after the
// syslog_name ("postfix", "postfix/submission", "postfix-out", ...). A tag
// whose last path element is one of these is Postfix, whatever the
// master.cf service or multi-instance name in front of it.
var postfixDaemons = []string{
	"smtpd", "smtp", "lmtp", "qmgr", "oqmgr", "cleanup", "pickup", "bounce", "defer", "trace",
	"local", "virtual", "pipe", "error", "retry", "discard", "postscreen", "dnsblog", "tlsproxy",
	"master", "anvil", "scache", "tlsmgr", "verify", "flush", "showq", "proxymap", "proxywrite",
	"trivial-rewrite", "spawn", "postlogd", "postsuper", "postqueue", "postdrop", "sendmail",
	"postfix-script", "postmap", "postalias", "postmulti", "postlog", "postconf", "postkick",
	"postcat", "postfix",
}

// dovecotProcesses are the process names Dovecot puts in front of its
// messages ("imap-login: ...", "imap(user)<1><s>: ...", "auth-worker(7): ...").
var dovecotProcesses = []string{
	"master", "auth", "auth-worker", "imap-login", "pop3-login", "submission-login",
	"managesieve-login", "imap", "pop3", "lmtp", "lda", "submission", "managesieve",
	"indexer", "indexer-worker", "dict", "dict-async", "config", "log", "anvil", "stats",
	"doveadm", "quota-status", "imap-hibernate", "imap-urlauth", "imap-urlauth-login",
	"imap-urlauth-worker", "replicator", "aggregator", "director", "old-stats", "lmtp-proxy",
}

// Daemon index tables: a classifier keeps one rule bucket per daemon.
var (
	postfixDaemonIndex = indexOf(postfixDaemons)
	dovecotProcIndex   = indexOf(dovecotProcesses)
)

func indexOf(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i + 1 // 0 is "unknown daemon"
	}
	return m
}

func isDovecotProcess(name []byte) bool {
	_, ok := dovecotProcIndex[string(name)]
	return ok
}

// dovecotBase strips the "(user)<pid><session>" decorations off a Dovecot
// process prefix: "imap(alice)<12><ab>" -> "imap".
func dovecotBase(p []byte) []byte {
	if i := bytes.IndexAny(p, "(<"); i >= 0 {
		return p[:i]
	}
	return p
}

// identify returns the program family of a syslog tag and, for Postfix, the
// daemon: the last path element ("postfix/submission/smtpd" -> "smtpd").
func identify(prog []byte) (Program, []byte) {
	if len(prog) == 0 {
		return ProgOther, nil
	}
	if i := bytes.LastIndexByte(prog, '/'); i >= 0 {
		daemon := prog[i+1:]
		if bytes.HasPrefix(prog, []byte("postfix")) {
			return ProgPostfix, daemon
		}
		if _, ok := postfixDaemonIndex[string(daemon)]; ok {
			return ProgPostfix, daemon
		}
		return ProgOther, nil
	}
	switch string(prog) {
	case "dovecot":
		return ProgDovecot, nil
	case "opendkim":
		return ProgOpenDKIM, nil
	case "clamd", "clamav-milter", "clamav", "clamscan":
		return ProgClamAV, nil
	case "freshclam":
		return ProgFreshclam, nil
	case "amavis", "amavisd", "amavisd-new":
		return ProgAmavis, nil
	case "rspamd":
		return ProgRspamd, nil
	case "postfix", "postfix-script", "postlog":
		return ProgPostfix, prog
	}
	if bytes.HasPrefix(prog, []byte("fail2ban")) {
		return ProgFail2ban, nil
	}
	if bytes.HasPrefix(prog, []byte("dovecot")) {
		return ProgDovecot, nil
	}
	return ProgOther, nil
}
