#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""The journal source against its floor: journalctl itself.

mailwatchd reads the journal through `journalctl --follow --output=json`
(internal/logparse/follow/journal.go), so journalctl writing the same
entries, with the same arguments, to /dev/null is the floor of that path.

Needs root and systemd-journald: it starts a journald of its own, in a
journal namespace (`systemd-journald NS`, volatile storage, no rate limit,
configured by /etc/systemd/journald@NS.conf, which it writes and removes),
so the machine's journal is not touched; it stops that journald by its PID
and removes the namespace's files at the end. Without root or journald it
prints why and exits 0 (skipped).

1. --entries lines of the corpus are sent to the namespace's native socket
   (SYSLOG_IDENTIFIER, SYSLOG_PID and MESSAGE taken from each line).
2. catch-up, --rounds rounds alternating: journalctl with the follower's
   arguments but without --follow, output to /dev/null (wall time, CPU);
   then mailwatchd with one journal source (start_at: beginning), timed
   from its start until mailwatch_log_lines_total counts every entry
   (polled every 20 ms); CPU of the daemon and of its journalctl.
3. live latency, --samples probes each, one every 0.2-0.4 s: the time from
   sending an entry to (floor) its line on the stdout of a
   `journalctl --follow` with the follower's arguments, and to (mailwatchd)
   its count in /metrics, polled every 2 ms.

