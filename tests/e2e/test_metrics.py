#!/usr/bin/python3
"""End-to-end: the [stats] listener and its /metrics counters.

The real proxy behind a scripted upstream, with [stats] listen on a free
loopback port.  Each case reads /metrics, sends a known set of queries,
reads /metrics again and checks that every counter moved by exactly what
was sent (and the others did not move).  Also: the HTTP side (200 with the
0.0.4 content type, HEAD, a query string, 404, 405, 400) and a scraper
that never sends its request, which must not hold up the DNS path; a
SIGHUP during the drain after SIGTERM, which must not reopen /metrics.
"""

import http.client
import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, CheckFailed, ask, check,  # noqa: E402
                     eq, free_port, make_query, rev, send_udp_raw)
from scripted_upstream import (ScriptedUpstream, answer_rule,  # noqa
                               nodata, SILENT)

NOERROR = dns.rcode.NOERROR
REFUSED = dns.rcode.REFUSED
SERVFAIL = dns.rcode.SERVFAIL

V4 = "93.184.215.14"
V4_WKP = "64:ff9b::5db8:d70e"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The families /metrics always holds, with their types.
FAMILIES = {
    "dns64proxy_queries_total": "counter",
    "dns64proxy_queries_by_type_total": "counter",
    "dns64proxy_answers_total": "counter",
    "dns64proxy_synthesized_total": "counter",
    "dns64proxy_local_answers_total": "counter",
    "dns64proxy_upstream_queries_total": "counter",
    "dns64proxy_upstream_timeouts_total": "counter",
    "dns64proxy_upstream_failovers_total": "counter",
    "dns64proxy_dropped_total": "counter",
    "dns64proxy_refused_total": "counter",
    "dns64proxy_overload_total": "counter",
    "dns64proxy_queries_in_flight": "gauge",
    "dns64proxy_upstream_latency_seconds": "histogram",
}
LE = ["0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1",
      "0.2", "0.5", "1", "2", "+Inf"]

# Short names of the samples the cases check.
Q_UDP = 'dns64proxy_queries_total{transport="udp"}'
Q_TCP = 'dns64proxy_queries_total{transport="tcp"}'
T_A = 'dns64proxy_queries_by_type_total{type="A"}'
T_AAAA = 'dns64proxy_queries_by_type_total{type="AAAA"}'
T_PTR = 'dns64proxy_queries_by_type_total{type="PTR"}'
T_TXT = 'dns64proxy_queries_by_type_total{type="TXT"}'
R_NOERROR = 'dns64proxy_answers_total{rcode="NOERROR"}'
R_SERVFAIL = 'dns64proxy_answers_total{rcode="SERVFAIL"}'
R_REFUSED = 'dns64proxy_answers_total{rcode="REFUSED"}'
S_AAAA = 'dns64proxy_synthesized_total{kind="aaaa"}'
S_PTR = 'dns64proxy_synthesized_total{kind="ptr"}'
LOCAL = "dns64proxy_local_answers_total"
UPQ = "dns64proxy_upstream_queries_total"
TIMEOUTS = "dns64proxy_upstream_timeouts_total"
FAILOVERS = "dns64proxy_upstream_failovers_total"
D_CLIENT = 'dns64proxy_dropped_total{source="client"}'
D_UPSTREAM = 'dns64proxy_dropped_total{source="upstream"}'
LATE = "dns64proxy_upstream_late_answers_total"
REFUSED_T = "dns64proxy_refused_total"
OVERLOAD = "dns64proxy_overload_total"
INFLIGHT = "dns64proxy_queries_in_flight"
LAT_COUNT = "dns64proxy_upstream_latency_seconds_count"
LAT_SUM = "dns64proxy_upstream_latency_seconds_sum"
LAT_INF = 'dns64proxy_upstream_latency_seconds_bucket{le="+Inf"}'


# -- HTTP --------------------------------------------------------------------

def http_req(port, method="GET", path="/metrics", body=None, timeout=3.0):
    """(status, headers {lower name: value}, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def http_raw(port, data, timeout=3.0):
    """Send raw bytes; everything the responder sends before closing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$')


