#!/usr/bin/python3
"""End-to-end: TCP clients that do odd but legal things, and TCP queries
that pile up towards the upstream.

- a client that sends its queries and then closes its side of the
  connection (shutdown(SHUT_WR), as nc and socat do) still gets every
  answer, then the proxy closes;
- a client that sends queries with large answers and never reads them
  loses its connection within two idle timeouts (10 s each), rather than
  holding one of the 256 connection slots for ever;
- SIGTERM while a slow TCP reader has answers waiting in the proxy's own
  buffer: they are all written before the proxy exits; a client that
  reads none of them is closed after a second instead of holding the
  drain to its deadline; once its last answer is written a connection
  gets the proxy's FIN, and what the client still sends is read and
  dropped (no RST) until it closes too or a second passes;
- SIGTERM with a TCP client that keeps sending on its connection: the
  query in flight is answered, the later ones are not read, and the proxy
  exits at once instead of at its drain deadline;
- TCP clients pipelining queries for an upstream that takes TCP
  connections but never answers on them: the proxy opens at most 256 TCP
  connections to upstreams per worker, so its descriptors stay for the UDP
  pool and UDP clients keep their answers, and the open-file limit is not
  reached (the proxy starts here under a soft limit of 1024, which it
  raises to what it budgets).
- TCP clients pipelining more queries than that limit, for an upstream
  that answers them late: those beyond the limit wait for a connection to
  close, and every query gets its answer (no SERVFAIL).
- Upstream TCP connections are reused (RFC 7766 6.2.1): a TCP client's
  queries one after another, a synthesis's AAAA and A among them, all go
  over one upstream connection, which the proxy closes after 2 s idle;
  an upstream that closes its connections after each answer, or closes
  one just as the next query comes on it, costs no query an answer (the
  proxy asks again on a fresh connection at once); a kept connection on
  which the upstream sent bytes unasked carries no further query; at
  most 32 idle connections are kept per worker.
"""

import os
import re
import resource
import signal
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.message       # noqa: E402
import dns.rdatatype     # noqa: E402
import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, make_query,  # noqa: E402
                     StartError, free_port, metrics)
from scripted_upstream import ScriptedUpstream, Rule, answer_rule  # noqa

NOERROR = dns.rcode.NOERROR
V4 = "93.184.215.14"
TCP_IDLE = 10.0             # the proxy's idle timeout (listen_tcp.c)
UPSTREAM_TCP_MAX = 256      # upstream TCP connections per worker
UPSTREAM_TCP_IDLE = 32      # of those, kept idle for reuse (upstream.c)
UPSTREAM_TCP_IDLE_TIME = 2.0    # for this long
N_SEQ = 20                  # TCP queries one after another
N_CONN = 40                 # flooding TCP clients ...
N_PIPE = 30                 # ... with this many queries each
W_CONN = 12                 # TCP clients beyond the limit (32 in flight
W_PIPE = 40                 # each: 384 at once) with this many queries,
W_DELAY = 0.4               # which the upstream answers this late
X_PIPE = 30                 # never answered, from W_CONN clients each


def conf(upstream, timeout=1500, attempts=2):
    return ("[server]\nlisten = {listen}\nupstream = 127.0.0.1:%d\n"
            "timeout = %d\nattempts = %d\nallow = 127.0.0.1/32 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\n"
            % (upstream, timeout, attempts))


def framed(name, qtype="A"):
    w = make_query(name, qtype).to_wire()
    return struct.pack("!H", len(w)) + w


def read_answers(s, deadline, n=None):
    """Framed messages from s until EOF, deadline or (if given) n of
    them: (messages, eof)."""
    buf, out = b"", []
    while (n is None or len(out) < n) and time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return out, True
        if not data:
            return out, True
        buf += data
        while len(buf) >= 2:
            size = struct.unpack("!H", buf[:2])[0]
            if len(buf) < 2 + size:
                break
            out.append(dns.message.from_wire(buf[2:2 + size]))
            buf = buf[2 + size:]
    return out, False


