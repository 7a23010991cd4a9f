// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maillog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flowOf classifies line and describes its Flow and events in one string,
// "" parts left out: "conn=smtp", "lost=submission/starttls",
// "tls=in/verified", "ps=pregreet", "verdict=rspamd/no_action",
// "size=1234/2/0B1C2D3E4F", "removed=0B1C2D3E4F", "ev=a,b", "action=...".
func flowOf(t *testing.T, c *Classifier, line string) string {
	t.Helper()
	e, ok := Parse([]byte(line))
	if !ok {
		t.Fatalf("Parse(%q) malformed", line)
	}
	var r Result
	c.Classify(&e, &r)
	var parts []string
	f := &r.Flow
	svc := c.ServiceNames()
	switch f.Conn {
	case ConnConnect:
		parts = append(parts, "conn="+svc[f.Service])
	case ConnLost:
		parts = append(parts, "lost="+svc[f.Service]+"/"+f.After.String())
	}
	if f.TLSTrust != TrustNone {
		parts = append(parts, "tls="+f.TLSDir.String()+"/"+f.TLSTrust.String())
	}
	if f.Postscreen != PSNone {
		parts = append(parts, "ps="+f.Postscreen.String())
	}
	if f.Scanner != ScannerNone {
		parts = append(parts, "verdict="+f.Scanner.String()+"/"+f.Verdict.String())
	}
	if f.HasSize {
		parts = append(parts, fmt.Sprintf("size=%d/%d/%s", f.Size, f.Rcpts, f.QueueID))
	}
	if f.Removed {
		parts = append(parts, "removed="+string(f.QueueID))
	}
	var evs []string
	for _, e := range r.Events[:r.NEvents] {
		evs = append(evs, e.String())
	}
	if len(evs) > 0 {
		parts = append(parts, "ev="+strings.Join(evs, ","))
	}
	if r.Action != ActNone {
		parts = append(parts, "action="+r.Action.String())
	}
	if !r.Matched {
		parts = append(parts, "unmatched")
	}
	return strings.Join(parts, " ")
}

