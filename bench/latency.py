#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Line-to-metric latency: from write(2) of a log line to its count in /metrics.

mailwatchd runs with config.example.yaml (default collectors; state
directory and log path moved into --workdir), following an empty file.
A probe is one line of a program no rule knows ("mwprobe[1]: probe N"),
so it moves mailwatch_log_unmatched_lines_total{program="other"}, which
nothing else in the bench's corpus touches. For each probe the script
writes the line with one os.write on an O_APPEND descriptor, then GETs
/metrics on a keep-alive connection every --poll-ms until the counter
shows it; the latency is the time from just before the write to the end
of the response that showed it (so it includes up to one poll interval
and one scrape).

1. quiet: --samples probes, each after a quiet spell drawn uniformly from
   --gap-min..--gap-max seconds (nothing else is written);
2. load: the same, one probe every 0.05-0.15 s, while a separate process
   appends the corpus at --rate lines/s, one line per write(2), as a
   syslog daemon does.

Prints a markdown table and writes --json.
"""

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import time

from proc import loadavg, proc_cpu, stop
from scrape import get, lines_total, make_config

PROBE_RE = re.compile(rb'^mailwatch_log_unmatched_lines_total\{program="other"\} (\S+)$', re.M)

WRITER = r"""
import os, sys, time
path, corpus, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
lines = open(corpus, "rb").read().splitlines(keepends=True)
t0 = time.monotonic()
n = 0
per_tick = max(1, rate // 1000)  # lines per millisecond
while True:
    for _ in range(per_tick):
        os.write(fd, lines[n % len(lines)])
        n += 1
    due = t0 + n / rate
    d = due - time.monotonic()
    if d > 0:
        time.sleep(d)
"""


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Poller:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def probes(self):
        self.conn.request("GET", "/metrics")
        r = self.conn.getresponse()
        body = r.read()
        m = PROBE_RE.search(body)
        return int(float(m.group(1))) if m else 0


def measure(a, log, poller, samples, what, gap):
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    seen = poller.probes()
    out = []
    rnd = random.Random(1)
    try:
        for i in range(samples):
            time.sleep(rnd.uniform(*gap))
            line = b"%s mx mwprobe[1]: probe %d\n" % (
                time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()).encode(), i)
            t0 = time.monotonic()
            os.write(fd, line)
            while True:
                if poller.probes() > seen:
                    break
                if time.monotonic() - t0 > 10:
                    sys.exit("latency.py: %s: probe %d not counted after 10 s" % (what, i))
                time.sleep(a.poll_ms / 1000)
            out.append(1000 * (time.monotonic() - t0))
            seen += 1
    finally:
        os.close(fd)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mailwatchd", required=True)
    ap.add_argument("--config-example", required=True)
    ap.add_argument("--corpus", required=True, help="lines the load writer appends")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port", type=int, default=20100)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--gap-min", type=float, default=0.5)
    ap.add_argument("--gap-max", type=float, default=1.5)
    ap.add_argument("--poll-ms", type=float, default=2)
    ap.add_argument("--rate", type=int, default=10000, help="lines/s of the load writer")
    ap.add_argument("--label", default="")
    ap.add_argument("--json")
    a = ap.parse_args()
    a.mailwatchd = os.path.abspath(a.mailwatchd)
    os.makedirs(a.workdir, exist_ok=True)
    log = os.path.join(a.workdir, "mail.log")
    open(log, "w").close()
    cfg, _ = make_config(a.config_example, a.workdir, log)
    err = open(os.path.join(a.workdir, "stderr.txt"), "wb")
    p = subprocess.Popen([a.mailwatchd, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:%d" % a.port],
                         stdout=err, stderr=subprocess.STDOUT, cwd=a.workdir)
    res = {"label": a.label}
    writer = None
    try:
        t0 = time.monotonic()
        while True:
            if p.poll() is not None:
                sys.exit("latency.py: mailwatchd exited with %d" % p.returncode)
            try:
                if get(a.port, "/-/ready", 2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > 300:
                sys.exit("latency.py: not ready after 300 s")
            time.sleep(0.1)
        time.sleep(3)  # quiet before the first probe
        poller = Poller(a.port)
        res["load_start"] = loadavg()
        res["quiet_ms"] = measure(a, log, poller, a.samples, "quiet", (a.gap_min, a.gap_max))
        writer = subprocess.Popen([sys.executable, "-c", WRITER, log, a.corpus, str(a.rate)])
        time.sleep(1)
        c0, w0, n0 = proc_cpu(p.pid), time.monotonic(), lines_total(a.port)[0]
        res["load_ms"] = measure(a, log, poller, a.samples, "load", (0.05, 0.15))
        res["load_seconds"] = time.monotonic() - w0
        res["load_daemon_cpu_pct"] = 100 * (proc_cpu(p.pid) - c0) / res["load_seconds"]
        res["load_lines_per_s"] = (lines_total(a.port)[0] - n0) / res["load_seconds"]
        res["load_end"] = loadavg()
    finally:
        if writer is not None:
            stop(writer, 5)
        stop(p, 15)
        err.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)

    q, l = res["quiet_ms"], res["load_ms"]
    print("\n### Line-to-metric latency%s (%d probes each, /metrics polled every %g ms)\n" % (
        (": " + a.label) if a.label else "", a.samples, a.poll_ms))
    print("| file | p50 | p90 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("| quiet (%.1f–%.1f s between probes) | %.1f ms | %.1f ms | **%.1f ms** | %.1f ms |" % (
        a.gap_min, a.gap_max, percentile(q, 50), percentile(q, 90), percentile(q, 99), max(q)))
    print("| under %d lines/s (one write(2) per line) | %.1f ms | %.1f ms | **%.1f ms** | %.1f ms |" % (
        a.rate, percentile(l, 50), percentile(l, 90), percentile(l, 99), max(l)))
    print("\nUnder load the daemon counted %.0f lines/s over %.0f s, using %.1f %% of one core; load (1 min) "
          "%.2f at the start, %.2f at the end." % (res["load_lines_per_s"], res["load_seconds"],
                                                  res["load_daemon_cpu_pct"], res["load_start"], res["load_end"]))


if __name__ == "__main__":
    main()
