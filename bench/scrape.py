#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""mailwatchd's own costs: RSS after a corpus, scrape latency, idle CPU.

Two daemons, one after the other, each with config.example.yaml in which
global.state_dir and the log source's path point into --workdir:

A. every collector enabled ("all"): dnsbl and mail_dns, off by default, are
   turned on with one address and one domain and a resolver on 127.0.0.1
   (a stub in this script that answers NXDOMAIN, so no query leaves the
   host); backup gets one set (a small file in --workdir). The others keep
   their defaults and look at this host: on a mail host (or with the e2e
   harness's stack) that is the real Postfix queue, mailboxes, certificates.
   1. start, wait for /-/ready (every enabled collector ran once);
   2. append the corpus to its log file, wait until mailwatch_log_lines_total
      reaches the line count; note RSS (VmRSS) and peak RSS (VmHWM);
   3. wrk --latency on /metrics: -t2 -c10 for --wrk-duration (closed loop,
      as fast as the daemon answers), -t1 -c1 for 10 s (one scrape at a
      time), then -t1 -c1 paced at 200 requests/s by bench/wrk-rate.lua;
   4. 200 requests/s open loop from this script (latency counted from the
      moment a request was due, so no coordinated omission).
B. the default configuration ("default"): start, wait for /-/ready, 10 s to
   settle, then --idle seconds without scrapes or log lines; CPU =
   utime+stime delta from /proc/PID/stat.
Prints a markdown table and writes --json.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from proc import fmt_int, loadavg, proc_cpu, proc_mem_mib, stop


def get(port, path, timeout=10):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def lines_total(port):
    _, body = get(port, "/metrics")
    n = 0
    for line in body.decode().splitlines():
        if line.startswith("mailwatch_log_lines_total"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n, body


def wrk(url, threads, conns, duration, script=None, args=()):
    argv = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d" + duration, "--latency"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    if args:
        argv += ["--"] + [str(x) for x in args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def ms(tok):
        v, unit = re.match(r"([\d.]+)(us|ms|s)", tok).groups()
        return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[unit]
    pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    mx = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", out, re.M)
    errors = re.findall(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", out)
    return {"argv": argv, "p50_ms": pct["50"], "p90_ms": pct["90"], "p99_ms": pct["99"],
            "max_ms": ms(mx.group(1)) if mx else None, "rps": rps, "requests": requests,
            "errors": "; ".join(errors), "raw": out}


def fixed_rate(port, rate, seconds):
    """Open-loop GETs of /metrics at a fixed rate on one keep-alive connection.

    Latency runs from the moment a request was due, not from when it was sent,
    so a slow answer also counts against the requests queued behind it
    (no coordinated omission). Client side: Python http.client.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    lat, errors = [], 0
    t0 = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        due = t0 + i / rate
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            errors += 1
        lat.append((time.monotonic() - due) * 1000)
    conn.close()
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    return {"rate": rate, "requests": n, "errors": errors, "achieved_rps": n / (time.monotonic() - t0),
            "p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99), "max_ms": lat[-1]}


def section(text, name, fn):
    """Apply fn to the block of the top-level collector `name` (indent 2)."""
    m = re.search(r"(?m)^  %s:\n(?:(?:    .*|\s*|  #.*)\n)*" % name, text)
    if not m:
        sys.exit("scrape.py: no collectors.%s block in the example configuration" % name)
    return text[:m.start()] + fn(m.group(0)) + text[m.end():]


def sub1(pat, rep, text):
    out, k = re.subn(pat, rep, text, count=1)
    if k != 1:
        sys.exit("scrape.py: expected a line matching %r in the example configuration; update make_config()" % pat)
    return out


def make_config(example, workdir, log, everything=False, dns_port=0):
    with open(example) as f:
        text = f.read()
    text = sub1(r"(?m)^  state_dir: /var/lib/mailwatchd$", "  state_dir: %s/state" % workdir, text)
    text = sub1(r"(?m)^(      paths: )\[/var/log/mail\.log\]", r"\g<1>[%s]" % log, text)
    if everything:
        dns = "[127.0.0.1:%d]" % dns_port

        def dnsbl(b):
            b = sub1(r"(?m)^    enabled: false$", "    enabled: true", b)
            b = sub1(r"(?m)^      servers: \[\]", "      servers: " + dns, b)
            b = sub1(r"(?m)^    addresses: \[\]", "    addresses: [192.0.2.25]", b)
            return sub1(r"(?m)^    domains: \[\]", "    domains: [example.org]", b)

        def mail_dns(b):
            b = sub1(r"(?m)^    enabled: false$", "    enabled: true", b)
            b = sub1(r"(?m)^      servers: \[\]", "      servers: " + dns, b)
            return sub1(r"(?m)^    domains: \[\]",
                        "    domains: [{domain: example.org, dkim: [{selector: mail}], sending_ips: [192.0.2.25]}]", b)

        def backup(b):
            return sub1(r"(?m)^    sets: \[\]", '    sets: [{name: bench, path: "%s/backup/*.gz"}]' % workdir, b)
        # The round-trip probe submits through a stand-in sendmail that drops
        # the message straight into a Maildir in the work directory: nothing
        # reaches a real MTA, and each run is a whole probe (submit, find,
        # delete) like on a mail host.
        maildir = os.path.join(workdir, "probe", "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        sendmail = os.path.join(workdir, "probe", "sendmail")
        with open(sendmail, "w") as f:
            f.write('#!/bin/sh\nf="$(date +%%s).$$.bench"\ncat > "%s/tmp/$f" && mv "%s/tmp/$f" "%s/new/$f"\n'
                    % (maildir, maildir, maildir))
        os.chmod(sendmail, 0o755)

        def roundtrip(b):
            b = sub1(r"(?m)^    enabled: false$", "    enabled: true", b)
            b = sub1(r'(?m)^    from: ""', "    from: probe@example.org", b)
            b = sub1(r'(?m)^    to: ""', "    to: probe@example.org", b)
            b = sub1(r"(?m)^      servers: \[\]", "      servers: " + dns, b)
            b = sub1(r"(?m)^      sendmail: /usr/sbin/sendmail$", "      sendmail: " + sendmail, b)
            return sub1(r'(?m)^      path: ""', "      path: " + maildir, b)
        text = section(text, "dnsbl", dnsbl)
        text = section(text, "mail_dns", mail_dns)
        text = section(text, "backup", backup)
        text = section(text, "roundtrip", roundtrip)
        os.makedirs(os.path.join(workdir, "backup"), exist_ok=True)
        with open(os.path.join(workdir, "backup", "mail-1.gz"), "wb") as f:
            f.write(bytes.fromhex("1f8b08000000000000ff030000000000000000"))  # an empty gzip stream
    disabled = re.findall(r"(?m)^  (\w+):\n    enabled: false$", text)
    path = os.path.join(workdir, "config.yaml")
    with open(path, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(workdir, "state"), exist_ok=True)
    return path, disabled


class StubDNS:
    """Answers every UDP query on 127.0.0.1:port with NXDOMAIN; counts them."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.queries = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                q, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(q) < 12:
                continue
            self.queries += 1
            # Same id and question; QR=1, opcode and RD copied, RA=1, RCODE=3.
            flags = 0x8000 | (q[2] << 8 & 0x7900) | 0x0080 | 3
            end = 12
            while end < len(q) and q[end] != 0:
                end += q[end] + 1
            question = q[12:end + 5]
            self.sock.sendto(q[:2] + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question,
                             addr)

    def close(self):
        self.sock.close()


def start(a, cfg, workdir, name):
    subprocess.run([a.mailwatchd, "--config.check", "--config.file=" + cfg], check=True, stdout=subprocess.DEVNULL)
    err = open(os.path.join(workdir, "stderr-%s.txt" % name), "wb")
    p = subprocess.Popen([a.mailwatchd, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:%d" % a.port],
                         stdout=err, stderr=subprocess.STDOUT, cwd=workdir)
    p.errfile = err
    t0 = time.monotonic()
    while True:
        if p.poll() is not None:
            sys.exit("scrape.py: mailwatchd exited with %d (see %s)" % (p.returncode, err.name))
        try:
            if get(a.port, "/-/ready", 2)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() - t0 > 300:
            stop_daemon(p)
            sys.exit("scrape.py: not ready after 300 s")
        time.sleep(0.1)
    return p, time.monotonic() - t0


def stop_daemon(p):
    stop(p, 15)
    p.errfile.close()


def collectors(body):
    st = dict((c.decode(), v.decode()) for c, v in
              re.findall(rb'^mailwatch_collector_success\{collector="([^"]+)"\} (\S+)$', body, re.M))
    absent = [c.decode() for c in re.findall(rb'^mailwatch_collector_target_absent\{collector="([^"]+)"\} 1$',
                                             body, re.M)]
    return {"enabled": sorted(st), "ok": sorted(c for c, v in st.items() if v == "1"),
            "failed": sorted(c for c, v in st.items() if v != "1"), "absent": sorted(absent)}


def queue_seen(body):
    q = {}
    for name, v in re.findall(rb'^mailwatch_postfix_queue_messages\{[^}]*queue="([^"]+)"[^}]*\} (\S+)$', body, re.M):
        q[name.decode()] = q.get(name.decode(), 0) + int(float(v))
    src = [s.decode() for s in re.findall(rb'^mailwatch_postfix_queue_source\{[^}]*source="([^"]+)"[^}]*\} 1$',
                                          body, re.M)]
    return {"messages": q, "source": src}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mailwatchd", required=True)
    ap.add_argument("--config-example", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port", type=int, default=20100, help="mailwatchd's port")
    ap.add_argument("--dns-port", type=int, default=20053, help="the stub resolver's port (UDP)")
    ap.add_argument("--wrk-duration", default="20s")
    ap.add_argument("--wrk-rate-script", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "wrk-rate.lua"))
    ap.add_argument("--rate", type=int, default=200, help="requests/s of the paced runs")
    ap.add_argument("--rate-seconds", type=float, default=20, help="length of each paced run")
    ap.add_argument("--idle", type=float, default=180)
    ap.add_argument("--json")
    a = ap.parse_args()
    a.mailwatchd = os.path.abspath(a.mailwatchd)
    res = {}

    # ---- A: every collector enabled
    wd = os.path.join(a.workdir, "all")
    os.makedirs(wd, exist_ok=True)
    log = os.path.join(wd, "mail.log")
    open(log, "w").close()
    dns = StubDNS(a.dns_port)
    cfg, disabled = make_config(a.config_example, wd, log, everything=True, dns_port=a.dns_port)
    if disabled:
        sys.exit("scrape.py: still disabled in the all-collectors configuration: %s" % ", ".join(disabled))
    p, res["ready_seconds"] = start(a, cfg, wd, "all")
    try:
        res["rss_ready_mib"] = proc_mem_mib(p.pid)["VmRSS"]
        _, body = get(a.port, "/metrics")
        res["collectors"] = collectors(body)
        res["queue"] = queue_seen(body)

        with open(a.corpus, "rb") as f:
            n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        t0 = time.monotonic()
        with open(a.corpus, "rb") as src, open(log, "ab") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        while True:
            got, body = lines_total(a.port)
            if got >= n:
                break
            if time.monotonic() - t0 > 600:
                sys.exit("scrape.py: only %d of %d lines after 600 s" % (got, n))
            time.sleep(0.1)
        res["corpus_lines"] = n
        res["catchup_seconds"] = time.monotonic() - t0
        mem = proc_mem_mib(p.pid)
        res["rss_after_corpus_mib"], res["hwm_after_corpus_mib"] = mem["VmRSS"], mem["VmHWM"]
        samples = [l for l in body.decode().splitlines() if l and not l.startswith("#")]
        res["series"], res["metrics_bytes"] = len(samples), len(body)

        url = "http://127.0.0.1:%d/metrics" % a.port
        res["load_before_wrk"] = loadavg()
        c0 = proc_cpu(p.pid)
        res["wrk_c10"] = wrk(url, 2, 10, a.wrk_duration)
        res["wrk_c10_cpu_s"] = proc_cpu(p.pid) - c0
        res["wrk_c1"] = wrk(url, 1, 1, "10s")
        res["load_before_rate"] = loadavg()
        c0 = proc_cpu(p.pid)
        res["wrk_rate"] = wrk(url, 1, 1, "%ds" % a.rate_seconds, a.wrk_rate_script, (a.rate,))
        res["wrk_rate_cpu_s"] = proc_cpu(p.pid) - c0
        res["wrk_rate_cpu_pct"] = 100 * res["wrk_rate_cpu_s"] / a.rate_seconds
        res["rate_open"] = fixed_rate(a.port, a.rate, a.rate_seconds)
        res["load_after_rate"] = loadavg()
        mem = proc_mem_mib(p.pid)
        res["rss_after_wrk_mib"], res["hwm_after_wrk_mib"] = mem["VmRSS"], mem["VmHWM"]
        res["dns_queries"] = dns.queries
    finally:
        stop_daemon(p)
        dns.close()

    # ---- B: the default configuration, idle
    wd = os.path.join(a.workdir, "default")
    os.makedirs(wd, exist_ok=True)
    log = os.path.join(wd, "mail.log")
    open(log, "w").close()
    cfg, res["default_disabled"] = make_config(a.config_example, wd, log)
    p, res["default_ready_seconds"] = start(a, cfg, wd, "default")
    try:
        _, body = get(a.port, "/metrics")
        res["default_collectors"] = collectors(body)
        time.sleep(10)  # let the first-run work and the readiness scrapes settle
        res["load_idle_start"] = loadavg()
        c0, t0 = proc_cpu(p.pid), time.monotonic()
        time.sleep(a.idle)
        c1, t1 = proc_cpu(p.pid), time.monotonic()
        res["load_idle_end"] = loadavg()
        res["idle_seconds"] = t1 - t0
        res["idle_cpu_s"] = c1 - c0
        res["idle_cpu_pct"] = 100 * (c1 - c0) / (t1 - t0)
        res["rss_idle_end_mib"] = proc_mem_mib(p.pid)["VmRSS"]
    finally:
        stop_daemon(p)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)

    c, q = res["collectors"], res["queue"]
    w, w1, wr, ro = res["wrk_c10"], res["wrk_c1"], res["wrk_rate"], res["rate_open"]
    print("\n### mailwatchd alone: every collector enabled (A), default configuration (B)\n")
    print("A: all %d collectors enabled; succeeded on this host: %s; failed: %s (target absent: %s). "
          "Postfix queue as the daemon read it (%s): %s. Stub resolver answered %d queries."
          % (len(c["enabled"]), ", ".join(c["ok"]) or "none", ", ".join(c["failed"]) or "none",
             ", ".join(c["absent"]) or "none", "/".join(q["source"]) or "no source",
             ", ".join("%s %d" % kv for kv in sorted(q["messages"].items())) or "none", res["dns_queries"]))
    print("\n| measure | value |")
    print("| --- | ---: |")
    print("| A: ready (every enabled collector ran once) | %.1f s |" % res["ready_seconds"])
    print("| A: RSS when ready | %.1f MiB |" % res["rss_ready_mib"])
    print("| A: %s lines appended: all counted after | %.2f s |" % (fmt_int(n), res["catchup_seconds"]))
    print("| A: RSS / peak RSS after the corpus | %.1f / %.1f MiB |" % (res["rss_after_corpus_mib"],
                                                                     res["hwm_after_corpus_mib"]))
    print("| A: /metrics size | %d series, %.0f KiB |" % (res["series"], res["metrics_bytes"] / 1024))
    print("| A: wrk -t2 -c10 -d%s (closed loop, saturating): requests/s | %.0f |" % (a.wrk_duration, w["rps"]))
    print("| A: wrk -t2 -c10: latency p50 / p90 / p99 | %.2f / %.2f / %.2f ms |" % (
        w["p50_ms"], w["p90_ms"], w["p99_ms"]))
    print("| A: wrk -t2 -c10: daemon CPU per scrape | %.2f ms |" % (
        1000 * res["wrk_c10_cpu_s"] / max(1, w["requests"])))
    print("| A: wrk -t1 -c1 -d10s (one scrape at a time): requests/s | %.0f |" % w1["rps"])
    print("| A: wrk -t1 -c1: latency p50 / p90 / p99 | %.2f / %.2f / %.2f ms |" % (
        w1["p50_ms"], w1["p90_ms"], w1["p99_ms"]))
    print("| **A: wrk -t1 -c1 -d%ds -s bench/wrk-rate.lua -- %d: requests/s achieved** | **%.0f** |" % (
        a.rate_seconds, a.rate, wr["rps"]))
    print("| **A: wrk paced at %d/s: latency p50 / p90 / p99 / max** | **%.2f / %.2f / %.2f / %.2f ms** |" % (
        a.rate, wr["p50_ms"], wr["p90_ms"], wr["p99_ms"], wr["max_ms"] or 0))
    print("| A: daemon CPU while serving %d/s | %.1f %% of one core |" % (a.rate, res["wrk_rate_cpu_pct"]))
    print("| **A: daemon CPU per scrape at %d/s** | **%.3f ms** |" % (
        a.rate, 1000 * res["wrk_rate_cpu_s"] / max(1, wr["requests"])))
    print("| A: %d/s open loop, Python client, latency from the due time: p50 / p90 / p99 / max | "
          "%.2f / %.2f / %.2f / %.2f ms |" % (a.rate, ro["p50_ms"], ro["p90_ms"], ro["p99_ms"], ro["max_ms"]))
    print("| A: RSS / peak RSS after the scrape runs | %.1f / %.1f MiB |" % (res["rss_after_wrk_mib"],
                                                                         res["hwm_after_wrk_mib"]))
    print("| A: load (1 min) before wrk / before the paced runs / after | %.2f / %.2f / %.2f |" % (
        res["load_before_wrk"], res["load_before_rate"], res["load_after_rate"]))
    dc = res["default_collectors"]
    print("| B: default configuration: %d collectors enabled (%s off) | ready in %.1f s |" % (
        len(dc["enabled"]), ", ".join(res["default_disabled"]) or "none", res["default_ready_seconds"]))
    print("| **B: idle CPU over %.0f s (no scrapes, no log lines)** | **%.3f %% of one core (%.2f s)** |" % (
        res["idle_seconds"], res["idle_cpu_pct"], res["idle_cpu_s"]))
    print("| B: RSS at the end of the idle period | %.1f MiB |" % res["rss_idle_end_mib"])
    print("| B: load (1 min) idle start / end | %.2f / %.2f |" % (res["load_idle_start"], res["load_idle_end"]))
    for k in ("wrk_c10", "wrk_c1", "wrk_rate"):
        if res[k]["errors"]:
            print("\nwrk %s: %s" % (k, res[k]["errors"]))
    if ro["errors"] or ro["achieved_rps"] < 0.98 * ro["rate"]:
        print("\nopen-loop run: %d errors, %.0f requests/s achieved" % (ro["errors"], ro["achieved_rps"]))


if __name__ == "__main__":
    main()