// The lines follow the format strings of the programs' sources (cited at
// the rules) and lines Postfix 3.7, Dovecot 2.3, Rspamd 3.4, amavisd-new
// 2.13, SpamAssassin 4 and saslauthd 2.1 write on Debian 12; addresses are
// documentation ones.
func TestClassifyFlow(t *testing.T) {
	c, err := NewClassifier(nil, nil, DefaultServices()...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ line, want string }{
		// smtpd connections by service.
		{"postfix/smtpd[100]: connect from unknown[192.0.2.10]", "conn=smtp"},
		{"postfix/submission/smtpd[101]: connect from client.example.net[192.0.2.11]", "conn=submission"},
		{"postfix/submissions/smtpd[102]: connect from unknown[2001:db8::1]", "conn=submissions"},
		{"postfix-out/smtpd[103]: connect from localhost[127.0.0.1]", "conn=smtp"},
		{"postfix-out/submission/smtpd[104]: connect from localhost[127.0.0.1]", "conn=submission"},
		{"postfix/amavis-reinject/smtpd[105]: connect from localhost[127.0.0.1]", "conn=other"},
		{"relay/smtpd[106]: connect from localhost[127.0.0.1]", "conn=other"},
		{"postfix/postscreen[107]: CONNECT from [192.0.2.12]:41000 to [198.51.100.1]:25", ""},
		{"postfix/smtp[108]: connect to mx.example.net[203.0.113.5]:25: Connection refused", "ev=connect_refused"},
		// Lost connections by stage (smtpd.c: "%s after %s from %s").
		{"postfix/smtpd[110]: lost connection after CONNECT from unknown[192.0.2.13]", "lost=smtp/connect"},
		{"postfix/submission/smtpd[111]: lost connection after STARTTLS from unknown[192.0.2.14]", "lost=submission/starttls"},
		{"postfix/submission/smtpd[111]: lost connection after AUTH from unknown[192.0.2.14]", "lost=submission/auth"},
		{"postfix/smtpd[112]: lost connection after EHLO from unknown[192.0.2.15]", "lost=smtp/ehlo"},
		{"postfix/smtpd[112]: lost connection after HELO from unknown[192.0.2.15]", "lost=smtp/helo"},
		{"postfix/smtpd[112]: lost connection after MAIL from unknown[192.0.2.15]", "lost=smtp/mail"},
		{"postfix/smtpd[112]: lost connection after RCPT from unknown[192.0.2.15]", "lost=smtp/rcpt"},
		{"postfix/smtpd[113]: lost connection after DATA (0 bytes) from unknown[192.0.2.16]", "lost=smtp/data"},
		{"postfix/smtpd[113]: lost connection after BDAT (1024 bytes) from unknown[192.0.2.16]", "lost=smtp/data"},
		{"postfix/smtpd[113]: lost connection after END-OF-MESSAGE from unknown[192.0.2.16]", "lost=smtp/end_of_data"},
		{"postfix/smtpd[113]: lost connection after RSET from unknown[192.0.2.16]", "lost=smtp/rset"},
		{"postfix/smtpd[113]: lost connection after QUIT from unknown[192.0.2.16]", "lost=smtp/quit"},
		{"postfix/smtpd[113]: lost connection after UNKNOWN from unknown[192.0.2.16]", "lost=smtp/unknown"},
		{"postfix/smtpd[113]: lost connection after VRFY from unknown[192.0.2.16]", "lost=smtp/other"},
		{"postfix/smtpd[114]: timeout after DATA (23 bytes) from unknown[192.0.2.17]", ""},
		{"postfix/smtpd[114]: too many errors after RCPT from unknown[192.0.2.17]", ""},
		// TLS (tls_misc.c tls_log_summary).
		{"postfix/smtpd[120]: Anonymous TLS connection established from unknown[192.0.2.20]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256", "tls=in/anonymous"},
		{"postfix/submission/smtpd[121]: Trusted TLS connection established from unknown[192.0.2.21]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", "tls=in/trusted"},
		{"postfix/smtp[122]: Verified TLS connection established to gmail-smtp-in.l.google.com[142.250.1.26]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256", "tls=out/verified"},
		{"postfix/smtp[123]: Untrusted TLS connection established to mx.example.net[203.0.113.5]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)", "tls=out/untrusted"},
		{"postfix/lmtp[124]: Anonymous TLS connection established to mail.example.org[198.51.100.3]:24: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)", "tls=out/anonymous"},
		{"postfix/tlsproxy[125]: Anonymous TLS connection established from [192.0.2.22]:40000: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", "tls=in/anonymous"},
		// Postscreen.
		{"postfix/postscreen[130]: PASS NEW [192.0.2.30]:41000", "ps=pass_new"},
		{"postfix/postscreen[130]: PASS OLD [192.0.2.31]:41001", "ps=pass_old"},
		{"postfix/postscreen[130]: PREGREET 11 after 0.05 from [192.0.2.32]:41002: EHLO x\\r\\n", "ps=pregreet"},
		{"postfix/postscreen[130]: DNSBL rank 3 for [192.0.2.33]:41003", "ps=dnsbl"},
		{"postfix/postscreen[130]: HANGUP after 0.4 from [192.0.2.34]:41004 in tests after SMTP handshake", "ps=hangup"},
		{"postfix/postscreen[130]: COMMAND PIPELINING from [192.0.2.35]:41005 after EHLO: MAIL FROM:<a@example.net>\\r\\n", "ps=pipelining"},
		{"postfix/postscreen[130]: NON-SMTP COMMAND from [192.0.2.36]:41006 after CONNECT: GET / HTTP/1.1", "ps=non_smtp_command"},
		{"postfix/postscreen[130]: BARE NEWLINE from [192.0.2.37]:41007 after DATA", "ps=bare_newline"},
		{"postfix/postscreen[130]: WHITELISTED [192.0.2.38]:41008", "ps=allowlisted"},
		{"postfix/postscreen[130]: ALLOWLISTED [192.0.2.38]:41008", "ps=allowlisted"},
		{"postfix/postscreen[130]: BLACKLISTED [192.0.2.39]:41009", "ps=denylisted"},
		{"postfix/postscreen[130]: DENYLISTED [192.0.2.39]:41009", "ps=denylisted"},
		{"postfix/postscreen[130]: COMMAND TIME LIMIT from [192.0.2.40]:41010 after RCPT", "ps=other"},
		{"postfix/postscreen[130]: NOQUEUE: reject: RCPT from [192.0.2.41]:41011: 550 5.7.1 Service unavailable; client [192.0.2.41] blocked using zen.spamhaus.org; from=<a@example.net>, to=<b@example.org>, proto=ESMTP, helo=<x>", "ps=reject action=rejected"},
		{"postfix/smtpd[131]: NOQUEUE: reject: RCPT from unknown[192.0.2.42]: 554 5.7.1 <b@example.net>: Relay access denied; from=<a@example.net> to=<b@example.net> proto=ESMTP helo=<x>", "ev=relay_denied action=rejected"},
		// qmgr's size line; a re-queued message logs it again (the counters
		// observe the id once).
		{"postfix/qmgr[140]: 0B1C2D3E4F: from=<alice@example.org>, size=1610, nrcpt=2 (queue active)", "size=1610/2/0B1C2D3E4F"},
		{"postfix/qmgr[140]: 4Bnpy46sVdz3wBZ: from=<>, size=3300, nrcpt=1 (queue active)", "size=3300/1/4Bnpy46sVdz3wBZ"},
		{"postfix/qmgr[140]: 0B1C2D3E4F: removed", "removed=0B1C2D3E4F"},
		{"postfix/qmgr[140]: 0B1C2D3E4F: from=<alice@example.org>, status=expired, returned to sender", "action=expired"},
		{"postfix/qmgr[140]: 0B1C2D3E4F: from=<alice@example.org>, size=, nrcpt=2 (queue active)", ""},
		// Saturation and misconfiguration.
		{"postfix/master[1]: warning: service \"smtp\" (25) has reached its process limit \"100\": new clients may experience noticeable delays", "ev=postfix_warning,postfix_process_limit"},
		{"postfix/smtpd[150]: warning: Connection rate limit exceeded: 61 from unknown[192.0.2.50] for service smtp", "ev=postfix_warning,postfix_anvil_limit"},
		{"postfix/smtpd[150]: warning: Connection concurrency limit exceeded: 51 from unknown[192.0.2.50] for service smtp", "ev=postfix_warning,postfix_anvil_limit"},
		{"postfix/submission/smtpd[150]: warning: Recipient address rate limit exceeded: 101 from unknown[192.0.2.50] for service submission", "ev=postfix_warning,postfix_anvil_limit"},
		{"postfix/smtpd[150]: warning: Message delivery request rate limit exceeded: 31 from unknown[192.0.2.50] for service smtp", "ev=postfix_warning,postfix_anvil_limit"},
		{"postfix/smtpd[150]: warning: New TLS session rate limit exceeded: 11 from unknown[192.0.2.50] for service smtp", "ev=postfix_warning,postfix_anvil_limit"},
		{"postfix/smtpd[151]: warning: not enough free space in mail queue: 1638400 bytes < 1.5*message size limit", "ev=postfix_warning,postfix_queue_space"},
		{"postfix/trivial-rewrite[152]: warning: mysql:/etc/postfix/mysql-virtual-domains.cf lookup error for \"example.org\"", "ev=postfix_warning,postfix_table_lookup_failure"},
		{"postfix/trivial-rewrite[152]: warning: dict_mysql_get_active: no more active servers", "ev=postfix_warning,postfix_table_lookup_failure"},
		{"postfix/smtpd[152]: warning: proxy:mysql:/etc/postfix/mysql-users.cf lookup error for \"bob@example.org\"", "ev=postfix_warning,postfix_table_lookup_failure"},
		{"postfix/cleanup[152]: warning: 0B1C2D3E4F: virtual_alias_maps map lookup problem for bob@example.org -- message not accepted, try again later", "ev=postfix_warning,postfix_table_lookup_failure"},
		{"postfix/smtpd[152]: warning: hash:/etc/postfix/virtual is unavailable. open database /etc/postfix/virtual.db: No such file or directory", "ev=postfix_warning,postfix_table_lookup_failure"},
		{"postfix/smtpd[153]: warning: SASL: Connect to private/auth failed: No such file or directory", "ev=postfix_warning,postfix_sasl_backend_unreachable"},
		{"postfix/smtpd[153]: fatal: no SASL authentication mechanisms", "ev=postfix_fatal,postfix_sasl_backend_unreachable"},
		{"postfix/smtpd[153]: warning: SASL authentication failure: cannot connect to saslauthd server: No such file or directory", "ev=postfix_warning,postfix_sasl_backend_unreachable"},
		{"postfix/smtpd[154]: warning: unknown[192.0.2.54]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", "ev=postfix_warning,sasl_auth_failure"},
		{"postfix/smtpd[154]: warning: hostname example.net does not resolve to address 192.0.2.55", "ev=postfix_warning"},
		// Dovecot (service-monitor.c, login-common).
		{"dovecot: master: Warning: service(imap-login): process_limit (100) reached, client connections are being dropped", "ev=dovecot_warning,dovecot_process_limit"},
		{"dovecot: master: Warning: service(auth): client_limit (1000) reached, client connections are being dropped", "ev=dovecot_warning,dovecot_connection_limit"},
		{"dovecot: master: Warning: service(lmtp): client_limit/service_count (1) reached, client connections are being dropped", "ev=dovecot_warning,dovecot_connection_limit"},
		{"dovecot: imap-login: Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10): user=<bob@example.org>, method=PLAIN, rip=192.0.2.60, lip=198.51.100.1, TLS, session=<abc>", "ev=dovecot_connection_limit"},
		{"dovecot: imap(bob@example.org)<2000><sess>: Error: open(/var/mail/bob) failed: Permission denied (euid=5000(vmail) egid=5000(vmail) missing +r perm: /var/mail/bob)", "ev=dovecot_error,dovecot_mailbox_permission"},
		{"dovecot: lmtp(carol@example.org)<2001><sess>: Error: mkdir(/srv/mail/carol/Maildir) failed: Permission denied (euid=5000(vmail) egid=5000(vmail) missing +w perm: /srv/mail/carol)", "ev=dovecot_error,dovecot_mailbox_permission"},
		{"dovecot: imap(dave)<2002><sess>: Error: user dave: Initialization failed: mail_location not set and autodetection failed: Mail storage autodetection failed with home=/home/dave", "ev=dovecot_error,dovecot_mailbox_permission"},
		{"dovecot: auth-worker(2003): Error: sql(x): Permission denied", "ev=dovecot_error"},
		// auth.log.
		{"auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=192.0.2.70  user=bob", "ev=sasl_auth_failure"},
		{"dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=192.0.2.70  user=bob", "ev=sasl_auth_failure"},
		{"saslauthd[700]: do_auth         : auth failure: [user=bob] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]", "ev=sasl_auth_failure"},
		{"saslauthd[700]: pam_unix(smtp:auth): authentication failure; logname= uid=0 euid=0 tty= ruser= rhost=  user=bob", "unmatched"},
		{"sshd[701]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.71  user=root", "unmatched"},
		// Scanners.
		{"rspamd[900]: <7a3f2f>; task; rspamd_task_write_log: id: <ok@example.net>, qid: <1F2A3B4C5D>, ip: 198.51.100.8, from: <c@example.net>, (default: F (no action): [-0.50/15.00] [DKIM_TRACE(0.00){example.net:+;}]), len: 3300, time: 60.000ms, dns req: 5, digest: <e8f4>, rcpts: <alice@example.org>", "verdict=rspamd/no_action"},
		{"rspamd[900]: <7a3f30>; task; rspamd_task_write_log: id: <s@example.net>, (default: T (reject): [17.20/15.00] []), len: 5100", "verdict=rspamd/reject ev=rspamd_reject"},
		{"rspamd[900]: <7a3f31>; task; rspamd_task_write_log: id: <d@example.net>, (default: T (discard): [30.00/15.00] []), len: 5100", "verdict=rspamd/other"},
		{"rspamd[900]: <7a3f32>; lua; rbl.lua:123: some lua message", "unmatched"},
		{"amavis[1234]: (01234-02) Passed CLEAN {RelayedInbound}, [198.51.100.8]:41235 [198.51.100.8] <c@example.net> -> <alice@example.org>, Queue-ID: 5F6A7B8C9D, Message-ID: <ok-1@example.net>, mail_id: BcDeFgHi, Hits: -0.9, size: 3300, 401 ms", "verdict=amavis/clean"},
		{"amavis[1234]: (01234-03) Passed SPAMMY {RelayedTaggedInbound}, [203.0.113.80]:52000 <x@spam.example> -> <carol@example.org>, Hits: 6.2, size: 5100, 880 ms", "verdict=amavis/spam"},
		{"amavis[1234]: (01234-04) Blocked SPAM {DiscardedInbound,Quarantined}, [203.0.113.80]:52000 <x@spam.example> -> <carol@example.org>, quarantine: spam-CdEf, Hits: 14.2, size: 5100, 880 ms", "verdict=amavis/spam_blocked ev=amavis_spam_blocked"},
		{"amavis[1234]: (01234-05) Blocked INFECTED (Win.Test.EICAR_HDB-1) {DiscardedInbound,Quarantined}, [198.51.100.7]:41234 <a@example.net> -> <bob@example.org>, Hits: -, size: 1512, 212 ms", "verdict=amavis/infected ev=virus_found"},
		{"amavis[1234]: (01234-06) Passed BAD-HEADER-0 {RelayedInbound}, [198.51.100.9]:41236 <d@example.net> -> <bob@example.org>, Hits: 1.0, size: 2000, 300 ms", "verdict=amavis/bad_header"},
		{"amavis[1234]: (01234-07) Blocked BANNED (multipart/mixed | application/x-msdownload,.exe,.exe-ms,invoice.exe) {DiscardedInbound,Quarantined}, [203.0.113.81]:52001 <x@spam.example> -> <dave@example.org>, Hits: -, size: 9000, 120 ms", "verdict=amavis/banned ev=amavis_banned"},
		{"amavis[1234]: (01234-08) Passed UNCHECKED-ENCRYPTED {RelayedInbound}, [198.51.100.9]:41237 <d@example.net> -> <bob@example.org>, Hits: -, size: 2000, 300 ms", "verdict=amavis/other"},
		{"spamd[800]: spamd: result: Y 15 - BAYES_99,HTML_MESSAGE,URIBL_BLACK scantime=2.3,size=5100,user=debian-spamd,uid=111,required_score=5.0,rhost=::1,raddr=::1,rport=40000,mid=<s@spam.example>,bayes=1.000000,autolearn=spam", "verdict=spamassassin/spam"},
		{"spamd[800]: spamd: result: . -1 - ALL_TRUSTED,DKIM_SIGNED scantime=0.3,size=3300,user=debian-spamd,uid=111,required_score=5.0,rhost=::1,raddr=::1,rport=40001,mid=<ok@example.net>,autolearn=ham", "verdict=spamassassin/clean"},
		{"spamd[800]: spamd: identified spam (15.0/5.0) for debian-spamd:111 in 2.3 seconds, 5100 bytes.", ""},
		{"clamd[801]: /var/lib/amavis/tmp/amavis-20261123T061001-01234-AbCdEfGh/parts/p002: Win.Test.EICAR_HDB-1 FOUND", "verdict=clamav/infected ev=virus_found"},
		{"clamav-milter[802]: Message 7B8C9D0E1F from <a@example.net> to <bob@example.org> with subject 'invoice' message-id '<e@example.net>' date 'Mon, 23 Nov 2026 06:10:07 +0000' infected by Win.Test.EICAR_HDB-1", "verdict=clamav/infected ev=virus_found"},
	}
	for _, tc := range tests {
		line := "Nov 23 07:30:38 mx1 " + tc.line
		if diff := cmp.Diff(tc.want, flowOf(t, c, line)); diff != "" {
			t.Errorf("%s\n(-want +got):\n%s", tc.line, diff)
		}
	}
}

