#!/usr/bin/python3
"""End-to-end: scaling out with dnsdist in front of two dns64proxy instances.

dns64proxy keeps no state that must be shared between instances, so an
operator runs several behind the load balancer they already have.  Here:
a scripted upstream, two proxies on two loopback ports, and dnsdist
(round robin, health checks every second on ipv4only.arpa, which the
proxies answer themselves) in front.  A steady stream of AAAA queries that
all need synthesis goes to dnsdist; in the middle one proxy gets SIGTERM.
Like a real stub, the client asks again after 1 s without an answer; every
query must get its right synthesized answer within 3 tries.

Skipped (exit 77) when /usr/bin/dnsdist is not installed.
"""

import ipaddress
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.flags         # noqa: E402
import dns.message       # noqa: E402
import dns.rcode         # noqa: E402
import dns.rdataclass    # noqa: E402
import dns.rdatatype     # noqa: E402
import dns.rdtypes.IN.A  # noqa: E402
import dns.rrset         # noqa: E402

from dnstest import (Suite, Proxy, check, eq, free_port, make_query,  # noqa
                     send_udp_raw, StartError)
from scripted_upstream import ScriptedUpstream, Rule, soa_rr  # noqa: E402

DNSDIST = "/usr/bin/dnsdist"

QUERIES = 1000          # AAAA queries sent ...
DURATION = 5.0          # ... evenly over this many seconds
STOP_AT = QUERIES // 2  # SIGTERM to proxy "a" before this query goes out
TRY_TIMEOUT = 1.0       # the client's retry interval
TRIES = 3               # the client's attempts per query

ZONE = "scale.example.test."
NAME_RE = re.compile(r"^q(\d+)\.scale\.example\.test\.$")
WKP = int(ipaddress.IPv6Address("64:ff9b::"))


def v4_of(i):
    """The A record of q<i>: global addresses (the WKP rule), distinct."""
    return "93.184.%d.%d" % ((i >> 8) & 0xff, i & 0xff)


def v6_of(i):
    return str(ipaddress.IPv6Address(
        WKP | int(ipaddress.IPv4Address(v4_of(i)))))


_SOA = None


def upstream_answer(q, transport):
    """q<i>.scale.example.test: NODATA for AAAA, one A; else NXDOMAIN.
    Built from ready objects, not from text: at 400 queries a second
    the text parsers took most of this process's interpreter, which the
    client's thread shares, and the answers came tens of milliseconds
    late."""
    global _SOA
    if _SOA is None:
        soa = soa_rr(ZONE, 300, 60).split()
        _SOA = dns.rrset.from_text(soa[0], int(soa[1]), "IN", "SOA",
                                   " ".join(soa[4:]))
    resp = dns.message.make_response(q)
    resp.flags |= dns.flags.RA
    qn = q.question[0].name
    qt = q.question[0].rdtype
    m = NAME_RE.match(qn.to_text().lower())
    if m is None:
        resp.set_rcode(dns.rcode.NXDOMAIN)
        resp.authority.append(_SOA)
    elif qt == dns.rdatatype.A:
        rrs = dns.rrset.RRset(qn, dns.rdataclass.IN, dns.rdatatype.A)
        rrs.add(dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A,
                                   v4_of(int(m.group(1)))), 60)
        resp.answer.append(rrs)
    else:
        resp.authority.append(_SOA)
    return resp


def dnsdist_conf(port, backends):
    lines = ["setSecurityPollSuffix('')",
             "setLocal('127.0.0.1:%d')" % port]
    for name, bport in backends:
        lines.append(
            "newServer({address='127.0.0.1:%d', name='%s', "
            "checkName='ipv4only.arpa.', checkType='A', mustResolve=true, "
            "checkInterval=1, checkTimeout=500, maxCheckFailures=1})"
            % (bport, name))
    lines.append("setServerPolicy(roundrobin)")
    return "\n".join(lines) + "\n"