Prints a markdown table and writes --json.
"""

import argparse
import http.client
import json
import os
import random
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import time

from proc import loadavg, proc_cpu, stop

# What journal.go asks for (journalFields) and how (args()).
FIELDS = "MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID,_COMM,_HOSTNAME"
BASE_ARGS = ["--output=json", "--output-fields=" + FIELDS, "--all", "--no-pager", "--quiet", "--no-tail"]
LINE_RE = re.compile(rb"^\S+ \S+ ([^\[:\s]+)(?:\[(\d+)\])?: (.*)$")


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Journald:
    """A systemd-journald in namespace ns, started and stopped by PID."""

    def __init__(self, ns):
        self.ns = ns
        self.conf = "/etc/systemd/journald@%s.conf" % ns
        if os.path.exists(self.conf):
            sys.exit("journal.py: %s exists already; not touching it" % self.conf)
        with open(self.conf, "w") as f:
            f.write("# bench/journal.py: removed when it ends\n[Journal]\nStorage=volatile\nRateLimitBurst=0\n"
                    "RuntimeMaxUse=4G\nRuntimeMaxFileSize=1G\n")
        self.sockdir = "/run/systemd/journal.%s" % ns
        self.p = subprocess.Popen(["/lib/systemd/systemd-journald", ns], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.sockdir + "/socket") and os.path.exists(self.sockdir + "/stdout"):
                break
            time.sleep(0.05)
        else:
            self.close()
            sys.exit("journal.py: journald did not create %s/socket" % self.sockdir)
        # A namespace's journald exits after 30 s without clients; a stream
        # connection held open keeps it.
        self.keep = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.keep.connect(self.sockdir + "/stdout")
        self.keep.sendall(b"journal.py\n\n6\n0\n0\n0\n0\n")
        self.dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.dgram.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)

    def send(self, ident, pid, msg):
        b = b"SYSLOG_IDENTIFIER=" + ident + b"\n"
        if pid:
            b += b"SYSLOG_PID=" + pid + b"\n"
        if b"\n" in msg:
            b += b"MESSAGE\n" + len(msg).to_bytes(8, "little") + msg + b"\n"
        else:
            b += b"MESSAGE=" + msg + b"\n"
        self.dgram.sendto(b, self.sockdir + "/socket")

    def close(self):
        for s in ("keep", "dgram"):
            if hasattr(self, s):
                getattr(self, s).close()
        if hasattr(self, "p"):
            stop(self.p, 10)
        mid = open("/etc/machine-id").read().strip()
        for d in ("/run/log/journal/%s.%s" % (mid, self.ns), "/var/log/journal/%s.%s" % (mid, self.ns)):
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if os.path.exists(self.conf):
            os.remove(self.conf)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mailwatchd", required=True, action="append",
                    help="binary to measure; repeat as LABEL=PATH to compare builds (rounds interleave)")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port", type=int, default=20100)
    ap.add_argument("--entries", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--namespace", default="mailwatchd-bench")
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0 or not os.path.exists("/lib/systemd/systemd-journald") or not shutil.which("journalctl"):
        print("\n### Journal source: skipped (needs root, systemd-journald and journalctl)\n")
        return
    bins = []
    for m in a.mailwatchd:
        label, _, path = m.rpartition("=")
        bins.append((label or "mailwatchd", os.path.abspath(path)))
    os.makedirs(a.workdir, exist_ok=True)

    # The corpus' identifiers: the journal source's matches, as a config would list them.
    entries, idents = [], set()
    with open(a.corpus, "rb") as f:
        for line in f:
            m = LINE_RE.match(line.rstrip(b"\n"))
            if not m:
                continue
            entries.append(m.groups())
            idents.add(m.group(1))
            if len(entries) >= a.entries:
                break
    idents = sorted(i.decode() for i in idents)
    matches = ["SYSLOG_IDENTIFIER=" + i for i in idents]

    jd = Journald(a.namespace)
    res = {"entries": len(entries), "identifiers": idents, "load_start": loadavg(), "rounds": []}
    try:
        t0 = time.monotonic()
        for ident, pid, msg in entries:
            jd.send(ident, pid, msg)
        res["send_seconds"] = time.monotonic() - t0
        jctl = ["journalctl", "--namespace=" + a.namespace]
        # Every entry written and readable before the clock starts.
        for _ in range(600):
            out = subprocess.run(jctl + BASE_ARGS + matches, stdout=subprocess.PIPE, check=True).stdout
            if out.count(b"\n") >= len(entries):
                break
            time.sleep(0.1)
        else:
            sys.exit("journal.py: journald holds %d of %d entries" % (out.count(b"\n"), len(entries)))

        # The daemon runs journalctl from PATH: a wrapper adds the namespace.
        wrapdir = os.path.join(a.workdir, "bin")
        os.makedirs(wrapdir, exist_ok=True)
        with open(os.path.join(wrapdir, "journalctl"), "w") as f:
            f.write('#!/bin/sh\nexec %s --namespace=%s "$@"\n' % (shutil.which("journalctl"), a.namespace))
        os.chmod(os.path.join(wrapdir, "journalctl"), 0o755)
        env = dict(os.environ, PATH=wrapdir + ":" + os.environ["PATH"])

        def daemon(label, binary):
            wd = os.path.join(a.workdir, label)
            shutil.rmtree(wd, ignore_errors=True)
            os.makedirs(os.path.join(wd, "state"))
            cfg = os.path.join(wd, "config.yaml")
            with open(cfg, "w") as f:
                f.write("global:\n  state_dir: %s\nlogs:\n  start_at: beginning\n  sources:\n"
                        "    - name: journal\n      type: journal\n      identifiers: [%s]\n" % (
                            os.path.join(wd, "state"), ", ".join(json.dumps(i) for i in idents)))
            err = open(os.path.join(wd, "stderr.txt"), "wb")
            p = subprocess.Popen([binary, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:%d" % a.port],
                                 stdout=err, stderr=subprocess.STDOUT, cwd=wd, env=env)
            p.errfile = err
            return p

        def lines(conn):
            conn.request("GET", "/metrics")
            body = conn.getresponse().read()
            m = re.search(rb'^mailwatch_log_lines_total\{source="journal"\} (\S+)$', body, re.M)
            return int(float(m.group(1))) if m else 0

        def connect(p):
            for _ in range(600):
                if p.poll() is not None:
                    sys.exit("journal.py: mailwatchd exited with %d" % p.returncode)
                try:
                    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
                    lines(c)
                    return c
                except OSError:
                    time.sleep(0.01)
            sys.exit("journal.py: mailwatchd does not answer")

        def journalctl_child(p):
            for task in os.listdir("/proc/%d/task" % p.pid):
                with open("/proc/%d/task/%s/children" % (p.pid, task)) as f:
                    for c in f.read().split():
                        return int(c)
            return None

        for rnd in range(a.rounds):
            r = {"load": loadavg()}
            c0, t0 = children_cpu(), time.monotonic()
            subprocess.run(jctl + BASE_ARGS + matches, stdout=subprocess.DEVNULL, check=True)
            r["floor_s"], r["floor_cpu_s"] = time.monotonic() - t0, children_cpu() - c0
            for label, binary in (bins if rnd % 2 == 0 else bins[::-1]):
                t0 = time.monotonic()
                p = daemon(label, binary)
                try:
                    conn = connect(p)
                    while lines(conn) < len(entries):
                        if time.monotonic() - t0 > 600:
                            sys.exit("journal.py: %s did not catch up in 600 s" % label)
                        time.sleep(0.02)
                    r[label + "_s"] = time.monotonic() - t0
                    child = journalctl_child(p)
                    r[label + "_cpu_s"] = proc_cpu(p.pid)
                    r[label + "_journalctl_cpu_s"] = proc_cpu(child) if child else None
                finally:
                    stop(p, 15)
                    p.errfile.close()
            res["rounds"].append(r)

        # Live latency. Probes go to an identifier of the matches.
        probe_ident = idents[0].encode()
        rng = random.Random(1)

        def floor_latency():
            f = subprocess.Popen(jctl + ["--follow", "--since=now"] + BASE_ARGS + matches, stdout=subprocess.PIPE)
            try:
                time.sleep(1)
                out, buf = [], b""
                fd = f.stdout.fileno()
                for i in range(a.samples):
                    time.sleep(rng.uniform(0.2, 0.4))
                    tag = b"mwprobe %d %d" % (os.getpid(), i)
                    t0 = time.monotonic()
                    jd.send(probe_ident, b"1", tag)
                    while tag not in buf:
                        r, _, _ = select.select([fd], [], [], 10)
                        if not r:
                            sys.exit("journal.py: journalctl did not show probe %d" % i)
                        buf += os.read(fd, 1 << 16)
                    out.append(1000 * (time.monotonic() - t0))
                    buf = buf[buf.index(tag):]
                return out
            finally:
                stop(f, 5)

        def daemon_latency(label, binary):
            p = daemon(label + "-live", binary)
            try:
                conn = connect(p)
                while lines(conn) < len(entries):  # its catch-up first
                    time.sleep(0.05)
                time.sleep(1)
                n = lines(conn)  # the corpus and the probes sent so far
                out = []
                for i in range(a.samples):
                    time.sleep(rng.uniform(0.2, 0.4))
                    t0 = time.monotonic()
                    jd.send(probe_ident, b"1", b"mwprobe %d %d" % (os.getpid(), i))
                    while lines(conn) <= n:
                        if time.monotonic() - t0 > 10:
                            sys.exit("journal.py: %s did not count probe %d" % (label, i))
                        time.sleep(0.002)
                    out.append(1000 * (time.monotonic() - t0))
                    n += 1
                return out
            finally:
                stop(p, 15)
                p.errfile.close()

        res["latency_floor_ms"] = floor_latency()
        for label, binary in bins:
            res["latency_%s_ms" % label] = daemon_latency(label, binary)
        res["load_end"] = loadavg()
    finally:
        jd.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)

    def med(xs):
        xs = sorted(x for x in xs if x is not None)
        return xs[len(xs) // 2] if xs else float("nan")

    rs, n = res["rounds"], res["entries"]
    print("\n### Journal source against journalctl (%d entries, %d identifiers, %d rounds, median)\n" % (
        n, len(idents), len(rs)))
    print("| | wall | entries/s | × floor | CPU: daemon | CPU: its journalctl |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    fl = med(r["floor_s"] for r in rs)
    print("| floor: journalctl … > /dev/null | %.2f s | %.0f | 1 | - | %.2f s |" % (
        fl, n / fl, med(r["floor_cpu_s"] for r in rs)))
    for label, _ in bins:
        w = med(r[label + "_s"] for r in rs)
        print("| %s catch-up (from its start) | %.2f s | %.0f | **%.2f** | %.2f s | %.2f s |" % (
            label, w, n / w, w / fl, med(r[label + "_cpu_s"] for r in rs),
            med(r[label + "_journalctl_cpu_s"] for r in rs)))
    print("\n| live latency, %d probes | p50 | p90 | p99 | max |" % a.samples)
    print("| --- | ---: | ---: | ---: | ---: |")
    for key, what in [("latency_floor_ms", "floor: the line on journalctl's stdout")] + [
            ("latency_%s_ms" % l, "%s: the count in /metrics (polled every 2 ms)" % l) for l, _ in bins]:
        xs = res[key]
        print("| %s | %.1f ms | %.1f ms | **%.1f ms** | %.1f ms |" % (
            what, percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), max(xs)))
    print("\nFloor, every round: %s s. Load (1 min) %.2f at the start, %.2f at the end." % (
        ", ".join("%.2f" % r["floor_s"] for r in rs), res["load_start"], res["load_end"]))


if __name__ == "__main__":
    main()
