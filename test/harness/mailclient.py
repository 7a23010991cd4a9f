#!/usr/bin/python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Loopback clients the traffic driver and the sanity checks need beyond swaks/smtp-source.

Every connection goes to 127.0.0.1 (or the given loopback DNS server) from a chosen 127.0.0.0/8
source address, so fail2ban and the logs see distinct "internet" clients.

  mailclient.py imap --src 127.0.0.40 --user alice --password P --tls implicit|starttls|none
  mailclient.py tls-fail --src 127.0.0.200 --port 465 --how plaintext|tls11|starttls-tls11|starttls-garbage
  mailclient.py dns --server 127.0.0.1:5353 NAME TYPE        (A, AAAA, MX, TXT, PTR)
  mailclient.py drop --src 127.0.3.1 --port 25 --tls none|starttls|implicit --after STAGE
  mailclient.py postscreen --src 127.0.5.1 --port 2555 --how pass|pregreet|hangup|non-smtp|bare-newline|pipelining
  mailclient.py hold --src 127.0.7.1 --port 2556 --seconds 3     (banner, EHLO, wait, QUIT)
  mailclient.py submit --src 127.0.8.1 --src 127.0.8.2 --user U --password P --domain D --messages 6 \
      [--mismatch 2] [--gtube 1] [--tag T]   (authenticated submission on 587/465, one message per session)

Exit status: 0 when the server behaved as a real client would expect (login accepted, handshake
refused, answer received), 1 otherwise, 2 when the connection itself failed (e.g. banned).
"""
import argparse
import concurrent.futures
import imaplib
import json
import os
import random
import smtplib
import socket
import ssl
import struct
import sys
import time
import warnings

SERVER = "127.0.0.1"
warnings.filterwarnings("ignore", category=DeprecationWarning)


def insecure_context():
    """The harness certificate is self-signed; these clients test the server, not the chain."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(src, port, timeout=20):
    return socket.create_connection((SERVER, port), timeout, source_address=(src, 0))


# ------------------------------------------------------------------ IMAP logins
def cmd_imap(a):
    class Plain(imaplib.IMAP4):
        def _create_socket(self, timeout):
            return connect(a.src, self.port, timeout)

    class Implicit(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout):
            return self.ssl_context.wrap_socket(connect(a.src, self.port, timeout),
                                                server_hostname=self.host)

    try:
        if a.tls == "implicit":
            conn = Implicit(SERVER, 993, ssl_context=insecure_context(), timeout=30)
        else:
            conn = Plain(SERVER, 143, timeout=30)
            if a.tls == "starttls":
                conn.starttls(ssl_context=insecure_context())
    except OSError as e:
        print("imap: connect: %s" % e, file=sys.stderr)
        return 2
    try:
        conn.login(a.user, a.password)
    except imaplib.IMAP4.error as e:
        print("imap: login refused: %s" % e, file=sys.stderr)
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
        return 1
    typ, data = conn.select("INBOX", readonly=True)
    if typ == "OK" and int(data[0]) > 0:
        conn.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    conn.logout()
    return 0


# ------------------------------------------------------------------ failed TLS handshakes
def read_smtp_reply(f):
    """Read one (possibly multi-line) SMTP reply; return its last line."""
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line


def cmd_tls_fail(a):
    """Make the server log a failed TLS handshake ("TLS library problem", "SSL_accept error").

    plaintext:        speak cleartext to an implicit-TLS port (465, 993)
    tls11:            offer only TLS 1.1 on an implicit-TLS port (servers require >= 1.2)
    starttls-tls11:   SMTP STARTTLS, then offer only TLS 1.1
    starttls-garbage: SMTP STARTTLS, then send bytes that are not a TLS record
    """
    try:
        s = connect(a.src, a.port, 10)
    except OSError as e:
        print("tls-fail: connect: %s" % e, file=sys.stderr)
        return 2
    try:
        if a.how == "plaintext":
            s.sendall(b"a1 CAPABILITY\r\n" if a.port == 993 else b"EHLO plain.client.test\r\n")
            try:
                s.recv(512)
            except OSError:
                pass
            return 0
        if a.how.startswith("starttls-"):
            f = s.makefile("rb")
            read_smtp_reply(f)
            s.sendall(b"EHLO legacy.client.test\r\n")
            read_smtp_reply(f)
            s.sendall(b"STARTTLS\r\n")
            if not read_smtp_reply(f).startswith(b"220"):
                return 1
            if a.how == "starttls-garbage":
                s.sendall(b"\x16\x03\x01\x00\x07garbage-instead-of-a-client-hello\r\n")
                try:
                    s.recv(512)
                except OSError:
                    pass
                return 0
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.1 at the default level
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.wrap_socket(s).close()
        except (ssl.SSLError, OSError):
            return 0  # refused, as intended
        print("tls-fail: the server accepted TLS 1.1", file=sys.stderr)
        return 1
    finally:
        s.close()


