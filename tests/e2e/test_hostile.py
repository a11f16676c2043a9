#!/usr/bin/python3
"""End-to-end: hostile clients (SPEC.md "DNS behaviour" 9, and `allow`).

- thousands of random and mutated UDP packets (bit flips, truncation,
  random counts, compression pointer loops, labels over 63 bytes, names
  over 255, QR=1, unknown opcodes, broken OPT records, random bytes): the
  proxy stays up, never answers a packet with QR set, answers every other
  packet whose header it can read exactly once (FORMERR, NOTIMP for an
  unknown opcode, or the upstream's answer), and still answers a normal
  query afterwards;
- malformed TCP streams (a length prefix larger than the data, zero
  length, garbage, 65535 with partial data...) do not disturb service;
- slow-loris: hundreds of idle TCP connections; UDP keeps being answered,
  the proxy logs the connection limit, closes idle connections after its
  idle timeout and accepts new ones again;
- clients outside `allow` get REFUSED, and no answer is larger than the
  query that caused it.

Figures for the README's Reliability section are printed as "FIGURE: ".
"""

import os
import random
import select
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.edns          # noqa: E402
import dns.exception     # noqa: E402
import dns.flags         # noqa: E402
import dns.message       # noqa: E402
import dns.opcode        # noqa: E402
import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, make_query,  # noqa: E402
                     recv_exact, send_udp_raw, send_tcp_raw, StartError)

NOERROR = dns.rcode.NOERROR
FORMERR = dns.rcode.FORMERR
SERVFAIL = dns.rcode.SERVFAIL
NXDOMAIN = dns.rcode.NXDOMAIN
NOTIMP = dns.rcode.NOTIMP
REFUSED = dns.rcode.REFUSED

TIMEOUT_MS = 500
ATTEMPTS = 2
V4 = "93.184.215.14"
V4_RDATA = bytes([93, 184, 215, 14])
Z = "h.test."
N_FUZZ = int(os.environ.get("HOSTILE_PACKETS", "5000"))
N_LORIS = 300
TCP_IDLE = 10.0         # the proxy's idle timeout (listen_tcp.c)
OUTSIDE = "127.0.0.2"   # a client outside `allow`
SLOW = b"\x04slow\x01h\x04test\x00"     # answered after SLOW_DELAY
SLOW_DELAY = 0.3


def figure(text):
    print("FIGURE: " + text)


def conf(upstream):
    return ("[server]\nlisten = {listen}\nupstream = 127.0.0.1:%d\n"
            "timeout = %d\nattempts = %d\nallow = 127.0.0.1/32 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\n" % (upstream, TIMEOUT_MS,
                                                 ATTEMPTS))


# -- a robust upstream: raw bytes only, never trips over odd queries ----------

def question_end(wire):
    """Offset after the (uncompressed) question of wire, or None."""
    if len(wire) < 12 or struct.unpack("!H", wire[4:6])[0] != 1:
        return None
    pos = 12
    while pos < len(wire):
        c = wire[pos]
        if c == 0:
            pos += 1
            return pos + 4 if pos + 4 <= len(wire) else None
        if c > 63:
            return None
        pos += 1 + c
    return None


def answer_for(data):
    """The upstream's answer to query bytes, or None."""
    end = question_end(data)
    if end is None or data[2] & 0x80:
        return None
    q = data[12:end]
    flags = 0x8080 | (data[2] & 0x01) << 8      # QR, RA; RD copied
    an = b""
    if q[:-4].lower() in (b"\x02ok\x01h\x04test\x00", SLOW):
        if struct.unpack("!H", q[-4:-2])[0] == 1:
            an = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04" \
                + V4_RDATA
    else:
        flags |= NXDOMAIN
    return data[:2] + struct.pack("!HHHHH", flags, 1, 1 if an else 0, 0,
                                  0) + q + an


