"""A scriptable upstream DNS server for the end-to-end tests.

ScriptedUpstream listens on 127.0.0.1:PORT over UDP and TCP in a background
thread.  Its answers are scripted per (qname, qtype) with Rule objects; every
query it receives is recorded (name as received, type, class, transport, ID,
source port, flags, EDNS) so a test can assert what the proxy sent.

    up = ScriptedUpstream()
    up.start()
    up.set("v4only.example.test", "AAAA", nodata(soa_ttl=300, minimum=120))
    up.set("v4only.example.test", "A",
           Rule(answer=["v4only.example.test. 3600 A 93.184.215.14"]))
    ...
    up.queries(qname="v4only.example.test", qtype="A")   # what the proxy asked
    up.stop()

Behaviours a Rule can script: any RCODE; answer/authority/additional records
given as zone-file lines ("NAME TTL [CLASS] TYPE RDATA"); header flags (AA, AD,
RA); EDNS options (NSID, padding...) and an Extended DNS Error; TC over UDP
(full answer over TCP); silence (on all or some transports, or only for the
first N queries); a delay; spoofed answers sent before (or instead of) the
real one: wrong ID, wrong question, or from another source port.  A UDP
answer larger than the query's payload size (512 without EDNS) is truncated
like a real server does (TC, empty sections).

Run standalone (python3 scripted_upstream.py) for a self-check.
"""

import heapq
import select
import socket
import struct
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

SPOOF_ADDRESS = "6.6.6.6"


def _rdtype(t):
    if t is None:
        return None
    if isinstance(t, int):
        return t
    return dns.rdatatype.from_text(t)


def _key_name(name):
    if isinstance(name, dns.name.Name):
        name = name.to_text()
    name = name.lower()
    if not name.endswith("."):
        name += "."
    return name


def parse_rr(line):
    """'NAME TTL [CLASS] TYPE RDATA...' -> (name, ttl, rdclass, rdata)."""
    tok = line.split()
    name = dns.name.from_text(tok[0])
    ttl = int(tok[1])
    i = 2
    rdclass = dns.rdataclass.IN
    try:
        rdclass = dns.rdataclass.from_text(tok[i])
        # "A" is not a class, "IN"/"CH" are; a type name never parses as class
        i += 1
    except dns.rdataclass.UnknownRdataclass:
        pass
    rdtype = dns.rdatatype.from_text(tok[i])
    rdata = dns.rdata.from_text(rdclass, rdtype, " ".join(tok[i + 1:]))
    return name, ttl, rdclass, rdata


def soa_rr(zone="example.test.", ttl=300, minimum=120, serial=1):
    return "%s %d IN SOA ns.%s hostmaster.%s %d 3600 600 86400 %d" % (
        zone, ttl, zone, zone, serial, minimum)


class Rule:
    """How to answer one (qname, qtype).

    rcode       int or text ("NOERROR", "NXDOMAIN", "SERVFAIL", ...)
    answer, authority, additional: lists of zone-file lines
    aa, ad, ra  header flags of the answer (ra default True)
    tc_udp      over UDP: answer with TC and empty sections; TCP gets it all
    silent      True: never answer; or a set of transports {"udp", "tcp"}
    silent_first  the first N matching queries get no answer
    delay       seconds before the (real) answer
    options     list of dns.edns.Option put in the answer's OPT
    ede         (code, text) Extended DNS Error in the answer's OPT
    force_edns  add an OPT even when the query had none (ede/options do too)
    spoof       list of "wrong_id", "wrong_question", "other_port": answers
                with A 6.6.6.6 sent before the real answer
    spoof_only  send only the spoofed answers, never the real one
    tcp_close   over TCP: close the connection after the answer
    tcp_drop_reused  over TCP, on a connection that carried a query
                before: close it without an answer (as a server whose idle
                timeout fires just as the query comes)
    tcp_dup_after  over TCP: send the answer again, unasked, this many
                seconds later on the same connection
    func        callable(query_msg, transport) -> dns.message.Message, raw
                bytes, or None (no answer); replaces everything else
    """

    def __init__(self, rcode="NOERROR", answer=(), authority=(), additional=(),
                 aa=False, ad=False, ra=True, tc_udp=False, silent=False,
                 silent_first=0, delay=0.0, options=(), ede=None,
                 force_edns=False, spoof=(), spoof_only=False, func=None,
                 tcp_close=False, tcp_drop_reused=False, tcp_dup_after=0):
        self.rcode = (dns.rcode.from_text(rcode) if isinstance(rcode, str)
                      else rcode)
        self.answer = list(answer)
        self.authority = list(authority)
        self.additional = list(additional)
        self.aa = aa
        self.ad = ad
        self.ra = ra
        self.tc_udp = tc_udp
        self.silent = silent
        self.silent_first = silent_first
        self.delay = delay
        self.options = list(options)
        self.ede = ede
        self.force_edns = force_edns
        self.spoof = list(spoof)
        self.spoof_only = spoof_only
        self.func = func
        self.tcp_close = tcp_close
        self.tcp_drop_reused = tcp_drop_reused
        self.tcp_dup_after = tcp_dup_after
        self.seen = 0

    def is_silent(self, transport):
        if self.silent is True:
            return True
        if self.silent and transport in self.silent:
            return True
        return False