class Stream:
    """The paced, retrying client: QUERIES AAAA queries over DURATION
    seconds on one UDP socket, each asked again after TRY_TIMEOUT, at most
    TRIES times, a new ID per try."""

    def __init__(self, port, on_send=None):
        self.port = port
        self.on_send = on_send
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.tries = [0] * QUERIES          # tries sent per query
        self.first = [None] * QUERIES       # time of the first try
        self.answered = [None] * QUERIES    # try that got the right answer
        self.latency = [None] * QUERIES     # first try to right answer
        self.deadline = [None] * QUERIES    # when the current try times out
        self.ids = {}                       # ID -> query index
        self.waiting = set()                # sent, not settled
        self.wrong = []                     # (index, what) of bad answers
        self.next_id = 1

    def send(self, i, now):
        qid = self.next_id
        self.next_id = (self.next_id % 65535) + 1
        self.ids[qid] = i
        q = make_query("q%d.%s" % (i, ZONE), "AAAA", qid=qid)
        self.sock.sendto(q.to_wire(), ("127.0.0.1", self.port))
        self.tries[i] += 1
        if self.first[i] is None:
            self.first[i] = now
        self.deadline[i] = now + TRY_TIMEOUT
        self.waiting.add(i)

    def receive(self, data, now):
        try:
            m = dns.message.from_wire(data)
        except Exception as e:
            self.wrong.append((-1, "unparsable answer: %s" % e))
            return
        i = self.ids.pop(m.id, None)
        if i is None or self.answered[i] is not None:
            return              # a late answer to a try already settled
        want = "q%d.%s" % (i, ZONE)
        got = sorted(rd.to_text() for rrs in m.answer
                     if rrs.rdtype == dns.rdatatype.AAAA for rd in rrs)
        if (m.rcode() != dns.rcode.NOERROR or not m.question
                or m.question[0].name.to_text().lower() != want
                or got != [v6_of(i)]):
            self.wrong.append((i, "%s: rcode %s, AAAA %r" % (
                want, dns.rcode.to_text(m.rcode()), got)))
            return
        self.answered[i] = self.tries[i]
        self.latency[i] = now - self.first[i]
        self.waiting.discard(i)

    def run(self):
        t0 = time.monotonic()
        sent = 0
        while True:
            now = time.monotonic()
            # the next new query, on schedule
            while sent < QUERIES and now >= t0 + sent * DURATION / QUERIES:
                if self.on_send is not None:
                    self.on_send(sent)
                self.send(sent, now)
                sent += 1
            # retries: only the queries still waiting are looked at, so
            # that the loop stays short and the upstream's thread in this
            # process gets its share of the interpreter
            for i in [i for i in self.waiting if now >= self.deadline[i]]:
                if self.tries[i] < TRIES:
                    self.send(i, now)
                else:
                    self.deadline[i] = None     # given up
                    self.waiting.discard(i)
            if sent == QUERIES and not self.waiting:
                break
            wait = 0.002 if sent < QUERIES else 0.05
            r, _, _ = select.select([self.sock], [], [], wait)
            while r:
                try:
                    data, _ = self.sock.recvfrom(65535)
                except OSError:
                    break
                self.receive(data, time.monotonic())
                r, _, _ = select.select([self.sock], [], [], 0)
        self.sock.close()
        return time.monotonic() - t0