class RawUpstream:
    """UDP and TCP upstream: "ok.h.test" and "slow.h.test" A get V4
    (the latter after SLOW_DELAY), AAAA an empty
    NOERROR; everything else NXDOMAIN with the question echoed; unreadable
    queries no answer.  Raw bytes only: never trips over odd queries."""

    def __init__(self):
        for _ in range(20):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.sock.close()
                self.tcp.close()
        self.tcp.listen(64)
        self.count = 0
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()

    def stop(self):
        self._stop.set()
        self._th.join(3)
        self.sock.close()
        self.tcp.close()

    def _tcp_conn(self, c):
        c.settimeout(5)
        try:
            while not self._stop.is_set():
                hdr = recv_exact(c, 2)
                if hdr is None:
                    return
                data = recv_exact(c, struct.unpack("!H", hdr)[0])
                if data is None:
                    return
                self.count += 1
                resp = answer_for(data)
                if resp is not None:
                    if SLOW in data.lower():
                        time.sleep(SLOW_DELAY)
                    c.sendall(struct.pack("!H", len(resp)) + resp)
        except OSError:
            pass
        finally:
            c.close()

    def _loop(self):
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.sock, self.tcp], [], [], 0.05)
                if self.tcp in r:
                    c, _ = self.tcp.accept()
                    threading.Thread(target=self._tcp_conn, args=(c,),
                                     daemon=True).start()
                if self.sock not in r:
                    continue
                data, addr = self.sock.recvfrom(65535)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                continue
            self.count += 1
            resp = answer_for(data)
            if resp is not None:
                if SLOW in data.lower():
                    threading.Timer(SLOW_DELAY, self._send,
                                    (resp, addr)).start()
                    continue
                self._send(resp, addr)

    def _send(self, resp, addr):
        try:
            self.sock.sendto(resp, addr)
        except OSError:
            pass


# -- mutations ----------------------------------------------------------------

def name_wire(text):
    out = b""
    for lab in text.rstrip(".").split("."):
        out += bytes([len(lab)]) + lab.encode()
    return out + b"\x00"


def base_queries():
    qs = []
    for name, qtype, edns, opts in (
            ("www.fuzz.h.test", "A", None, None),
            ("www.fuzz.h.test", "AAAA", 1232, None),
            ("mx.fuzz.h.test", "MX", 4096, [dns.edns.GenericOption(10,
                                                                   b"x" * 8)]),
            ("ok.h.test", "AAAA", None, None),
            ("x.fuzz.h.test", "TXT", 512,
             [dns.edns.GenericOption(12, b"\0" * 40)])):
        q = make_query(name, qtype, edns=edns, options=opts)
        qs.append(q.to_wire())
    return qs


