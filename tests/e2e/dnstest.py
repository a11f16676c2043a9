"""Harness of the dns64proxy end-to-end tests.

- Suite: runs named cases, prints "PASS: name" / "FAIL: name: reason", the
  closing "PREFIX: N passed, M failed" line, owns the temporary directory and
  kills every process it started (also on failure or on the global deadline).
- Proxy: the real binary in the foreground (-f -c FILE) on free loopback
  ports, readiness by polling with a query, stopped with SIGTERM then SIGKILL.
- ask(): one DNS query over UDP or TCP with a timeout, from a chosen source
  address; returns a Reply (message, wire, elapsed) or raises NoAnswer.

Environment: DNS64PROXY (the binary), E2E_DIR (this directory, maybe
read-only), DNS64PROXY_WRAPPER (optional command prefix, e.g.
"valgrind --error-exitcode=99 --leak-check=full"), E2E_ONLY (optional,
comma-separated case names: run only those; for debugging, as a case may
rely on one before it), E2E_KEEP_TMP (keep the temporary directory).
"""

import os
import random
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename

SKIP = 77


def metrics(port):
    """The samples of /metrics on 127.0.0.1:port: name -> value."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=3) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def selected(name):
    """False for a case that E2E_ONLY leaves out."""
    only = os.environ.get("E2E_ONLY")
    return not only or name in only.split(",")


class NoAnswer(Exception):
    pass


class GlobalTimeout(BaseException):
    pass


class CheckFailed(AssertionError):
    pass


# -- assertions ------------------------------------------------------------

def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def eq(got, want, what):
    if got != want:
        raise CheckFailed("%s: expected %r, got %r" % (what, want, got))


# -- ports -----------------------------------------------------------------

def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def ephemeral_low():
    """The lowest port of the kernel's ephemeral range."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(v6=True, stable=False):
    """A port free for UDP and TCP on 127.0.0.1 (and ::1 if v6).

    stable: below the ephemeral range, for a port a test frees and binds
    again later (an upstream restarted): in the meantime the kernel may
    give an ephemeral port to a socket of the proxy's, which would hold
    it, but never one outside that range."""
    low = ephemeral_low()
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        socks = [s]
        ok = True
        try:
            s.bind(("127.0.0.1", random.randint(max(10000, low - 8000),
                                                low - 1) if stable else 0))
            port = s.getsockname()[1]
            for fam, host, typ in ((socket.AF_INET, "127.0.0.1",
                                    socket.SOCK_STREAM),
                                   (socket.AF_INET6, "::1", socket.SOCK_DGRAM),
                                   (socket.AF_INET6, "::1",
                                    socket.SOCK_STREAM)):
                if fam == socket.AF_INET6 and not v6:
                    continue
                t = socket.socket(fam, typ)
                socks.append(t)
                t.bind((host, port))
        except OSError:
            ok = False
        finally:
            for t in socks:
                t.close()
        if ok:
            return port
    raise OSError("no free port")


# -- client side -----------------------------------------------------------

class Reply:
    def __init__(self, query, msg, wire, elapsed, transport):
        self.query = query
        self.msg = msg
        self.wire = wire
        self.elapsed = elapsed
        self.transport = transport

    # conveniences
    @property
    def rcode(self):
        return self.msg.rcode()

    def flag(self, f):
        return bool(self.msg.flags & f)

    def rrs(self, section="answer", rdtype=None):
        """[(owner text lower, ttl, rdtype, rdata text)] of a section."""
        out = []
        for rrset in getattr(self.msg, section):
            if rdtype is not None and rrset.rdtype != dns.rdatatype.from_text(
                    rdtype):
                continue
            for rd in rrset:
                out.append((rrset.name.to_text().lower(), rrset.ttl,
                            dns.rdatatype.to_text(rrset.rdtype),
                            rd.to_text()))
        return out

    def addrs(self, rdtype="AAAA"):
        return [r[3] for r in self.rrs("answer", rdtype)]

    def ede(self):
        return [o.code for o in self.msg.options
                if o.otype == dns.edns.OptionType.EDE]

    def __repr__(self):
        return "Reply(%s)" % self.msg.to_text().replace("\n", " | ")


