// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// got is a Result in comparable form.
type got struct {
	Program string
	Matched bool
	Events  []string
	Action  string
	Reason  string
	Rules   []string
}

func classifyLine(t *testing.T, c *Classifier, line string) got {
	t.Helper()
	e, ok := Parse([]byte(line))
	if !ok {
		t.Fatalf("Parse(%q) malformed", line)
	}
	var r Result
	c.Classify(&e, &r)
	g := got{Program: r.Program.String(), Matched: r.Matched}
	for _, ev := range r.Events[:r.NEvents] {
		g.Events = append(g.Events, ev.String())
	}
	if r.Action != ActNone {
		g.Action = r.Action.String()
	}
	if r.Reason != ReasonNone {
		g.Reason = r.Reason.String()
	}
	names := c.RuleNames()
	for _, i := range r.Rules {
		g.Rules = append(g.Rules, names[i])
	}
	return g
}

func ev(names ...string) []string { return names }

// The lines are shaped after what Postfix 3.7.11, Dovecot 2.3.19.1, OpenDKIM
// 2.11.0 and fail2ban 1.0.2 wrote on the loopback test stack (addresses
// replaced by documentation ones), plus ClamAV, amavis and Rspamd lines.
func TestClassifyBuiltin(t *testing.T) {
	c, err := NewClassifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const ts = "2026-11-23T07:26:26.059034+00:00 mx1 "
	tests := []struct {
		line string
		want got
	}{
		// Postfix traffic, pflogsumm definitions.
		{"postfix/smtpd[9097]: 0B1C2D3E4F: client=unknown[192.0.2.10]",
			got{Program: "postfix", Matched: true, Action: "received"}},
		{"postfix/submissions/smtpd[9100]: 0B1C2D3E4F: client=unknown[192.0.2.41], sasl_method=PLAIN, sasl_username=carol",
			got{Program: "postfix", Matched: true, Events: []string{"postfix_sasl_submission"}, Action: "received"}},
		{"postfix/pickup[9050]: 5D6E7F8A9B: uid=1001 from=<bob>",
			got{Program: "postfix", Matched: true, Action: "received"}},
		{"postfix/lmtp[9300]: 0B1C2D3E4F: to=<alice@example.org>, relay=mx1.example.org[private/dovecot-lmtp], conn_use=2, delay=0.11, delays=0.05/0.01/0/0.05, dsn=2.0.0, status=sent (250 2.0.0 <alice@example.org> yAaNENfqANujIwAAg+zDdQ Saved)",
			got{Program: "postfix", Matched: true, Action: "delivered"}},
		{"postfix/local[9301]: 0B1C2D3E4F: to=<bob@example.org>, orig_to=<postmaster@example.org>, relay=local, delay=0.1, delays=0.05/0.01/0/0.04, dsn=2.0.0, status=sent (forwarded as 5A6B7C8D9E)",
			got{Program: "postfix", Matched: true, Action: "forwarded"}},
		{"postfix/error[9302]: 0B1C2D3E4F: to=<orders@partner.example>, relay=none, delay=1.2, delays=1.1/0.1/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:2527: Connection refused)",
			got{Program: "postfix", Matched: true, Action: "deferred"}},
		{"postfix/smtp[9303]: 0B1C2D3E4F: to=<gone@example.net>, relay=203.0.113.5[203.0.113.5]:25, delay=0.3, delays=0.1/0/0.1/0.1, dsn=5.1.1, status=bounced (host 203.0.113.5[203.0.113.5] said: 550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))",
			got{Program: "postfix", Matched: true, Action: "bounced"}},
		{"postfix/smtp[9303]: 0B1C2D3E4F: to=<probe@example.net>, relay=203.0.113.5[203.0.113.5]:25, delay=0.3, delays=0.1/0/0.1/0.1, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
			got{Program: "postfix", Matched: true}},
		{"postfix/qmgr[9051]: 0B1C2D3E4F: from=<alice@example.org>, status=force-expired, returned to sender",
			got{Program: "postfix", Matched: true, Action: "expired"}},
		{"postfix/qmgr[9051]: 0B1C2D3E4F: from=<alice@example.org>, status=expired, returned to sender",
			got{Program: "postfix", Matched: true, Action: "expired"}},
		{"postfix/qmgr[9051]: 0B1C2D3E4F: from=<alice@example.org>, size=1409, nrcpt=1 (queue active)",
			got{Program: "postfix", Matched: true}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: RCPT from unknown[192.0.2.20]: 554 5.7.1 <victim@example.net>: Relay access denied; from=<promo@bulk.example> to=<victim@example.net> proto=ESMTP helo=<spam.bulk.example>",
			got{Program: "postfix", Matched: true, Events: ev("relay_denied"), Action: "rejected", Reason: "relay_denied"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: RCPT from unknown[192.0.2.21]: 550 5.1.1 <admin1@example.org>: Recipient address rejected: User unknown in local recipient table; from=<a1@dict.example> to=<admin1@example.org> proto=ESMTP helo=<mx.dict.example>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "unknown_user"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: RCPT from unknown[192.0.2.13]: 554 5.7.1 <unknown[192.0.2.13]>: Client host rejected: Service unavailable; client [192.0.2.13] blocked using zen.example.test; from=<x1@bad.example> to=<alice@example.org> proto=ESMTP helo=<bad.host.example>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "rbl"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: RCPT from unknown[192.0.2.22]: 450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.22]; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "client"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: RCPT from unknown[192.0.2.230]: 504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname; from=<x@weird.example> to=<bob@example.org> proto=ESMTP helo=<localhost>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "helo"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: MAIL from unknown[192.0.2.23]: 553 5.7.1 <x@example.org>: Sender address rejected: not owned by user bob; from=<x@example.org> proto=ESMTP helo=<y>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "sender"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject: MAIL from unknown[192.0.2.243]: 552 5.3.4 Message size exceeds fixed limit; from=<huge@huge.example> proto=ESMTP helo=<mx.huge.example>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "other"}},
		{"postfix/postscreen[700]: NOQUEUE: reject: RCPT from [192.0.2.9]:50000: 550 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.spamhaus.org; from=<a@example.net>, to=<b@example.org>, proto=ESMTP, helo=<x>",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "rbl"}},
		{"postfix/smtpd[9097]: NOQUEUE: reject_warning: RCPT from unknown[192.0.2.4]: 450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.4]; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
			got{Program: "postfix", Matched: true, Action: "reject_warning"}},
		{"postfix/smtpd[9097]: NOQUEUE: hold: RCPT from unknown[127.0.0.1]: <review@hold.example>: Recipient address held for review; from=<carol@example.org> to=<review@hold.example> proto=SMTP helo=<relay1.example.org>",
			got{Program: "postfix", Matched: true, Action: "held"}},
		{"postfix/smtpd[9097]: 0B1C2D3E4F: discard: RCPT from unknown[192.0.2.4]: <b@example.org>: Recipient address triggers DISCARD action; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
			got{Program: "postfix", Matched: true, Action: "discarded"}},
		{"postfix/cleanup[9060]: 0B1C2D3E4F: reject: header Subject: CHEAP-PILLS offer 3 from unknown[192.0.2.240]; from=<deals3@pharma.example> to=<carol@example.org> proto=ESMTP helo=<mx.pharma.example>: 5.7.1 Message content rejected (spam)",
			got{Program: "postfix", Matched: true, Action: "rejected", Reason: "other"}},
		{"postfix/cleanup[9060]: 0B1C2D3E4F: hold: header Subject: QUARANTINE-ME 2 from unknown[192.0.2.241]; from=<odd2@odd.example> to=<alice@example.org> proto=ESMTP helo=<mx.odd.example>: quarantined by header_checks",
			got{Program: "postfix", Matched: true, Action: "held"}},
		{"postfix/cleanup[9060]: 0B1C2D3E4F: warning: header Subject: test from unknown[192.0.2.2]; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
			got{Program: "postfix", Matched: true, Action: "reject_warning"}},
		{"postfix/cleanup[9060]: 0B1C2D3E4F: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.1 Service unavailable - try again later; from=<app1@broken.example.org> to=<user1@sink.example> proto=ESMTP helo=<app.example.org>",
			got{Program: "postfix", Matched: true, Events: ev("milter_reject"), Action: "rejected", Reason: "other"}},
		{"postfix/smtpd[9097]: NOQUEUE: milter-reject: RCPT from unknown[192.0.2.2]: 550 5.7.1 Command rejected; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
			got{Program: "postfix", Matched: true, Events: ev("milter_reject")}},
		// Postfix events.
		{"postfix/submission/smtpd[9101]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=carol",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning", "sasl_auth_failure")}},
		{"postfix/smtps/smtpd[9102]: warning: unknown[192.0.2.70]: SASL PLAIN authentication failed: authentication failure",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning", "sasl_auth_failure")}},
		{"postfix/smtpd[9103]: warning: SASL authentication failure: Password verification failed",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning")}},
		{"postfix/submissions/smtpd[9104]: warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:354:",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning", "tls_library_problem")}},
		{"postfix/submissions/smtpd[9104]: SSL_accept error from unknown[192.0.2.200]: -1",
			got{Program: "postfix", Matched: true, Events: ev("tls_handshake_failure")}},
		{"postfix/smtp[9105]: SSL_connect error to mx.example.net[203.0.113.5]:25: -1",
			got{Program: "postfix", Matched: true, Events: ev("tls_handshake_failure")}},
		{"postfix/smtp[9105]: connect to 127.0.0.1[127.0.0.1]:2527: Connection refused",
			got{Program: "postfix", Matched: true, Events: ev("connect_refused")}},
		{"postfix-out/smtp[9105]: connect to mx.example.net[203.0.113.5]:25: Connection timed out",
			got{Program: "postfix", Matched: true, Events: ev("connect_timeout")}},
		{"postfix/smtp[9105]: connect to mx.example.net[2001:db8::25]:25: Network is unreachable",
			got{Program: "postfix", Matched: true, Events: ev("connect_no_route")}},
		{"postfix/smtpd[9106]: warning: connect to Milter service inet:127.0.0.1:8891: Connection refused",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning", "milter_connect_failed")}},
		{"postfix/smtpd[9106]: warning: B3147B8773: queue file size limit exceeded",
			got{Program: "postfix", Matched: true, Events: ev("postfix_warning")}},
		{"postfix/master[9045]: fatal: bind 0.0.0.0 port 25: Address already in use",
			got{Program: "postfix", Matched: true, Events: ev("postfix_fatal")}},
		{"postfix/smtpd[9106]: error: open database /etc/postfix/transport.db: No such file or directory",
			got{Program: "postfix", Matched: true, Events: ev("postfix_error")}},
		{"postfix/cleanup[9060]: panic: myfree: corrupt or unallocated memory block",
			got{Program: "postfix", Matched: true, Events: ev("postfix_panic")}},
		{"postfix/smtpd[9097]: connect from unknown[192.0.2.10]",
			got{Program: "postfix", Matched: true}},
		{"postfix/smtpd[9097]: disconnect from unknown[192.0.2.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
			got{Program: "postfix", Matched: true}},
		{"postfix/smtpd[9097]: Anonymous TLS connection established from unknown[192.0.2.41]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
			got{Program: "postfix", Matched: true}},
		{"postfix/smtpd[9097]: some message postfix never wrote",
			got{Program: "postfix", Matched: false}},
		// Dovecot in syslog and in its own log file.
		{"dovecot: imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<alice>, method=PLAIN, rip=192.0.2.67, lip=192.0.2.1, TLS, session=<Qjqki+xgDZV/AABD>",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_auth_failure")}},
		{"dovecot: pop3-login: Disconnected (auth failed, 3 attempts in 12 secs): user=<admin>, method=PLAIN, rip=192.0.2.67, lip=192.0.2.1, session=<abc>",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_auth_failure")}},
		{"dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.40, lip=192.0.2.1, mpid=9200, TLS, session=<dDhrO57rA2tTTQAA>",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_login")}},
		{"dovecot: imap-login: Disconnected: Connection closed: SSL_accept() failed: error:0A00010B:SSL routines::wrong version number (no auth attempts in 0 secs): user=<>, rip=192.0.2.201, lip=192.0.2.1, TLS handshaking: SSL_accept() failed: error:0A00010B:SSL routines::wrong version number, session=<x>",
			got{Program: "dovecot", Matched: true, Events: ev("tls_handshake_failure")}},
		{"dovecot: auth-worker(9220): conn unix:auth-worker (pid=9210,uid=111): auth-worker<3>: pam(bob,192.0.2.66,<+oEjjuxgBbt/AACg>): pam_authenticate() failed: Authentication failure (Password mismatch?)",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_auth_password_mismatch")}},
		{"dovecot: auth: passwd-file(admin,192.0.2.67,<sess>): unknown user",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_auth_unknown_user")}},
		{"dovecot: imap(alice)<9201><sess>: Error: Mailbox INBOX: open(/home/alice/Maildir/cur) failed: Permission denied",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_error", "dovecot_mailbox_permission")}},
		{"dovecot: master: Warning: Killed with signal 15 (by pid=1 uid=0 code=kill)",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_warning")}},
		{"dovecot: lmtp(alice)<9795><dDhrO57rA2tTTQAAg+zDdQ>: msgid=<20261123072700.010781@mx1>: saved mail to INBOX",
			got{Program: "dovecot", Matched: true}},
		// Dovecot log_path lines are turned into the syslog shape by Parse.
		{"imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<x>, rip=192.0.2.67, lip=192.0.2.1, session=<y>",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_auth_failure")}},
		{"auth: Fatal: Unknown database driver 'mysql'",
			got{Program: "dovecot", Matched: true, Events: ev("dovecot_fatal")}},
		// OpenDKIM.
		{"opendkim[8955]: 0B1C2D3E4F: DKIM-Signature field added (s=mail, d=example.org)",
			got{Program: "opendkim", Matched: true, Events: ev("dkim_signed")}},
		{"opendkim[8955]: 0B1C2D3E4F: DKIM verification successful",
			got{Program: "opendkim", Matched: true, Events: ev("dkim_verified")}},
		{"opendkim[8955]: 0B1C2D3E4F: bad signature data",
			got{Program: "opendkim", Matched: true, Events: ev("dkim_bad_signature")}},
		{"opendkim[8955]: 0B1C2D3E4F: signing table references unknown key 'broken._domainkey.broken.example.org'",
			got{Program: "opendkim", Matched: true, Events: ev("dkim_unknown_key")}},
		{"opendkim[8955]: 0B1C2D3E4F: key retrieval failed (s=sel1, d=example.net): '_domainkey.example.net' query timed out",
			got{Program: "opendkim", Matched: true, Events: ev("dkim_key_retrieval_failed")}},
		{"opendkim[8955]: 0B1C2D3E4F: error loading key 'default._domainkey.example.org'",
			got{Program: "opendkim", Matched: true, Events: ev("opendkim_error")}},
		{"opendkim[8955]: 0B1C2D3E4F: [192.0.2.29] [192.0.2.29] not internal",
			got{Program: "opendkim", Matched: true}},
		{"opendkim[8955]: OpenDKIM Filter v2.11.0 starting (args: -x /etc/opendkim.conf)",
			got{Program: "opendkim", Matched: true}},
		// fail2ban through syslog (its own file format is in TestParse).
		{"fail2ban.actions[9073]: NOTICE [postfix-sasl] Ban 192.0.2.66",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_ban")}},
		{"fail2ban.actions[9073]: NOTICE [postfix-sasl] Unban 192.0.2.66",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_unban")}},
		{"fail2ban.actions[9073]: NOTICE [sshd] Restore Ban 192.0.2.5",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_restore_ban")}},
		{"fail2ban.filter[9073]: INFO [dovecot] Found 192.0.2.67 - 2026-11-23 07:28:43",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_found")}},
		{"fail2ban.database[9073]: WARNING New database created. Version '4'",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_warning")}},
		{"fail2ban.actions[9073]: ERROR Failed to execute ban jail 'sshd' action 'iptables-multiport'",
			got{Program: "fail2ban", Matched: true, Events: ev("fail2ban_error")}},
		// ClamAV, amavis, Rspamd.
		{"clamd[800]: /var/lib/amavis/tmp/amavis-20261122T053401-12345/parts/p002: Win.Test.EICAR_HDB-1 FOUND",
			got{Program: "clamav", Matched: true, Events: ev("virus_found")}},
		{"clamav-milter[801]: Message 0B1C2D3E4F from <a@example.net> to <b@example.org> with subject 'x' message-id '<m@example.net>' date 'Mon, 23 Nov 2026 07:26:26 +0000' infected by Win.Test.EICAR_HDB-1",
			got{Program: "clamav", Matched: true, Events: ev("virus_found")}},
		{"clamd[800]: Mon Nov 23 07:26:26 2026 -> SelfCheck: Database status OK.",
			got{Program: "clamav", Matched: true}},
		{"clamd[800]: LibClamAV Error: cli_loaddbdir(): No supported database files found in /var/lib/clamav",
			got{Program: "clamav", Matched: true, Events: ev("clamav_error")}},
		{"freshclam[802]: WARNING: Can't download daily.cvd from https://database.clamav.net/daily.cvd",
			got{Program: "freshclam", Matched: true, Events: ev("freshclam_warning")}},
		{"freshclam[802]: daily.cld updated (version: 27100, sigs: 2061384, f-level: 90, builder: raynman)",
			got{Program: "freshclam", Matched: true}},
		{"amavis[12345]: (12345-01) Blocked INFECTED (Eicar-Signature) {DiscardedInbound,Quarantined}, [192.0.2.1]:54321 [192.0.2.1] <a@example.net> -> <b@example.org>, quarantine: virus-AbCdEf, Queue-ID: 0B1C2D3E4F, Message-ID: <x@example.net>, mail_id: AbCdEf, Hits: -, size: 1234, 345 ms",
			got{Program: "amavis", Matched: true, Events: ev("virus_found")}},
		{"amavis[12345]: (12345-02) Blocked SPAM {DiscardedInbound,Quarantined}, [192.0.2.1]:54321 <a@example.net> -> <b@example.org>, Hits: 12.3, size: 2345, 456 ms",
			got{Program: "amavis", Matched: true, Events: ev("amavis_spam_blocked")}},
		{"amavis[12345]: (12345-03) Passed CLEAN {RelayedInbound}, [192.0.2.1]:54321 <a@example.net> -> <b@example.org>, Hits: -1.2, size: 2345, 456 ms",
			got{Program: "amavis", Matched: true}},
		{"amavis[12345]: (!!)TROUBLE in check_mail: parts_decode_ext FAILED: temporarily unavailable",
			got{Program: "amavis", Matched: true, Events: ev("amavis_error")}},
		{"rspamd[900]: <7a3f2c>; task; rspamd_task_write_log: id: <x@example.net>, qid: <0B1C2D3E4F>, ip: 192.0.2.1, from: <a@example.net>, (default: T (reject): [17.20/15.00] [BAYES_SPAM(5.10){99.9%;}]), len: 2345, time: 120.456ms, dns req: 23, digest: <abc>, rcpts: <b@example.org>",
			got{Program: "rspamd", Matched: true, Events: ev("rspamd_reject")}},
		{"rspamd[900]: <7a3f2d>; task; rspamd_task_write_log: id: <y@example.net>, qid: <0B1C2D3E50>, ip: 192.0.2.1, from: <a@example.net>, (default: F (add header): [7.10/15.00] [X(1.0)]), len: 2345",
			got{Program: "rspamd", Matched: true, Events: ev("rspamd_add_header")}},
		{"rspamd[900]: <7a3f2e>; task; rspamd_task_write_log: id: <z@example.net>, (default: F (no action): [0.10/15.00] []), len: 2345",
			got{Program: "rspamd", Matched: true}},
		// Everything else.
		{"sshd[400]: Accepted publickey for root from 192.0.2.1 port 50000 ssh2",
			got{Program: "other", Matched: false}},
	}
	for _, tc := range tests {
		line := ts + tc.line
		if tc.line[:6] == "imap-l" || tc.line[:5] == "auth:" {
			line = "Nov 23 07:30:38 " + tc.line // Dovecot log_path: no host
		}
		if diff := cmp.Diff(tc.want, classifyLine(t, c, line)); diff != "" {
			t.Errorf("%s\n(-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestClassifyUserRules(t *testing.T) {
	rule := func(name, program, expr string) Rule {
		return Rule{Name: name, Program: program, Match: regexp.MustCompile(expr)}
	}
	c, err := NewClassifier([]Rule{
		rule("greylisted", "postfix/smtp", `Greylisted`),
		rule("submission_auth", "postfix/submission/smtpd", `SASL \w+ authentication failed`),
		rule("any_root", "", `(?i)\broot\b`),
		rule("dovecot_quota", "dovecot", `Quota exceeded`),
		rule("ssh_accept", "sshd", `^Accepted (password|publickey) for`),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line  string
		rules []string
	}{
		{"postfix/tempfail/smtp[1]: 0B1C2D3E4F: to=<i@t.example>, relay=192.0.2.5[192.0.2.5]:25, delay=1, delays=1/0/0/0, dsn=4.7.1, status=deferred (host 192.0.2.5[192.0.2.5] said: 451 4.7.1 Greylisted, please try again later (in reply to RCPT TO command))",
			[]string{"greylisted"}},
		{"postfix/smtpd[1]: Greylisted is not from the smtp client", nil},
		{"postfix/submission/smtpd[2]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: x", []string{"submission_auth"}},
		{"postfix/smtpd[2]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: x", nil},
		{"sshd[3]: Accepted publickey for ROOT from 192.0.2.1 port 1 ssh2", []string{"any_root", "ssh_accept"}},
		{"dovecot: lmtp(bob)<1><s>: Error: Quota exceeded (mailbox for user is full)", []string{"dovecot_quota"}},
	}
	for _, tc := range tests {
		g := classifyLine(t, c, "Nov 23 07:30:38 mx1 "+tc.line)
		if diff := cmp.Diff(tc.rules, g.Rules); diff != "" {
			t.Errorf("%s\n(-want +got):\n%s", tc.line, diff)
		}
		if len(tc.rules) > 0 && !g.Matched {
			t.Errorf("%s: a user rule matched but the line counts as unmatched", tc.line)
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := map[string]string{
		`Greylisted`:                     "Greylisted",
		`SASL \w+ authentication failed`: " authentication failed",
		`^Accepted (password|publickey)`: "Accepted ",
		`(?i)root`:                       "",
		`a|b`:                            "",
		`(foo)+bar`:                      "foo",
		`x*`:                             "",
		`status=(deferred|bounced)`:      "status=",
	}
	for expr, want := range tests {
		if got := string(requiredLiteral(expr)); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestIsQueueID(t *testing.T) {
	for id, want := range map[string]bool{
		"C86F7B8773": true, "0B1C2D3E4F": true, "3F2A1B": true, "4Bnpy46sVdz3wBZ": true,
		"NOQUEUE": false, "statistics": false, "warning": false, "ABC": false, "Deleted": false,
		"Released from hold": false, "Force-expired": false, "abcdefghijz": false,
	} {
		if got := IsQueueID([]byte(id)); got != want {
			t.Errorf("IsQueueID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestClassifyAllocs(t *testing.T) {
	c, _ := NewClassifier(nil, nil)
	e, _ := Parse([]byte("Nov 22 05:34:01 mx1 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.20]: 554 5.7.1 <v@example.net>: Relay access denied; from=<p@b.example> to=<v@example.net> proto=ESMTP helo=<x>"))
	var r Result
	if n := testing.AllocsPerRun(100, func() { c.Classify(&e, &r) }); n != 0 {
		t.Errorf("Classify allocates %.0f times per line", n)
	}
}
