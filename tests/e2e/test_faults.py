#!/usr/bin/python3
"""End-to-end: upstream faults (SPEC.md "DNS behaviour" 7 to 9).

The real binary behind upstreams that misbehave: silent, slow, sending
garbage, truncated packets, answers with a wrong ID, a wrong question, from
another source port or address, REFUSED and SERVFAIL, a dead first
upstream (closed port: ICMP; or silent), an upstream restarted under load,
and spoofed answers racing the real ones on the synthesis path.  Every case
checks what the client gets, that no spoofed or malformed data reaches it,
and that the next normal query is still answered.

Figures for the README's Reliability section are printed as "FIGURE: ".
"""

import heapq
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

import dns.exception     # noqa: E402
import dns.flags         # noqa: E402
import dns.message       # noqa: E402
import dns.name          # noqa: E402
import dns.rcode         # noqa: E402
import dns.rdata         # noqa: E402
import dns.rdataclass    # noqa: E402
import dns.rdatatype     # noqa: E402
import dns.rrset         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, free_port,  # noqa: E402
                     make_query, send_udp_raw, recv_exact,
                     StartError, CheckFailed)
from scripted_upstream import (ScriptedUpstream, Rule,  # noqa: E402
                               answer_rule, nodata, servfail, SILENT,
                               SPOOF_ADDRESS, parse_rr)

NOERROR = dns.rcode.NOERROR
SERVFAIL = dns.rcode.SERVFAIL
REFUSED = dns.rcode.REFUSED

TIMEOUT_MS = 400
ATTEMPTS = 2
T = TIMEOUT_MS / 1000.0
BOUND = T * ATTEMPTS + 1.0          # SERVFAIL at the latest (with slack)

V4 = "93.184.215.14"
V4_WKP = "64:ff9b::5db8:d70e"
V4B = "93.184.215.15"
V4B_WKP = "64:ff9b::5db8:d70f"
# what a spoofed answer would show once relayed or synthesized
BAD = (SPOOF_ADDRESS, "64:ff9b::606:606", "2001:db8:6666::6",
       "6.6.6.7", "64:ff9b::606:607")

Z = "f.test."


def figure(text):
    print("FIGURE: " + text)


def conf(upstreams, timeout=TIMEOUT_MS, attempts=ATTEMPTS):
    return ("[server]\nlisten = {listen}\nupstream = %s\ntimeout = %d\n"
            "attempts = %d\nallow = 127.0.0.0/8 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\n" % (upstreams, timeout,
                                                 attempts))


def clean(r, what):
    """No spoofed address anywhere in the client's answer."""
    text = r.msg.to_text()
    for bad in BAD:
        check(bad not in text.split(),
              "%s: spoofed data %s reached the client: %s" % (what, bad, r))


def servfail_in_bound(p, name, qtype, bound=BOUND, lower=None):
    r = ask(p.port, name, qtype, timeout=bound + 2)
    eq(r.rcode, SERVFAIL, "%s %s rcode" % (name, qtype))
    check(not r.msg.answer, "SERVFAIL with answer records: %r" % r)
    check(r.elapsed <= bound, "SERVFAIL after %.2fs > bound %.2fs" % (
        r.elapsed, bound))
    if lower is not None:
        check(r.elapsed >= lower, "SERVFAIL after %.2fs, before the "
              "attempts could time out (%.2fs)" % (r.elapsed, lower))
    clean(r, name)
    return r


def parallel(calls):
    """Run (label, fn, args) calls at once; raise the first failure."""
    errs = [None] * len(calls)

    def run(k):
        try:
            calls[k][1](*calls[k][2])
        except Exception as e:
            errs[k] = e
    ths = [threading.Thread(target=run, args=(k,), daemon=True)
           for k in range(len(calls))]
    for th in ths:
        th.start()
    for th in ths:
        th.join(30)
    for (label, _, _), e in zip(calls, errs):
        if e is not None:
            raise CheckFailed("%s: %s" % (label, e))


def a_is(r, addr, what):
    eq(r.rcode, NOERROR, what + " rcode")
    eq(sorted(r.addrs("A")), [addr], what + " A records")
    clean(r, what)


def aaaa_is(r, addr, what):
    eq(r.rcode, NOERROR, what + " rcode")
    eq(sorted(r.addrs("AAAA")), [addr], what + " AAAA records")
    clean(r, what)


# -- a raw upstream for what the scripted one does not do ---------------------

class RawQuery:
    def __init__(self, wire, addr):
        self.wire = wire
        self.addr = addr
        self.msg = None
        self.id = struct.unpack("!H", wire[:2])[0] if len(wire) >= 2 else 0
        self.qname = None
        self.qtype = None
        try:
            self.msg = dns.message.from_wire(wire)
            self.qname = self.msg.question[0].name.to_text().lower()
            self.qtype = self.msg.question[0].rdtype
        except Exception:
            pass