def make_query(qname, qtype="A", rdclass="IN", edns=None, do=False, cd=False,
               options=None, qid=None, rd=True):
    """edns: None (no OPT) or the UDP payload size to advertise."""
    kw = {}
    if edns is not None or do or options:
        kw["use_edns"] = 0
        kw["payload"] = edns if edns is not None else 1232
        if options:
            kw["options"] = options
    q = dns.message.make_query(qname, qtype, rdclass, want_dnssec=do, **kw)
    if cd:
        q.flags |= dns.flags.CD
    if not rd:
        q.flags &= ~dns.flags.RD
    if qid is not None:
        q.id = qid
    return q


def send_udp_raw(wire, port, host="127.0.0.1", source=None, timeout=3.0,
                 match_id=True):
    """Send wire, return the first answer bytes (with the same ID when
    match_id) or None after timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        if source:
            s.bind((source, 0))
        s.sendto(wire, (host, port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                return None
            if addr[1] != port:
                continue
            if match_id and len(wire) >= 2 and (len(data) < 2
                                                or data[:2] != wire[:2]):
                continue
            return data
    finally:
        s.close()


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def send_tcp_raw(wire, port, host="127.0.0.1", source=None, timeout=3.0):
    """One length-prefixed query over a new TCP connection; the answer
    bytes, or None when the connection closes / times out."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        hdr = recv_exact(s, 2)
        if hdr is None:
            return None
        return recv_exact(s, struct.unpack("!H", hdr)[0])
    except (socket.timeout, ConnectionError):
        return None
    finally:
        s.close()


def ask(port, qname, qtype="A", tcp=False, host="127.0.0.1", source=None,
        timeout=3.0, **kw):
    """Query the proxy; Reply or NoAnswer.  kw go to make_query."""
    q = kw.pop("query", None) or make_query(qname, qtype, **kw)
    wire = q.to_wire()
    t0 = time.monotonic()
    if tcp:
        data = send_tcp_raw(wire, port, host, source, timeout)
    else:
        data = send_udp_raw(wire, port, host, source, timeout)
    elapsed = time.monotonic() - t0
    if data is None:
        raise NoAnswer("no answer to %s %s over %s within %.1fs" % (
            qname, qtype, "TCP" if tcp else "UDP", timeout))
    try:
        msg = dns.message.from_wire(data)
    except Exception as e:
        raise CheckFailed("answer does not parse (%s): %s" % (
            type(e).__name__, data.hex()))
    check(msg.id == q.id, "answer ID %d != query ID %d" % (msg.id, q.id))
    check(msg.flags & dns.flags.QR, "answer without QR")
    return Reply(q, msg, data, elapsed, "tcp" if tcp else "udp")


def rev(addr):
    return dns.reversename.from_address(addr).to_text()


# -- the proxy -------------------------------------------------------------

def proxy_binary():
    b = os.environ.get("DNS64PROXY")
    if not b:
        here = os.path.dirname(os.path.abspath(__file__))
        for cand in (os.path.join(here, "..", "..", "src", "dns64proxy"),):
            if os.path.exists(cand):
                b = cand
    return b


class StartError(Exception):
    pass


