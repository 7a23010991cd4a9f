#!/usr/bin/python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Alertmanager webhook receiver for the test harness, on 127.0.0.1 only.

  POST /alert      Alertmanager notification: appended as one JSON line to --log
  GET  /alerts     every notification received so far, as a JSON array (for e2e tests)
  GET  /metrics    webhook_notifications_total / webhook_alerts_total (a scrape target)
  GET  /-/healthy  200 "ok"

usage: webhook.py --port 19099 --log /var/lib/mailwatchd-harness/webhook.jsonl
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    lock = threading.Lock()
    received = []  # notifications, in arrival order
    open(args.log, "w").close()  # each start begins with an empty log

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):  # no access log on stderr
            pass

        def reply(self, code, body, ctype="text/plain; charset=utf-8"):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                doc = json.loads(raw)
            except ValueError:
                self.reply(400, "body is not JSON\n")
                return
            with lock:
                received.append(doc)
                with open(args.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps(doc, sort_keys=True) + "\n")
            self.reply(200, "ok\n")

        def do_GET(self):
            with lock:
                notifications = list(received)
            if self.path == "/alerts":
                self.reply(200, json.dumps(notifications), "application/json")
            elif self.path == "/metrics":
                alerts = sum(len(n.get("alerts", [])) for n in notifications if isinstance(n, dict))
                self.reply(200,
                           "# HELP webhook_notifications_total Notifications received from Alertmanager.\n"
                           "# TYPE webhook_notifications_total counter\n"
                           "webhook_notifications_total %d\n"
                           "# HELP webhook_alerts_total Alerts contained in those notifications.\n"
                           "# TYPE webhook_alerts_total counter\n"
                           "webhook_alerts_total %d\n" % (len(notifications), alerts),
                           "text/plain; version=0.0.4; charset=utf-8")
            elif self.path == "/-/healthy":
                self.reply(200, "ok\n")
            else:
                self.reply(404, "not found\n")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