# ------------------------------------------------------------------ lost connections
DROP_STAGES = ["connect", "helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "end_of_data", "rset"]


class SMTP:
    """A line-level SMTP client over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return read_smtp_reply(self.f)

    def starttls(self):
        reply = self.cmd("STARTTLS")
        if not reply.startswith(b"220"):
            raise OSError("STARTTLS refused: %r" % reply)
        self.sock = insecure_context().wrap_socket(self.sock, server_hostname="mail.example.test")
        self.f = self.sock.makefile("rb")


def cmd_drop(a):
    """Walk an SMTP session up to and including the stage --after, then drop the connection
    without QUIT, so Postfix logs "lost connection after <STAGE> from ...".

    connect: banner only; helo/ehlo: the greeting; starttls: the STARTTLS command, then no
    handshake; auth: "AUTH PLAIN" and no answer to the 334; mail, rcpt, data (354 and no data);
    end_of_data: a whole message accepted, no QUIT; rset: EHLO then RSET. --tls starttls upgrades
    the session after EHLO (587 requires it for AUTH), implicit is port 465.
    """
    try:
        s = connect(a.src, a.port, 20)
        if a.tls == "implicit":
            s = insecure_context().wrap_socket(s, server_hostname="mail.example.test")
    except OSError as e:
        print("drop: connect: %s" % e, file=sys.stderr)
        return 2
    c = SMTP(s)
    try:
        read_smtp_reply(c.f)
        if a.after == "connect":
            return 0
        if a.after == "helo":
            c.cmd("HELO drop.client.test")
            return 0
        c.cmd("EHLO drop.client.test")
        if a.after == "ehlo":
            return 0
        if a.after == "rset":
            c.cmd("RSET")
            return 0
        if a.after == "starttls":
            c.sock.sendall(b"STARTTLS\r\n")
            read_smtp_reply(c.f)
            return 0
        if a.tls == "starttls":
            c.starttls()
            c.cmd("EHLO drop.client.test")
        if a.after == "auth":
            c.cmd("AUTH PLAIN")
            return 0
        c.cmd("MAIL FROM:<dropper@client.test>")
        if a.after == "mail":
            return 0
        c.cmd("RCPT TO:<%s>" % a.rcpt)
        if a.after == "rcpt":
            return 0
        if not c.cmd("DATA").startswith(b"354"):
            return 1
        if a.after == "data":
            return 0
        c.sock.sendall(b"Subject: dropped after the data\r\n\r\nfine, then gone\r\n.\r\n")
        read_smtp_reply(c.f)
        return 0
    except OSError as e:
        print("drop: %s" % e, file=sys.stderr)
        return 1
    finally:
        c.sock.close()


# ------------------------------------------------------------------ postscreen
def read_banner(f):
    """Read postscreen's banner to its last line ("220-" first while the greet test runs)."""
    return read_smtp_reply(f)


def cmd_postscreen(a):
    """One client of the kind postscreen logs as --how:

    pass:         a polite client: waits for the whole banner, EHLO, MAIL, RCPT (a new client is
                  told 450 there after passing the deep tests: PASS NEW), QUIT; then connects again
                  (PASS OLD, handed to smtpd) and says EHLO and QUIT.
    pregreet:     talks before the banner is complete (PREGREET).
    hangup:       disconnects during the greet wait (HANGUP).
    non-smtp:     an HTTP proxy request after the banner (NON-SMTP COMMAND).
    bare-newline: EHLO ended with a bare LF (BARE NEWLINE).
    pipelining:   EHLO and MAIL in one write without waiting (COMMAND PIPELINING).
    """
    def session(fn):
        try:
            s = connect(a.src, a.port, 20)
        except OSError as e:
            print("postscreen: connect: %s" % e, file=sys.stderr)
            return 2
        try:
            return fn(s, s.makefile("rb"))
        except OSError as e:
            print("postscreen: %s" % e, file=sys.stderr)
            return 1
        finally:
            s.close()

    def polite(s, f):
        read_banner(f)
        for line in ("EHLO polite.client.test", "MAIL FROM:<polite@client.test>", "RCPT TO:<%s>" % a.rcpt, "QUIT"):
            s.sendall(line.encode() + b"\r\n")
            read_smtp_reply(f)
        return 0

    def talk_first(s, f):
        s.sendall(b"EHLO eager.client.test\r\n")
        read_banner(f)
        s.sendall(b"QUIT\r\n")
        read_smtp_reply(f)
        return 0

    def hang_up(s, f):
        return 0

    def after_banner(data):
        def fn(s, f):
            read_banner(f)
            s.sendall(data)
            read_smtp_reply(f)
            try:
                s.sendall(b"QUIT\r\n")
                read_smtp_reply(f)
            except OSError:
                pass
            return 0
        return fn

    if a.how == "pass":
        rc = session(polite)
        return rc or session(polite)
    return session({
        "pregreet": talk_first,
        "hangup": hang_up,
        "non-smtp": after_banner(b"CONNECT 127.0.0.1:25 HTTP/1.0\r\n"),
        "bare-newline": after_banner(b"EHLO bare.client.test\n"),
        "pipelining": after_banner(b"EHLO eager.client.test\r\nMAIL FROM:<eager@client.test>\r\n"),
    }[a.how])


# ------------------------------------------------------------------ holding a connection
def cmd_hold(a):
    """Connect, read the banner, say EHLO, keep the session for --seconds, then QUIT: keeps an
    smtpd process busy (a service at its process limit makes the next client wait)."""
    try:
        c = SMTP(connect(a.src, a.port, 30))
    except OSError as e:
        print("hold: connect: %s" % e, file=sys.stderr)
        return 2
    try:
        if not read_smtp_reply(c.f).startswith(b"220"):
            return 1
        c.cmd("EHLO hold.client.test")
        time.sleep(a.seconds)
        c.cmd("QUIT")
        return 0
    except OSError as e:
        print("hold: %s" % e, file=sys.stderr)
        return 1
    finally:
        c.sock.close()


# ------------------------------------------------------------------ authenticated submission
def submit_shape(k, a):
    """Message k of a submit run: (source address, port, envelope sender, recipients).

    The shapes of real submissions, in turn: port 587 with STARTTLS for even k, 465 with implicit
    TLS for odd k; three recipients when k % 3 == 0; a second recipient that Postfix refuses at
    RCPT (an unknown local user, after a valid one, so the message goes on) when k % 4 == 1; an
    envelope sender outside the user's domain for the first --mismatch messages. The recipients
    are at relay.DOMAIN, which the harness routes to its accepting smtp-sink. (The last --gtube
    messages also carry Rspamd's rejecting GTUBE string: see submit_one.)
    """
    src = a.src[k % len(a.src)]
    port = 587 if k % 2 == 0 else 465
    sender = "billing%d@%s" % (k, a.mismatch_domain) if k < a.mismatch else "%s@%s" % (a.user, a.domain)
    rcpts = ["%s-%d@relay.%s" % (a.tag, k, a.domain)]
    if k % 3 == 0:
        rcpts += ["%s-%d-b@relay.%s" % (a.tag, k, a.domain), "%s-%d-c@relay.%s" % (a.tag, k, a.domain)]
    if k % 4 == 1:
        rcpts.append("nobody-%s-%d@%s" % (a.tag, k, a.domain))
    return src, port, sender, rcpts


# Rspamd's GTUBE test string (its "reject" variant), split so that this file is no spam sample.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def submit_gtube(k, a):
    return k >= a.messages - a.gtube


def submit_one(k, a):
    """Send message k in a session of its own; return (outcome, recipients refused, error), the
    outcome "accepted", "rejected" (a 5xx at the end of DATA, a milter's refusal) or "failed"."""
    src, port, sender, rcpts = submit_shape(k, a)
    ctx = insecure_context()
    text = GTUBE if submit_gtube(k, a) else "submitted by mailclient.py submit"
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s %d\r\nMessage-ID: <%s-%d-%d@%s>\r\n\r\n%s\r\n") % (
        sender, rcpts[0], a.tag, k, a.tag, k, os.getpid(), a.domain, text)
    refused = {}
    try:
        if port == 465:
            s = smtplib.SMTP_SSL(SERVER, port, local_hostname="laptop.%s.test" % a.tag, timeout=30,
                                 source_address=(src, 0), context=ctx)
        else:
            s = smtplib.SMTP(SERVER, port, local_hostname="laptop.%s.test" % a.tag, timeout=30,
                             source_address=(src, 0))
            s.starttls(context=ctx)
        try:
            s.login(a.user, a.password)
            refused = s.sendmail(sender, rcpts, body)
        finally:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                s.close()
    except smtplib.SMTPDataError as e:
        if 500 <= e.smtp_code < 600:
            return "rejected", 1 if k % 4 == 1 else 0, "message %d: %s" % (k, e)  # the unknown user is refused first
        return "failed", 0, "message %d from %s on %d: %s" % (k, src, port, e)
    except (OSError, smtplib.SMTPException) as e:
        return "failed", 0, "message %d from %s on %d: %s" % (k, src, port, e)
    return "accepted", len(refused), ""


