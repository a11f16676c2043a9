#!/usr/bin/python3
"""Fill a proxy that has a silent upstream with queries, then read its
memory: inflight.py PID PORT STATS_PORT COUNT RATE

Sends COUNT unique AAAA queries (from 64 source sockets, at about RATE
per second) to 127.0.0.1:PORT, keeps reading what comes back (with a
silent upstream, only the queries turned away at the in-flight limit
get an answer before the upstream timeout), then reads VmRSS and VmHWM
of PID from /proc and the queries_in_flight gauge from
http://127.0.0.1:STATS_PORT/metrics.  Prints shell assignments."""

import os
import select
import socket
import struct
import sys
import time
import urllib.request


def query(i, tag):
    name = b"".join(bytes([len(x)]) + x for x in
                    [b"m%x%d" % (tag, i), b"a", b"bench", b"test"]) + b"\0"
    return struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + \
        name + struct.pack(">HH", 28, 1)


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = v.split()[0]
    return out


def gauge(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                    timeout=3) as r:
            text = r.read().decode()
    except OSError as e:
        return "?(%s)" % e
    total = 0
    for line in text.splitlines():
        if line.startswith("dns64proxy_queries_in_flight"):
            total += int(float(line.split()[-1]))
    return str(total)


def main():
    pid, port, sport, count, rate = (int(x) for x in sys.argv[1:6])
    before = status(pid)
    socks = []
    for _ in range(64):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    tag = int.from_bytes(os.urandom(4), "big")
    answers = servfail = 0

    def drain(wait):
        nonlocal answers, servfail
        r, _, _ = select.select(socks, [], [], wait)
        for s in r:
            while True:
                try:
                    d = s.recv(4096)
                except BlockingIOError:
                    break
                answers += 1
                if len(d) >= 4 and (d[3] & 0xF) == 2:
                    servfail += 1

    t0 = time.time()
    for i in range(count):
        socks[i % 64].sendto(query(i, tag), ("127.0.0.1", port))
        if i % 100 == 99:
            ahead = (i + 1) / rate - (time.time() - t0)
            drain(max(0.0, ahead))
    send_s = time.time() - t0
    end = time.time() + 2.0
    while time.time() < end:
        drain(0.1)
    after = status(pid)
    print("sent=%d send_seconds=%.2f answered=%d servfail=%d inflight=%s "
          "rss_before_kib=%s rss_kib=%s hwm_kib=%s threads=%s" % (
              count, send_s, answers, servfail, gauge(sport),
              before.get("VmRSS"), after.get("VmRSS"), after.get("VmHWM"),
              after.get("Threads")))


if __name__ == "__main__":
    main()