def parse_metrics(text):
    """({sample: float}, {family: type}); raises CheckFailed on bad lines."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        check(m is not None, "not a sample line: %r" % line)
        check(m.group(1) not in samples, "sample twice: %r" % line)
        samples[m.group(1)] = float(m.group(3))
    return samples, types


def metrics(port):
    status, hdr, body = http_req(port)
    eq(status, 200, "GET /metrics status")
    return parse_metrics(body.decode("utf-8"))[0]


class Delta:
    """Counters before and after: expect(exact moves), the rest unmoved."""

    # counters that every case checks stay put unless it says otherwise
    WATCHED = [Q_UDP, Q_TCP, T_A, T_AAAA, T_PTR, T_TXT, R_NOERROR,
               R_SERVFAIL, R_REFUSED, S_AAAA, S_PTR, LOCAL, UPQ, TIMEOUTS,
               FAILOVERS, D_CLIENT, D_UPSTREAM, LATE, REFUSED_T, OVERLOAD,
               LAT_COUNT, LAT_INF]

    def __init__(self, port):
        self.port = port
        self.before = metrics(port)

    def check(self, moves):
        """moves: {sample: expected increase}; watched ones not named must
        not move.  The gauge must be back to 0."""
        after = metrics(self.port)
        bad = []
        for name in set(self.WATCHED) | set(moves):
            got = after.get(name, 0.0) - self.before.get(name, 0.0)
            want = moves.get(name, 0)
            if got != want:
                bad.append("%s moved by %g, expected %g" % (name, got, want))
        if after.get(INFLIGHT) != 0:
            bad.append("%s is %r after the answers" % (INFLIGHT,
                                                       after.get(INFLIGHT)))
        check(not bad, "; ".join(sorted(bad)))
        return after


# -- the proxy ---------------------------------------------------------------

class MetricsProxy(Proxy):
    """A Proxy whose configuration adds [stats] listen on a free port
    (chosen again on every start attempt)."""

    def write_conf(self, text=None):
        if text is None:
            self.stats_port = free_port(False)
            text = self.conf_tmpl.format(
                port=self.port, listen=self.listen_text(self.port)) + \
                "\n[stats]\nlisten = 127.0.0.1:%d\n" % self.stats_port
        with open(self.conf_path, "w") as f:
            f.write(text)


def conf(upstreams, parallel=False):
    return ("[server]\nlisten = {listen}\nupstream = %s\ntimeout = 400\n"
            "attempts = 2\nallow = 127.0.0.1/32 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\nparallel = %s\n"
            % (upstreams, "yes" if parallel else "no"))


def script(up):
    S = up.set
    for i in range(5):
        S("pass%d.example.test" % i, "A",
          answer_rule("pass%d.example.test. 60 A %s" % (i, V4)))
    for i in range(3):
        S("v4only%d.example.test" % i, "AAAA", nodata())
        S("v4only%d.example.test" % i, "A",
          answer_rule("v4only%d.example.test. 60 A %s" % (i, V4)))
    for i in range(2):
        S("tcp%d.example.test" % i, "A",
          answer_rule("tcp%d.example.test. 60 A %s" % (i, V4)))
    S("14.215.184.93.in-addr.arpa", "PTR",
      answer_rule("14.215.184.93.in-addr.arpa. 60 PTR host.example.test."))
    S("slow.example.test", "A",
      answer_rule("slow.example.test. 60 A %s" % V4, silent_first=1))
    S("spoof.example.test", "A",
      answer_rule("spoof.example.test. 60 A %s" % V4,
                  spoof=["wrong_id", "wrong_question"]))
    S("failover.example.test", "A",
      answer_rule("failover.example.test. 60 A %s" % V4))
    S("late.example.test", "A",
      answer_rule("late.example.test. 60 A %s" % V4, delay=0.6))
    S("dual.example.test", "AAAA",
      answer_rule("dual.example.test. 60 AAAA 2001:db8::1"))
    S("dual.example.test", "A",
      answer_rule("dual.example.test. 60 A %s" % V4, delay=0.2))
    S("refused.example.test", "TXT", answer_rule(
        'refused.example.test. 60 TXT "never asked"'))


# -- the cases ----------------------------------------------------------------

def case_http(p):
    status, hdr, body = http_req(p.stats_port)
    eq(status, 200, "GET /metrics")
    eq(hdr.get("content-type"), CONTENT_TYPE, "Content-Type")
    eq(int(hdr.get("content-length", -1)), len(body), "Content-Length")
    eq(hdr.get("connection", "").lower(), "close", "Connection")
    samples, types = parse_metrics(body.decode("utf-8"))
    for fam, typ in FAMILIES.items():
        eq(types.get(fam), typ, "TYPE of " + fam)
    prev = -1
    for le in LE:
        name = 'dns64proxy_upstream_latency_seconds_bucket{le="%s"}' % le
        check(name in samples, "no bucket " + le)
        check(samples[name] >= prev, "buckets not cumulative at " + le)
        prev = samples[name]
    eq(samples[LAT_INF], samples[LAT_COUNT], "+Inf bucket vs _count")

    status, hdr, body = http_req(p.stats_port, "HEAD")
    eq(status, 200, "HEAD /metrics")
    eq(body, b"", "HEAD body")
    check(int(hdr.get("content-length", 0)) > 0, "HEAD Content-Length")
    status, _, body = http_req(p.stats_port, path="/metrics?x=1&y")
    eq(status, 200, "GET /metrics?x=1&y")
    check(b"dns64proxy_queries_total" in body, "query string: no metrics")
    for path in ("/other", "/", "/metrics/", "/metricsx"):
        status, _, _ = http_req(p.stats_port, path=path)
        eq(status, 404, "GET " + path)
    status, hdr, _ = http_req(p.stats_port, "POST", body=b"x=1")
    eq(status, 405, "POST /metrics")
    check("GET" in hdr.get("allow", ""), "405 without Allow")
    for raw in (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
                b"GET /metrics\r\n\r\n", b"garbage here\r\n\r\n"):
        out = http_raw(p.stats_port, raw)
        check(out.startswith(b"HTTP/1.1 400 "), "%r: got %r" % (raw, out[:40]))


def case_counters(p):
    """5 A over UDP, 3 synthesized AAAA over UDP, 2 A over TCP, 1 TXT from
    a client the allow list leaves out."""
    d = Delta(p.stats_port)
    for i in range(5):
        r = ask(p.port, "pass%d.example.test" % i, "A")
        eq(r.rcode, NOERROR, "pass%d rcode" % i)
    for i in range(3):
        r = ask(p.port, "v4only%d.example.test" % i, "AAAA")
        eq(r.addrs(), [V4_WKP], "v4only%d synthesized" % i)
    for i in range(2):
        r = ask(p.port, "tcp%d.example.test" % i, "A", tcp=True)
        eq(r.rcode, NOERROR, "tcp%d rcode" % i)
    r = ask(p.port, "refused.example.test", "TXT", source="127.0.0.2")
    eq(r.rcode, REFUSED, "rcode from 127.0.0.2")
    # each AAAA query is two upstream round trips (AAAA, then A)
    after = d.check({Q_UDP: 9, Q_TCP: 2, T_A: 7, T_AAAA: 3, T_TXT: 1,
                     R_NOERROR: 10, R_REFUSED: 1, S_AAAA: 3, REFUSED_T: 1,
                     UPQ: 13, LAT_COUNT: 13, LAT_INF: 13})
    check(after[LAT_SUM] > d.before.get(LAT_SUM, 0.0),
          "latency sum did not grow")


def case_ptr_and_local(p):
    d = Delta(p.stats_port)
    r = ask(p.port, rev(V4_WKP), "PTR")
    eq(r.rcode, NOERROR, "PTR rcode")
    check(r.rrs("answer", "PTR"), "no PTR in the answer: %r" % r)
    r = ask(p.port, "ipv4only.arpa", "A")
    eq(sorted(r.addrs("A")), ["192.0.0.170", "192.0.0.171"],
       "ipv4only.arpa")
    d.check({Q_UDP: 2, T_PTR: 1, T_A: 1, R_NOERROR: 2, S_PTR: 1, LOCAL: 1,
             UPQ: 1, LAT_COUNT: 1, LAT_INF: 1})


def case_timeout(p):
    """The first attempt gets no answer, the second one does."""
    d = Delta(p.stats_port)
    r = ask(p.port, "slow.example.test", "A", timeout=5)
    eq(r.rcode, NOERROR, "rcode")
    d.check({Q_UDP: 1, T_A: 1, R_NOERROR: 1, UPQ: 2, TIMEOUTS: 1,
             LAT_COUNT: 1, LAT_INF: 1})


def case_spoof(p):
    """Two answers with a wrong ID or question come before the real one."""
    d = Delta(p.stats_port)
    r = ask(p.port, "spoof.example.test", "A")
    eq(r.addrs("A"), [V4], "the real answer")
    d.check({Q_UDP: 1, T_A: 1, R_NOERROR: 1, UPQ: 1, D_UPSTREAM: 2,
             LAT_COUNT: 1, LAT_INF: 1})


def case_late(p):
    """Every answer comes after 0.6 s, past the 0.4 s timeout of both
    attempts: the client gets SERVFAIL, and the two answers are late, not
    spoofed."""
    d = Delta(p.stats_port)
    r = ask(p.port, "late.example.test", "A", timeout=5)
    eq(r.rcode, SERVFAIL, "rcode")
    time.sleep(0.6)     # the second answer, 0.6 s after the second attempt
    d.check({Q_UDP: 1, T_A: 1, R_SERVFAIL: 1, UPQ: 2, TIMEOUTS: 2,
             LATE: 2})


def case_parallel_a_not_needed(p):
    """parallel = yes, real AAAA: the A query sent beside it is not needed,
    and its answer, 0.2 s later, is late, not a spoofed packet (which an
    alarm on the dropped counter would take it for)."""
    d = Delta(p.stats_port)
    r = ask(p.port, "dual.example.test", "AAAA")
    eq(r.addrs(), ["2001:db8::1"], "the real AAAA")
    time.sleep(0.4)
    d.check({Q_UDP: 1, T_AAAA: 1, R_NOERROR: 1, UPQ: 2, LATE: 1,
             LAT_COUNT: 1, LAT_INF: 1})


def case_client_drop(p):
    """A packet with QR set gets no answer and counts as dropped."""
    d = Delta(p.stats_port)
    q = make_query("pass0.example.test", "A")
    wire = bytearray(q.to_wire())
    wire[2] |= 0x80
    eq(send_udp_raw(bytes(wire), p.port, timeout=0.5), None,
       "answer to a QR packet")
    d.check({Q_UDP: 1, D_CLIENT: 1})


def case_stats_reload_refused(p):
    """A reload whose new [stats] address cannot be bound is refused as a
    whole: the running endpoint keeps serving.  Once the address is free,
    the next reload moves the endpoint there."""
    old = p.stats_port
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    new = blocker.getsockname()[1]
    text = p.conf_tmpl.format(port=p.port, listen=p.listen_text(p.port))
    try:
        p.write_conf(text + "\n[stats]\nlisten = 127.0.0.1:%d\n" % new)
        check(p.signal_and_wait(signal.SIGHUP, "configuration unchanged"),
              "the reload was not refused: " + p.log_tail())
        eq(http_req(old)[0], 200, "the running endpoint after the refusal")
    finally:
        blocker.close()
    check(p.signal_and_wait(signal.SIGHUP, "configuration reloaded"),
          "no reload once the address was free: " + p.log_tail())
    time.sleep(0.2)
    eq(http_req(new)[0], 200, "the endpoint on the new address")
    p.stats_port = new


def case_stalled_scraper(p):
    """Scrapers that connect and never ask hold no DNS answer back; a
    full house of them does not stop the next scrape once they go."""
    held = []
    try:
        for _ in range(20):
            held.append(socket.create_connection(("127.0.0.1", p.stats_port),
                                                 timeout=3))
        held[0].sendall(b"GET /metr")
        t0 = time.monotonic()
        r = ask(p.port, "pass1.example.test", "A", timeout=2)
        eq(r.rcode, NOERROR, "rcode")
        check(time.monotonic() - t0 < 1.0, "DNS answer took %.2fs" % (
            time.monotonic() - t0))
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 3
    while True:
        try:
            status, _, _ = http_req(p.stats_port)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    eq(status, 200, "scrape after the stalled ones")


def case_failover(p):
    """Two upstreams, the first silent: a timeout and a failover."""
    d = Delta(p.stats_port)
    r = ask(p.port, "failover.example.test", "A", timeout=5)
    eq(r.addrs("A"), [V4], "answer from the second upstream")
    d.check({Q_UDP: 1, T_A: 1, R_NOERROR: 1, UPQ: 2, TIMEOUTS: 1,
             FAILOVERS: 1, LAT_COUNT: 1, LAT_INF: 1})


def sighup_while_stopping(suite, silent_port):
    """A SIGHUP that comes while the proxy drains its queries after SIGTERM
    is not acted on: /metrics, closed by SIGTERM, stays closed (also on the
    address the new file names), and the proxy exits when its queries are
    done."""
    p = MetricsProxy(suite, conf("127.0.0.1:%d" % silent_port),
                     name="stopping")
    p.start()
    try:
        old = p.stats_port
        # a query the silent upstream holds: the drain lasts ~2.6 s
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(make_query("held.example.test", "A").to_wire(),
                     ("127.0.0.1", p.port))
            time.sleep(0.2)
            check(p.signal_and_wait(signal.SIGTERM, "stopping:"),
                  "no 'stopping' after SIGTERM: " + p.log_tail())
            new = free_port(False)
            p.write_conf(p.conf_tmpl.format(port=p.port,
                                            listen=p.listen_text(p.port))
                         + "\n[stats]\nlisten = 127.0.0.1:%d\n" % new)
            check(p.signal_and_wait(signal.SIGHUP, "configuration not read"),
                  "SIGHUP while stopping was acted on: " + p.log_tail())
            check("configuration reloaded" not in p.log_text(),
                  "reloaded while stopping: " + p.log_tail())
            for port in (old, new):
                try:
                    http_req(port, timeout=1.0)
                    raise CheckFailed("/metrics served on port %d while "
                                      "stopping" % port)
                except OSError:
                    pass
            eq(p.proc.wait(10), 0, "exit status after the drain")
    finally:
        p.stop()


# -- main --------------------------------------------------------------------

def main(suite):
    suite.require_binary()
    up = ScriptedUpstream().start()
    suite.cleanups.append(up.stop)
    script(up)
    silent_up = ScriptedUpstream(default=SILENT).start()
    suite.cleanups.append(silent_up.stop)

    def run_block(name, upstreams, cases, parallel=False):
        p = MetricsProxy(suite, conf(upstreams, parallel), name=name)
        try:
            p.start()
        except Exception as e:
            suite.fail("start_" + name, str(e))
            return
        for cname, fn in cases:
            suite.case(cname, fn, p)

        def shutdown():
            check(p.alive(), "%s died: %s" % (name, p.log_tail()))
            eq(p.stop(), 0, "exit status after SIGTERM")
            log = p.log_text()
            check("Sanitizer" not in log and "runtime error" not in log,
                  "sanitizer report in the log: " + p.log_tail(20))
        suite.case("shutdown_" + name, shutdown)

    run_block("metrics", "127.0.0.1:%d" % up.port, [
        ("http_metrics_endpoint", case_http),
        ("counters_udp_tcp_synth_refused", case_counters),
        ("counters_ptr_and_local", case_ptr_and_local),
        ("counters_upstream_timeout", case_timeout),
        ("counters_spoofed_upstream", case_spoof),
        ("counters_client_drop", case_client_drop),
        ("counters_late_answers", case_late),
        ("stalled_scraper_does_not_block_dns", case_stalled_scraper),
        ("stats_reload_refused_keeps_endpoint", case_stats_reload_refused),
    ])
    run_block("parallel", "127.0.0.1:%d" % up.port, [
        ("counters_parallel_a_not_needed", case_parallel_a_not_needed),
    ], parallel=True)
    run_block("failover", "127.0.0.1:%d 127.0.0.1:%d" % (silent_up.port,
                                                         up.port), [
        ("counters_failover", case_failover),
    ])
    suite.case("sighup_while_stopping_not_read", sighup_while_stopping,
               suite, silent_up.port)


if __name__ == "__main__":
    Suite("e2e-metrics").run(main)
