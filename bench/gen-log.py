#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic, reproducible mail.log for the benchmarks in bench/.

Simulates a small mail host (Postfix 3.7 with smtpd on 25, submission on 587
and submissions on 465, Dovecot 2.3 LMTP/IMAP, OpenDKIM 2.11) as a stream of
interleaved sessions, and writes exactly --lines syslog lines in time order.
The line shapes are those Debian 12 writes; the mix is weighted towards what
an internet-facing host sees: rejects, SASL guessing, IMAP login failures.

Timestamps: --ts rfc3339 (rsyslog's default on Debian 12,
"2026-11-20T00:00:01.123456+00:00 mx1 prog[pid]: msg") or --ts traditional
("Nov 20 00:00:01 mx1 prog[pid]: msg"). The same --seed, --lines and --start
give the same events in both formats, byte-identical across runs.

--truth FILE writes the ground truth as JSON: how many lines of each event
were written, with the definitions the comparison uses:
  delivered, deferred, bounced   delivery lines with status=sent/deferred/bounced
                                 (one per recipient; pflogsumm's counting)
  deferred_smtp                  the part of deferred logged by postfix/smtp
  rejected                       smtpd "reject:" lines (NOQUEUE) plus cleanup
                                 "milter-reject:" lines (pflogsumm's "rejected")
  rejected_rcpt                  only "NOQUEUE: reject: RCPT" lines
  reject_warning                 "reject_warning:" lines (must NOT count as rejects)
  sasl_auth_failed               Postfix "SASL ... authentication failed" warnings,
                                 all smtpd services (25, 587, 465)
  sasl_auth_failed_smtpd         the part of it logged by postfix/smtpd (port 25)
  dovecot_auth_failed            imap-login "(auth failed, ...)" disconnects
  dkim_signed                    OpenDKIM "DKIM-Signature field added"
  received                       smtpd client= lines with a queue id, and pickup
  received_smtpd                 only the smtpd client= lines (all smtpd services)
"""

import argparse
import heapq
import json
import random
import sys
from datetime import datetime, timezone

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Sessions per kind (weights); each session writes several lines.
SESSION_WEIGHTS = (
    ("inbound", 27),
    ("reject", 22),
    ("sasl_guess", 13),
    ("submission", 12),
    ("imap_login", 10),
    ("imap_fail", 9),
    ("tls_noise", 3),
    ("spam_milter", 2),
    ("local_cron", 1),
    ("housekeeping", 1),
)

DOMAINS = ("example.org", "example.net", "lists.example.org")
USERS = ("alice", "bob", "carol", "dan", "eve", "fay", "gus", "hana", "ida", "jon", "kim", "lea",
         "max", "nina", "olaf", "pia", "postmaster", "abuse", "billing", "office")
GUESSED = ("admin", "test", "info", "user", "root", "webmaster", "contact", "sales", "support",
           "guest", "office", "alice", "bob@example.org", "postmaster@example.org", "scanner")
# Remote MX hosts for outbound mail: (name, address, domain).
REMOTE = (
    ("mx.partner-one.example", "198.51.100.21", "partner-one.example"),
    ("mx1.bigmail.example", "203.0.113.11", "bigmail.example"),
    ("mx2.bigmail.example", "203.0.113.12", "bigmail.example"),
    ("mail.smallshop.example", "192.0.2.44", "smallshop.example"),
    ("in1.provider.example", "198.51.100.99", "provider.example"),
    ("mx.university.example", "203.0.113.200", "university.example"),
    ("mx.closed-down.example", "192.0.2.250", "closed-down.example"),
)
# Legitimate inbound senders: (rDNS name, address, domain, DKIM selector).
SENDERS = (
    ("mail-out1.bigmail.example", "203.0.113.31", "bigmail.example", "20240101"),
    ("mail-out2.bigmail.example", "203.0.113.32", "bigmail.example", "20240101"),
    ("smtp.partner-one.example", "198.51.100.25", "partner-one.example", "default"),
    ("bounce.newsletter.example", "198.51.100.140", "newsletter.example", "nl1"),
    ("out.provider.example", "198.51.100.98", "provider.example", "s2048"),
    ("mta7.ticketing.example", "192.0.2.77", "ticketing.example", "tk"),
)
CIPHERS_IN = (
    ("TLSv1.3", "TLS_AES_256_GCM_SHA384", "256/256"),
    ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "128/128"),
    ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "256/256"),
)
REJECTS = (
    # (weight, smtp reply after "RCPT from host[ip]: ", pretend helo)
    (30, "554 5.7.1 <{rcpt}>: Relay access denied", None),
    (25, "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table", None),
    (20, "554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
         "https://www.spamhaus.org/query/ip/{ip}", None),
    (10, "450 4.7.1 Client host rejected: cannot find your reverse hostname, [{ip}]", None),
    (8, "504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname", None),
    (7, "450 4.1.8 <{sender}>: Sender address rejected: Domain not found", None),
)
LOCAL_IP = "192.0.2.1"


class Corpus:
    def __init__(self, seed, ts, host, start):
        self.r = random.Random(seed)
        self.traditional = ts == "traditional"
        self.host = host
        self.epoch0 = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
        self.heap = []
        self.seq = 0
        self.truth = {}
        self._sec = None
        self._secstr = ""
        r = self.r
        self.kinds = [k for k, _ in SESSION_WEIGHTS]
        self.kind_w = [w for _, w in SESSION_WEIGHTS]
        self.rej_w = [w for w, _, _ in REJECTS]
        self.pid_qmgr = r.randint(700, 1200)
        self.pid_dkim = r.randint(400, 690)
        self.pid_anvil = r.randint(30000, 40000)
        self.pid_scache = r.randint(30000, 40000)
        self.pid_pickup = r.randint(1300, 1900)
        self.pid_authw = [r.randint(2000, 9000) for _ in range(2)]
        self.pid_cleanup = [r.randint(10000, 60000) for _ in range(4)]
        self.pid_smtp = [r.randint(10000, 60000) for _ in range(6)]
        self.pid_lmtp = [r.randint(10000, 60000) for _ in range(3)]
        self.pid_dlmtp = [r.randint(10000, 60000) for _ in range(3)]
        # Abusive clients come back; a few come back very often.
        self.bots = [self.ip() for _ in range(2000)]

    # ---- small helpers
    def ip(self):
        r = self.r
        first = r.choice((5, 31, 37, 45, 46, 77, 80, 89, 91, 94, 103, 109, 113, 141, 176, 185, 193, 212))
        return "%d.%d.%d.%d" % (first, r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))

    def bot(self):
        r = self.r
        return self.bots[r.randint(0, 19)] if r.random() < 0.3 else r.choice(self.bots)

    def qid(self):
        return "%010X" % self.r.getrandbits(40)

    def token(self, n):
        return "".join(self.r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                       for _ in range(n))

    def user(self):
        return "%s@%s" % (self.r.choice(USERS), self.r.choice(DOMAINS))

    @staticmethod
    def delays(total, r):
        a = total * r.uniform(0.2, 0.6)
        b = r.uniform(0, 0.05)
        c = r.uniform(0, 0.3)
        d = max(0.0, total - a - b - c)
        return "/".join(("%.2g" % x) if x >= 0.01 else "0" for x in (a, b, c, d))

    def stamp(self, t):
        sec = int(t)
        if sec != self._sec:
            d = datetime.fromtimestamp(self.epoch0 + sec, timezone.utc)
            self._sec = sec
            if self.traditional:
                self._secstr = "%s %2d %02d:%02d:%02d" % (MONTHS[d.month - 1], d.day, d.hour, d.minute, d.second)
            else:
                self._secstr = d.strftime("%Y-%m-%dT%H:%M:%S")
        if self.traditional:
            return self._secstr
        return "%s.%06d+00:00" % (self._secstr, int((t - sec) * 1e6))

    def clock(self, t):
        """Postfix's own "Nov 20 00:03:12" timestamps inside messages."""
        d = datetime.fromtimestamp(self.epoch0 + int(t), timezone.utc)
        return "%s %2d %02d:%02d:%02d" % (MONTHS[d.month - 1], d.day, d.hour, d.minute, d.second)

    def at(self, t, tag, msg, *truth):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, tag, msg, truth))

    # ---- sessions; each schedules its lines from t on
    def smtpd_tag(self, service):
        name = "postfix/smtpd" if service == "smtp" else "postfix/%s/smtpd" % service
        return "%s[%d]" % (name, self.r.randint(10000, 60000))

    def deliver_local(self, t, q, rcpts):
        r = self.r
        for rcpt in rcpts:
            t += r.uniform(0.02, 0.3)
            tag = "postfix/lmtp[%d]" % r.choice(self.pid_lmtp)
            sess = self.token(22)
            if r.random() < 0.01:
                self.at(t, tag, "%s: to=<%s>, relay=mail.example.org[private/dovecot-lmtp], delay=%.2g, "
                        "delays=%s, dsn=4.2.2, status=deferred (host mail.example.org[private/dovecot-lmtp] "
                        "said: 452 4.2.2 <%s> Quota exceeded (mailbox for user is full) (in reply to end of "
                        "DATA command))" % (q, rcpt, t % 3 + 0.1, self.delays(0.4, r), rcpt), "deferred")
                continue
            dpid = r.choice(self.pid_dlmtp)
            self.at(t - 0.005, "dovecot", "lmtp(%s)<%d><%s>: msgid=<%s@%s>: saved mail to INBOX"
                    % (rcpt, dpid, sess, self.token(12).replace("/", "-"), rcpt.split("@")[1]))
            total = r.uniform(0.05, 1.5)
            self.at(t, tag, "%s: to=<%s>, relay=mail.example.org[private/dovecot-lmtp], delay=%.2g, delays=%s, "
                    "dsn=2.0.0, status=sent (250 2.0.0 <%s> %s Saved)"
                    % (q, rcpt, total, self.delays(total, r), rcpt, sess), "delivered")
        self.at(t + 0.001, "postfix/qmgr[%d]" % self.pid_qmgr, "%s: removed" % q)
        return t

    def s_inbound(self, t):
        r = self.r
        name, ip, dom, sel = r.choice(SENDERS)
        sm = self.smtpd_tag("smtp")
        q = self.qid()
        self.at(t, sm, "connect from %s[%s]" % (name, ip))
        t += r.uniform(0.05, 0.3)
        if r.random() < 0.92:
            proto, cipher, bits = r.choice(CIPHERS_IN)
            self.at(t, sm, "Anonymous TLS connection established from %s[%s]: %s with cipher %s (%s bits)"
                    % (name, ip, proto, cipher, bits))
        t += r.uniform(0.05, 0.4)
        self.at(t, sm, "%s: client=%s[%s]" % (q, name, ip), "received", "received_smtpd")
        t += r.uniform(0.02, 0.2)
        self.at(t, "postfix/cleanup[%d]" % r.choice(self.pid_cleanup),
                "%s: message-id=<%s@%s>" % (q, self.token(20).replace("/", "."), dom))
        od = "opendkim[%d]" % self.pid_dkim
        t += r.uniform(0.01, 0.05)
        self.at(t, od, "%s: %s [%s] not internal" % (q, name, ip))
        self.at(t, od, "%s: not authenticated" % q)
        x = r.random()
        if x < 0.80:
            self.at(t, od, "%s: DKIM verification successful" % q)
            self.at(t, od, "%s: s=%s d=%s SSL" % (q, sel, dom))
        elif x < 0.95:
            self.at(t, od, "%s: no signature data" % q)
        elif x < 0.98:
            self.at(t, od, "%s: bad signature data" % q)
        else:
            self.at(t, od, "%s: key retrieval failed (s=%s, d=%s): '%s._domainkey.%s' query timed out"
                    % (q, sel, dom, sel, dom))
        n = 1 if r.random() < 0.85 else r.randint(2, 5)
        rcpts = [self.user() for _ in range(n)]
        t += r.uniform(0.01, 0.1)
        self.at(t, "postfix/qmgr[%d]" % self.pid_qmgr, "%s: from=<%s@%s>, size=%d, nrcpt=%d (queue active)"
                % (q, r.choice(("news", "no-reply", "j.smith", "accounts", "tickets")), dom,
                   int(r.lognormvariate(9.3, 1.1)) + 600, n))
        self.at(t + 0.2, sm, "disconnect from %s[%s] ehlo=2 starttls=1 mail=1 rcpt=%d data=1 quit=1 commands=%d"
                % (name, ip, n, 6 + n))
        self.deliver_local(t, q, rcpts)

    def s_reject(self, t):
        r = self.r
        ip = self.bot()
        helo = r.choice(("User", "localhost", "WIN-%s" % self.token(8).upper().replace("/", "X"),
                         "mail.%s" % r.choice(DOMAINS), "[%s]" % ip))
        sm = self.smtpd_tag("smtp")
        if r.random() < 0.1:
            self.at(t, sm, "warning: hostname %s.dynamic.example does not resolve to address %s: Name or service "
                    "not known" % (ip.replace(".", "-"), ip))
        self.at(t, sm, "connect from unknown[%s]" % ip)
        tries = 1 if r.random() < 0.7 else r.randint(2, 4)
        sender = "%s@%s" % (self.token(6).lower().replace("/", "x").replace("+", "y"),
                            r.choice(("mailer.invalid", "promo-deals.example", "gmail.example")))
        warn = r.random() < 0.04
        for _ in range(tries):
            t += r.uniform(0.2, 1.5)
            rcpt = self.user() if r.random() < 0.6 else "%s@%s" % (r.choice(USERS), r.choice(
                ("victim.example", "bigmail.example", "provider.example")))
            reply = r.choices(REJECTS, weights=self.rej_w)[0][1].format(rcpt=rcpt, ip=ip, helo=helo, sender=sender)
            if warn:
                self.at(t, sm, "NOQUEUE: reject_warning: RCPT from unknown[%s]: %s; from=<%s> to=<%s> proto=ESMTP "
                        "helo=<%s>" % (ip, reply, sender, rcpt, helo), "reject_warning")
            else:
                self.at(t, sm, "NOQUEUE: reject: RCPT from unknown[%s]: %s; from=<%s> to=<%s> proto=ESMTP helo=<%s>"
                        % (ip, reply, sender, rcpt, helo), "rejected", "rejected_rcpt")
        t += r.uniform(0.1, 1)
        if r.random() < 0.2:
            self.at(t, sm, "lost connection after RCPT from unknown[%s]" % ip)
        self.at(t, sm, "disconnect from unknown[%s] ehlo=1 mail=1 rcpt=0/%d quit=1 commands=3/%d"
                % (ip, tries, tries + 3))

    def s_sasl_guess(self, t):
        r = self.r
        ip = self.bot()
        service = r.choices(("smtp", "submission", "submissions"), weights=(3, 5, 2))[0]
        sm = self.smtpd_tag(service)
        self.at(t, sm, "connect from unknown[%s]" % ip)
        if service != "smtp":
            t += r.uniform(0.05, 0.3)
            proto, cipher, bits = r.choice(CIPHERS_IN)
            self.at(t, sm, "Anonymous TLS connection established from unknown[%s]: %s with cipher %s (%s bits)"
                    % (ip, proto, cipher, bits))
        tries = r.randint(1, 3)
        for _ in range(tries):
            t += r.uniform(1.5, 4)
            who = r.choice(GUESSED)
            aw = "dovecot"
            kind = r.random()
            if kind < 0.6:
                self.at(t - 0.01, aw, "auth-worker(%d): conn unix:auth-worker (pid=%d,uid=104): auth-worker<%d>: "
                        "passwd(%s,%s): unknown user" % (self.pid_authw[0], self.pid_authw[1], r.randint(1, 9999),
                                                         who, ip))
            else:
                self.at(t - 0.01, aw, "auth-worker(%d): conn unix:auth-worker (pid=%d,uid=104): auth-worker<%d>: "
                        "pam(%s,%s): pam_authenticate() failed: Authentication failure (Password mismatch?)"
                        % (self.pid_authw[0], self.pid_authw[1], r.randint(1, 9999), who, ip))
            mech = r.choice(("LOGIN", "PLAIN"))
            if r.random() < 0.5:
                detail = "(reason unavailable), sasl_username=%s" % who
            else:
                detail = "UGFzc3dvcmQ6" if mech == "LOGIN" else "authentication failure"
            tags = ("sasl_auth_failed", "sasl_auth_failed_smtpd") if service == "smtp" else ("sasl_auth_failed",)
            self.at(t, sm, "warning: unknown[%s]: SASL %s authentication failed: %s" % (ip, mech, detail), *tags)
        t += r.uniform(0.1, 0.5)
        if tries == 3 and r.random() < 0.5:
            self.at(t, sm, "too many errors after AUTH from unknown[%s]" % ip)
        self.at(t, sm, "disconnect from unknown[%s] ehlo=1 auth=0/%d commands=1/%d" % (ip, tries, tries + 1))

    def s_submission(self, t):
        r = self.r
        service = r.choice(("submission", "submissions"))
        sm = self.smtpd_tag(service)
        ip = "%d.%d.%d.%d" % (r.choice((62, 84, 178, 217)), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
        local = r.choice(USERS)
        dom = r.choice(DOMAINS[:2])
        q = self.qid()
        self.at(t, sm, "connect from unknown[%s]" % ip)
        t += r.uniform(0.05, 0.3)
        proto, cipher, bits = r.choice(CIPHERS_IN)
        self.at(t, sm, "Anonymous TLS connection established from unknown[%s]: %s with cipher %s (%s bits)"
                % (ip, proto, cipher, bits))
        t += r.uniform(0.2, 0.8)
        self.at(t, sm, "%s: client=unknown[%s], sasl_method=%s, sasl_username=%s"
                % (q, ip, r.choice(("PLAIN", "LOGIN")), local), "received", "received_smtpd")
        t += r.uniform(0.02, 0.2)
        self.at(t, "postfix/cleanup[%d]" % r.choice(self.pid_cleanup),
                "%s: message-id=<%s@%s>" % (q, self.token(16).replace("/", "."), dom))
        t += r.uniform(0.01, 0.05)
        self.at(t, "opendkim[%d]" % self.pid_dkim, "%s: DKIM-Signature field added (s=mail, d=%s)" % (q, dom),
                "dkim_signed")
        n = 1 if r.random() < 0.8 else r.randint(2, 4)
        t += r.uniform(0.01, 0.1)
        self.at(t, "postfix/qmgr[%d]" % self.pid_qmgr, "%s: from=<%s@%s>, size=%d, nrcpt=%d (queue active)"
                % (q, local, dom, int(r.lognormvariate(8.8, 1.3)) + 500, n))
        self.at(t + 0.3, sm, "disconnect from unknown[%s] ehlo=2 starttls=1 auth=1 mail=1 rcpt=%d data=1 quit=1 "
                "commands=%d" % (ip, n, 7 + n))
        for _ in range(n):
            mx, mxip, rdom = r.choice(REMOTE)
            rcpt = "%s@%s" % (r.choice(("info", "team", "m.mueller", "orders", "contact", "hr")), rdom)
            tag = "postfix/smtp[%d]" % r.choice(self.pid_smtp)
            t += r.uniform(0.1, 0.8)
            total = r.uniform(0.3, 4)
            x = r.random()
            if rdom == "closed-down.example" or x < 0.04:
                why = r.choice(("Connection refused", "Connection timed out"))
                self.at(t, tag, "connect to %s[%s]:25: %s" % (mx, mxip, why))
                self.at(t + 0.01, tag, "%s: to=<%s>, relay=none, delay=%.3g, delays=%s, dsn=4.4.1, status=deferred "
                        "(connect to %s[%s]:25: %s)" % (q, rcpt, total, self.delays(total, r), mx, mxip, why),
                        "deferred", "deferred_smtp")
                continue
            self.at(t, tag, "Verified TLS connection established to %s[%s]:25: TLSv1.3 with cipher "
                    "TLS_AES_256_GCM_SHA384 (256/256 bits)" % (mx, mxip))
            t += 0.05
            if x < 0.08:
                self.at(t, tag, "%s: to=<%s>, relay=%s[%s]:25, delay=%.3g, delays=%s, dsn=4.7.1, status=deferred "
                        "(host %s[%s] said: 451 4.7.1 Greylisted, please try again later (in reply to RCPT TO "
                        "command))" % (q, rcpt, mx, mxip, total, self.delays(total, r), mx, mxip), "deferred", "deferred_smtp")
            elif x < 0.11:
                bq = self.qid()
                self.at(t, tag, "%s: to=<%s>, relay=%s[%s]:25, delay=%.3g, delays=%s, dsn=5.1.1, status=bounced "
                        "(host %s[%s] said: 550 5.1.1 <%s>: Recipient address rejected: User unknown (in reply "
                        "to RCPT TO command))" % (q, rcpt, mx, mxip, total, self.delays(total, r), mx, mxip, rcpt),
                        "bounced")
                self.at(t + 0.01, "postfix/cleanup[%d]" % r.choice(self.pid_cleanup),
                        "%s: message-id=<%s@mail.example.org>" % (bq, self.token(12).replace("/", ".")))
                self.at(t + 0.02, "postfix/bounce[%d]" % r.randint(10000, 60000),
                        "%s: sender non-delivery notification: %s" % (q, bq))
                self.at(t + 0.02, "postfix/qmgr[%d]" % self.pid_qmgr,
                        "%s: from=<>, size=%d, nrcpt=1 (queue active)" % (bq, r.randint(2500, 9000)))
                self.deliver_local(t + 0.02, bq, ["%s@%s" % (local, dom)])
            else:
                self.at(t, tag, "%s: to=<%s>, relay=%s[%s]:25, delay=%.3g, delays=%s, dsn=2.0.0, status=sent "
                        "(250 2.0.0 OK  %d %s - gsmtp)" % (q, rcpt, mx, mxip, total, self.delays(total, r),
                                                           r.randint(1700000000, 1800000000), self.token(10)),
                        "delivered")
        self.at(t + 0.01, "postfix/qmgr[%d]" % self.pid_qmgr, "%s: removed" % q)

    def s_imap_login(self, t):
        r = self.r
        u = r.choice(USERS[:16])
        ip = "%d.%d.%d.%d" % (r.choice((62, 84, 178, 217)), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
        sess = self.token(16)
        mpid = r.randint(10000, 60000)
        self.at(t, "dovecot", "imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, mpid=%d, TLS, "
                "session=<%s>" % (u, ip, LOCAL_IP, mpid, sess))
        t += r.uniform(5, 600)
        self.at(t, "dovecot", "imap(%s)<%d><%s>: %s in=%d out=%d deleted=%d expunged=%d trashed=0 hdr_count=%d "
                "hdr_bytes=%d body_count=%d body_bytes=%d"
                % (u, mpid, sess, r.choice(("Logged out", "Disconnected: Connection closed")), r.randint(50, 900),
                   r.randint(500, 900000), r.randint(0, 3), r.randint(0, 3), r.randint(0, 40), r.randint(0, 90000),
                   r.randint(0, 10), r.randint(0, 500000)))

    def s_imap_fail(self, t):
        r = self.r
        ip = self.bot()
        who = r.choice(GUESSED)
        n = r.randint(1, 3)
        for i in range(n):
            t += r.uniform(1, 3)
            if r.random() < 0.5:
                self.at(t, "dovecot", "auth-worker(%d): conn unix:auth-worker (pid=%d,uid=104): auth-worker<%d>: "
                        "passwd(%s,%s): unknown user" % (self.pid_authw[1], self.pid_authw[0],
                                                         r.randint(1, 9999), who, ip))
            else:
                self.at(t, "dovecot", "auth-worker(%d): conn unix:auth-worker (pid=%d,uid=104): auth-worker<%d>: "
                        "pam(%s,%s,<%s>): pam_authenticate() failed: Authentication failure (Password mismatch?)"
                        % (self.pid_authw[1], self.pid_authw[0], r.randint(1, 9999), who, ip, self.token(16)))
        how = r.choice(("Disconnected: Aborted login by logging out", "Disconnected: Connection closed",
                        "Disconnected: Inactivity"))
        self.at(t + 0.5, "dovecot", "imap-login: %s (auth failed, %d attempts in %d secs): user=<%s>, method=PLAIN, "
                "rip=%s, lip=%s, TLS, session=<%s>" % (how, n, int(3 * n + r.random() * 10), who, ip, LOCAL_IP,
                                                      self.token(16)), "dovecot_auth_failed")

    def s_tls_noise(self, t):
        r = self.r
        ip = self.bot()
        service = r.choice(("smtp", "submissions"))
        sm = self.smtpd_tag(service)
        self.at(t, sm, "connect from unknown[%s]" % ip)
        t += r.uniform(0.05, 0.5)
        if r.random() < 0.5:
            self.at(t, sm, "warning: TLS library problem: error:0A00010B:SSL routines::wrong version number:"
                    "../ssl/record/ssl3_record.c:354:")
        else:
            self.at(t, sm, "warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:"
                    "../ssl/statem/statem_srvr.c:1657:")
        self.at(t, sm, "SSL_accept error from unknown[%s]: -1" % ip)
        self.at(t, sm, "lost connection after %s from unknown[%s]" % ("STARTTLS" if service == "smtp" else "CONNECT",
                                                                     ip))
        self.at(t + 0.001, sm, "disconnect from unknown[%s] ehlo=1 starttls=0/1 commands=1/2" % ip)

    def s_spam_milter(self, t):
        r = self.r
        ip = self.bot()
        sm = self.smtpd_tag("smtp")
        q = self.qid()
        rcpt = self.user()
        sender = "offers@promo-deals.example"
        self.at(t, sm, "connect from unknown[%s]" % ip)
        t += r.uniform(0.3, 1)
        self.at(t, sm, "%s: client=unknown[%s]" % (q, ip), "received", "received_smtpd")
        t += r.uniform(0.3, 1)
        self.at(t, "postfix/cleanup[%d]" % r.choice(self.pid_cleanup),
                "%s: milter-reject: END-OF-MESSAGE from unknown[%s]: 5.7.1 Spam message rejected; from=<%s> "
                "to=<%s> proto=ESMTP helo=<promo-deals.example>" % (q, ip, sender, rcpt), "rejected")
        self.at(t + 0.1, sm, "disconnect from unknown[%s] ehlo=1 mail=1 rcpt=1 data=0/1 quit=1 commands=4/5" % ip)

    def s_local_cron(self, t):
        r = self.r
        q = self.qid()
        self.at(t, "postfix/pickup[%d]" % self.pid_pickup, "%s: uid=0 from=<root>" % q, "received")
        self.at(t + 0.01, "postfix/cleanup[%d]" % r.choice(self.pid_cleanup),
                "%s: message-id=<%d.%s@mx1.example.org>" % (q, int(self.epoch0 + t), q))
        self.at(t + 0.02, "postfix/qmgr[%d]" % self.pid_qmgr,
                "%s: from=<root@mx1.example.org>, size=%d, nrcpt=1 (queue active)" % (q, r.randint(700, 3000)))
        self.deliver_local(t + 0.02, q, ["postmaster@example.org"])

    def s_housekeeping(self, t):
        r = self.r
        ip = self.bot()
        self.at(t, "postfix/anvil[%d]" % self.pid_anvil,
                "statistics: max connection rate %d/60s for (smtp:%s) at %s" % (r.randint(2, 30), ip, self.clock(t)))
        self.at(t, "postfix/anvil[%d]" % self.pid_anvil,
                "statistics: max connection count %d for (smtp:%s) at %s" % (r.randint(1, 10), ip, self.clock(t)))
        self.at(t + 0.5, "postfix/scache[%d]" % self.pid_scache,
                "statistics: domain lookup hits=%d miss=%d success=%d%%" % (r.randint(0, 40), r.randint(1, 20),
                                                                            r.randint(0, 90)))

    def generate(self, n, out):
        r = self.r
        t = 0.0
        written = 0
        write = out.write
        host = self.host
        sessions = {k: getattr(self, "s_" + k) for k in self.kinds}
        while written < n:
            t += r.expovariate(0.5)  # a session starts every 2 s on average
            sessions[r.choices(self.kinds, weights=self.kind_w)[0]](t)
            # Lines before t are final: no session starts before t.
            while self.heap and self.heap[0][0] <= t and written < n:
                lt, _, tag, msg, truth = heapq.heappop(self.heap)
                write("%s %s %s: %s\n" % (self.stamp(lt), host, tag, msg))
                for k in truth:
                    self.truth[k] = self.truth.get(k, 0) + 1
                written += 1
        # Sessions still open at the end are cut off, as in a real file.
        return written


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_500_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ts", choices=("rfc3339", "traditional"), default="rfc3339")
    ap.add_argument("--host", default="mx1")
    ap.add_argument("--start", default="2026-11-20T00:00:00", help="UTC time of the first session")
    ap.add_argument("--out", default="-", help="output file, - for standard output")
    ap.add_argument("--truth", help="write the ground-truth counts here (JSON)")
    a = ap.parse_args()
    c = Corpus(a.seed, a.ts, a.host, a.start)
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="ascii", buffering=1 << 20)
    n = c.generate(a.lines, out)
    if out is not sys.stdout:
        out.close()
    truth = {"lines": n, "seed": a.seed, "ts": a.ts}
    for k in ("delivered", "deferred", "deferred_smtp", "bounced", "rejected", "rejected_rcpt", "reject_warning",
              "sasl_auth_failed", "sasl_auth_failed_smtpd", "dovecot_auth_failed", "dkim_signed", "received",
              "received_smtpd"):
        truth[k] = c.truth.get(k, 0)
    if a.truth:
        with open(a.truth, "w", encoding="ascii") as f:
            json.dump(truth, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps(truth, sort_keys=True), file=sys.stderr)


if __name__ == "__main__":
    main()