class Proxy:
    """dns64proxy in the foreground.  conf is the configuration text with
    {port} (the listen port) and {listen} (the listen addresses)."""

    def __init__(self, suite, conf, name="proxy", v6=None, extra_args=(),
                 wrapper=True):
        self.suite = suite
        self.conf_tmpl = conf
        self.name = name
        self.v6 = suite.v6 if v6 is None else v6
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.conf_path = os.path.join(suite.tmp, name + ".conf")
        self.log_path = os.path.join(suite.tmp, name + ".log")
        self.wrapper = shlex.split(os.environ.get("DNS64PROXY_WRAPPER", "")) \
            if wrapper else []

    def listen_text(self, port):
        s = "127.0.0.1:%d" % port
        if self.v6:
            s += " [::1]:%d" % port
        return s

    def write_conf(self, text=None):
        if text is None:
            text = self.conf_tmpl.format(port=self.port,
                                         listen=self.listen_text(self.port))
        with open(self.conf_path, "w") as f:
            f.write(text)

    def start(self, ready_timeout=10.0):
        last = None
        for _ in range(5):
            self.port = free_port(self.v6)
            self.write_conf()
            logf = open(self.log_path, "ab")
            cmd = self.wrapper + [self.suite.binary, "-f", "-vv", "-c",
                                  self.conf_path] + self.extra_args
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT)
            logf.close()
            self.suite.procs.append(self.proc)
            try:
                self.wait_ready(ready_timeout)
                return self
            except StartError as e:
                last = e
                self.kill()
                if self.proc.returncode != 3:   # not "port in use": give up
                    break
        raise StartError("%s did not start: %s" % (self.name, last))

    def wait_ready(self, timeout):
        """Poll with a query until any DNS answer comes back."""
        deadline = time.monotonic() + timeout
        q = make_query("ipv4only.arpa", "A").to_wire()
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise StartError("exited with %d: %s" % (rc, self.log_tail()))
            if send_udp_raw(q, self.port, timeout=0.2, match_id=True):
                return
        raise StartError("no answer within %.0fs: %s" % (timeout,
                                                         self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=8):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return " / ".join(lines[-n:])
        except OSError:
            return ""

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def signal_and_wait(self, sig, text, timeout=5.0):
        """Send sig, then wait until the log holds text once more than
        before; whether it came."""
        before = self.log_text().count(text)
        self.signal(sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count(text) > before:
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=5.0):
        """SIGTERM, wait, SIGKILL; the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


def run_cmd(args, timeout=10, **kw):
    """Run a command; (rc, stdout, stderr) as text."""
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, **kw)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# -- the suite -------------------------------------------------------------

class Suite:
    def __init__(self, prefix, deadline=110):
        self.prefix = prefix
        self.passed = 0
        self.failed = 0
        self.procs = []
        self.cleanups = []
        self.tmp = tempfile.mkdtemp(prefix="dns64proxy-%s-" % prefix)
        self.binary = proxy_binary()
        self.e2e_dir = (os.environ.get("E2E_DIR")
                        or os.path.dirname(os.path.abspath(__file__)))
        self.v6 = have_ipv6()
        self.deadline = deadline
        sys.stdout.reconfigure(line_buffering=True)

    def require_binary(self):
        """The program under test must exist: its absence is a failure,
        not a skip."""
        if not self.binary or not os.access(self.binary, os.X_OK):
            self.fail("binary", "DNS64PROXY not set or not executable: %r"
                      % self.binary)
            self.cleanup()
            print("%s: %d passed, %d failed" % (self.prefix, self.passed,
                                                self.failed))
            sys.exit(1)

    def skip(self, why):
        print("SKIP: %s" % why)
        self.cleanup()
        sys.exit(SKIP)

    def case(self, name, fn, *args, **kw):
        if not selected(name):
            return True
        t0 = time.monotonic()
        try:
            fn(*args, **kw)
        except (CheckFailed, NoAnswer, StartError) as e:
            self.fail(name, str(e))
            return False
        except Exception as e:
            self.fail(name, "%s: %s [%s]" % (
                type(e).__name__, e,
                traceback.format_exc(limit=3).strip().splitlines()[-3]
                .strip()))
            return False
        self.passed += 1
        dt = time.monotonic() - t0
        print("PASS: %s%s" % (name, " (%.1fs)" % dt if dt >= 1 else ""))
        return True

    def fail(self, name, reason):
        self.failed += 1
        reason = " ".join(str(reason).split())
        if len(reason) > 600:
            reason = reason[:600] + "..."
        print("FAIL: %s: %s" % (name, reason))

    def cleanup(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                pass
        self.cleanups = []
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(3)
                except Exception:
                    p.kill()
                    try:
                        p.wait(3)
                    except Exception:
                        pass
        if os.environ.get("E2E_KEEP_TMP"):
            print("(temporary files kept in %s)" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, body):
        """Run body(suite) under the global deadline; exit with the result."""
        def on_alarm(signum, frame):
            raise GlobalTimeout()
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(self.deadline)
        try:
            body(self)
        except GlobalTimeout:
            self.fail("deadline", "the script ran longer than %ds" %
                      self.deadline)
        except StartError as e:
            self.fail("start", str(e))
        except Exception as e:
            self.fail("harness", "%s: %s %s" % (type(e).__name__, e,
                                                traceback.format_exc()))
        finally:
            signal.alarm(0)
            self.cleanup()
        print("%s: %d passed, %d failed" % (self.prefix, self.passed,
                                            self.failed))
        sys.exit(1 if self.failed else 0)