class RawUpstream:
    """A UDP upstream on 127.0.0.1 whose handler writes every packet:
    handler(up, RawQuery) -> [(delay, socket, bytes)].  Sockets at hand:
    up.sock (the upstream's own), up.other (127.0.0.1, another port) and,
    with alt_hosts, up.alt[host] (that host, the upstream's port)."""

    def __init__(self, handler, alt_hosts=(), port=0, tcp_handler=None):
        self.handler = handler
        self.tcp_handler = tcp_handler
        self.tcp = None
        self.log = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._pending = []
        self._seq = 0
        self.alt = {}
        for _ in range(20):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", port))
            p = s.getsockname()[1]
            alts = {}
            try:
                if tcp_handler is not None:
                    self.tcp = socket.socket(socket.AF_INET,
                                             socket.SOCK_STREAM)
                    self.tcp.setsockopt(socket.SOL_SOCKET,
                                        socket.SO_REUSEADDR, 1)
                    alts["tcp"] = self.tcp
                    self.tcp.bind(("127.0.0.1", p))
                    self.tcp.listen(64)
                for h in alt_hosts:
                    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    alts[h] = a
                    a.bind((h, p))
            except OSError:
                s.close()
                for a in alts.values():
                    a.close()
                if port:
                    raise
                continue
            break
        else:
            raise OSError("no port for the raw upstream")
        self.sock = s
        self.port = p
        alts.pop("tcp", None)
        self.alt = alts
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.other.bind(("127.0.0.1", 0))
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()

    def queries(self, qname=None):
        with self.lock:
            out = list(self.log)
        if qname is not None:
            qn = qname.lower().rstrip(".") + "."
            out = [q for q in out if q.qname == qn]
        return out

    def stop(self):
        self._stop.set()
        self._th.join(3)
        for s in [self.sock, self.other] + list(self.alt.values()) + (
                [self.tcp] if self.tcp else []):
            s.close()

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
                q = RawQuery(data, c.getpeername())
                with self.lock:
                    self.log.append(q)
                if not self.tcp_handler(self, c, q):
                    return
        except OSError:
            pass
        finally:
            c.close()

    def _loop(self):
        while not self._stop.is_set():
            now = time.monotonic()
            due = []
            while self._pending and self._pending[0][0] <= now:
                due.append(heapq.heappop(self._pending))
            for _, _, sock, data, addr in due:
                try:
                    sock.sendto(data, addr)
                except OSError:
                    pass
            wait = 0.02
            if self._pending:
                wait = max(0.0, min(wait, self._pending[0][0] - now))
            try:
                r, _, _ = select.select([self.sock] + (
                    [self.tcp] if self.tcp else []), [], [], wait)
            except (OSError, ValueError):
                return
            if self.tcp is not None and self.tcp in r:
                try:
                    c, _ = self.tcp.accept()
                    threading.Thread(target=self._tcp_conn, args=(c,),
                                     daemon=True).start()
                except OSError:
                    pass
            if self.sock not in r:
                continue
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                continue
            q = RawQuery(data, addr)
            with self.lock:
                self.log.append(q)
            try:
                out = self.handler(self, q) or []
            except Exception as e:          # a test bug: say so, stay up
                print("raw upstream handler: %s: %s" % (type(e).__name__, e))
                out = []
            for delay, sock, wire in out:
                self._seq += 1
                heapq.heappush(self._pending, (time.monotonic() + delay,
                                               self._seq, sock, wire, addr))


def response(q, *records, rcode=NOERROR, qid=None, qname=None):
    """The wire answer to a RawQuery q with zone-file records."""
    m = dns.message.make_response(q.msg)
    m.flags |= dns.flags.RA
    m.set_rcode(rcode)
    if qid is not None:
        m.id = qid
    if qname is not None:
        m.question = [dns.rrset.RRset(dns.name.from_text(qname),
                                      q.msg.question[0].rdclass,
                                      q.msg.question[0].rdtype)]
    for line in records:
        name, ttl, rdclass, rdata = parse_rr(line)
        rrs = m.find_rrset(m.answer, name, rdclass, rdata.rdtype,
                           create=True)
        rrs.add(rdata, ttl)
    return m.to_wire(want_shuffle=False)



# -- garbage and truncation ---------------------------------------------------

def real_a_wire(q, addrs=(V4, V4B)):
    m = dns.message.make_response(q)
    m.flags |= dns.flags.RA
    for a in addrs:
        name, ttl, rdclass, rdata = parse_rr("%s 300 A %s" % (
            q.question[0].name.to_text(), a))
        m.find_rrset(m.answer, name, rdclass, rdata.rdtype,
                     create=True).add(rdata, ttl)
    return m.to_wire(want_shuffle=False)