def mutate(rnd, bases):
    """(kind, wire) of one hostile packet."""
    b = bytearray(rnd.choice(bases))
    hdr = b[:12]
    kind = rnd.choice(["bitflip", "bitflip", "bitflip", "truncate",
                       "counts", "pointer", "long_label", "long_name",
                       "qr", "opcode", "random", "trailing", "opt",
                       "overwrite", "typeclass", "empty_question"])
    if kind == "bitflip":
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(b) * 8)
            b[i // 8] ^= 1 << (i % 8)
    elif kind == "truncate":
        b = b[:rnd.randrange(0, len(b))]
    elif kind == "counts":
        for off in rnd.sample([4, 6, 8, 10], rnd.randint(1, 4)):
            b[off:off + 2] = struct.pack("!H", rnd.choice(
                [0, 1, 2, 3, 255, 0x7fff, 0xffff, rnd.randrange(65536)]))
    elif kind == "pointer":
        tail = b"\x00\x01\x00\x01"
        loops = [
            b"\xc0\x0c",                          # to itself
            b"\x03abc\xc0\x0c",                   # back to its start
            b"\xc0\x0e\xc0\x0c",                  # two pointers, a cycle
            b"\xc0\x00",                          # into the header
            b"\xc0\x05",                          # into the header
            b"\xff\xff",                          # past the end
            b"\x01a" * 10 + b"\xc0\x0c",
            b"\x03abc\xc0\x10",                   # into its own label
        ]
        b = hdr + rnd.choice(loops) + tail
        if rnd.random() < 0.5:      # pointer loops in an OPT/RR owner
            b = bytearray(rnd.choice(bases))
            b[10:12] = b"\x00\x01"
            b += rnd.choice(loops) + b"\x00\x29\x04\xd0\x00\x00\x00\x00" \
                b"\x00\x00"
    elif kind == "long_label":
        n = rnd.randint(64, 200)
        lab = bytes([n]) + b"a" * n
        if rnd.random() < 0.5:
            lab = bytes([63]) + b"b" * 63 + lab
        b = hdr + lab + b"\x00\x00\x01\x00\x01"
    elif kind == "long_name":
        total = rnd.choice([254, 255, 256, 300, 500, 1000])
        name = b""
        while len(name) + 1 < total:
            n = min(63, total - len(name) - 2)
            if n < 1:
                break
            name += bytes([n]) + b"c" * n
        b = hdr + name + b"\x00\x00\x1c\x00\x01"
    elif kind == "qr":
        b[2] |= 0x80
        if rnd.random() < 0.3:
            b[3] = (b[3] & 0xf0) | rnd.randrange(16)
    elif kind == "opcode":
        b[2] = (b[2] & 0x87) | (rnd.randint(1, 15) << 3)
    elif kind == "random":
        b = bytearray(rnd.getrandbits(8) for _ in range(rnd.randrange(0,
                                                                     600)))
    elif kind == "trailing":
        b += bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 400)))
    elif kind == "opt":
        b = bytearray(bases[0])
        opt = rnd.choice([
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x05\x00\x0a\x00\x09"
            b"x",                                       # option past rdata
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\xff\xff",   # rdlen > pkt
            b"\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00",  # owner
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00" * 2,   # two OPT
            b"\x00\x00\x29\x00\x00\x01\x00\x00\x00\x00\x00",  # version 1
            b"\x00\x00\x29\x00\x01\x00\x00\x80\x00\x00\x00",  # size 1, DO
        ])
        nopt = 2 if opt.count(b"\x29") == 2 else 1
        b[10:12] = struct.pack("!H", nopt)
        b += opt
    elif kind == "overwrite":
        i = rnd.randrange(len(b))
        n = rnd.randint(1, 16)
        b[i:i + n] = bytes(rnd.getrandbits(8) for _ in range(n))
    elif kind == "typeclass":
        end = question_end(bytes(b))
        if end:
            b[end - 4:end] = struct.pack("!HH", rnd.choice(
                [0, 1, 28, 41, 250, 251, 252, 255, 65535,
                 rnd.randrange(65536)]), rnd.choice(
                [0, 1, 3, 4, 254, 255, 65535, rnd.randrange(65536)]))
    elif kind == "empty_question":
        b = hdr + b"\x00\x00\x01\x00\x01"
        b[4:6] = struct.pack("!H", rnd.choice([0, 1, 2]))
    return kind, bytes(b)


# -- the cases ----------------------------------------------------------------