def cmd_submit(a):
    """Submit --messages messages as one SASL user, each in its own session, the sources taken in
    turn. Prints a JSON summary (accepted, rejected at the end of DATA, mismatched among the
    accepted, refused recipients, the addresses of accepted or rejected messages, errors); exit 0
    when the GTUBE messages were rejected and every other one accepted."""
    ks = range(a.messages)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.parallel) as pool:
        results = list(pool.map(lambda k: submit_one(k, a), ks))
    accepted = [k for k, r in zip(ks, results) if r[0] == "accepted"]
    rejected = [k for k, r in zip(ks, results) if r[0] == "rejected"]
    out = {
        "user": a.user,
        "accepted": len(accepted),
        "rejected": len(rejected),
        "mismatched": sum(1 for k in accepted if k < a.mismatch),
        "refused_rcpts": sum(r[1] for r in results),
        "addresses": sorted({submit_shape(k, a)[0] for k in accepted + rejected}),
        "errors": [r[2] for r in results if r[2]],
    }
    print(json.dumps(out))
    want_rejected = [k for k in ks if submit_gtube(k, a)]
    return 0 if rejected == want_rejected and len(accepted) == a.messages - len(want_rejected) else 1


# ------------------------------------------------------------------ minimal DNS client
TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "PTR": 12}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def read_name(msg, off):
    """Decode a possibly compressed domain name at off; return (name, offset after it)."""
    labels, end = [], None
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:  # compression pointer
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels), (end if end is not None else off)


