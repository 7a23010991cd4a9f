#!/usr/bin/env python3
# Copyright 2026 The mailwatchd Authors
# SPDX-License-Identifier: Apache-2.0
"""A DNS server that never answers: it reads every UDP query on ADDR:PORT and drops it.

The harness dnsmasq forwards the zone MWH_DNS_HANG_ZONE here, so a query for that zone hangs
the way a dead or firewalled DNSBL server does, for tests of timeouts.

    dns-blackhole.py 127.0.0.1 5354
"""
import socket
import sys


def main() -> None:
    addr, port = sys.argv[1], int(sys.argv[2])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    while True:
        sock.recvfrom(4096)


if __name__ == "__main__":
    main()
