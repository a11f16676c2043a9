#!/usr/bin/python3
"""End-to-end: bounded resources (SPEC.md "DNS behaviour" 9).

1. Soak: a fixed-rate load (SOAK_RATE queries/s, default 1000, paced by
   the sender) for SOAK_SECONDS (default 20) through the proxy, mixing
   synthesized AAAA, pass-through A and NXDOMAIN queries, against Debian's
   unbound with local data (a C server that does not drop; without unbound,
   a raw-bytes Python upstream).  Reports queries sent, answered, wrong and
   lost, latency, and the proxy's resident memory (VmRSS) before and after;
   nothing may be lost or wrong and the memory may not grow by more than
   SOAK_RSS_KIB (default 2048).
2. The cap on queries in flight: with a silent upstream and timeout 5000,
   more queries than the cap (4096 per worker, lower with a small
   RLIMIT_NOFILE: read from the log line and the
   dns64proxy_queries_in_flight gauge of /metrics); the excess gets
   SERVFAIL at once, a log line names the limit, and once the held queries
   time out the proxy serves normally again with nothing left in flight.

Figures for the README's Reliability section are printed as "FIGURE: ".
"""

import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, free_port,  # noqa: E402
                     make_query, metrics, run_cmd, send_udp_raw, StartError)

NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN
SERVFAIL = dns.rcode.SERVFAIL

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))
SOAK_RATE = int(os.environ.get("SOAK_RATE", "1000"))
SOAK_RSS_KIB = int(os.environ.get("SOAK_RSS_KIB", "2048"))
WARMUP_SECONDS = 2.0
CAP_TIMEOUT_MS = 5000
CAP = 16384          # MAX_INFLIGHT per worker in src/main.c

UNBOUND = "/usr/sbin/unbound"
V4 = "93.184.215.14"
V4_RDATA = bytes([93, 184, 215, 14])
# 64:ff9b::5db8:d70e
V4_WKP_RDATA = bytes.fromhex("0064ff9b0000000000000000" "5db8d70e")
SOA = "3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300"

UNBOUND_CONF = """\
server:
    interface: 127.0.0.1
    port: %(port)d
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 0
    chroot: ""
    username: ""
    directory: "%(tmp)s"
    pidfile: "%(tmp)s/unbound.pid"
    module-config: "iterator"
    do-not-query-localhost: no
    do-ip6: no
    num-threads: 1
    so-rcvbuf: 4m
    so-sndbuf: 4m
    access-control: 127.0.0.0/8 allow
    local-zone: "." static
    local-zone: "test." static
    local-data: "test. %(soa)s"
    local-data: "v4only.soak.test. 3600 IN A %(v4)s"

remote-control:
    control-enable: no
"""


def figure(text):
    print("FIGURE: " + text)


def conf(upstream, timeout=1500, attempts=3, extra=""):
    return ("[server]\nlisten = {listen}\nupstream = 127.0.0.1:%d\n"
            "timeout = %d\nattempts = %d\nallow = 127.0.0.0/8 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\n%s" % (upstream, timeout,
                                                   attempts, extra))


def big_rcvbuf(sock, size=1 << 23):
    """A receive buffer no burst overflows (SO_RCVBUFFORCE as root)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET,
                        getattr(socket, "SO_RCVBUFFORCE", 33), size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def instrumented(suite):
    """Sanitizer builds and wrappers (valgrind) keep freed memory in
    quarantine: the resident size says nothing about leaks there."""
    if os.environ.get("DNS64PROXY_WRAPPER", "").strip():
        return True
    try:
        with open(suite.binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


# -- upstreams ----------------------------------------------------------------

def question_end(wire):
    if len(wire) < 12:
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


class FastUpstream:
    """A raw-bytes UDP upstream in a thread: "v4only.soak.test" A gets V4,
    its other types an empty NOERROR; names starting with "hang" get no
    answer; the rest NXDOMAIN."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_rcvbuf(self.sock)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._loop, daemon=True)
        self._th.start()

    def stop(self):
        self._stop.set()
        self._th.join(3)
        self.sock.close()

    def _loop(self):
        v4 = b"\x06v4only\x04soak\x04test\x00"
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.sock], [], [], 0.05)
                if not r:
                    continue
                data, addr = self.sock.recvfrom(65535)
            except (OSError, ValueError):
                if self._stop.is_set():
                    return
                continue
            self.received += 1
            end = question_end(data)
            if end is None:
                continue
            q = data[12:end]
            if q[1:5].lower() == b"hang":
                continue
            flags = 0x8180
            an = b""
            if q[:-4].lower() == v4:
                if q[-4:-2] == b"\x00\x01":
                    an = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04" \
                        + V4_RDATA
            else:
                flags |= NXDOMAIN
            try:
                self.sock.sendto(data[:2] + struct.pack(
                    "!HHHHH", flags, 1, 1 if an else 0, 0, 0) + q + an, addr)
            except OSError:
                pass