def cmd_dns(a):
    host, _, port = a.server.rpartition(":")
    qid = random.randrange(65536)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in a.name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", TYPES[a.type], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(query, (host, int(port)))
        try:
            msg = s.recv(4096)
        except OSError as e:
            print("dns: %s" % e, file=sys.stderr)
            return 2
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid:
        return 2
    print("RCODE %s" % RCODES.get(flags & 0xF, flags & 0xF))
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    for _ in range(an):
        _, off = read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == 1:
            print("A %s" % socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28:
            print("AAAA %s" % socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 15:
            print("MX %d %s" % (struct.unpack(">H", rdata[:2])[0], read_name(msg, off + 2)[0]))
        elif rtype == 12:
            print("PTR %s" % read_name(msg, off)[0])
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1:i + 1 + rdata[i]].decode("utf-8", "replace"))
                i += 1 + rdata[i]
            print("TXT %s" % "".join(parts))
        off += rdlen
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("imap")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--tls", choices=["implicit", "starttls", "none"], default="implicit")
    p = sub.add_parser("tls-fail")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--how", choices=["plaintext", "tls11", "starttls-tls11", "starttls-garbage"], required=True)
    p = sub.add_parser("drop")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--after", choices=DROP_STAGES, required=True)
    p.add_argument("--rcpt", default="alice@example.test")
    p = sub.add_parser("postscreen")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--how", choices=["pass", "pregreet", "hangup", "non-smtp", "bare-newline", "pipelining"], required=True)
    p.add_argument("--rcpt", default="alice@example.test")
    p = sub.add_parser("hold")
    p.add_argument("--src", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=1)
    p = sub.add_parser("submit")
    p.add_argument("--src", action="append", required=True, help="source address; repeat for several")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--domain", required=True, help="the user's mail domain (sender, relay.DOMAIN recipients)")
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--mismatch", type=int, default=0, help="the first N messages have a sender outside the domain")
    p.add_argument("--mismatch-domain", default="elsewhere.test")
    p.add_argument("--gtube", type=int, default=0, help="the last N messages carry Rspamd's GTUBE string: rejected")
    p.add_argument("--tag", default="submit", help="names the recipients and subjects of this run")
    p.add_argument("--parallel", type=int, default=4)
    p = sub.add_parser("dns")
    p.add_argument("--server", required=True, help="HOST:PORT")
    p.add_argument("name")
    p.add_argument("type", choices=sorted(TYPES))
    a = ap.parse_args()
    return {"imap": cmd_imap, "tls-fail": cmd_tls_fail, "dns": cmd_dns, "drop": cmd_drop,
            "postscreen": cmd_postscreen, "hold": cmd_hold, "submit": cmd_submit}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
