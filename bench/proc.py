# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""What compare.py and scrape.py both read of a process and the machine, and
how they stop what they started (by its Popen handle, never by name)."""

import os
import signal
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_mem_mib(pid):
    """VmRSS and VmHWM of pid, in MiB."""
    m = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "VmHWM"):
                m[k] = int(line.split()[1]) / 1024
    return m


def loadavg():
    """The 1-minute load average."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def stop(p, grace=10):
    """SIGTERM, then SIGKILL after grace seconds."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def fmt_int(x):
    """12 345 678, or a dash for None."""
    return "-" if x is None else "{:,}".format(x).replace(",", " ")
