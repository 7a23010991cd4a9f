#!/usr/bin/python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""The MTA-STS policy host of the test harness (RFC 8461 section 3.3), on loopback only.

  GET /.well-known/mta-sts.txt   with Host: --host, the policy file (re-read at every request,
                                 so a test changes the policy by rewriting the file); any other
                                 path or host: 404. No redirects, text/plain, as senders expect.

HTTPS with --cert/--key, both re-read when the certificate file changes (harness.sh renew-cert
replaces it; the policy host then serves the renewed one, as a reloaded web server would).
RFC 8461 fixes the port at 443, so the server listens on --addr:443, a 127.0.0.x address of its
own (mta-sts.<domain> resolves there in the harness dnsmasq).

usage: mta-sts-server.py --addr 127.0.0.80 --port 443 --host mta-sts.example.test \
         --policy /etc/mailwatchd-harness/mta-sts/mta-sts.txt --cert CERT --key KEY
"""
import argparse
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/.well-known/mta-sts.txt"
MAX_POLICY = 64 << 10  # what senders read at most (section 3.3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--host", required=True, help="the policy host name, mta-sts.<domain>")
    ap.add_argument("--policy", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    host = args.host.lower().rstrip(".")

    lock = threading.Lock()
    ctx_state = {"mtime": None, "ctx": None}

    def context():
        """The TLS context of the certificate on disk now."""
        mtime = os.stat(args.cert).st_mtime_ns
        with lock:
            if ctx_state["mtime"] != mtime:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.load_cert_chain(args.cert, args.key)
                ctx_state.update(mtime=mtime, ctx=ctx)
            return ctx_state["ctx"]

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that stops talking costs one thread for 10 s at most

        def setup(self):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
            super().setup()

        def log_message(self, fmt, *a):
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % a))

        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            asked = (self.headers.get("Host") or "").split(":")[0].lower().rstrip(".")
            if self.path != PATH or asked != host:
                self.reply(404, b"not found\n")
                return
            try:
                with open(args.policy, "rb") as f:
                    body = f.read(MAX_POLICY + 1)
            except OSError as e:
                self.reply(404, ("no policy: %s\n" % e.strerror).encode())
                return
            self.reply(200, body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, addr = super().get_request()
            # The handshake happens in the handler's thread (first read), not in the accept loop.
            return context().wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def handle_error(self, request, client_address):
            sys.stderr.write("%s: %s\n" % (client_address[0], sys.exc_info()[1]))

    context()  # a certificate that does not load fails the start, not the first request
    srv = Server((args.addr, args.port), Handler)
    print("mta-sts policy host %s on https://%s:%d" % (host, args.addr, args.port), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
