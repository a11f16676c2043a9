#!/usr/bin/python3
"""An upstream that never answers: silent.py PORT SECONDS
Binds 127.0.0.1:PORT (UDP), reads and drops everything, for at most
SECONDS."""

import socket
import sys
import time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
end = time.time() + float(sys.argv[2])
n = 0
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        s.recv(4096)
        n += 1
    except socket.timeout:
        pass
