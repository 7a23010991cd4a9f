#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side log ingestion: mailwatchd, prometheus-postfix-exporter, mtail.

Every tool gets the same corpus, in rounds; the order of the tools rotates from
one round to the next, and the table shows the median of the rounds.

Follow mode (what a user runs): the tool is started on an empty file in a
fresh directory and, once it has the file open, the whole corpus is appended
to it in one copy. The clock runs from the tool's first read (its file offset
in /proc/PID/fdinfo moves, checked every 5 ms) until its counters show the
last line; the delay from the start of the copy to that first read (a poll
interval, an idle back-off or an inotify wake-up) is reported on its own, as
"first read", so that it does not pass for reading speed:
  mailwatchd        mailwatch_log_lines_total reaches the line count
  mtail             mtail_vm_line_processing_duration_seconds_count (lines run
                    through the program) reaches the line count
  postfix_exporter  it has no line counter: once it has read to the end of the
                    file (/proc/PID/fdinfo), its counters (every *_total and
                    *_count sample) are polled every 20 ms until they have not
                    moved for 1 s; the time of the last change is the end
CPU seconds are utime+stime of the process over that interval
(/proc/PID/stat), peak RSS is VmHWM (/proc/PID/status) at the end.

Catch-up (mailwatchd only): started with start_at: beginning on the full
file; the clock runs from spawn until mailwatch_log_lines_total reaches the
line count, CPU and RSS are the whole process's.

Batch mode: `mailwatchd replay FILE` (and, with --mtail-oneshot,
`mtail -one_shot`), timed from spawn to exit, CPU and peak RSS from wait4().

Counts: the events each tool reports next to the generator's ground truth
(--truth, from gen-log.py). "-" means the tool has no metric for it.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from proc import fmt_int, loadavg, proc_cpu, proc_mem_mib, stop

EVENTS = ("received", "delivered", "deferred", "bounced", "rejected", "sasl_auth_failed", "dovecot_auth_failed",
          "dkim_signed", "not_understood")
EVENT_HEAD = ("received", "delivered", "deferred", "bounced", "rejected", "SASL fail", "IMAP auth fail", "DKIM signed",
              "not understood (own metric)")

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(port, timeout=10):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        return parse(r.read().decode("utf-8", "replace"))


def parse(text):
    """Exposition text -> list of (name, labels-string, value)."""
    out = []
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = SAMPLE.match(line)
        if m:
            try:
                out.append((m.group(1), m.group(2) or "", float(m.group(3))))
            except ValueError:
                pass
    return out


def total(samples, name, label_re=None):
    """Sum of the samples of a metric (optionally whose labels match); None if absent."""
    vals = [v for n, l, v in samples if n == name and (label_re is None or re.search(label_re, l))]
    return int(sum(vals)) if vals else None


def add(*xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) if xs else None


def proc_hwm_kib(pid):
    return round(proc_mem_mib(pid)["VmHWM"] * 1024)


def find_fd(pid, path):
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, fd)) == path:
                return fd
        except OSError:
            pass
    return None