def main(suite):
    suite.require_binary()
    up = RawUpstream()
    suite.cleanups.append(up.stop)

    try:
        p = Proxy(suite, conf(up.port), name="hostile")
        p.start()
    except StartError as e:
        suite.fail("start", str(e))
        return

    def alive(what="next query"):
        check(p.alive(), "the proxy died: %s" % p.log_tail())
        r = ask(p.port, "ok." + Z, "A", timeout=3)
        eq(r.rcode, NOERROR, what + " rcode")
        eq(r.addrs("A"), [V4], what + " answer")
        r = ask(p.port, "ok." + Z, "A", tcp=True, timeout=3)
        eq(r.addrs("A"), [V4], what + " answer over TCP")

    # -----------------------------------------------------------------
    def fuzz():
        rnd = random.Random(int(os.environ.get("HOSTILE_SEED", "6147")))
        bases = base_queries()
        main_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        qr_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (main_s, qr_s):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            s.setblocking(False)
        sent = {}           # id -> (kind, wire) for packets with a header
        kinds = {}
        n_qr = n_short = 0
        replies = {}        # id -> [data]
        strays = []
        qr_replies = []

        def drain(wait):
            end = time.monotonic() + wait
            while True:
                left = end - time.monotonic()
                r, _, _ = select.select([main_s, qr_s], [], [],
                                        max(0.0, left))
                if not r:
                    if left <= 0:
                        return
                    continue
                for s in r:
                    while True:
                        try:
                            data, _ = s.recvfrom(65535)
                        except BlockingIOError:
                            break
                        if s is qr_s:
                            qr_replies.append(data)
                        elif len(data) >= 2:
                            i = struct.unpack("!H", data[:2])[0]
                            replies.setdefault(i, []).append(data)
                        else:
                            strays.append(data)
        stall_left = [5.0]      # seconds the sender may wait in all
        try:
            t0 = time.monotonic()
            for k in range(N_FUZZ):
                kind, wire = mutate(rnd, bases)
                kinds[kind] = kinds.get(kind, 0) + 1
                qid = k
                if len(wire) >= 2:
                    wire = struct.pack("!H", qid) + wire[2:]
                if len(wire) >= 3 and wire[2] & 0x80:
                    n_qr += 1
                    qr_s.sendto(wire, ("127.0.0.1", p.port))
                else:
                    if len(wire) >= 12:
                        sent[qid] = (kind, wire)
                    else:
                        n_short += 1
                    main_s.sendto(wire, ("127.0.0.1", p.port))
                # a window of packets awaiting an answer, so that no
                # socket buffer overflows even on a loaded machine
                while len(sent) - len(replies) > 64 and stall_left[0] > 0:
                    t = time.monotonic()
                    drain(0.001)
                    stall_left[0] -= time.monotonic() - t
                if k % 25 == 24:
                    drain(0)
            drain(TIMEOUT_MS / 1000.0 * ATTEMPTS + 1.0)
            elapsed = time.monotonic() - t0
        finally:
            main_s.close()
            qr_s.close()

        check(p.alive(), "the proxy died under hostile packets: %s"
              % p.log_tail())
        eq(len(qr_replies), 0, "replies to packets with QR set")
        rcodes = {}
        missing = []
        dup = bad = 0
        notimp_bad = []
        for qid, (kind, wire) in sent.items():
            got = replies.pop(qid, [])
            if not got:
                missing.append((kind, wire))
                continue
            if len(got) > 1:
                dup += 1
            data = got[0]
            if len(data) < 12 or not data[2] & 0x80:
                bad += 1
                continue
            rc = data[3] & 0x0f
            rcodes[rc] = rcodes.get(rc, 0) + 1
            opcode = (wire[2] >> 3) & 0x0f
            if opcode != 0 and (rc != NOTIMP or (data[2] >> 3) & 0x0f
                                != opcode):
                notimp_bad.append((wire.hex(), data.hex()))
            if (data[2] >> 3) & 0x0f == 0:     # dnspython: QUERY only
                try:
                    dns.message.from_wire(data)
                except Exception as e:
                    bad += 1
                    if os.environ.get("HOSTILE_DEBUG"):
                        print("bad reply (%s) to %s %s: %s: %s" % (
                            kind, wire.hex(), type(e).__name__, e,
                            data.hex()))
        unexpected = sum(len(v) for v in replies.values()) + len(strays)
        figure("hostile UDP packets: %d sent in %.1f s (%d with QR set, %d "
               "shorter than a header, %d others); mutations: %s" % (
                   N_FUZZ, elapsed, n_qr, n_short, len(sent),
                   ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
        figure("hostile UDP packets: replies to QR=1 packets: %d; replies "
               "by rcode: %s; unanswered: %d; malformed replies: %d" % (
                   len(qr_replies), ", ".join(
                       "%s %d" % (dns.rcode.to_text(k), v)
                       for k, v in sorted(rcodes.items())), len(missing),
                   bad))
        eq(unexpected, 0, "replies to packets without a header")
        check(not notimp_bad, "%d unknown-opcode packets without NOTIMP, "
              "e.g. %s" % (len(notimp_bad), notimp_bad[:1]))
        eq(bad, 0, "malformed replies")
        eq(dup, 0, "packets answered twice")
        check(not missing, "%d packets with a readable header got no "
              "answer, e.g. %s" % (len(missing), [
                  (k, w.hex()) for k, w in missing[:3]]))
        alive("after %d hostile packets" % N_FUZZ)
        figure("garbage packets survived: %d" % N_FUZZ)
    suite.case("udp_fuzz_%d_packets" % N_FUZZ, fuzz)

    # -----------------------------------------------------------------
    def opcodes():
        seen = []
        for op in range(1, 16):
            q = make_query("ok." + Z, "A")
            q.set_opcode(op)
            wire = q.to_wire()
            data = send_udp_raw(wire, p.port, timeout=2)
            check(data is not None, "opcode %d: no answer" % op)
            eq(data[:2], wire[:2], "opcode %d: ID" % op)
            check(data[2] & 0x80, "opcode %d: QR clear" % op)
            eq(data[3] & 0x0f, NOTIMP, "opcode %d: rcode" % op)
            eq((data[2] >> 3) & 0x0f, op, "opcode %d echoed" % op)
            check(V4_RDATA not in data, "opcode %d forwarded" % op)
            seen.append(op)
            # the same with QR set: nothing at all
            qr = bytearray(wire)
            qr[2] |= 0x80
            eq(send_udp_raw(bytes(qr), p.port, timeout=0.1), None,
               "answer to opcode %d with QR set" % op)
        # QR=1 from a client outside `allow` too
        if send_udp_raw(b"\x12\x34\x81\x80" + make_query("ok." + Z)
                        .to_wire()[4:], p.port, source=OUTSIDE,
                        timeout=0.3) is not None:
            raise AssertionError("answer to a QR=1 packet from outside")
        figure("unknown opcodes 1-15: NOTIMP for each; with QR set: no "
               "answer")
        alive()
    suite.case("unknown_opcodes_notimp_qr_dropped", opcodes)

    # -----------------------------------------------------------------
    def tcp_streams():
        q = make_query("ok." + Z, "A").to_wire()
        frame = struct.pack("!H", len(q)) + q
        held = []
        closed_by_proxy = {}

        def conn():
            s = socket.create_connection(("127.0.0.1", p.port), timeout=3)
            held.append(s)
            return s

        def wait_closed(s, label, timeout=2.0):
            s.settimeout(timeout)
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        closed_by_proxy[label] = True
                        return
            except socket.timeout:
                closed_by_proxy[label] = False
            except ConnectionError:
                closed_by_proxy[label] = True

        try:
            # a length prefix larger than the data, then close
            s = conn()
            s.sendall(b"\x00\x64" + q[:10])
            s.close()
            # one byte of length, then close
            s = conn()
            s.sendall(b"\x00")
            s.close()
            # zero length: the proxy closes
            s = conn()
            s.sendall(b"\x00\x00")
            wait_closed(s, "zero length")
            # a length shorter than a header: the proxy closes
            s = conn()
            s.sendall(b"\x00\x05hello")
            wait_closed(s, "length 5")
            # garbage framed as a message, then a real query: answered
            s = conn()
            g = bytes(random.Random(1).getrandbits(8) for _ in range(40))
            g = g[:2] + bytes([g[2] & 0x7f]) + g[3:]    # QR clear
            s.sendall(struct.pack("!H", len(g)) + g + frame)
            s.settimeout(3)
            got_ok = False
            for _ in range(3):
                hdr = recv_exact(s, 2)
                if hdr is None:
                    break
                data = recv_exact(s, struct.unpack("!H", hdr)[0])
                if data is not None and data[:2] == q[:2] and \
                        V4_RDATA in data:
                    got_ok = True
                    break
            check(got_ok, "the query after a garbage frame went "
                  "unanswered")
            s.close()
            # QR=1 frame then a real query on the same connection
            s = conn()
            r = bytearray(q)
            r[2] |= 0x80
            s.sendall(struct.pack("!H", len(r)) + bytes(r) + frame)
            s.settimeout(3)
            hdr = recv_exact(s, 2)
            check(hdr is not None, "no answer after a QR=1 frame")
            data = recv_exact(s, struct.unpack("!H", hdr)[0])
            check(data is not None and V4_RDATA in data,
                  "the first answer is not the real query's")
            s.close()
            # random bytes, then close
            s = conn()
            s.sendall(bytes(random.Random(2).getrandbits(8)
                            for _ in range(5000)))
            s.close()
            # 65535 announced, 1000 sent: kept open while others are served
            stuck = conn()
            stuck.sendall(b"\xff\xff" + bytes(1000))
            # 3 pipelined queries in one write: 3 answers
            s = conn()
            qs = [make_query("ok." + Z, "A").to_wire() for _ in range(3)]
            s.sendall(b"".join(struct.pack("!H", len(x)) + x for x in qs))
            s.settimeout(3)
            ids = set()
            for _ in range(3):
                hdr = recv_exact(s, 2)
                check(hdr is not None, "pipelined: connection closed")
                data = recv_exact(s, struct.unpack("!H", hdr)[0])
                ids.add(data[:2])
            eq(ids, set(x[:2] for x in qs), "pipelined answers' IDs")
            s.close()
            # meanwhile: UDP and TCP service as usual
            alive("with a stalled 65535-byte frame open")
            eq(closed_by_proxy, {"zero length": True, "length 5": True},
               "connections the proxy closed")
            stuck.close()
        finally:
            for s in held:
                try:
                    s.close()
                except OSError:
                    pass
        figure("malformed TCP streams (8 kinds): service undisturbed; "
               "zero-length and short frames closed by the proxy")
        alive()
    suite.case("malformed_tcp_streams", tcp_streams)

    # -----------------------------------------------------------------
    def clients_gone():
        """TCP clients that go away (FIN or RST) while their query is
        with the upstream, and UDP clients whose port is closed by then."""
        n = 0
        for i in range(60):
            q = make_query("slow." + Z, "A" if i % 3 else "AAAA").to_wire()
            if i % 4 == 3:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.sendto(q, ("127.0.0.1", p.port))
                u.close()
                n += 1
                continue
            s = socket.create_connection(("127.0.0.1", p.port), timeout=3)
            # pipelined: several queries in flight on the one connection
            s.sendall((struct.pack("!H", len(q)) + q) * (1 + i % 3))
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            s.close()
            n += 1 + i % 3
        time.sleep(SLOW_DELAY * 2 + 0.2)
        alive("after %d queries whose clients left" % n)
        r = ask(p.port, "slow." + Z, "A", tcp=True, timeout=3)
        eq(r.addrs("A"), [V4], "slow answer over TCP")
        figure("clients gone before their answer (TCP FIN and RST with up "
               "to 3 pipelined queries, closed UDP ports): %d queries, "
               "proxy unaffected" % n)
    suite.case("clients_gone_before_answer", clients_gone)

    # -----------------------------------------------------------------
    def outside():
        pad = dns.edns.GenericOption(dns.edns.OptionType.PADDING,
                                     b"\0" * 400)
        pad_big = dns.edns.GenericOption(dns.edns.OptionType.PADDING,
                                         b"\0" * 1200)
        cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE,
                                        b"\x01" * 8)
        cases = [
            ("A, no EDNS", make_query("out1." + Z, "A")),
            ("AAAA, EDNS", make_query("out2." + Z, "AAAA", edns=1232)),
            ("AAAA, EDNS+DO", make_query("out3." + Z, "AAAA", edns=4096,
                                         do=True)),
            ("padding 400", make_query("out4." + Z, "A", edns=1232,
                                       options=[pad])),
            ("padding 1200", make_query("out5." + Z, "TXT", edns=4096,
                                        options=[pad_big])),
            ("cookie", make_query("out6." + Z, "A", edns=1232,
                                  options=[cookie])),
            ("root, tiny", make_query(".", "A")),
            ("EDNS size 1", make_query("o." + Z, "A", edns=1)),
            ("EDNS size 0", make_query("o." + Z, "ANY", edns=0)),
            ("ipv4only.arpa", make_query("ipv4only.arpa", "AAAA")),
            ("ANY", make_query("out7." + Z, "ANY")),
        ]
        worst = 0.0
        n = 0
        forwarded0 = up.count
        for label, q in cases:
            wire = q.to_wire()
            for tcp in (False, True):
                data = (send_tcp_raw if tcp else send_udp_raw)(
                    wire, p.port, source=OUTSIDE, timeout=2)
                what = "%s over %s" % (label, "TCP" if tcp else "UDP")
                check(data is not None, what + ": no answer")
                eq(data[:2], wire[:2], what + ": ID")
                eq(data[3] & 0x0f, REFUSED, what + ": rcode")
                check(len(data) <= len(wire), "%s: answer of %d bytes to "
                      "a query of %d" % (what, len(data), len(wire)))
                check(V4_RDATA not in data, what + ": data in REFUSED")
                m = dns.message.from_wire(data)
                check(not m.answer and not m.authority,
                      what + ": records in REFUSED")
                worst = max(worst, len(data) / len(wire))
                n += 1
        # malformed ones from outside: FORMERR/NOTIMP, never larger
        bad = [
            ("qdcount 0 + OPT", b"\x55\x01\x01\x00\x00\x00\x00\x00\x00\x00"
             b"\x00\x01\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"),
            ("two OPT", make_query("o." + Z, "A").to_wire()[:10] +
             b"\x00\x02" + make_query("o." + Z, "A").to_wire()[12:] +
             b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00" * 2),
            ("NOTIFY", None),
            ("header only", b"\x55\x02\x01\x00" + bytes(8)),
            ("qdcount 2", b"\x55\x03\x01\x00\x00\x02" + bytes(6)
             + name_wire("a." + Z) + b"\x00\x01\x00\x01"),
        ]
        nq = make_query("o." + Z, "SOA", edns=1232)
        nq.set_opcode(dns.opcode.NOTIFY)
        bad[2] = ("NOTIFY", nq.to_wire())
        for label, wire in bad:
            data = send_udp_raw(wire, p.port, source=OUTSIDE, timeout=1)
            if data is None:
                continue
            check(len(data) <= len(wire), "%s from outside: answer of %d "
                  "bytes to %d" % (label, len(data), len(wire)))
            check(data[3] & 0x0f in (FORMERR, NOTIMP, REFUSED),
                  "%s from outside: rcode %d" % (label, data[3] & 0x0f))
            worst = max(worst, len(data) / len(wire))
            n += 1
        eq(up.count - forwarded0, 0, "queries from outside forwarded")
        figure("clients outside allow: %d queries (UDP and TCP, with and "
               "without EDNS, padded, tiny): all REFUSED or FORMERR/NOTIMP; "
               "largest answer/query size ratio %.2f" % (n, worst))
        alive()
    suite.case("outside_allow_refused_no_amplification", outside)

    # -----------------------------------------------------------------
    def slowloris():
        socks = []
        failed = 0
        log_before = len(p.log_text())
        queued = {}

        def queued_query():
            t = time.monotonic()
            try:
                data = send_tcp_raw(make_query("ok." + Z, "A").to_wire(),
                                    p.port, timeout=TCP_IDLE + 4)
                queued["ok"] = data is not None and V4_RDATA in data
            except Exception as e:
                queued["err"] = repr(e)
            queued["t"] = time.monotonic() - t
        try:
            t0 = time.monotonic()
            for _ in range(N_LORIS):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(2)
                try:
                    s.connect(("127.0.0.1", p.port))
                    socks.append(s)
                except OSError:
                    failed += 1
                    s.close()
            t_open = time.monotonic() - t0
            # UDP service meanwhile
            worst = 0.0
            for i in range(20):
                r = ask(p.port, "ok." + Z, "A", timeout=2)
                eq(r.addrs("A"), [V4], "UDP answer during slow-loris")
                worst = max(worst, r.elapsed)
            check(worst < 0.5, "UDP answer took %.2fs during slow-loris"
                  % worst)
            # the log line about the limit
            limit_line = None
            for _ in range(40):
                new = p.log_text()[log_before:]
                for line in new.splitlines():
                    if "TCP connections" in line and "limit" in line:
                        limit_line = line
                        break
                if limit_line:
                    break
                time.sleep(0.05)
            check(limit_line, "no log line about the TCP connection limit")
            # a TCP query beyond the cap waits in the backlog
            th = threading.Thread(target=queued_query, daemon=True)
            th.start()
            # the proxy closes idle connections after its idle timeout
            deadline = t0 + t_open + TCP_IDLE + 3.0
            closed = set()
            while time.monotonic() < deadline and \
                    len(closed) < min(256, len(socks)):
                live = [s for s in socks if s.fileno() not in closed]
                r, _, _ = select.select(live, [], [], 0.2)
                for s in r:
                    try:
                        d = s.recv(1)
                    except OSError:
                        d = b""
                    if not d:
                        closed.add(s.fileno())
            t_closed = time.monotonic() - t0
            th.join(TCP_IDLE + 5)
            check(len(closed) >= min(256, len(socks)),
                  "only %d of %d idle connections closed by the proxy "
                  "within %.0fs" % (len(closed), len(socks),
                                    t_open + TCP_IDLE + 3))
            check(TCP_IDLE - 1.0 <= t_closed, "idle connections closed "
                  "after %.1fs, before the idle timeout" % t_closed)
            check(queued.get("ok"), "the TCP query queued beyond the cap "
                  "was not answered: %r" % queued)
            # new connections are accepted again
            t1 = time.monotonic()
            r = ask(p.port, "ok." + Z, "A", tcp=True, timeout=3)
            eq(r.addrs("A"), [V4], "TCP after the idle ones were closed")
            t_new = time.monotonic() - t1
            check(t_new < 1.0, "new TCP connection served after %.2fs"
                  % t_new)
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
        figure("slow-loris: %d idle TCP connections opened in %.1f s (%d "
               "failed); UDP answers meanwhile in %.1f ms at most; log: "
               "\"%s\"" % (len(socks), t_open, failed, worst * 1000,
                           limit_line.split("]")[-1].strip()))
        figure("slow-loris: %d idle connections closed by the proxy after "
               "%.1f s (idle timeout %.0f s); TCP query queued beyond the "
               "cap answered after %.1f s; a new TCP connection then "
               "served in %.1f ms" % (len(closed), t_closed, TCP_IDLE,
                                     queued["t"], t_new * 1000))
        alive()
    suite.case("slowloris_idle_tcp", slowloris)

    def shutdown():
        check(p.alive(), "died before the end: %s" % p.log_tail())
        eq(p.stop(timeout=5), 0, "exit status after SIGTERM")
        log = p.log_text()
        check("Sanitizer" not in log and "runtime error" not in log,
              "sanitizer report in the log: " + p.log_tail(20))
    suite.case("shutdown", shutdown)


if __name__ == "__main__":
    Suite("e2e-hostile", deadline=100).run(main)
