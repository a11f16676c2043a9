#!/usr/bin/python3
"""Summarize one dnsperf output file: dpstats.py FILE

Prints one line of shell assignments:
  sent= completed= lost= qps= avg_ms= p99_ms= noerror= rcodes=
avg and p99 come from the per-query latencies of 'dnsperf -v' lines
("> RCODE NAME TYPE SECONDS") when present, else from dnsperf's own
average (and p99 is '-').
"""

import re
import sys


def main():
    sent = completed = lost = 0
    qps = 0.0
    avg = None
    rcodes = ""
    lat = []
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            if line.startswith("> "):
                parts = line.split()
                if len(parts) >= 5 and parts[1] != "T":
                    try:
                        lat.append(float(parts[4]))
                    except ValueError:
                        pass
                continue
            m = re.match(r"\s*Queries sent:\s+(\d+)", line)
            if m:
                sent = int(m.group(1))
            m = re.match(r"\s*Queries completed:\s+(\d+)", line)
            if m:
                completed = int(m.group(1))
            m = re.match(r"\s*Queries lost:\s+(\d+)", line)
            if m:
                lost = int(m.group(1))
            m = re.match(r"\s*Queries per second:\s+([\d.]+)", line)
            if m:
                qps = float(m.group(1))
            m = re.match(r"\s*Average Latency \(s\):\s+([\d.]+)", line)
            if m:
                avg = float(m.group(1))
            m = re.match(r"\s*Response codes:\s*(.*)", line)
            if m:
                rcodes = m.group(1).strip()
    p99 = "-"
    if lat:
        lat.sort()
        avg = sum(lat) / len(lat)
        p99 = "%.3f" % (lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3)
    noerror = 0
    m = re.search(r"NOERROR (\d+)", rcodes)
    if m:
        noerror = int(m.group(1))
    rc = re.sub(r"\s*\([\d.]+%\)", "", rcodes).replace(",", "").strip()
    print("sent=%d completed=%d lost=%d qps=%.0f avg_ms=%s p99_ms=%s "
          "noerror=%d rcodes='%s'" % (
              sent, completed, lost, qps,
              "%.3f" % (avg * 1e3) if avg is not None else "-", p99,
              noerror, rc))


if __name__ == "__main__":
    main()