def fd_pos(pid, fd):
    try:
        with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
            for line in f:
                if line.startswith("pos:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- the tools

def counts_mailwatchd(s):
    msg = lambda a: total(s, "mailwatch_postfix_messages_total", r'action="%s"' % a)
    ev = lambda e: total(s, "mailwatch_log_events_total", r'event="%s"' % e)
    return {"received": msg("received"), "delivered": msg("delivered"), "deferred": msg("deferred"),
            "bounced": msg("bounced"), "rejected": msg("rejected"), "sasl_auth_failed": ev("sasl_auth_failure"),
            "dovecot_auth_failed": ev("dovecot_auth_failure"), "dkim_signed": ev("dkim_signed"),
            # lines no rule recognised, plus lines that are not syslog at all
            "not_understood": add(total(s, "mailwatch_log_unmatched_lines_total"),
                                  total(s, "mailwatch_log_malformed_lines_total")) or 0}


def counts_postfix_exporter(s):
    return {"received": total(s, "postfix_smtpd_messages_processed_total"),
            "delivered": None,
            "deferred": total(s, "postfix_smtp_status_deferred"),
            "bounced": None,
            "rejected": add(total(s, "postfix_smtpd_messages_rejected_total"),
                            total(s, "postfix_cleanup_messages_rejected_total")),
            "sasl_auth_failed": total(s, "postfix_smtpd_sasl_authentication_failures_total"),
            "dovecot_auth_failed": None,
            "dkim_signed": total(s, "opendkim_signatures_added_total"),
            "not_understood": total(s, "postfix_unsupported_log_entries_total")}


def counts_mtail(s):
    return {"received": total(s, "postfix_smtpd_messages_processed_total"),
            "delivered": None, "deferred": None, "bounced": None,
            "rejected": add(total(s, "postfix_smtpd_messages_rejected_total"),
                            total(s, "postfix_cleanup_messages_rejected_total")),
            "sasl_auth_failed": total(s, "postfix_smtpd_sasl_authentication_failures_total"),
            "dovecot_auth_failed": None, "dkim_signed": None,
            # the program's runtime errors (a failed strptime aborts the line)
            "not_understood": total(s, "mtail_prog_runtime_errors_total") or 0}


def progress_counter_sum(s):
    return sum(v for n, l, v in s
               if (n.endswith("_total") or n.endswith("_count"))
               and not n.startswith(("go_", "process_", "promhttp_")))


class Follow:
    """A daemon following a log file."""

    def __init__(self, name, port, argv, progress, counts, exact=True):
        self.name, self.port, self.argv, self.progress, self.counts, self.exact = \
            name, port, argv, progress, counts, exact
        self.mode = "follow"

    def run(self, corpus, nlines, workdir):
        os.makedirs(workdir)
        log = os.path.join(workdir, "mail.log")
        open(log, "w").close()
        argv = self.argv(workdir, log)
        out = open(os.path.join(workdir, "stderr.txt"), "wb")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            return self._measure(p, corpus, nlines, log)
        finally:
            stop(p)
            out.close()

    def _measure(self, p, corpus, nlines, log):
        deadline = time.monotonic() + 30
        fd = None
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("%s exited with %s at start" % (self.name, p.returncode))
            try:
                scrape(self.port, 2)
                fd = find_fd(p.pid, log)
                if fd is not None:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        if fd is None:
            raise RuntimeError("%s did not open %s within 30s" % (self.name, log))
        time.sleep(1.0)  # let its follower settle (first poll, inotify watch)
        load = loadavg()
        size = os.path.getsize(corpus)
        copied = threading.Event()

        def copy():
            with open(corpus, "rb") as src, open(log, "ab") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            copied.set()

        cpu0 = proc_cpu(p.pid)
        t0 = time.monotonic()
        threading.Thread(target=copy, daemon=True).start()
        limit = t0 + 600
        # Phase 1: wait until the tool has read to the end (free: /proc only).
        t_first = None
        while time.monotonic() < limit:
            pos = fd_pos(p.pid, fd)
            if t_first is None and pos:
                t_first = time.monotonic()
            if copied.is_set() and (pos is None or pos >= size):
                break
            time.sleep(0.005)
        if t_first is None:  # read it all between two checks, or the fd went away
            t_first = time.monotonic()
        # Phase 2: poll the counters.
        last, t_last, t_done = None, t0, None
        while time.monotonic() < limit:
            if p.poll() is not None:
                raise RuntimeError("%s exited with %s" % (self.name, p.returncode))
            now = time.monotonic()
            v = self.progress(scrape(self.port))
            if self.exact:
                if v is not None and v >= nlines:
                    t_done = now
                    break
                time.sleep(0.01)
            else:
                if v != last:
                    last, t_last = v, now
                elif now - t_last >= 1.0:
                    t_done = t_last
                    break
                time.sleep(0.02)
        if t_done is None:
            raise RuntimeError("%s did not finish within 600s" % self.name)
        cpu = proc_cpu(p.pid) - cpu0
        hwm = proc_hwm_kib(p.pid)
        counts = self.counts(scrape(self.port))
        return {"seconds": t_done - t_first, "first_read": t_first - t0, "cpu": cpu, "rss_kib": hwm,
                "counts": counts, "load": load}


class CatchUp:
    """mailwatchd started on the full file with start_at: beginning."""

    def __init__(self, name, port, argv, progress, counts):
        self.name, self.port, self.argv, self.progress, self.counts = name, port, argv, progress, counts
        self.mode = "catch-up"

    def run(self, corpus, nlines, workdir):
        os.makedirs(workdir)
        log = os.path.join(workdir, "mail.log")
        shutil.copyfile(corpus, log)
        size = os.path.getsize(log)
        argv = self.argv(workdir, log)
        out = open(os.path.join(workdir, "stderr.txt"), "wb")
        load = loadavg()
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            limit = t0 + 600
            fd = None
            # Until it has read to the end: /proc only, no scrapes.
            while time.monotonic() < limit and p.poll() is None:
                fd = fd or find_fd(p.pid, log)
                if fd is not None:
                    pos = fd_pos(p.pid, fd)
                    if pos is None or pos >= size:
                        break
                time.sleep(0.005)
            while time.monotonic() < limit:
                if p.poll() is not None:
                    raise RuntimeError("%s exited with %s" % (self.name, p.returncode))
                try:
                    v = self.progress(scrape(self.port))
                except OSError:
                    v = None
                if v is not None and v >= nlines:
                    break
                time.sleep(0.01)
            else:
                raise RuntimeError("%s did not finish within 600s" % self.name)
            t = time.monotonic() - t0
            return {"seconds": t, "cpu": proc_cpu(p.pid), "rss_kib": proc_hwm_kib(p.pid),
                    "counts": self.counts(scrape(self.port)), "load": load}
        finally:
            stop(p)
            out.close()


class Batch:
    """A command that reads the file and exits, printing exposition text."""

    def __init__(self, name, argv, counts):
        self.name, self.argv, self.counts = name, argv, counts
        self.mode = "batch"

    def run(self, corpus, nlines, workdir):
        os.makedirs(workdir)
        load = loadavg()
        t0 = time.monotonic()
        p = subprocess.Popen(self.argv(workdir, corpus), stdout=subprocess.PIPE,
                             stderr=open(os.path.join(workdir, "stderr.txt"), "wb"), cwd=workdir)
        text = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        t = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            raise RuntimeError("%s exited with %d" % (self.name, p.returncode))
        return {"seconds": t, "cpu": ru.ru_utime + ru.ru_stime, "rss_kib": ru.ru_maxrss,
                "counts": self.counts(parse(text.decode("utf-8", "replace"))), "load": load}


def mailwatchd_config(workdir, log):
    path = os.path.join(workdir, "config.yaml")
    off = "".join("  %s:\n    enabled: false\n" % c for c in (
        "service", "postfix_queue", "filesystem", "mailbox", "backup", "certs", "dnsbl", "mail_dns", "clamav",
        "fail2ban", "updates"))
    with open(path, "w") as f:
        f.write("global:\n  state_dir: %s/state\ncollectors:\n%slogs:\n  start_at: beginning\n"
                "  sources:\n    - name: mail\n      paths: [%s]\n" % (workdir, off, log))
    os.makedirs(os.path.join(workdir, "state"), exist_ok=True)
    return path


def tools(a):
    mtail_progs = a.mtail_progs
    t = [
        Follow("mailwatchd", a.port_base + 99,
               lambda d, log: [a.mailwatchd, "--config.file=" + mailwatchd_config(d, log),
                               "--web.listen-address=127.0.0.1:%d" % (a.port_base + 99), "--log.level=warn"],
               lambda s: total(s, "mailwatch_log_lines_total"), counts_mailwatchd),
        CatchUp("mailwatchd catch-up", a.port_base + 98,
                lambda d, log: [a.mailwatchd, "--config.file=" + mailwatchd_config(d, log),
                                "--web.listen-address=127.0.0.1:%d" % (a.port_base + 98), "--log.level=warn"],
                lambda s: total(s, "mailwatch_log_lines_total"), counts_mailwatchd),
        Batch("mailwatchd replay", lambda d, f: [a.mailwatchd, "replay", "--format", "prometheus", f],
              counts_mailwatchd),
        Follow("prometheus-postfix-exporter", a.port_base + 154,
               lambda d, log: [a.postfix_exporter, "--web.listen-address=127.0.0.1:%d" % (a.port_base + 154),
                               "--postfix.logfile_path=" + log,
                               "--postfix.showq_path=" + os.path.join(d, "no-showq")],
               progress_counter_sum, counts_postfix_exporter, exact=False),
        Follow("mtail", a.port_base + 903,
               lambda d, log: [a.mtail, "-progs", mtail_progs, "-logs", log, "-address", "127.0.0.1",
                               "-port", str(a.port_base + 903), "-logtostderr"],
               lambda s: total(s, "mtail_vm_line_processing_duration_seconds_count"), counts_mtail),
    ]
    if a.mtail_oneshot:
        t.append(Batch("mtail -one_shot", lambda d, f: [a.mtail, "-progs", mtail_progs, "-logs", f, "-one_shot",
                                                        "-one_shot_format", "prometheus", "-logtostderr"],
                       counts_mtail))
    return t


# ---------------------------------------------------------------- report

def fmt_first(x):
    """The follow-mode delay to the first read, or a dash for other modes."""
    return "—" if x is None else "%.2f s" % x


def main():
    ap = argparse.ArgumentParser(description="side-by-side log ingestion benchmark")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--truth", required=True, help="ground truth JSON from gen-log.py --truth")
    ap.add_argument("--label", default="", help="name of this corpus in the report")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", required=True,
                    help="scratch directory for the followed files, removed run by run; use a tmpfs so that "
                         "appending the corpus is not limited by the disk")
    ap.add_argument("--json", help="write all measurements here")
    ap.add_argument("--mailwatchd", required=True)
    ap.add_argument("--postfix-exporter", default="prometheus-postfix-exporter")
    ap.add_argument("--mtail", default="mtail")
    ap.add_argument("--mtail-progs", required=True, help="directory holding postfix.mtail")
    ap.add_argument("--mtail-oneshot", action="store_true", help="also time mtail -one_shot (slow)")
    ap.add_argument("--port-base", type=int, default=20000, help="ports used: base+98, +99, +154, +903")
    a = ap.parse_args()
    a.mailwatchd = os.path.abspath(a.mailwatchd)
    a.corpus = os.path.abspath(a.corpus)
    with open(a.truth) as f:
        truth = json.load(f)
    n = truth["lines"]
    ts = tools(a)
    runs = {t.name: [] for t in ts}
    for rnd in range(a.rounds):
        k = rnd % len(ts)
        for t in ts[k:] + ts[:k]:
            wd = os.path.join(a.workdir, "r%d-%s" % (rnd, re.sub(r"\W+", "-", t.name)))
            r = t.run(a.corpus, n, wd)
            shutil.rmtree(wd, ignore_errors=True)
            r["round"] = rnd
            runs[t.name].append(r)
            print("  round %d %-28s %6.2f s  %9.0f lines/s  first read %s  cpu %6.2f s  rss %5.1f MiB  load %.2f" % (
                rnd + 1, t.name, r["seconds"], n / r["seconds"], fmt_first(r.get("first_read")), r["cpu"],
                r["rss_kib"] / 1024, r["load"]), file=sys.stderr, flush=True)

    med = {}
    for t in ts:
        rs = runs[t.name]
        counts = rs[-1]["counts"]
        stable = all(r["counts"] == counts for r in rs)
        med[t.name] = {
            "mode": t.mode,
            "seconds": statistics.median(r["seconds"] for r in rs),
            "lines_per_s": statistics.median(n / r["seconds"] for r in rs),
            "first_read": (statistics.median(r["first_read"] for r in rs)
                           if all(r.get("first_read") is not None for r in rs) else None),
            "cpu": statistics.median(r["cpu"] for r in rs),
            "rss_mib": statistics.median(r["rss_kib"] for r in rs) / 1024,
            "load": [min(r["load"] for r in rs), max(r["load"] for r in rs)],
            "counts": counts, "counts_stable": stable,
        }
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"truth": truth, "label": a.label, "rounds": a.rounds, "runs": runs, "median": med}, f,
                      indent=1)

    print("\n### %s: %s lines, %.0f MB, median of %d rounds\n" % (
        a.label or os.path.basename(a.corpus), fmt_int(n), os.path.getsize(a.corpus) / 1e6, a.rounds))
    print("| tool | mode | lines/s | first read | CPU s | CPU µs/line | peak RSS MiB | load (1 min) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for t in ts:
        m = med[t.name]
        print("| %s | %s | %s | %s | %.2f | %.2f | %.1f | %.2f–%.2f |" % (
            t.name, m["mode"], fmt_int(int(m["lines_per_s"])), fmt_first(m["first_read"]), m["cpu"],
            m["cpu"] / n * 1e6, m["rss_mib"], m["load"][0], m["load"][1]))
    print("\n| counts | " + " | ".join(EVENT_HEAD) + " |")
    print("| --- |" + " ---: |" * len(EVENTS))
    print("| ground truth (gen-log.py) | " + " | ".join(fmt_int(truth.get(e)) for e in EVENTS) + " |")
    for t in ts:
        m = med[t.name]
        print("| %s%s | " % (t.name, "" if m["counts_stable"] else " (varied between rounds)")
              + " | ".join(fmt_int(m["counts"][e]) for e in EVENTS) + " |")
    print("\nParts of the ground truth that the peers' metrics are defined on: %s smtpd `client=` lines "
          "(no pickup), %s NOQUEUE RCPT rejects (no cleanup milter-rejects), %s SASL failures logged as "
          "postfix/smtpd (no submission/submissions), %s deferrals logged by postfix/smtp (no LMTP)." % (
              fmt_int(truth.get("received_smtpd")), fmt_int(truth.get("rejected_rcpt")),
              fmt_int(truth.get("sasl_auth_failed_smtpd")), fmt_int(truth.get("deferred_smtp"))))
    print("\nnot understood: mailwatchd = mailwatch_log_unmatched_lines_total + mailwatch_log_malformed_lines_total;"
          " postfix-exporter = postfix_unsupported_log_entries_total; mtail = mtail_prog_runtime_errors_total.")
    base = med["mailwatchd"]
    peers = [t.name for t in ts if not t.name.startswith("mailwatchd")]
    print("\n| mailwatchd (follow) vs | throughput ratio | CPU per line ratio (peer / mailwatchd) "
          "| goal: both ≥ 20× |")
    print("| --- | ---: | ---: | --- |")
    for p in peers:
        m = med[p]
        tr, cr = base["lines_per_s"] / m["lines_per_s"], m["cpu"] / base["cpu"]
        print("| %s | %.1f× | %.1f× | %s |" % (p, tr, cr, "met" if tr >= 20 and cr >= 20 else "**not met**"))


if __name__ == "__main__":
    main()
