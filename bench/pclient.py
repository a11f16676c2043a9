#!/usr/bin/python3
"""Sequential DNS client for bench/profile.sh:
   pclient.py PORT FILE COUNT

Sends COUNT queries to 127.0.0.1:PORT one at a time, each waiting for
its answer, taking "NAME TYPE" lines from FILE in order (going round the
file when COUNT is larger).  Prints how many got a NOERROR answer with
records; exits 1 if any query got no answer."""

import socket
import struct
import sys

TYPES = {"A": 1, "PTR": 12, "AAAA": 28}


def build(i, name, qtype):
    wire = b"".join(bytes([len(x)]) + x.encode()
                    for x in name.rstrip(".").split(".")) + b"\0"
    return struct.pack(">HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + \
        wire + struct.pack(">HH", TYPES[qtype], 1)


def main():
    port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    good = bad = 0
    for i in range(count):
        name, qtype = lines[i % len(lines)]
        q = build(i, name, qtype)
        for _ in range(3):
            s.sendto(q, ("127.0.0.1", port))
            try:
                while True:
                    d = s.recv(4096)
                    if d[:2] == q[:2]:
                        break
                break
            except socket.timeout:
                continue
        else:
            sys.exit("pclient: no answer to %s %s" % (name, qtype))
        rcode = d[3] & 0xF
        ancount = struct.unpack(">H", d[6:8])[0]
        if rcode == 0 and ancount > 0:
            good += 1
        else:
            bad += 1
    print("answered=%d good=%d other=%d" % (good + bad, good, bad))


if __name__ == "__main__":
    main()
