#!/usr/bin/python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Loopback SMTP servers that answer like the big mailbox providers when they refuse a sender.

  provider-sink.py CONFIG.json

CONFIG is a list of {"name", "port", "at", "reply"}: one listener on 127.0.0.1:port per entry.
Every command is accepted (250) except the one named by "at" (MAIL, RCPT or DATA, meaning the end
of the message data), which gets "reply": a list of reply lines, sent as one multi-line SMTP reply
(the last line "NNN text", the others "NNN-text", as the providers send them). "{ip}" in a line
is replaced by the client's address. After a 421 the connection is closed, as RFC 5321 says.
An entry with "at": "none" accepts everything (a provider that takes the mail).

smtp-sink(1) cannot send multi-line replies, and Postfix logs a multi-line reply joined with
spaces, continuation codes included ("421-4.7.28 ... 421 4.7.28 ..."): the log lines the
classifier is checked against look like the real ones only with a real multi-line reply.
"""
import json
import socketserver
import sys
import threading


def multiline(lines, ip):
    """Render reply lines ("421 4.7.28 text" each) as one SMTP reply."""
    out = []
    for i, line in enumerate(lines):
        line = line.replace("{ip}", ip)
        code, _, text = line.partition(" ")
        sep = " " if i == len(lines) - 1 else "-"
        out.append("%s%s%s\r\n" % (code, sep, text))
    return "".join(out).encode()


def handler_for(entry):
    at = entry["at"].upper()

    class Handler(socketserver.StreamRequestHandler):
        timeout = 60

        def reply(self, data):
            self.wfile.write(data if isinstance(data, bytes) else data.encode())
            self.wfile.flush()

        def refuse(self):
            """Send the provider's reply; True when the connection must end."""
            self.reply(multiline(entry["reply"], self.client_address[0]))
            return entry["reply"][-1].startswith("421")

        def handle(self):
            self.reply("220 %s ESMTP provider sink\r\n" % entry["name"])
            while True:
                line = self.rfile.readline(4096)
                if not line:
                    return
                verb = line.strip().split(b" ", 1)[0].split(b":", 1)[0].upper()
                if verb == b"EHLO":
                    self.reply("250-%s\r\n250 8BITMIME\r\n" % entry["name"])
                elif verb in (b"HELO", b"RSET", b"NOOP"):
                    self.reply("250 2.0.0 Ok\r\n")
                elif verb in (b"MAIL", b"RCPT"):
                    if at == verb.decode():
                        if self.refuse():
                            return
                    else:
                        self.reply("250 2.1.0 Ok\r\n")
                elif verb == b"DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>\r\n")
                    while True:
                        data = self.rfile.readline(65536)
                        if not data:
                            return
                        if data in (b".\r\n", b".\n"):
                            break
                    if at == "DATA":
                        if self.refuse():
                            return
                    else:
                        self.reply("250 2.0.0 Ok: queued\r\n")
                elif verb == b"QUIT":
                    self.reply("221 2.0.0 Bye\r\n")
                    return
                else:
                    self.reply("502 5.5.2 Error: command not recognized\r\n")

    return Handler


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    with open(sys.argv[1]) as f:
        entries = json.load(f)
    servers = [Server(("127.0.0.1", e["port"]), handler_for(e)) for e in entries]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