// TestRspamdLogFile: Rspamd's own log file gives the same classification
// as its syslog line, with the time in local time.
func TestRspamdLogFile(t *testing.T) {
	c, err := NewClassifier(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "<1a2b3c>; task; rspamd_task_write_log: id: <x@example.net>, qid: <0B1C2D3E4F>, ip: 192.0.2.1, from: <a@example.net>, (default: F (add header): [7.10/15.00] [X(1.0)]), len: 2345, time: 80.000ms"
	loc := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		line string
		want time.Time
	}{
		{"2026-05-01 12:00:00 #12345(normal) " + msg, time.Date(2026, 5, 1, 12, 0, 0, 0, loc)},
		{"2026-05-01 12:00:00.12345 #12345(normal) " + msg, time.Date(2026, 5, 1, 12, 0, 0, 123450000, loc)},
		{"2026-05-01 12:00:00 [info] #12345(rspamd_proxy) " + msg, time.Date(2026, 5, 1, 12, 0, 0, 0, loc)},
	} {
		e, ok := Parse([]byte(tc.line))
		if !ok {
			t.Fatalf("Parse(%q) malformed", tc.line)
		}
		if string(e.Program) != "rspamd" || string(e.PID) != "12345" || string(e.Message) != msg {
			t.Errorf("%q: program %q pid %q message %q", tc.line, e.Program, e.PID, e.Message)
		}
		if got, ok := e.Time(time.Now(), loc); !ok || !got.Equal(tc.want) {
			t.Errorf("%q: time %v %v, want %v", tc.line, got, ok, tc.want)
		}
		if got := flowOf(t, c, tc.line); got != "verdict=rspamd/add_header ev=rspamd_add_header" {
			t.Errorf("%q: %s", tc.line, got)
		}
	}
	for _, bad := range []string{
		"2026-05-01 12:00:00 no pid here", "2026-05-01 12:00:00 #(normal) x", "2026-05-01 12:00:00 #12 x",
		"2026-05-01 12:00:00 [info #12(normal) x", "2026-05-01 12:00:00 #12(normal",
	} {
		if _, ok := Parse([]byte(bad)); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestServiceOfTag(t *testing.T) {
	for tag, want := range map[string]string{
		"postfix/smtpd": "smtp", "postfix/submission/smtpd": "submission", "postfix/submissions/smtpd": "submissions",
		"postfix-out/smtpd": "smtp", "postfix-out/submission/smtpd": "submission", "relay/smtpd": "relay",
		"postfix/a/b/smtpd": "b", "smtpd": "smtp",
	} {
		if got := string(ServiceOfTag([]byte(tag))); got != want {
			t.Errorf("ServiceOfTag(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestNewClassifierServices(t *testing.T) {
	for _, bad := range [][]string{{"smtp", "smtp"}, {"other"}, {"SMTP"}, {""},
		{"a", "b", "c", "d", "e", "f", "g", "h", "i"}} {
		if _, err := NewClassifier(nil, nil, bad...); err == nil {
			t.Errorf("services %q accepted", bad)
		}
	}
	c, err := NewClassifier(nil, nil, "submission", "smtp")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other", "submission", "smtp"}, c.ServiceNames()); diff != "" {
		t.Error(diff)
	}
}

// TestClassifyFlowAllocs: the new rules keep the classifier free of
// allocations.
func TestClassifyFlowAllocs(t *testing.T) {
	c, _ := NewClassifier(nil, DefaultProviders(), DefaultServices()...)
	for _, line := range []string{
		"Nov 22 05:34:01 mx1 postfix/submission/smtpd[1]: lost connection after AUTH from unknown[192.0.2.1]",
		"Nov 22 05:34:01 mx1 postfix/smtp[1]: Verified TLS connection established to mx.example.net[203.0.113.5]:25: TLSv1.3",
		"Nov 22 05:34:01 mx1 postfix/qmgr[1]: 0B1C2D3E4F: from=<a@example.org>, size=1610, nrcpt=2 (queue active)",
		"2026-05-01 12:00:00 #12345(normal) <1a2b3c>; task; rspamd_task_write_log: id: <x@example.net>, (default: F (no action): [0.10/15.00] []), len: 2345",
		"Nov 22 05:34:01 mx1 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=192.0.2.70  user=bob",
	} {
		var r Result
		b := []byte(line)
		if n := testing.AllocsPerRun(100, func() {
			e, _ := Parse(b)
			c.Classify(&e, &r)
		}); n != 0 {
			t.Errorf("%s: %.0f allocations per line", line, n)
		}
	}
}