def pipelining(port, prefix, n):
    """W_CONN TCP connections to port, each sending n queries at once
    for <prefix><connection>-<i>.example.test; the sockets."""
    conns = []
    for c in range(W_CONN):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"".join(framed("%s%d-%d.example.test" % (prefix, c, i))
                           for i in range(n)))
        conns.append(s)
    return conns


def proxy_send_queue(port, peer_port):
    """Bytes queued in the kernel on the proxy's side of the connection
    from peer_port (tx_queue in /proc/net/tcp), or -1."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            loc, rem = fields[1], fields[2]
            if (int(loc.split(":")[1], 16) == port and
                    int(rem.split(":")[1], 16) == peer_port):
                return int(fields[4].split(":")[0], 16)
    return -1


def fill_send_queue(s, port):
    """One query for 31 KB at a time on s (a small receive window, never
    read) until the proxy's kernel send queue stops growing: the next
    answers stay in the proxy's own buffer, well under the 256 KB at which
    it gives up on a client at once.  The number of queries sent."""
    me = s.getsockname()[1]
    sent, still, last = 0, 0, -1
    while still < 2 and sent < 200:
        s.sendall(framed("big.example.test", "TXT"))
        sent += 1
        time.sleep(0.1)
        q = proxy_send_queue(port, me)
        still = still + 1 if q == last else 0
        last = q
    check(still == 2, "the proxy's send queue kept growing (%d answers, "
          "%d bytes queued)" % (sent, last))
    return sent


def proxy_fds(p):
    try:
        return len(os.listdir("/proc/%d/fd" % p.proc.pid))
    except OSError:
        return -1


def socket_inodes(pid):
    """The inodes of the sockets process pid holds."""
    out = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                out.add(t[8:-1])
    except OSError:
        pass
    return out


def upstream_tcp_conns(port, pid=None):
    """Open TCP connections on this host to 127.0.0.1:port (the proxy's
    side; only those of process pid if given): established or being set
    up, not those closing."""
    n = 0
    mine = socket_inodes(pid) if pid is not None else None
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            rem, state = fields[2], fields[3]
            if int(rem.split(":")[1], 16) == port and state in ("01", "02") \
                    and (mine is None or fields[9] in mine):
                n += 1
    return n


def script(up):
    S = up.set
    S("slow.example.test", "A",
      answer_rule("slow.example.test. 60 A %s" % V4, delay=0.3))
    S("slow.example.test", "AAAA",
      answer_rule("slow.example.test. 60 AAAA 2001:db8::1", delay=0.3))
    S("slower.example.test", "A",
      answer_rule("slower.example.test. 60 A %s" % V4, delay=2.0))
    # about 31 KB of TXT: few answers fill a small receive window
    S("big.example.test", "TXT", answer_rule(*[
        'big.example.test. 60 TXT "%03d%s"' % (i, "x" * 250)
        for i in range(120)]))
    for i in range(100):
        S("u%d.example.test" % i, "A",
          answer_rule("u%d.example.test. 60 A %s" % (i, V4)))
    for c in range(N_CONN):
        for i in range(N_PIPE):
            S("t%d-%d.example.test" % (c, i), "A", Rule(silent=True))
    for c in range(W_CONN):
        for i in range(X_PIPE):
            S("x%d-%d.example.test" % (c, i), "A", Rule(silent=True))
    for c in range(W_CONN):
        for i in range(W_PIPE):
            n = "w%d-%d.example.test" % (c, i)
            S(n, "A", answer_rule("%s 60 A %s" % (n, V4), delay=W_DELAY))


def main(suite):
    suite.require_binary()
    up = ScriptedUpstream().start()
    suite.cleanups.append(up.stop)
    script(up)

    # A soft open-file limit of 1024, as on most systems: the proxy
    # raises it to its budget, which the flood below must not exhaust.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft > 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        p = Proxy(suite, conf(up.port), name="tcp").start()
    except StartError as e:
        suite.fail("start", str(e))
        return
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    P = p.port

    def half_close():
        s = socket.create_connection(("127.0.0.1", P), timeout=3)
        s.sendall(framed("slow.example.test", "A") +
                  framed("slow.example.test", "AAAA"))
        s.shutdown(socket.SHUT_WR)
        msgs, eof = read_answers(s, time.monotonic() + 5)
        s.close()
        eq(len(msgs), 2, "answers after the client closed its side")
        got = sorted(r.to_text() for m in msgs for rs in m.answer
                     for r in rs)
        eq(got, ["2001:db8::1", V4], "the answers")
        check(eof, "the proxy did not close once both were answered")
    suite.case("half_close_still_answered", half_close)

    def not_reading():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # a small window: the answers pile up on the proxy's side
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", P))
        sent = fill_send_queue(s, P)
        t0 = time.monotonic()
        # never read: within two idle timeouts the proxy gives up
        time.sleep(2 * TCP_IDLE + 1)
        msgs, eof = read_answers(s, time.monotonic() + 4)
        s.close()
        check(eof, "connection still open %.0f s after %d answers of "
              "31 KB the client did not read (%d read now)"
              % (time.monotonic() - t0, sent, len(msgs)))
        eq(ask(P, "u0.example.test", "A", tcp=True).rcode, NOERROR,
           "another TCP client")
    suite.case("client_not_reading_closed", not_reading)

    def flood():
        conns = []
        for c in range(N_CONN):
            s = socket.create_connection(("127.0.0.1", P), timeout=5)
            s.sendall(b"".join(framed("t%d-%d.example.test" % (c, i))
                               for i in range(N_PIPE)))
            conns.append(s)
        try:
            time.sleep(1.0)
            peak = upstream_tcp_conns(up.port)
            fds = proxy_fds(p)
            rcodes = {}
            for i in range(100):
                r = ask(P, "u%d.example.test" % i, "A", timeout=4)
                k = dns.rcode.to_text(r.rcode)
                rcodes[k] = rcodes.get(k, 0) + 1
                peak = max(peak, upstream_tcp_conns(up.port))
                fds = max(fds, proxy_fds(p))
        finally:
            for s in conns:
                s.close()
        # the proxy's descriptors: upstream TCP (256 at most), the
        # flooding clients, UDP pool sockets (one per UDP query at most)
        # and a few of its own
        bound = UPSTREAM_TCP_MAX + N_CONN + 100 + 40
        check(fds <= bound, "the proxy holds %d descriptors for %d "
              "pipelined TCP queries (more than %d): upstream TCP "
              "connections not bounded" % (fds, N_CONN * N_PIPE, bound))
        eq(rcodes, {"NOERROR": 100}, "UDP answers during the flood")
        log = p.log_text()
        check("Too many open files" not in log, "descriptors ran out: "
              + p.log_tail())
        check(log.count("TCP connections to upstreams: the limit") <= 2,
              "the limit's warning is not rate-limited: "
              + p.log_tail())
        print("  %d pipelined TCP queries: %d descriptors and about %d "
              "upstream TCP connections at most, 100 of 100 UDP queries "
              "answered" % (N_CONN * N_PIPE, fds, peak))
    suite.case("upstream_tcp_connections_bounded", flood)

    def beyond_limit():
        # a proxy of its own: the flood's connections may still be open
        q = Proxy(suite, conf(up.port, timeout=3000, attempts=2),
                  name="tcpwait").start()
        try:
            conns = pipelining(q.port, "w", W_PIPE)
            t0 = time.monotonic()
            peak, rcodes, got = 0, {}, 0
            deadline = t0 + 15
            for s in conns:
                msgs, buf = [], b""
                while len(msgs) < W_PIPE and time.monotonic() < deadline:
                    s.settimeout(0.1)
                    try:
                        data = s.recv(65536)
                    except socket.timeout:
                        peak = max(peak, upstream_tcp_conns(
                            up.port, q.proc.pid))
                        continue
                    if not data:
                        break
                    buf += data
                    while len(buf) >= 2 and \
                            len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        msgs.append(dns.message.from_wire(buf[2:2 + n]))
                        buf = buf[2 + n:]
                for m in msgs:
                    k = dns.rcode.to_text(m.rcode())
                    rcodes[k] = rcodes.get(k, 0) + 1
                got += len(msgs)
                s.close()
            took = time.monotonic() - t0
        finally:
            q.stop()
        total = W_CONN * W_PIPE
        eq(rcodes, {"NOERROR": total}, "answers to %d TCP queries, more "
           "than the %d upstream TCP connections allowed" % (
               total, UPSTREAM_TCP_MAX))
        check(peak <= UPSTREAM_TCP_MAX, "%d upstream TCP connections at "
              "once (limit %d)" % (peak, UPSTREAM_TCP_MAX))
        check("the limit; queries over TCP wait" in q.log_text(),
              "no log line about queries waiting: " + q.log_tail())
        print("  %d TCP queries, upstream answering after %.1f s: all "
              "NOERROR in %.1f s, at most %d upstream TCP connections seen"
              % (total, W_DELAY, took, peak))
    suite.case("upstream_tcp_beyond_limit_wait", beyond_limit)

    def wait_expired():
        # 360 TCP queries the upstream never answers, 2 s each, one
        # attempt: 256 go out and time out; the other 104 wait for them,
        # and by then too little of their time is left to be worth a
        # connection: they fail without reaching the upstream, and count
        # as expired in the wait, not as upstream timeouts.  (2 s, not
        # 1: the clients' queries reach the proxy over a spread of time,
        # wider on a busy machine, and one that came a quarter of the
        # timeout after the first is still worth sending.)
        sport = free_port()
        q = Proxy(suite, conf(up.port, timeout=2000, attempts=1) +
                  "\n[stats]\nlisten = 127.0.0.1:%d\n" % sport,
                  name="tcpexpire").start()
        try:
            conns = pipelining(q.port, "x", X_PIPE)
            rcodes = {}
            for s in conns:
                msgs, _ = read_answers(s, time.monotonic() + 6, X_PIPE)
                for m in msgs:
                    k = dns.rcode.to_text(m.rcode())
                    rcodes[k] = rcodes.get(k, 0) + 1
                s.close()
            got = metrics(sport)
        finally:
            q.stop()
        total = W_CONN * X_PIPE

        def reached():
            return len([r for r in up.queries(transport="tcp") if re.match(
                r"x\d+-\d+\.example\.test", r.qname or "")])
        # the upstream's threads may read the last ones a little later
        t1 = time.monotonic() + 3
        while reached() < UPSTREAM_TCP_MAX and time.monotonic() < t1:
            time.sleep(0.05)
        sent = reached()
        eq(rcodes, {"SERVFAIL": total}, "answers to %d TCP queries never "
           "answered upstream" % total)
        eq(sent, UPSTREAM_TCP_MAX, "TCP queries that reached the upstream")
        eq((got.get("dns64proxy_upstream_queries_total"),
            got.get("dns64proxy_upstream_timeouts_total"),
            got.get("dns64proxy_upstream_tcp_wait_expired_total")),
           (UPSTREAM_TCP_MAX, UPSTREAM_TCP_MAX, total - UPSTREAM_TCP_MAX),
           "upstream queries, upstream timeouts, expired in the wait")
        print("  %d TCP queries never answered: %d sent and timed out, %d "
              "expired waiting for a connection, all SERVFAIL"
              % (total, sent, total - UPSTREAM_TCP_MAX))
    suite.case("upstream_tcp_wait_expired", wait_expired)

    def stats_conf(upstream, **kw):
        sport = free_port()
        return sport, conf(upstream, **kw) + \
            "\n[stats]\nlisten = 127.0.0.1:%d\n" % sport

    def ask_tcp(s, name, qtype="A"):
        """One query on s and its answer: (message or None, seconds)."""
        t0 = time.monotonic()
        s.sendall(framed(name, qtype))
        msgs, _ = read_answers(s, t0 + 8, 1)
        return (msgs[0] if msgs else None), time.monotonic() - t0

    def rcode_of(m):
        return "none" if m is None else dns.rcode.to_text(m.rcode())

    def reuse():
        up2 = ScriptedUpstream().start()
        suite.cleanups.append(up2.stop)
        up2.tcp_idle = 10.0     # the proxy, not the upstream, closes first
        for i in range(N_SEQ):
            up2.set("r%d.example.test" % i, "A",
                    answer_rule("r%d.example.test. 60 A %s" % (i, V4)))
        up2.set("v4.example.test", "AAAA", Rule(authority=[
            "example.test. 60 SOA ns.example.test. h.example.test. "
            "1 3600 600 86400 60"]))
        up2.set("v4.example.test", "A",
                answer_rule("v4.example.test. 60 A %s" % V4))
        sport, text = stats_conf(up2.port)
        q = Proxy(suite, text, name="tcpreuse").start()
        try:
            s = socket.create_connection(("127.0.0.1", q.port), timeout=5)
            rcodes = [rcode_of(ask_tcp(s, "r%d.example.test" % i)[0])
                      for i in range(N_SEQ)]
            synth, _ = ask_tcp(s, "v4.example.test", "AAAA")
            open_after = upstream_tcp_conns(up2.port, q.proc.pid)
            s.close()
            got = metrics(sport)
            t0 = time.monotonic()
            while upstream_tcp_conns(up2.port, q.proc.pid) > 0 and \
                    time.monotonic() < t0 + 8:
                time.sleep(0.1)
            idle_for = time.monotonic() - t0
            left = upstream_tcp_conns(up2.port, q.proc.pid)
        finally:
            q.stop()
        asked = up2.queries(transport="tcp")
        eq(rcodes, ["NOERROR"] * N_SEQ, "answers to %d TCP queries in a "
           "row" % N_SEQ)
        eq([str(r) for rr in (synth.answer if synth else []) for r in rr],
           ["64:ff9b::5db8:d70e"], "synthesized AAAA over TCP")
        eq(len(asked), N_SEQ + 2, "TCP queries the upstream got")
        eq(len({r.sport for r in asked}), 1, "source ports of the proxy's "
           "TCP queries (one connection carries them all)")
        eq(got.get("dns64proxy_upstream_tcp_reused_total"), N_SEQ + 1.0,
           "attempts on a connection kept open")
        eq(open_after, 1, "upstream TCP connections open between queries")
        eq(left, 0, "upstream TCP connections %.1f s after the last "
           "answer" % idle_for)
        check(idle_for < UPSTREAM_TCP_IDLE_TIME + 4, "the idle connection "
              "was closed after %.1f s" % idle_for)
        print("  %d TCP queries and a synthesis (AAAA, A): %d upstream "
              "queries over 1 connection, closed %.1f s after its last "
              "answer" % (N_SEQ, len(asked), idle_for))
    suite.case("upstream_tcp_reuse", reuse)

    def closed_by_upstream():
        up2 = ScriptedUpstream().start()
        suite.cleanups.append(up2.stop)
        for i in range(6):
            up2.set("c%d.example.test" % i, "A", answer_rule(
                "c%d.example.test. 60 A %s" % (i, V4), tcp_close=True))
        up2.set("k.example.test", "A",
                answer_rule("k.example.test. 60 A %s" % V4))
        up2.set("d.example.test", "A", answer_rule(
            "d.example.test. 60 A %s" % V4, tcp_drop_reused=True))
        # one attempt of 3 s: a query lost with its connection would be
        # SERVFAIL, and a timeout would show in the time it took
        sport, text = stats_conf(up2.port, timeout=3000, attempts=1)
        q = Proxy(suite, text, name="tcpclosed").start()
        try:
            s = socket.create_connection(("127.0.0.1", q.port), timeout=5)
            rcodes = [rcode_of(ask_tcp(s, "c%d.example.test" % i)[0])
                      for i in range(6)]
            k, _ = ask_tcp(s, "k.example.test")
            d, took = ask_tcp(s, "d.example.test")
            s.close()
            got = metrics(sport)
        finally:
            q.stop()
        eq(rcodes, ["NOERROR"] * 6, "answers from an upstream that closes "
           "each connection after its answer")
        eq((rcode_of(k), rcode_of(d)), ("NOERROR", "NOERROR"),
           "answers before and after the upstream closed a connection "
           "kept open as the query came")
        ports = [r.sport for r in up2.queries(qname="d.example.test")]
        check(len(ports) == 2 and ports[0] != ports[1], "d.example.test "
              "should reach the upstream twice, on the connection kept "
              "open and on a fresh one: %r" % ports)
        check(took < 1.5, "the answer took %.2f s (the attempt's timeout "
              "is 3 s: a fresh connection should be tried at once)" % took)
        check(got.get("dns64proxy_upstream_tcp_reused_total", 0) >= 1,
              "no attempt went on a connection kept open")
        eq(got.get("dns64proxy_upstream_timeouts_total"), 0.0,
           "upstream timeouts")
        print("  upstream closing connections: 8 of 8 NOERROR, the one "
              "lost on a kept connection asked again in %.3f s" % took)
    suite.case("upstream_tcp_closed_by_upstream", closed_by_upstream)

    def stray_bytes():
        # The upstream sends its answer again, unasked, 0.3 s later, on
        # the connection the proxy keeps.  The proxy is stopped meanwhile
        # (SIGSTOP) and the client's next query sent, so that the stray
        # bytes and the query wait in the same loop pass: the query must
        # not go on that connection and take the stray answer for its
        # own (with one attempt, that was SERVFAIL).
        up2 = ScriptedUpstream().start()
        suite.cleanups.append(up2.stop)
        up2.tcp_idle = 10.0
        for i in range(3):
            up2.set("dup%d.example.test" % i, "A", answer_rule(
                "dup%d.example.test. 60 A %s" % (i, V4), tcp_dup_after=0.3))
            up2.set("k%d.example.test" % i, "A",
                    answer_rule("k%d.example.test. 60 A %s" % (i, V4)))
        sport, text = stats_conf(up2.port, timeout=3000, attempts=1)
        q = Proxy(suite, text, name="tcpstray").start()
        out = []
        try:
            s = socket.create_connection(("127.0.0.1", q.port), timeout=5)
            for i in range(3):
                m, _ = ask_tcp(s, "dup%d.example.test" % i)
                os.kill(q.proc.pid, signal.SIGSTOP)
                try:
                    time.sleep(0.6)
                    s.sendall(framed("k%d.example.test" % i))
                    time.sleep(0.2)
                finally:
                    os.kill(q.proc.pid, signal.SIGCONT)
                k, _ = read_answers(s, time.monotonic() + 6, 1)
                out.append((rcode_of(m), rcode_of(k[0] if k else None)))
            s.close()
            got = metrics(sport)
        finally:
            q.stop()
        eq(out, [("NOERROR", "NOERROR")] * 3, "answers to a query and to "
           "the next one, with the upstream's stray copy of the first "
           "answer waiting on the kept connection")
        eq(got.get('dns64proxy_dropped_total{source="upstream"}'), 0.0,
           "upstream packets dropped (a stray answer read as one)")
        print("  a stray answer on a kept connection: 3 of 3 next queries "
              "NOERROR, none dropped")
    suite.case("upstream_tcp_stray_bytes", stray_bytes)

    def idle_cap():
        up2 = ScriptedUpstream().start()
        suite.cleanups.append(up2.stop)
        up2.tcp_idle = 10.0
        n_conn, n_pipe = 2, 20
        for c in range(n_conn):
            for i in range(n_pipe):
                n = "i%d-%d.example.test" % (c, i)
                up2.set(n, "A", answer_rule("%s 60 A %s" % (n, V4),
                                            delay=0.5))
        q = Proxy(suite, conf(up2.port, timeout=3000), name="tcpidle").start()
        try:
            conns = []
            for c in range(n_conn):
                s = socket.create_connection(("127.0.0.1", q.port),
                                             timeout=5)
                s.sendall(b"".join(framed("i%d-%d.example.test" % (c, i))
                                   for i in range(n_pipe)))
                conns.append(s)
            peak, got = 0, 0
            for s in conns:
                msgs, _ = read_answers(s, time.monotonic() + 8, n_pipe)
                got += len([m for m in msgs if m.rcode() == NOERROR])
                peak = max(peak, upstream_tcp_conns(up2.port, q.proc.pid))
            kept = upstream_tcp_conns(up2.port, q.proc.pid)
            for s in conns:
                s.close()
        finally:
            q.stop()
        eq(got, n_conn * n_pipe, "NOERROR answers")
        check(1 <= kept <= UPSTREAM_TCP_IDLE, "%d upstream TCP connections "
              "kept open after %d answered at once (at most %d kept)" % (
                  kept, n_conn * n_pipe, UPSTREAM_TCP_IDLE))
        print("  %d TCP queries at once: %d upstream connections kept "
              "open after" % (n_conn * n_pipe, kept))
    suite.case("upstream_tcp_idle_cap", idle_cap)

    def stopping(name, qname, timeout):
        """A proxy of its own, a TCP query for qname in flight on one
        connection, then SIGTERM: (proxy, socket, time of the signal)."""
        q = Proxy(suite, conf(up.port, timeout=timeout, attempts=2),
                  name=name).start()
        s = socket.create_connection(("127.0.0.1", q.port), timeout=3)
        s.sendall(framed(qname, "A"))
        time.sleep(0.1)
        q.signal(signal.SIGTERM)
        return q, s, time.monotonic()

    def sigterm_busy_tcp():
        q, s, t0 = stopping("tcpterm", "slow.example.test", 2000)
        try:
            got, deadline, eof = [], time.monotonic() + 6, False
            while time.monotonic() < deadline and q.alive():
                try:
                    # slow too: one is always in flight
                    s.sendall(framed("slow.example.test", "AAAA"))
                except OSError:
                    break
                msgs, eof = read_answers(s, time.monotonic() + 0.1)
                got += msgs
                if eof:
                    break
            if not eof:
                # the proxy exited (or a write failed) between two reads:
                # what it wrote before is still there to be read
                got += read_answers(s, time.monotonic() + 0.5)[0]
            rc = q.proc.wait(timeout=10)
            took = time.monotonic() - t0
            s.close()
        finally:
            q.stop()
        asked = [(m.question[0].name.to_text(), m.question[0].rdtype)
                 for m in got]
        check(("slow.example.test.", dns.rdatatype.A) in asked,
              "the query in flight at SIGTERM got no answer: %r" % asked)
        eq(rc, 0, "exit status")
        # the drain deadline is 2 x 2 x 2 s + 1 s = 9 s
        check(took < 3.0, "took %.1f s to stop: new queries on the open "
              "connection kept the drain going (%d answers)"
              % (took, len(got)))
    suite.case("sigterm_stops_reading_tcp", sigterm_busy_tcp)

    def sigterm_then_client_eof():
        # stopping, with a query the upstream never answers in flight:
        # a client that then closes its side must not set the worker
        # spinning on a socket at its end until the query times out
        q, s, _ = stopping("tcpterm2", "t0-0.example.test", 3000)
        try:
            time.sleep(0.1)
            s.sendall(b"\x00\x05junk!")
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.2)
            hz = os.sysconf("SC_CLK_TCK")

            def cpu():
                with open("/proc/%d/stat" % q.proc.pid) as f:
                    v = f.read().rsplit(")", 1)[1].split()
                return (int(v[11]) + int(v[12])) / hz
            c0 = cpu()
            time.sleep(1.0)
            used = cpu() - c0
            s.close()
            rc = q.proc.wait(timeout=10)
        finally:
            q.stop()
        check(used < 0.3, "%.2f s of CPU in 1 s while draining" % used)
        eq(rc, 0, "exit status")
    suite.case("sigterm_client_eof_no_spin", sigterm_then_client_eof)

    def slow_reader(name):
        """A proxy of its own, and a connection to it with a small window
        whose answers fill the proxy's kernel send queue and then its own
        buffer: (proxy, socket, queries sent)."""
        q = Proxy(suite, conf(up.port), name=name).start()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect(("127.0.0.1", q.port))
            return q, s, fill_send_queue(s, q.port)
        except Exception:
            s.close()
            q.stop()
            raise

    def sigterm_unread_answers():
        # answers the proxy holds for a slow reader at SIGTERM (its kernel
        # send queue full) are still written before it exits
        q, s, sent = slow_reader("tcpterm3")
        try:
            q.signal(signal.SIGTERM)
            msgs, eof = read_answers(s, time.monotonic() + 8)
            rc = q.proc.wait(timeout=10)
        finally:
            s.close()
            q.stop()
        eq(len(msgs), sent, "answers read after SIGTERM (of %d 31 KB "
           "answers; eof %s)" % (sent, eof))
        check(eof, "the proxy did not close the connection")
        eq(rc, 0, "exit status")
    suite.case("sigterm_unread_answers_written", sigterm_unread_answers)

    def sigterm_non_reader():
        # a client that takes none of its answers does not hold the
        # drain to its deadline (2 x 2 x 1.5 s + 1 s = 7 s): after a
        # second without progress it is closed
        q, s, _ = slow_reader("tcpterm4")
        try:
            t0 = time.monotonic()
            q.signal(signal.SIGTERM)
            rc = q.proc.wait(timeout=15)
            took = time.monotonic() - t0
        finally:
            s.close()
            q.stop()
        eq(rc, 0, "exit status")
        check(took < 3.5, "%.1f s to stop with a client that reads nothing"
              % took)
    suite.case("sigterm_non_reader_closed", sigterm_non_reader)

    def sigterm_linger():
        # stopping, the last answer written: the proxy sends its FIN and
        # reads on, so a client still sending gets no RST (its writes do
        # not fail) while a UDP query keeps the proxy draining
        q = Proxy(suite, conf(up.port), name="tcpterm6").start()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s = socket.create_connection(("127.0.0.1", q.port), timeout=3)
        errs = []
        try:
            u.sendto(make_query("slower.example.test", "A").to_wire(),
                     ("127.0.0.1", q.port))
            s.sendall(framed("slow.example.test", "A"))
            time.sleep(0.1)
            q.signal(signal.SIGTERM)
            time.sleep(0.6)         # answered (0.3 s) and written
            for _ in range(3):
                try:
                    s.sendall(framed("late.example.test", "A"))
                except OSError as e:
                    errs.append(str(e))
                time.sleep(0.1)
            msgs, eof = read_answers(s, time.monotonic() + 1.5)
            alive = q.alive()
            rc = q.proc.wait(timeout=10)
        finally:
            s.close()
            u.close()
            q.stop()
        check(not errs, "writes after the last answer failed: %s" % errs)
        eq(len(msgs), 1, "the TCP answer")
        check(eof, "no FIN after the last answer")
        check(alive, "the proxy had already exited (the UDP query holds "
              "it for 2 s): the test shows nothing")
        eq(rc, 0, "exit status")
    suite.case("sigterm_tcp_linger_no_reset", sigterm_linger)

    def shutdown():
        check(p.alive(), "died: " + p.log_tail())
        eq(p.stop(timeout=10), 0, "exit status after SIGTERM")
        log = p.log_text()
        check("Sanitizer" not in log and "runtime error" not in log,
              "sanitizer report in the log: " + p.log_tail(20))
    suite.case("shutdown", shutdown)


if __name__ == "__main__":
    Suite("e2e-tcp", deadline=150).run(main)