def start_unbound(suite):
    """unbound -d on a free port with the local data; (proc, port) or
    None when unbound is not installed or does not start."""
    if not os.access(UNBOUND, os.X_OK):
        return None
    for _ in range(5):
        port = free_port(False)
        path = os.path.join(suite.tmp, "unbound.conf")
        with open(path, "w") as f:
            f.write(UNBOUND_CONF % {"port": port, "tmp": suite.tmp,
                                    "soa": SOA, "v4": V4})
        log = open(os.path.join(suite.tmp, "unbound.log"), "ab")
        proc = subprocess.Popen([UNBOUND, "-d", "-c", path],
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        suite.procs.append(proc)
        q = make_query("v4only.soak.test", "A").to_wire()
        for _ in range(50):
            if proc.poll() is not None:
                break
            if send_udp_raw(q, port, timeout=0.1):
                return proc, port
        proc.kill()
        proc.wait(3)
    return None


# -- the load -----------------------------------------------------------------

KINDS = [
    # (label, query wire without ID, expected rcode, expected rdata)
    ("AAAA synthesized", make_query("v4only.soak.test", "AAAA").to_wire(),
     NOERROR, V4_WKP_RDATA),
    ("A pass-through", make_query("v4only.soak.test", "A").to_wire(),
     NOERROR, V4_RDATA),
    ("AAAA synthesized", make_query("V4only.Soak.test", "AAAA").to_wire(),
     NOERROR, V4_WKP_RDATA),
    ("A pass-through", make_query("v4only.soak.test", "A").to_wire(),
     NOERROR, V4_RDATA),
    ("NXDOMAIN", make_query("nx.soak.test", "AAAA").to_wire(), NXDOMAIN,
     None),
]


class Load:
    """Paced UDP load from one socket; replies matched by ID."""

    def __init__(self, port, rate):
        self.port = port
        self.rate = rate
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_rcvbuf(self.s)
        self.s.setblocking(False)
        self.next_id = 0
        self.out = {}           # id -> (t_sent, kind index)
        self.sent = self.ok = self.wrong = self.lost = 0
        self.lat = []
        self.wrong_examples = []
        self.by_kind = {}

    def _recv(self):
        while True:
            try:
                data, _ = self.s.recvfrom(65535)
            except BlockingIOError:
                return
            if len(data) < 12:
                self.wrong += 1
                continue
            qid = struct.unpack("!H", data[:2])[0]
            ent = self.out.pop(qid, None)
            if ent is None:
                self.wrong += 1         # duplicate or unknown
                continue
            t, k = ent
            self.lat.append(time.monotonic() - t)
            label, _, rcode, rdata = KINDS[k]
            good = data[2] & 0x80 and (data[3] & 0x0f) == rcode and (
                rdata is None or rdata in data[12:])
            if good:
                self.ok += 1
                self.by_kind[label] = self.by_kind.get(label, 0) + 1
            else:
                self.wrong += 1
                if len(self.wrong_examples) < 3:
                    self.wrong_examples.append((label, data.hex()))

    def run(self, seconds):
        t0 = time.monotonic()
        n = 0
        total = int(seconds * self.rate)
        while n < total:
            now = time.monotonic()
            due = min(total, int((now - t0) * self.rate) + 1)
            while n < due:
                qid = self.next_id
                self.next_id = (self.next_id + 1) & 0xffff
                if qid in self.out:         # wrapped onto a lost one
                    del self.out[qid]
                    self.lost += 1
                k = n % len(KINDS)
                wire = struct.pack("!H", qid) + KINDS[k][1][2:]
                self.out[qid] = (time.monotonic(), k)
                try:
                    self.s.sendto(wire, ("127.0.0.1", self.port))
                except BlockingIOError:
                    pass                    # counted lost if no answer
                self.sent += 1
                n += 1
            self._recv()
            nxt = t0 + (n + 1) / self.rate
            left = nxt - time.monotonic()
            if left > 0:
                select.select([self.s], [], [], left)
            self._recv()

    def finish(self, wait=3.0):
        end = time.monotonic() + wait
        while self.out and time.monotonic() < end:
            select.select([self.s], [], [], 0.05)
            self._recv()
        self.lost += len(self.out)
        self.out.clear()

    def close(self):
        self.s.close()


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


# -- the cases ----------------------------------------------------------------

def main(suite):
    suite.require_binary()

    ub = start_unbound(suite)
    if ub is not None:
        uport = ub[1]
        rc, out, _ = run_cmd([UNBOUND, "-V"])
        upstream_name = "unbound " + (out.split()[1] if rc == 0 and
                                      len(out.split()) > 1 else "")
    else:
        fast = FastUpstream()
        suite.cleanups.append(fast.stop)
        uport = fast.port
        upstream_name = "raw Python upstream (unbound not available)"

    try:
        p = Proxy(suite, conf(uport), name="soak").start()
    except StartError as e:
        suite.fail("start_soak", str(e))
        p = None

    if p is not None:
        def soak():
            pid = p.proc.pid
            load = Load(p.port, SOAK_RATE)
            try:
                load.run(WARMUP_SECONDS)
                load.finish(2.0)
                eq(load.lost, 0, "queries lost during the warm-up")
                rss0 = vmrss_kib(pid)
                w_sent, w_ok = load.sent, load.ok
                load.sent = load.ok = load.wrong = load.lost = 0
                load.lat = []
                load.by_kind = {}
                t0 = time.monotonic()
                load.run(SOAK_SECONDS)
                dur = time.monotonic() - t0
                load.finish(3.0)
                rss1 = vmrss_kib(pid)
            finally:
                load.close()
            check(p.alive(), "the proxy died: %s" % p.log_tail())
            figure("soak: %.0f s at %d qps (%.0f qps achieved) against %s: "
                   "%d queries sent, %d answered correctly, %d wrong, %d "
                   "lost (%s)" % (
                       SOAK_SECONDS, SOAK_RATE, load.sent / dur,
                       upstream_name, load.sent, load.ok, load.wrong,
                       load.lost, ", ".join("%s %d" % kv for kv in sorted(
                           load.by_kind.items()))))
            figure("soak: latency p50 %.2f ms, p99 %.2f ms, max %.1f ms" % (
                pct(load.lat, 0.5) * 1000, pct(load.lat, 0.99) * 1000,
                max(load.lat or [0]) * 1000))
            figure("soak: proxy VmRSS %d KiB after a %.0f s warm-up (%d "
                   "queries), %d KiB after the soak: %+d KiB (bound %d)"
                   % (rss0, WARMUP_SECONDS, w_sent, rss1, rss1 - rss0,
                      SOAK_RSS_KIB))
            check(w_ok == w_sent, "warm-up: %d of %d answered correctly" % (
                w_ok, w_sent))
            if ub is not None:
                eq(load.lost, 0, "queries lost")
            else:       # the Python upstream may drop a few itself
                check(load.lost <= load.sent / 1000, "%d queries lost"
                      % load.lost)
            check(load.wrong == 0, "%d wrong answers, e.g. %s" % (
                load.wrong, load.wrong_examples))
            check(load.sent >= 0.95 * SOAK_SECONDS * SOAK_RATE,
                  "only %d queries sent" % load.sent)
            if instrumented(suite):
                print("(VmRSS not checked: the binary runs under a "
                      "sanitizer or DNS64PROXY_WRAPPER, which hold freed "
                      "memory)")
            else:
                check(rss0 > 0 and rss1 - rss0 <= SOAK_RSS_KIB,
                      "VmRSS grew from %d to %d KiB" % (rss0, rss1))
            r = ask(p.port, "v4only.soak.test", "AAAA", timeout=3)
            eq(r.addrs("AAAA"), ["64:ff9b::5db8:d70e"], "after the soak")
        suite.case("soak_%ds_%dqps" % (SOAK_SECONDS, SOAK_RATE), soak)

        def shutdown():
            eq(p.stop(), 0, "exit status")
            check("Sanitizer" not in p.log_text(), "sanitizer report: "
                  + p.log_tail(20))
        suite.case("shutdown_soak", shutdown)

    # -- the cap on queries in flight ----------------------------------------
    hang = FastUpstream()
    suite.cleanups.append(hang.stop)

    class StatsProxy(Proxy):
        def write_conf(self, text=None):
            if text is None:
                self.stats_port = free_port(False)
                text = self.conf_tmpl.format(
                    port=self.port, listen=self.listen_text(self.port)) + \
                    "\n[stats]\nlisten = 127.0.0.1:%d\n" % self.stats_port
            Proxy.write_conf(self, text)

    try:
        p2 = StatsProxy(suite, conf(hang.port, timeout=CAP_TIMEOUT_MS,
                                    attempts=1), name="cap").start()
    except StartError as e:
        suite.fail("start_cap", str(e))
        return

    def cap():
        m0 = metrics(p2.stats_port)
        eq(m0.get("dns64proxy_queries_in_flight"), 0.0, "in flight at rest")
        n = CAP + 500
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        big_rcvbuf(s)
        s.setblocking(False)
        tmpl = make_query("hang.cap.test", "A").to_wire()
        sent_at = {}
        got = {}

        def recv():
            while True:
                try:
                    data, _ = s.recvfrom(4096)
                except BlockingIOError:
                    return
                qid = struct.unpack("!H", data[:2])[0]
                got.setdefault(qid, (time.monotonic(), data))
        try:
            t0 = time.monotonic()
            # about 10000 queries/s, in bursts of 50
            for i in range(n):
                sent_at[i] = time.monotonic()
                s.sendto(struct.pack("!H", i) + tmpl[2:],
                         ("127.0.0.1", p2.port))
                if i % 50 == 49:
                    recv()
                    time.sleep(max(0.0, t0 + (i + 1) / 10000.0
                                   - time.monotonic()))
            t_send = time.monotonic() - t0
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                select.select([s], [], [], 0.05)
                recv()
            quick = dict(got)
            rss_at_cap = vmrss_kib(p2.proc.pid)
            m1 = metrics(p2.stats_port)
            inflight = int(m1.get("dns64proxy_queries_in_flight", -1))
            overload = int(m1.get("dns64proxy_overload_total", -1))
            # a normal query now: SERVFAIL at once
            r = ask(p2.port, "v4only.soak.test", "A", timeout=2)
            t_busy = r.elapsed
            eq(r.rcode, SERVFAIL, "a query at the cap")
            log_cap = None
            for line in p2.log_text().splitlines():
                mm = re.search(r"(\d+) queries in flight: the limit", line)
                if mm:
                    log_cap = int(mm.group(1))
                    log_line = line
                    break
            check(log_cap is not None, "no log line about the in-flight "
                  "limit: " + p2.log_tail())
            eq(inflight, log_cap, "in-flight gauge vs the logged limit")
            check(inflight <= CAP, "in flight %d > %d" % (inflight, CAP))
            # a busy machine may drop a few datagrams before the proxy
            # sees them: what reached it is in flight or overloaded
            eq(inflight, CAP, "in flight at the cap")
            eq(len(quick), overload, "SERVFAIL answers at once")
            check(n - inflight - overload <= n // 100, "%d queries never "
                  "reached the proxy" % (n - inflight - overload))
            bad = [q for q, (t, d) in quick.items()
                   if d[3] & 0x0f != SERVFAIL]
            check(not bad, "%d quick answers not SERVFAIL" % len(bad))
            worst = max(t - sent_at[q] for q, (t, d) in quick.items())
            check(worst < 0.5, "an overload SERVFAIL took %.2fs" % worst)

            # the held ones time out: SERVFAIL after the upstream timeout
            end = time.monotonic() + CAP_TIMEOUT_MS / 1000.0 + 3.0
            while len(got) < inflight + overload and \
                    time.monotonic() < end:
                select.select([s], [], [], 0.1)
                recv()
            late = [got[q][0] - sent_at[q] for q in got if q not in quick]
            eq(len(got), inflight + overload, "answers in the end")
            check(all(got[q][1][3] & 0x0f == SERVFAIL for q in got),
                  "a held query answered with something else")
        finally:
            s.close()
        m2 = metrics(p2.stats_port)
        eq(m2.get("dns64proxy_queries_in_flight"), 0.0, "in flight after")
        r = ask(p2.port, "v4only.soak.test", "A", timeout=3)
        eq(r.addrs("A"), [V4], "a normal query after the flood")
        figure("in-flight cap: %d queries sent in %.2f s to a silent "
               "upstream (timeout %d ms); cap %d (log: \"%s\"); %d got "
               "SERVFAIL at once (slowest %.1f ms), a normal query at the "
               "cap SERVFAIL in %.1f ms; the %d held ones SERVFAIL after "
               "%.2f-%.2f s; in flight afterwards: 0" % (
                   n, t_send, CAP_TIMEOUT_MS, inflight,
                   log_line.split("]")[-1].strip(), len(quick),
                   worst * 1000, t_busy * 1000, len(late), min(late),
                   max(late)))
        figure("memory with %d queries in flight: VmRSS %s KiB" % (
            inflight, rss_at_cap))
    suite.case("inflight_cap_overload_servfail", cap)

    def shutdown2():
        eq(p2.stop(), 0, "exit status")
        check("Sanitizer" not in p2.log_text(), "sanitizer report")
    suite.case("shutdown_cap", shutdown2)


if __name__ == "__main__":
    Suite("e2e-soak", deadline=int(SOAK_SECONDS) + 60).run(main)