def answer_rule(*records, **kw):
    return Rule(answer=records, **kw)


def nodata(zone="example.test.", soa_ttl=300, minimum=120, serial=1,
           soa=True, **kw):
    return Rule(authority=[soa_rr(zone, soa_ttl, minimum, serial)] if soa
                else [], **kw)


def nxdomain(zone="example.test.", soa_ttl=300, minimum=120, serial=1, **kw):
    return Rule(rcode="NXDOMAIN",
                authority=[soa_rr(zone, soa_ttl, minimum, serial)], **kw)


def servfail(ede=None, **kw):
    return Rule(rcode="SERVFAIL", ede=ede, **kw)


SILENT = Rule(silent=True)


class QueryRecord:
    """One query as the upstream received it."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "<%s %s %s %s id=%d sport=%d>" % (
            self.transport, self.qname, dns.rdatatype.to_text(self.qtype)
            if self.qtype is not None else "-",
            dns.rdataclass.to_text(self.qclass)
            if self.qclass is not None else "-", self.id, self.sport)


class ScriptedUpstream:
    def __init__(self, host="127.0.0.1", port=0, default=None):
        self.host = host
        self.tcp_idle = 3.0     # seconds before an idle TCP client is closed
        self.rules = {}
        self.default = default if default is not None else nxdomain()
        self.log = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._pending = []      # heap of (due, seq, sock, data, addr)
        self._seq = 0
        self._threads = []
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        # UDP and TCP on the same port: retry a few times on a clash.
        for _ in range(20):
            u = socket.socket(fam, socket.SOCK_DGRAM)
            u.bind((host, port))
            p = u.getsockname()[1]
            t = socket.socket(fam, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                t.bind((host, p))
            except OSError:
                u.close()
                t.close()
                if port:
                    raise
                continue
            break
        else:
            raise OSError("no free port for the scripted upstream")
        t.listen(512)   # the proxy may open 256 connections at once
        self.udp = u
        self.tcp = t
        self.port = p
        # a second UDP socket: answers "from another source port"
        self.other = socket.socket(fam, socket.SOCK_DGRAM)
        self.other.bind((host, 0))

    # -- scripting ---------------------------------------------------------

    def set(self, qname, qtype, rule):
        """Rule for (qname, qtype); qtype None: any type of that name."""
        with self.lock:
            self.rules[(_key_name(qname), _rdtype(qtype))] = rule

    def clear_rules(self):
        with self.lock:
            self.rules.clear()

    def clear_log(self):
        with self.lock:
            self.log = []

    def queries(self, qname=None, qtype=None, transport=None):
        with self.lock:
            out = list(self.log)
        if qname is not None:
            out = [q for q in out if q.qname is not None
                   and _key_name(q.qname) == _key_name(qname)]
        if qtype is not None:
            out = [q for q in out if q.qtype == _rdtype(qtype)]
        if transport is not None:
            out = [q for q in out if q.transport == transport]
        return out

    # -- running -------------------------------------------------------------

    def start(self):
        th = threading.Thread(target=self._loop, daemon=True,
                              name="upstream-%d" % self.port)
        th.start()
        self._threads.append(th)
        return self

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(timeout=3)
        for s in (self.udp, self.tcp, self.other):
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def _schedule(self, delay, sock, data, addr):
        with self.lock:
            self._seq += 1
            heapq.heappush(self._pending,
                           (time.monotonic() + delay, self._seq, sock, data,
                            addr))

    def _loop(self):
        while not self._stop.is_set():
            now = time.monotonic()
            with self.lock:
                due = []
                while self._pending and self._pending[0][0] <= now:
                    due.append(heapq.heappop(self._pending))
                wait = 0.05
                if self._pending:
                    wait = max(0.0, min(wait, self._pending[0][0] - now))
            for _, _, sock, data, addr in due:
                try:
                    sock.sendto(data, addr)
                except OSError:
                    pass
            try:
                r, _, _ = select.select([self.udp, self.tcp], [], [], wait)
            except (OSError, ValueError):
                return
            if self.udp in r:
                try:
                    data, addr = self.udp.recvfrom(65535)
                except OSError:
                    continue
                self._handle_udp(data, addr)
            if self.tcp in r:
                try:
                    conn, addr = self.tcp.accept()
                except OSError:
                    continue
                th = threading.Thread(target=self._tcp_conn, args=(conn, addr),
                                      daemon=True)
                th.start()

    def _record(self, q, wire, transport, addr):
        rec = QueryRecord(time=time.monotonic(), transport=transport,
                          sport=addr[1], shost=addr[0], size=len(wire),
                          wire=wire, qname=None, qtype=None, qclass=None,
                          id=None, flags=None, edns=-1, ednsflags=0,
                          payload=0, options=[], msg=q)
        if len(wire) >= 2:
            rec.id = struct.unpack("!H", wire[:2])[0]
        if q is not None:
            rec.id = q.id
            rec.flags = q.flags
            if q.question:
                rec.qname = q.question[0].name.to_text()
                rec.qtype = q.question[0].rdtype
                rec.qclass = q.question[0].rdclass
            rec.edns = q.edns
            rec.ednsflags = q.ednsflags
            rec.payload = q.payload
            rec.options = list(q.options)
        with self.lock:
            self.log.append(rec)
        return rec

    def _find_rule(self, q):
        if not q.question:
            return None
        name = _key_name(q.question[0].name)
        t = q.question[0].rdtype
        with self.lock:
            r = self.rules.get((name, t))
            if r is None:
                r = self.rules.get((name, None))
            if r is None:
                r = self.default
            r.seen += 1
            return r

    def build(self, q, rule, transport):
        """The real answer to q under rule, or None for silence."""
        if rule.func is not None:
            return rule.func(q, transport)
        resp = dns.message.make_response(q)
        resp.set_rcode(rule.rcode)
        resp.flags &= ~(dns.flags.AA | dns.flags.AD | dns.flags.RA
                        | dns.flags.TC)
        if rule.aa:
            resp.flags |= dns.flags.AA
        if rule.ad:
            resp.flags |= dns.flags.AD
        if rule.ra:
            resp.flags |= dns.flags.RA
        for sect, lines in ((resp.answer, rule.answer),
                            (resp.authority, rule.authority),
                            (resp.additional, rule.additional)):
            for line in lines:
                name, ttl, rdclass, rdata = parse_rr(line)
                rrs = resp.find_rrset(sect, name, rdclass, rdata.rdtype,
                                      create=True)
                rrs.add(rdata, ttl)
        opts = list(rule.options)
        if rule.ede is not None:
            code, text = rule.ede
            opts.append(dns.edns.EDEOption(code, text))
        if opts or rule.force_edns:
            payload = q.payload if q.edns >= 0 else 1232
            resp.use_edns(0, 0, 1232, payload, options=opts)
        if transport == "udp" and rule.tc_udp:
            resp.flags |= dns.flags.TC
            resp.answer = []
            resp.authority = []
            resp.additional = []
        return resp

    def _spoofs(self, q, rule):
        """(kind, wire) list of the spoofed answers rule asks for."""
        out = []
        for kind in rule.spoof:
            m = dns.message.make_response(q)
            m.flags |= dns.flags.RA
            qn = q.question[0].name
            qt = q.question[0].rdtype
            if kind == "wrong_id":
                m.id = (q.id + 1) & 0xffff
            elif kind == "wrong_question":
                m.question = [dns.rrset.RRset(
                    dns.name.from_text("spoof.invalid."),
                    q.question[0].rdclass, qt)]
            rdt = qt if qt in (dns.rdatatype.A, dns.rdatatype.AAAA) \
                else dns.rdatatype.A
            addr = SPOOF_ADDRESS if rdt == dns.rdatatype.A \
                else "2001:db8:6666::6"
            rrs = m.find_rrset(m.answer, qn, dns.rdataclass.IN, rdt,
                               create=True)
            rrs.add(dns.rdata.from_text(dns.rdataclass.IN, rdt, addr), 3600)
            out.append((kind, m.to_wire(want_shuffle=False)))
        return out

    def _to_wire(self, resp, limit):
        try:
            return resp.to_wire(max_size=limit, want_shuffle=False)
        except dns.exception.TooBig:
            resp.flags |= dns.flags.TC
            resp.answer = []
            resp.authority = []
            resp.additional = []
            return resp.to_wire(max_size=limit, want_shuffle=False)

    def _handle_udp(self, data, addr):
        q = None
        try:
            q = dns.message.from_wire(data)
        except Exception:
            pass
        self._record(q, data, "udp", addr)
        if q is None or not q.question or (q.flags & dns.flags.QR):
            return
        rule = self._find_rule(q)
        if rule.is_silent("udp") or rule.seen <= rule.silent_first:
            return
        for kind, wire in self._spoofs(q, rule):
            sock = self.other if kind == "other_port" else self.udp
            self._schedule(0, sock, wire, addr)
        if rule.spoof_only:
            return
        resp = self.build(q, rule, "udp")
        if resp is None:
            return
        if isinstance(resp, (bytes, bytearray)):
            wire = bytes(resp)
        else:
            limit = max(512, q.payload) if q.edns >= 0 else 512
            wire = self._to_wire(resp, limit)
        delay = rule.delay + (0.05 if rule.spoof else 0.0)
        self._schedule(delay, self.udp, wire, addr)

    def _tcp_conn(self, conn, addr):
        conn.settimeout(self.tcp_idle)
        carried = 0
        try:
            while not self._stop.is_set():
                hdr = _recv_exact(conn, 2)
                if hdr is None:
                    return
                n = struct.unpack("!H", hdr)[0]
                data = _recv_exact(conn, n)
                if data is None:
                    return
                q = None
                try:
                    q = dns.message.from_wire(data)
                except Exception:
                    pass
                self._record(q, data, "tcp", addr)
                carried += 1
                if q is None or not q.question:
                    return
                rule = self._find_rule(q)
                if rule.tcp_drop_reused and carried > 1:
                    return
                if rule.is_silent("tcp") or rule.seen <= rule.silent_first:
                    continue
                if rule.spoof_only:
                    continue
                resp = self.build(q, rule, "tcp")
                if resp is None:
                    continue
                if rule.delay:
                    time.sleep(min(rule.delay, 5))
                # max_size: dnspython would hold a response made for an
                # EDNS query to the query's UDP size, even over TCP
                wire = resp if isinstance(resp, (bytes, bytearray)) \
                    else resp.to_wire(max_size=65535, want_shuffle=False)
                conn.sendall(struct.pack("!H", len(wire)) + wire)
                if rule.tcp_dup_after:
                    threading.Timer(rule.tcp_dup_after, _send_quietly,
                                    (conn, struct.pack("!H", len(wire)) +
                                     wire)).start()
                if rule.tcp_close:
                    return
        except OSError:
            return
        finally:
            conn.close()


def _send_quietly(conn, data):
    try:
        conn.sendall(data)
    except OSError:
        pass


def _recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = conn.recv(n - len(buf))
        except (socket.timeout, OSError):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


# -- self-check: query the scripted upstream directly -------------------------

def _selfcheck():
    import dns.query
    up = ScriptedUpstream().start()
    fails = 0

    def check(name, cond):
        nonlocal fails
        print(("PASS: " if cond else "FAIL: ") + name)
        if not cond:
            fails += 1
    try:
        up.set("a.example.test", "A",
               answer_rule("a.example.test. 3600 A 93.184.215.14", aa=True))
        up.set("a.example.test", "AAAA", nodata(minimum=77))
        up.set("tc.example.test", "TXT",
               answer_rule('tc.example.test. 60 TXT "hello"', tc_udp=True))
        up.set("quiet.example.test", "A", SILENT)
        up.set("sp.example.test", "A",
               answer_rule("sp.example.test. 60 A 1.2.3.4",
                           spoof=["wrong_id", "wrong_question", "other_port"]))
        up.set("sf.example.test", "AAAA", servfail(ede=(6, "bogus")))
        up.set("big.example.test", "A",
               Rule(answer=["big.example.test. 60 A 10.0.0.%d" % i
                            for i in range(1, 60)]))
        q = dns.message.make_query("A.example.TEST", "A")
        r = dns.query.udp(q, "127.0.0.1", port=up.port, timeout=2)
        check("udp A", r.answer[0][0].address == "93.184.215.14"
              and r.flags & dns.flags.AA)
        r = dns.query.tcp(dns.message.make_query("a.example.test", "AAAA"),
                          "127.0.0.1", port=up.port, timeout=2)
        check("tcp nodata soa",
              not r.answer and r.authority[0][0].minimum == 77)
        r = dns.query.udp(dns.message.make_query("tc.example.test", "TXT"),
                          "127.0.0.1", port=up.port, timeout=2)
        check("udp tc", r.flags & dns.flags.TC and not r.answer)
        r = dns.query.tcp(dns.message.make_query("tc.example.test", "TXT"),
                          "127.0.0.1", port=up.port, timeout=2)
        check("tcp full", not r.flags & dns.flags.TC and r.answer)
        try:
            dns.query.udp(dns.message.make_query("quiet.example.test", "A"),
                          "127.0.0.1", port=up.port, timeout=0.3)
            check("silent", False)
        except dns.exception.Timeout:
            check("silent", True)
        # spoofs: read every packet on a raw socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        q = dns.message.make_query("sp.example.test", "A")
        s.sendto(q.to_wire(), ("127.0.0.1", up.port))
        got = []
        try:
            for _ in range(10):
                d, a = s.recvfrom(4096)
                got.append((dns.message.from_wire(d), a[1]))
        except socket.timeout:
            pass
        s.close()
        check("spoofs then real", len(got) == 4
              and got[-1][0].answer[0][0].address == "1.2.3.4"
              and got[-1][0].id == q.id
              and any(m.id != q.id for m, _ in got)
              and any(p != up.port for _, p in got))
        r = dns.query.udp(dns.message.make_query("sf.example.test", "AAAA",
                                                 use_edns=0),
                          "127.0.0.1", port=up.port, timeout=2)
        check("servfail ede", r.rcode() == dns.rcode.SERVFAIL
              and any(o.otype == 15 and o.code == 6 for o in r.options))
        r = dns.query.udp(dns.message.make_query("big.example.test", "A"),
                          "127.0.0.1", port=up.port, timeout=2)
        check("udp 512 truncation", r.flags & dns.flags.TC and not r.answer)
        r = dns.query.udp(dns.message.make_query("big.example.test", "A",
                                                 use_edns=0, payload=4096),
                          "127.0.0.1", port=up.port, timeout=2)
        check("udp edns big", not r.flags & dns.flags.TC
              and len(r.answer[0]) == 59)
        r = dns.query.udp(dns.message.make_query("nope.example.test", "A"),
                          "127.0.0.1", port=up.port, timeout=2)
        check("default nxdomain", r.rcode() == dns.rcode.NXDOMAIN)
        check("log", len(up.queries(qname="a.example.test")) == 2
              and up.queries(qname="a.example.test", qtype="A")[0].qname
              == "A.example.TEST.")
    finally:
        up.stop()
    print("scripted-upstream: %d failed" % fails)
    return 1 if fails else 0


if __name__ == "__main__":
    raise SystemExit(_selfcheck())