def garbage_kinds(q):
    """(label, wire) garbage answers to q, most with q's own ID."""
    rnd = random.Random(q.id)
    qid = struct.pack("!H", q.id)
    good = real_a_wire(q)
    qlen = 12 + len(q.question[0].name.to_wire()) + 4
    out = [
        ("random", bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(
            1, 300)))),
        ("id+random", qid + bytes(rnd.getrandbits(8) for _ in range(80))),
        ("id only", qid),
        ("header only", qid + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"),
        # counts far larger than the packet
        ("huge counts", qid + b"\x81\x80\x00\x01\xff\xff\xff\xff\xff\xff"
         + good[12:]),
        # answer name: a pointer to itself
        ("pointer loop", good[:qlen] + struct.pack("!H", 0xc000 | qlen)
         + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x06\x06\x06\x06"),
        # a pointer forward, past the end
        ("pointer out", good[:qlen] + b"\xff\xff"
         + b"\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x06\x06\x06\x06"),
        # an A record with RDLENGTH 300 in a 100-byte packet
        ("rdlength past end", good[:qlen] + b"\xc0\x0c\x00\x01\x00\x01"
         b"\x00\x00\x01\x2c\x01\x2c\x06\x06\x06\x06"),
        # QR clear: a query, not an answer
        ("qr clear", qid + bytes([good[2] & 0x7f]) + good[3:]),
        # 2 questions
        ("qdcount 2", good[:4] + b"\x00\x02" + good[6:]),
    ]
    return out


def truncated_kinds(q):
    """(label, wire): q's real answer cut in several places."""
    good = real_a_wire(q)
    qlen = 12 + len(q.question[0].name.to_wire()) + 4
    # 2 A records of 16 bytes each after the question
    return [
        ("mid second rdata", good[:len(good) - 2]),
        ("mid second rr header", good[:qlen + 16 + 5]),
        ("mid first rdata", good[:qlen + 12 + 2]),
        ("after question", good[:qlen]),
        ("mid question", good[:12 + 3]),
        ("mid header", good[:7]),
    ]


# -- the cases ----------------------------------------------------------------

def main(suite):
    suite.require_binary()
    up = ScriptedUpstream().start()
    suite.cleanups.append(up.stop)
    S = up.set
    S("ok." + Z, "A", answer_rule("ok.%s 300 A %s" % (Z, V4)))
    S("ok." + Z, "AAAA", nodata(zone=Z))

    proxies = []

    def alive(p, what="next query"):
        """The proxy is up and answers the next normal query."""
        check(p.alive(), "the proxy died: %s" % p.log_tail())
        r = ask(p.port, "ok." + Z, "A", timeout=BOUND + 2)
        a_is(r, V4, what)
        r = ask(p.port, "ok." + Z, "AAAA", timeout=BOUND + 2)
        aaaa_is(r, V4_WKP, what + " (synthesized)")

    def start(conf_text, name):
        p = Proxy(suite, conf_text, name=name)
        proxies.append(p)
        p.start()
        return p

    def shutdown(p):
        def body():
            check(p.alive(), "%s died before the end: %s" % (
                p.name, p.log_tail()))
            rc = p.stop(timeout=BOUND + 5)
            eq(rc, 0, "exit status after SIGTERM")
            log = p.log_text()
            check("Sanitizer" not in log and "runtime error" not in log,
                  "sanitizer report in the log: " + p.log_tail(20))
        suite.case("shutdown_" + p.name, body)

    def block(body, conf_text, name):
        try:
            p = start(conf_text, name)
        except StartError as e:
            suite.fail("start_" + name, str(e))
            return
        try:
            body(p)
        finally:
            shutdown(p)

    U = "127.0.0.1:%d" % up.port

    # ------------------------------------------------------------------
    def scripted_cases(p):
        # silent upstream: SERVFAIL after timeout x attempts
        S("silent." + Z, "A", SILENT)

        def silent():
            r = servfail_in_bound(p, "silent." + Z, "A",
                                  lower=T * ATTEMPTS - 0.05)
            eq(len(up.queries("silent." + Z, "A")), ATTEMPTS,
               "upstream attempts")
            figure("silent upstream: SERVFAIL after %.2f s (timeout %d ms x "
                   "%d attempts, bound %.1f s)" % (r.elapsed, TIMEOUT_MS,
                                                  ATTEMPTS, BOUND))
            alive(p)
        suite.case("silent_upstream_servfail_in_bound", silent)

        S("silent-both." + Z, None, SILENT)

        def silent_both():
            # AAAA times out, then the follow-up A times out too
            r = servfail_in_bound(p, "silent-both." + Z, "AAAA",
                                  bound=2 * T * ATTEMPTS + 1.0,
                                  lower=2 * T * ATTEMPTS - 0.05)
            figure("silent upstream, AAAA then A: SERVFAIL after %.2f s "
                   "(bound %.1f s)" % (r.elapsed, 2 * T * ATTEMPTS + 1))
            alive(p)
        suite.case("silent_upstream_aaaa_and_a_servfail", silent_both)

        S("silent-aaaa." + Z, "AAAA", SILENT)
        S("silent-aaaa." + Z, "A", answer_rule("silent-aaaa.%s 300 A %s"
                                               % (Z, V4)))

        def silent_aaaa():
            r = ask(p.port, "silent-aaaa." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "AAAA timed out, A answered")
            check(r.elapsed <= BOUND, "answer after %.2fs" % r.elapsed)
            alive(p)
        suite.case("silent_aaaa_synthesized_from_a", silent_aaaa)

        # slow: half the timeout
        S("slow." + Z, "A", answer_rule("slow.%s 300 A %s" % (Z, V4),
                                        delay=T / 2))
        S("slow." + Z, "AAAA", nodata(zone=Z, delay=T / 2))

        def slow():
            r = ask(p.port, "slow." + Z, "A", timeout=BOUND + 2)
            a_is(r, V4, "slow A")
            check(T / 2 - 0.02 <= r.elapsed < T, "slow answer after %.2fs"
                  % r.elapsed)
            eq(len(up.queries("slow." + Z, "A")), 1, "upstream A queries")
            t_a = r.elapsed
            up.clear_log()
            r = ask(p.port, "slow." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "slow AAAA then slow A")
            check(r.elapsed < 2 * T, "synthesized after %.2fs" % r.elapsed)
            eq(len(up.queries("slow." + Z)), 2, "AAAA + A, no retry")
            figure("slow upstream (%.0f ms, half the timeout): real A answer "
                   "in %.0f ms, synthesized AAAA (2 slow answers) in %.0f "
                   "ms, no retry" % (T / 2 * 1000, t_a * 1000,
                                     r.elapsed * 1000))
            alive(p)
        suite.case("slow_upstream_real_answer", slow)

        # garbage: every kind alone gives SERVFAIL, never the garbage
        def garbage():
            kinds = garbage_kinds(make_query("x." + Z))
            calls = []
            for i, (label, _) in enumerate(kinds):
                name = "garbage%d.%s" % (i, Z)

                def fn(q, transport, i=i):
                    return garbage_kinds(q)[i][1]
                S(name, "A", Rule(func=fn))
                # the synthesis path: garbage instead of the A answer
                S(name, "AAAA", nodata(zone=Z))
                for qtype in ("A", "AAAA"):
                    calls.append(("garbage %r (%s)" % (label, qtype),
                                  servfail_in_bound, (p, name, qtype)))
            parallel(calls)
            figure("garbage answers (%d kinds, A and synthesis path): all "
                   "SERVFAIL within %.1f s, none relayed" % (len(kinds),
                                                             BOUND))
            alive(p)
        suite.case("garbage_answers_servfail", garbage)

        # garbage for the AAAA query: dropped, timed out, synthesized
        def garbage_aaaa():
            name = "garbage-aaaa." + Z
            S(name, "AAAA", Rule(func=lambda q, t: garbage_kinds(q)[1][1]))
            S(name, "A", answer_rule("%s 300 A %s" % (name, V4)))
            r = ask(p.port, name, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "garbage AAAA answer")
            alive(p)
        suite.case("garbage_aaaa_answer_synthesized_from_real_a",
                   garbage_aaaa)

        # an A answer that parses but holds a record whose RDATA does not
        # (an NS name cut short in the authority section): the synthesis
        # cannot copy it faithfully, so SERVFAIL, not TC (which would only
        # send the client to TCP for the same broken data)
        def broken_rdata():
            name = "broken-rdata." + Z

            def fn(q, transport):
                hdr = struct.pack(">HHHHHH", q.id, 0x8180, 1, 1, 1, 0)
                qw = q.question[0].name.to_wire() + struct.pack(">HH", 1, 1)
                a = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4)
                     + socket.inet_aton(V4))
                ns = (b"\xc0\x0c" + struct.pack(">HHIH", 2, 1, 300, 3)
                      + b"\x05ab")
                return hdr + qw + a + ns
            S(name, "A", Rule(func=fn))
            S(name, "AAAA", nodata(zone=Z))
            r = servfail_in_bound(p, name, "AAAA")
            check(not r.flag(dns.flags.TC), "SERVFAIL with TC set")
            alive(p)
        suite.case("broken_rdata_in_a_answer_servfail", broken_rdata)

        def truncated():
            kinds = truncated_kinds(make_query("x." + Z))
            calls = []
            for i, (label, _) in enumerate(kinds):
                name = "trunc%d.%s" % (i, Z)

                def fn(q, transport, i=i):
                    return truncated_kinds(q)[i][1]
                S(name, "A", Rule(func=fn))
                S(name, "AAAA", nodata(zone=Z))
                for qtype in ("A", "AAAA"):
                    calls.append(("truncated %r (%s)" % (label, qtype),
                                  servfail_in_bound, (p, name, qtype)))
            parallel(calls)
            figure("truncated answers (%d cuts, A and synthesis path): all "
                   "SERVFAIL, no partial answer" % len(kinds))
            alive(p)
        suite.case("truncated_answers_servfail", truncated)

        # wrong ID / wrong question / other source port: alone -> SERVFAIL;
        # racing the real answer -> the real answer
        for kind in ("wrong_id", "wrong_question", "other_port"):
            only = "%s-only.%s" % (kind.replace("_", "-"), Z)
            race = "%s-race.%s" % (kind.replace("_", "-"), Z)
            S(only, "A", answer_rule("%s 300 A %s" % (only, V4),
                                     spoof=[kind], spoof_only=True))
            S(race, "A", answer_rule("%s 300 A %s" % (race, V4),
                                     spoof=[kind]))

            def spoofed(only=only, race=race):
                servfail_in_bound(p, only, "A")
                r = ask(p.port, race, "A", timeout=BOUND + 2)
                a_is(r, V4, "real answer after the spoofed one")
                check(r.elapsed < T, "real answer after %.2fs: the spoofed "
                      "one broke the attempt" % r.elapsed)
                eq(len(up.queries(race, "A")), 1, "upstream queries")
                alive(p)
            suite.case("%s_dropped" % kind, spoofed)

        # REFUSED and SERVFAIL from the upstream
        S("refused." + Z, "A", Rule(rcode="REFUSED"))
        S("refused." + Z, "AAAA", Rule(rcode="REFUSED"))
        S("servfail." + Z, "A", servfail())
        S("servfail." + Z, "AAAA", servfail())
        S("refused-aaaa." + Z, "AAAA", Rule(rcode="REFUSED"))
        S("refused-aaaa." + Z, "A", answer_rule("refused-aaaa.%s 300 A %s"
                                                % (Z, V4)))
        S("servfail-aaaa." + Z, "AAAA", servfail())
        S("servfail-aaaa." + Z, "A", answer_rule("servfail-aaaa.%s 300 A %s"
                                                 % (Z, V4)))

        def rcodes():
            r = ask(p.port, "refused." + Z, "A", timeout=BOUND + 2)
            eq(r.rcode, REFUSED, "upstream REFUSED relayed")
            check(not r.msg.answer, "REFUSED with records")
            r = ask(p.port, "servfail." + Z, "A", timeout=BOUND + 2)
            eq(r.rcode, SERVFAIL, "upstream SERVFAIL relayed")
            # AAAA: on_error = yes synthesizes from the A answer; when the
            # A query fails too, its error goes to the client
            r = ask(p.port, "refused-aaaa." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "AAAA REFUSED, A answered")
            r = ask(p.port, "servfail-aaaa." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "AAAA SERVFAIL, A answered")
            r = ask(p.port, "refused." + Z, "AAAA", timeout=BOUND + 2)
            check(r.rcode in (REFUSED, SERVFAIL), "AAAA and A REFUSED: %s"
                  % dns.rcode.to_text(r.rcode))
            check(not r.msg.answer, "records in %r" % r)
            r = ask(p.port, "servfail." + Z, "AAAA", timeout=BOUND + 2)
            eq(r.rcode, SERVFAIL, "AAAA and A SERVFAIL")
            check(not r.msg.answer, "records in %r" % r)
            alive(p)
        suite.case("refused_servfail_from_upstream", rcodes)

        # malformed A records on the synthesis path: never synthesized
        def bad_rdata(q, transport):
            w = real_a_wire(q, addrs=(V4,))
            # RDLENGTH 4 -> 3 (and the packet one byte shorter), then 5
            if q.question[0].name.labels[0] == b"rdlen3":
                return w[:-6] + b"\x00\x03" + w[-4:-1]
            return w[:-6] + b"\x00\x05" + w[-4:] + b"\x07"
        for nm in ("rdlen3", "rdlen5"):
            S("%s.%s" % (nm, Z), "A", Rule(func=bad_rdata))
            S("%s.%s" % (nm, Z), "AAAA", nodata(zone=Z))

        def bad_a():
            relayed = 0
            for nm in ("rdlen3", "rdlen5"):
                r = ask(p.port, "%s.%s" % (nm, Z), "AAAA",
                        timeout=BOUND + 2)
                check(not r.addrs("AAAA"),
                      "%s: AAAA synthesized from a malformed A record: %r"
                      % (nm, r))
                clean(r, nm)
                # plain A: the proxy relays what the upstream sent; a
                # record with a bad RDLENGTH may go through as it is
                q = make_query("%s.%s" % (nm, Z), "A")
                data = send_udp_raw(q.to_wire(), p.port, timeout=BOUND + 2)
                check(data is not None, "%s A: no answer" % nm)
                check(data[:2] == q.to_wire()[:2], "%s A: wrong ID" % nm)
                try:
                    m = dns.message.from_wire(data)
                    check(m.rcode() == SERVFAIL or
                          [rd.address for rrs in m.answer for rd in rrs]
                          in ([], [V4]), "%s A: %s" % (nm, m))
                except dns.exception.FormError:
                    relayed += 1
            figure("A records with RDLENGTH 3 and 5: synthesized 0 of 2; "
                   "relayed as received on the plain A path: %d of 2"
                   % relayed)
            alive(p)
        suite.case("malformed_a_rdata_never_synthesized", bad_a)

        # huge answers: truncated properly for each client, never cut
        huge_cache = {}

        def huge(q, transport):
            # built once (3000 records take a while in Python on a busy
            # machine, longer than the proxy's timeout), then only the ID
            # changes
            key = (q.question[0].name.to_text(), q.flags & 0x0110,
                   q.edns, q.payload)
            if key in huge_cache:
                return struct.pack("!H", q.id) + huge_cache[key][2:]
            huge_cache[key] = huge_build(q)
            return huge_cache[key]

        def huge_build(q):
            m = dns.message.make_response(q)
            m.flags |= dns.flags.RA
            rrs = m.find_rrset(m.answer, q.question[0].name,
                               dns.rdataclass.IN, dns.rdatatype.A,
                               create=True)
            for i in range(3000):
                rrs.add(dns.rdata.from_text(
                    dns.rdataclass.IN, dns.rdatatype.A,
                    "93.184.%d.%d" % (i // 250, i % 250 + 1)), 300)
            return m.to_wire(want_shuffle=False, max_size=65535)
        S("huge." + Z, "A", Rule(func=huge))
        S("huge." + Z, "AAAA", nodata(zone=Z))

        def huge_answers():
            seen = []
            variants = (
                    ("A", {}, 512), ("A", {"edns": 4096}, 4096),
                    ("A", {"edns": 65000}, 65000), ("A", {"tcp": True}, 65535),
                    ("AAAA", {}, 512), ("AAAA", {"edns": 4096}, 4096),
                    ("AAAA", {"edns": 65000}, 65000),
                    ("AAAA", {"tcp": True}, 65535))
            # warm the upstream's cache of built answers: a slow first
            # build may exceed the proxy's timeout on a loaded machine
            for qtype, kw, limit in variants:
                try:
                    ask(p.port, "huge." + Z, qtype, timeout=BOUND + 2, **kw)
                except Exception:
                    pass
            for qtype, kw, limit in (
                    ("A", {}, 512), ("A", {"edns": 4096}, 4096),
                    ("A", {"edns": 65000}, 65000), ("A", {"tcp": True}, 65535),
                    ("AAAA", {}, 512), ("AAAA", {"edns": 4096}, 4096),
                    ("AAAA", {"edns": 65000}, 65000),
                    ("AAAA", {"tcp": True}, 65535)):
                r = ask(p.port, "huge." + Z, qtype, timeout=BOUND + 2, **kw)
                what = "%s %s" % (qtype, kw or "UDP")
                check(len(r.wire) <= limit, "%s: %d bytes > %d" % (
                    what, len(r.wire), limit))
                n = len(r.addrs(qtype))
                tc = r.flag(dns.flags.TC)
                check(n == 3000 or tc, "%s: %d records without TC" % (
                    what, n))
                clean(r, what)
                if qtype == "AAAA":
                    for a in r.addrs("AAAA"):
                        check(a.startswith("64:ff9b::5db8:"), "%s: %s" % (
                            what, a))
                seen.append("%s %s: %d bytes, %d records%s" % (
                    qtype, "TCP" if kw.get("tcp") else "EDNS %d" % kw[
                        "edns"] if kw else "UDP", len(r.wire), n,
                    ", TC" if tc else ""))
            figure("an upstream answer of 3000 A records (48 KB): " +
                   "; ".join(seen))
            alive(p)
        suite.case("huge_answers_truncated_properly", huge_answers)

        # spoofed answers racing the real ones on the synthesis path
        names = ["synth-race%d.%s" % (i, Z) for i in range(20)]
        for i, nm in enumerate(names):
            S(nm, "AAAA", nodata(zone=Z, spoof=["wrong_id", "wrong_question",
                                                "other_port"]))
            S(nm, "A", answer_rule("%s 300 A %s" % (nm, V4), spoof=[
                "wrong_id", "wrong_question", "other_port"]))

        def synth_race():
            results = [None] * len(names)

            def one(i):
                try:
                    results[i] = ask(p.port, names[i], "AAAA",
                                     timeout=BOUND + 2)
                except Exception as e:
                    results[i] = e
            ths = [threading.Thread(target=one, args=(i,))
                   for i in range(len(names))]
            for th in ths:
                th.start()
            for th in ths:
                th.join(BOUND + 5)
            for nm, r in zip(names, results):
                check(not isinstance(r, Exception) and r is not None,
                      "%s: %r" % (nm, r))
                aaaa_is(r, V4_WKP, nm)
            figure("spoofed answers raced on the synthesis path: %d (%d "
                   "queries x 2 upstream queries x 3 kinds), synthesized "
                   "from a spoof: 0" % (len(names) * 6, len(names)))
            alive(p)
        suite.case("synthesis_spoof_race", synth_race)

    block(scripted_cases, conf(U), "scripted")

    # ------------------------------------------------------------------
    # a raw upstream: answers from 127.0.0.2, garbage then the real answer
    def raw_handler(u, q):
        if q.msg is None or q.qname is None:
            return []
        label = q.qname.split(".")[0]
        real = response(q, "%s 300 %s %s" % (
            q.qname, dns.rdatatype.to_text(q.qtype),
            V4 if q.qtype == dns.rdatatype.A else "2001:db8::1")) \
            if q.qtype in (dns.rdatatype.A, dns.rdatatype.AAAA) else None
        if label == "nodata-aaaa":
            return [(0, u.sock, response(q))]
        forged = response(q, "%s 300 A %s" % (q.qname, SPOOF_ADDRESS))
        if label == "alt-only":
            return [(0, u.alt["127.0.0.2"], forged)]
        if label == "alt-race":
            return [(0, u.alt["127.0.0.2"], forged), (0.03, u.sock, real)]
        if label.startswith("garbage-race"):
            out = [(0, u.sock, g) for _, g in garbage_kinds(q.msg)]
            out += [(0, u.sock, t) for _, t in truncated_kinds(q.msg)]
            return out + [(0.03, u.sock, real)]
        if label == "ok":
            return [(0, u.sock, real)] if q.qtype == dns.rdatatype.A \
                else [(0, u.sock, response(q))]
        return [(0, u.sock, response(q, rcode=dns.rcode.NXDOMAIN))]

    try:
        raw = RawUpstream(raw_handler, alt_hosts=("127.0.0.2",))
    except OSError as e:
        suite.fail("raw_upstream", "cannot bind 127.0.0.2: %s" % e)
        raw = None
    if raw is not None:
        suite.cleanups.append(raw.stop)

        def raw_cases(p):
            def other_address():
                servfail_in_bound(p, "alt-only." + Z, "A")
                r = ask(p.port, "alt-race." + Z, "A", timeout=BOUND + 2)
                a_is(r, V4, "answer from 127.0.0.2 racing the real one")
                check(r.elapsed < T, "real answer after %.2fs" % r.elapsed)
                eq(len(raw.queries("alt-race." + Z)), 1, "upstream queries")
                alive(p)
            suite.case("answer_from_other_address_dropped", other_address)

            def garbage_race():
                n = len(garbage_kinds(make_query("x." + Z))) + \
                    len(truncated_kinds(make_query("x." + Z)))
                r = ask(p.port, "garbage-race." + Z, "A", timeout=BOUND + 2)
                a_is(r, V4, "real answer after %d bad packets" % n)
                check(r.elapsed < T, "real answer after %.2fs: the garbage "
                      "broke the attempt" % r.elapsed)
                eq(len(raw.queries("garbage-race." + Z)), 1,
                   "upstream queries")
                figure("garbage and truncated packets (%d) before the real "
                       "answer: real answer in %.0f ms, no retry" % (
                           n, r.elapsed * 1000))
                alive(p)
            suite.case("garbage_then_real_answer", garbage_race)
        block(raw_cases, conf("127.0.0.1:%d" % raw.port), "raw")

    # ------------------------------------------------------------------
    # an upstream misbehaving over TCP (client queries over TCP go to the
    # upstream over TCP)
    def frame(w):
        return struct.pack("!H", len(w)) + w

    def tcp_handler(u, c, q):
        """True: keep reading the connection."""
        if q.msg is None:
            return False
        label = q.qname.split(".")[0]
        real = response(q, "%s 300 A %s" % (q.qname, V4)) \
            if q.qtype == dns.rdatatype.A else response(q)
        if label == "tcp-close":
            return False
        if label == "tcp-reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            return False
        if label == "tcp-short-close":          # length 100, 10 bytes
            c.sendall(b"\x00\x64" + real[:10])
            return False
        if label == "tcp-short-stall":
            c.sendall(b"\x00\x64" + real[:10])
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-zero":
            c.sendall(b"\x00\x00")
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-max-partial":          # 65535 announced
            c.sendall(b"\xff\xff" + real)
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-wrong-id":
            w = bytearray(real)
            w[0] ^= 0x5a
            c.sendall(frame(bytes(w)))
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-forged":               # wrong ID and question
            c.sendall(frame(response(q, "%s 300 A %s" % (
                q.qname, SPOOF_ADDRESS), qid=q.id ^ 0x5a)))
            c.sendall(frame(response(q, "x%s 300 A %s" % (
                q.qname, SPOOF_ADDRESS), qname="x" + q.qname)))
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-garbage":
            c.sendall(frame(garbage_kinds(q.msg)[1][1]))
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-truncated":
            c.sendall(frame(truncated_kinds(q.msg)[0][1]))
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-silent":
            time.sleep(BOUND + 0.5)
            return False
        if label == "tcp-dribble":              # one byte every 5 ms
            for b in frame(real):
                c.send(bytes([b]))
                time.sleep(0.005)
            return True
        c.sendall(frame(real))
        return True

    def udp_plain(u, q):
        if q.msg is None:
            return []
        if q.qtype == dns.rdatatype.A and q.qname.startswith("ok."):
            return [(0, u.sock, response(q, "%s 300 A %s" % (q.qname, V4)))]
        return [(0, u.sock, response(q))]

    tu = RawUpstream(udp_plain, tcp_handler=tcp_handler)
    suite.cleanups.append(tu.stop)

    def tcp_cases(p):
        def body():
            labels = ["tcp-close", "tcp-reset", "tcp-short-close",
                      "tcp-short-stall", "tcp-zero", "tcp-max-partial",
                      "tcp-wrong-id", "tcp-forged", "tcp-garbage",
                      "tcp-truncated", "tcp-silent"]
            res = {}

            def one(lab):
                r = ask(p.port, "%s.%s" % (lab, Z), "A", tcp=True,
                        timeout=BOUND + 2)
                eq(r.rcode, SERVFAIL, lab + " rcode")
                check(not r.msg.answer, "%s: records %r" % (lab, r))
                check(r.elapsed <= BOUND, "%s: SERVFAIL after %.2fs" % (
                    lab, r.elapsed))
                res[lab] = r.elapsed
                # the synthesis path over TCP: the A query misbehaves
                r = ask(p.port, "%s.%s" % (lab, Z), "AAAA", tcp=True,
                        timeout=2 * BOUND + 2)
                check(not r.addrs("AAAA"), "%s: AAAA synthesized %r" % (
                    lab, r))
                clean(r, lab)
            parallel([(lab, one, (lab,)) for lab in labels])
            r = ask(p.port, "tcp-dribble." + Z, "A", tcp=True,
                    timeout=BOUND + 2)
            a_is(r, V4, "answer written one byte at a time")
            figure("upstream misbehaving over TCP (%d kinds: close, reset, "
                   "short frame, zero length, 65535 announced, wrong ID, "
                   "forged, garbage, truncated, silent): all SERVFAIL, the "
                   "slowest after %.2f s; an answer dribbled byte by byte: "
                   "relayed in %.0f ms" % (len(labels), max(res.values()),
                                          r.elapsed * 1000))
            alive(p)
            r = ask(p.port, "ok." + Z, "A", tcp=True, timeout=BOUND + 2)
            a_is(r, V4, "next query over TCP")
        suite.case("tcp_upstream_faults", body)
    block(tcp_cases, conf("127.0.0.1:%d" % tu.port), "tcp")

    # ------------------------------------------------------------------
    # the first of two upstreams dead: a closed port (ICMP), then silent
    closed = free_port(False, stable=True)   # stays closed
    S("two." + Z, "A", answer_rule("two.%s 300 A %s" % (Z, V4)))
    S("two." + Z, "AAAA", nodata(zone=Z))

    def dead_icmp(p):
        def body():
            times = []
            for _ in range(5):
                r = ask(p.port, "two." + Z, "A", timeout=BOUND + 2)
                a_is(r, V4, "answer from the second upstream")
                times.append(r.elapsed)
            r = ask(p.port, "two." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "synthesized via the second upstream")
            worst = max(times)
            check(worst < T, "failover after ICMP took %.2fs (>= the "
                  "timeout: the port unreachable error was not used)" % worst)
            figure("first upstream a closed port (ICMP): answer from the "
                   "second in %.1f ms (max of 5; timeout %d ms)" % (
                       worst * 1000, TIMEOUT_MS))
            alive(p)
        suite.case("first_upstream_closed_port", body)
    block(dead_icmp, conf("127.0.0.1:%d %s" % (closed, U)), "dead-icmp")

    # the first upstream answers REFUSED or SERVFAIL: the second is asked
    # at once, each upstream once; the last error is relayed; a DNSSEC
    # SERVFAIL (EDE 6 to 12) is a verdict and goes back as it is
    up_b = ScriptedUpstream().start()
    suite.cleanups.append(up_b.stop)
    up_b.set("two." + Z, "A", answer_rule("two.%s 300 A %s" % (Z, V4)))
    S("first-refused." + Z, "A", Rule(rcode="REFUSED"))
    up_b.set("first-refused." + Z, "A", answer_rule(
        "first-refused.%s 300 A %s" % (Z, V4)))
    S("first-servfail." + Z, "A", servfail())
    up_b.set("first-servfail." + Z, "A", answer_rule(
        "first-servfail.%s 300 A %s" % (Z, V4)))
    S("both-refused." + Z, "A", Rule(rcode="REFUSED"))
    up_b.set("both-refused." + Z, "A", Rule(rcode="REFUSED"))
    S("first-bogus." + Z, "A", servfail(ede=(6, "bogus")))
    up_b.set("first-bogus." + Z, "A", answer_rule(
        "first-bogus.%s 300 A %s" % (Z, V4)))
    S("aaaa-refused." + Z, "AAAA", Rule(rcode="REFUSED"))
    up_b.set("aaaa-refused." + Z, "AAAA", nodata(zone=Z))
    S("aaaa-refused." + Z, "A", answer_rule(
        "aaaa-refused.%s 300 A %s" % (Z, V4)))

    def first_error(p):
        def body():
            seen = []
            for nm in ("first-refused", "first-servfail"):
                name = "%s.%s" % (nm, Z)
                r = ask(p.port, name, "A", timeout=BOUND + 2)
                check(r.elapsed < T, "answer after %.2fs: the error did "
                      "not end the attempt at once" % r.elapsed)
                a_is(r, V4, nm + ": the second upstream's answer")
                eq(len(up.queries(name, "A")), 1, nm + ": first asked")
                eq(len(up_b.queries(name, "A")), 1, nm + ": second asked")
                seen.append("%s: answer of the second upstream in %.1f ms"
                            % (nm, r.elapsed * 1000))
            r = ask(p.port, "first-refused." + Z, "A", tcp=True,
                    timeout=BOUND + 2)
            a_is(r, V4, "over TCP: the second upstream's answer")
            eq(len(up_b.queries("first-refused." + Z, "A", "tcp")), 1,
               "over TCP: second asked over TCP")
            name = "both-refused." + Z
            r = ask(p.port, name, "A", timeout=BOUND + 2)
            eq(r.rcode, REFUSED, "both REFUSED: the last error relayed")
            check(not r.msg.answer, "records in %r" % r)
            eq(len(up.queries(name, "A")) + len(up_b.queries(name, "A")),
               2, "each upstream asked once")
            name = "first-bogus." + Z
            r = ask(p.port, name, "A", timeout=BOUND + 2)
            eq(r.rcode, SERVFAIL, "DNSSEC SERVFAIL relayed")
            eq(len(up_b.queries(name, "A")), 0, "second asked after EDE 6")
            r = ask(p.port, "aaaa-refused." + Z, "AAAA", timeout=BOUND + 2)
            aaaa_is(r, V4_WKP, "AAAA REFUSED by the first, NODATA from "
                    "the second: synthesized")
            figure("first upstream answers an error: " + "; ".join(seen))
            alive(p)
        suite.case("first_upstream_error_answer", body)
    block(first_error, conf("%s 127.0.0.1:%d" % (U, up_b.port)),
          "first-error")

    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))     # bound, never read: silence, no ICMP
    suite.cleanups.append(hole.close)

    def dead_silent(p):
        def body():
            r = ask(p.port, "two." + Z, "A", timeout=BOUND + 2)
            a_is(r, V4, "answer from the second upstream")
            check(T - 0.05 <= r.elapsed <= T + 1.0,
                  "answer after %.2fs, expected about the timeout (%.2fs)"
                  % (r.elapsed, T))
            figure("first upstream silent: answer from the second after "
                   "%.0f ms (timeout %d ms)" % (r.elapsed * 1000, TIMEOUT_MS))
            alive(p)
        suite.case("first_upstream_silent", body)
    block(dead_silent, conf("127.0.0.1:%d %s" % (hole.getsockname()[1], U)),
          "dead-silent")

    # ------------------------------------------------------------------
    # the upstream restarted in the middle of a steady stream
    def restart_cases(p):
        def body():
            rate, duration = 50, 3.0        # queries/s, seconds
            t_stop, t_restart = 1.0, 2.0
            state = {"up": up2[0]}
            results = []
            lock = threading.Lock()

            def one(i, t_sent):
                name = "stream%d.%s" % (i, Z)
                qtype = "AAAA" if i % 2 else "A"
                try:
                    r = ask(p.port, name, qtype, timeout=BOUND + 2)
                    res = (t_sent, qtype, r, None)
                except Exception as e:
                    res = (t_sent, qtype, None, e)
                with lock:
                    results.append(res)

            t0 = time.monotonic()
            threads = []
            stopped = restarted = None
            i = 0
            while True:
                now = time.monotonic() - t0
                if now >= duration:
                    break
                if stopped is None and now >= t_stop:
                    state["up"].stop()
                    stopped = time.monotonic() - t0
                if restarted is None and now >= t_restart:
                    u = ScriptedUpstream(port=port2).start()
                    script2(u)
                    up2[0] = u
                    restarted = time.monotonic() - t0
                th = threading.Thread(target=one, args=(i, now), daemon=True)
                th.start()
                threads.append(th)
                i += 1
                time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            for th in threads:
                th.join(BOUND + 5)
            hung = [r for r in results if r[3] is not None]
            check(len(results) == i, "%d of %d queries came back" % (
                len(results), i))
            check(not hung, "%d queries without an answer, e.g. %s" % (
                len(hung), hung[0][3] if hung else ""))
            ok = sf = 0
            worst = 0.0
            for t_sent, qtype, r, _ in results:
                worst = max(worst, r.elapsed)
                check(r.elapsed <= BOUND, "an answer after %.2fs" %
                      r.elapsed)
                if r.rcode == NOERROR:
                    if qtype == "A":
                        a_is(r, V4, "stream")
                    else:
                        aaaa_is(r, V4_WKP, "stream")
                    ok += 1
                else:
                    eq(r.rcode, SERVFAIL, "stream rcode")
                    check(not r.msg.answer, "SERVFAIL with records")
                    sf += 1
                    check(stopped - 0.3 <= t_sent <= restarted + 0.3,
                          "SERVFAIL for a query sent at %.2fs, outside the "
                          "outage %.2f-%.2fs" % (t_sent, stopped, restarted))
            after = [r for r in results if r[0] > restarted + 0.3]
            check(after and all(r[2].rcode == NOERROR for r in after),
                  "queries after the restart not all answered")
            figure("upstream restarted under load (%d qps, %.1f s outage): "
                   "%d queries, %d answered, %d SERVFAIL, 0 hung, slowest "
                   "%.2f s" % (rate, restarted - stopped, len(results), ok,
                               sf, worst))
            alive(p)
        suite.case("upstream_restart_under_load", body)

    def script2(u):
        u.default = Rule(func=stream_answer)

    def stream_answer(q, transport):
        name = q.question[0].name.to_text()
        m = dns.message.make_response(q)
        m.flags |= dns.flags.RA
        if q.question[0].rdtype == dns.rdatatype.A:
            nm, ttl, rdclass, rdata = parse_rr("%s 300 A %s" % (name, V4))
            m.find_rrset(m.answer, nm, rdclass, rdata.rdtype,
                         create=True).add(rdata, ttl)
        return m

    # stopped and started again on its port: one the proxy's own sockets
    # cannot be given meanwhile
    up2 = [ScriptedUpstream(port=free_port(v6=False, stable=True)).start()]
    port2 = up2[0].port
    script2(up2[0])
    up2[0].set("ok." + Z, "AAAA", nodata(zone=Z))
    suite.cleanups.append(lambda: up2[0].stop())
    block(restart_cases, conf("127.0.0.1:%d" % port2), "restart")


if __name__ == "__main__":
    Suite("e2e-faults", deadline=100).run(main)