def main(suite):
    suite.require_binary()
    if not os.access(DNSDIST, os.X_OK):
        suite.skip("%s not installed: the scale-out test needs dnsdist "
                   "(apt-get install dnsdist)" % DNSDIST)

    # The scripted upstream answers in a thread of this process: let it
    # have the interpreter within a millisecond of an answer's arrival,
    # not after the default 5 ms slice of the client's thread.
    sys.setswitchinterval(0.001)
    up = ScriptedUpstream(default=Rule(func=upstream_answer)).start()
    suite.cleanups.append(up.stop)
    pconf = ("[server]\nlisten = {listen}\nupstream = 127.0.0.1:%d\n"
             "timeout = 1000\nattempts = 2\nallow = 127.0.0.0/8 ::1/128\n\n"
             "[dns64]\nprefix = 64:ff9b::/96\n\n[log]\nqueries = yes\n"
             % up.port)
    a = Proxy(suite, pconf, name="proxy-a", v6=False).start()
    b = Proxy(suite, pconf, name="proxy-b", v6=False).start()

    dport = free_port(v6=False)
    dconf = os.path.join(suite.tmp, "dnsdist.conf")
    with open(dconf, "w") as f:
        f.write(dnsdist_conf(dport, [("a", a.port), ("b", b.port)]))
    dlog_path = os.path.join(suite.tmp, "dnsdist.log")
    dlog = open(dlog_path, "ab")
    dd = subprocess.Popen([DNSDIST, "--supervised", "--disable-syslog",
                           "-C", dconf], stdin=subprocess.DEVNULL,
                          stdout=dlog, stderr=subprocess.STDOUT)
    dlog.close()
    suite.procs.append(dd)

    def dd_log():
        try:
            with open(dlog_path, "rb") as f:
                return " / ".join(f.read().decode("utf-8", "replace")
                                  .splitlines()[-8:])
        except OSError:
            return ""

    def dnsdist_ready():
        deadline = time.monotonic() + 15
        q = make_query("ipv4only.arpa", "AAAA").to_wire()
        while time.monotonic() < deadline:
            check(dd.poll() is None, "dnsdist exited with %s: %s" % (
                dd.returncode, dd_log()))
            data = send_udp_raw(q, dport, timeout=0.3)
            if data is not None:
                m = dns.message.from_wire(data)
                eq(m.rcode(), dns.rcode.NOERROR, "rcode via dnsdist")
                return
        raise StartError("dnsdist gives no answer: " + dd_log())
    if not suite.case("dnsdist_starts", dnsdist_ready):
        return

    def one_query():
        q = make_query("q7.%s" % ZONE, "AAAA").to_wire()
        data = send_udp_raw(q, dport, timeout=2)
        check(data is not None, "no answer via dnsdist")
        m = dns.message.from_wire(data)
        got = [rd.to_text() for rrs in m.answer for rd in rrs]
        eq(got, [v6_of(7)], "synthesized answer via dnsdist")
    suite.case("synthesis_through_dnsdist", one_query)

    stopped = {}

    def stop_a(i):
        if i == STOP_AT and not stopped:
            a.signal(signal.SIGTERM)
            stopped["at"] = time.monotonic()

    stream = Stream(dport, on_send=stop_a)

    def served(p):
        return len(re.findall(r" q\d+\.scale\.example\.test\. AAAA "
                              r"synthesized ", p.log_text()))

    def steady_stream():
        elapsed = stream.run()
        unanswered = [i for i in range(QUERIES) if stream.answered[i] is None]
        by_try = [sum(1 for x in stream.answered if x == t)
                  for t in range(1, TRIES + 1)]
        lat = sorted(x for x in stream.latency if x is not None)
        rc_a = a.stop()
        print("  %d AAAA queries in %.1f s via dnsdist, proxy a stopped "
              "(SIGTERM) before query %d: answered on try 1/2/3: %s; "
              "unanswered: %d; wrong answers: %d" % (
                  QUERIES, elapsed, STOP_AT,
                  "/".join(str(x) for x in by_try), len(unanswered),
                  len(stream.wrong)))
        if lat:
            print("  latency: median %.1f ms, 99%% %.1f ms, max %.0f ms"
                  % (lat[len(lat) // 2] * 1000,
                     lat[int(len(lat) * 0.99) - 1] * 1000, lat[-1] * 1000))
        print("  synthesized by proxy a: %d, by proxy b: %d; upstream "
              "queries: %d" % (served(a), served(b), len(up.queries())))
        check(not stream.wrong, "wrong answers: %s" % "; ".join(
            w for _, w in stream.wrong[:5]))
        check(not unanswered, "%d queries without a right answer after %d "
              "tries, e.g. %s" % (len(unanswered), TRIES, ", ".join(
                  "q%d" % i for i in unanswered[:10])))
        eq(rc_a, 0, "exit status of proxy a after SIGTERM")
        check(b.alive(), "proxy b died: " + b.log_tail())
        check(dd.poll() is None, "dnsdist died: " + dd_log())
        check(served(a) > 0 and served(b) > 0,
              "both proxies should have served before the stop: a %d, b %d"
              % (served(a), served(b)))
    suite.case("every_query_answered_with_one_proxy_stopped", steady_stream)

    def after():
        # with a gone, b serves everything at once (no retries needed)
        for i in range(20):
            q = make_query("q%d.%s" % (i, ZONE), "AAAA").to_wire()
            data = send_udp_raw(q, dport, timeout=TRY_TIMEOUT)
            check(data is not None, "q%d: no answer on the first try "
                  "with one proxy left" % i)
            m = dns.message.from_wire(data)
            got = [rd.to_text() for rrs in m.answer for rd in rrs]
            eq(got, [v6_of(i)], "q%d answer" % i)
    suite.case("one_proxy_left_serves_all", after)

    def shutdown():
        eq(b.stop(), 0, "exit status of proxy b")
        for p in (a, b):
            log = p.log_text()
            check("Sanitizer" not in log and "runtime error" not in log,
                  "sanitizer report in %s's log: %s" % (p.name,
                                                        p.log_tail(20)))
    suite.case("shutdown", shutdown)


if __name__ == "__main__":
    Suite("e2e-scaleout").run(main)
