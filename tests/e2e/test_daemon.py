#!/usr/bin/python3
"""End-to-end: dns64proxy as a daemon (SPEC.md "Command line", signals).

Cases:
  daemon_start          no -f: `dns64proxy -c CONF` exits 0 once it answers;
                        the pidfile holds the live daemon's pid
  daemon_syslog         its start-up line reaches /dev/log as daemon.info
                        (only as root and when /dev/log does not exist: the
                        test binds a socket there for the while)
  daemon_sigterm        SIGTERM: the daemon exits 0 and removes the pidfile
  daemon_port_in_use    a listen port in use: exit 3, no pidfile, no daemon
  privilege_drop        user = nobody, group = nogroup (root only): real,
                        effective and saved ids are nobody's; still answers;
                        its pidfile, in a directory only root may write,
                        is left empty at exit (no stale pid)
  daemon_relative_config  a daemon started with a relative -c path takes
                        a changed file on SIGHUP (it chdir()s to /)
  sighup_prefix_under_load  SIGHUP with a new prefix during a steady query
                        stream: nothing lost, old prefix before, new after
  sighup_bad_file       a broken file: FILE:LINE: on stderr, old prefix kept
  sighup_listen_add_remove  a listen address added opens, removed closes
  sighup_remove_listen_in_flight  a query in flight on an address a reload
                        drops gets its answer from that address
  sighup_readd_dropped_listen  workers = 2: an address dropped with a query
                        in flight and added back at once opens again
                        within seconds (the reload is retried)
  sigterm_drains        SIGTERM with queries in flight: all get their real
                        answer, exit 0 in time, later queries get nothing
  sigterm_after_shorter_reload  a query started under a longer timeout
                        than a reload then set is still answered in the
                        drain after SIGTERM
  sigterm_three_exchanges  the drain waits for a query that needs three
                        exchanges (AAAA, A over UDP truncated, A over TCP)
  sigterm_twice_still_drains  SIGTERM, SIGTERM, SIGINT: the query in
                        flight is still answered, exit 0
  query_log             [log] queries = yes: one line per query
  sigusr1_counters      SIGUSR1 writes a "counters:" line
  workers_2             workers = 2: 500 queries all answered, >= 2 threads
  workers_3_reloads_under_load  workers = 3, cache, parallel = yes, /metrics:
                        six reloads (prefix, cache size, [stats] address,
                        a listen address added and removed) and SIGUSR1
                        while clients ask over UDP and TCP and a scraper
                        reads /metrics: every answer right, exit 0
  man_lint, man_coverage  the manual pages: mandoc lint clean; every key,
                        option and signal of SPEC.md documented

Environment: DNS64PROXY (the binary), E2E_DIR (this directory, maybe
read-only).  Prints PASS/FAIL/SKIP lines and "e2e-daemon: N passed, N
failed"; exit 0 only when none failed.
"""

import ctypes
import grp
import ipaddress
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdata  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

from dnstest import (Suite, Proxy, NoAnswer, StartError,  # noqa: E402
                     CheckFailed, ask, check, eq, free_port, make_query,
                     run_cmd, selected, send_tcp_raw, send_udp_raw)
from scripted_upstream import (ScriptedUpstream, Rule,  # noqa: E402
                               nodata, soa_rr)

PREFIX = "e2e-daemon"
V4 = "93.184.215.14"                 # global: the WKP rule lets it through
OLD_PREFIX = "64:ff9b::"
NEW_PREFIX = "2001:db8:64::"
OLD_ADDR = str(ipaddress.IPv6Address(OLD_PREFIX) + int(
    ipaddress.IPv4Address(V4)))     # 64:ff9b::5db8:d70e
NEW_ADDR = str(ipaddress.IPv6Address(NEW_PREFIX) + int(
    ipaddress.IPv4Address(V4)))


class Skip(Exception):
    pass


# -- processes ---------------------------------------------------------------

def proc_state(pid):
    """The state letter of /proc/PID/stat, or None when there is no such
    process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return s[s.rindex(")") + 2]


def set_subreaper():
    """Become the reaper of our orphaned descendants (the double-forked
    daemon), so its exit status can be read; False when not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0    # PR_SET_CHILD_SUBREAPER
    except Exception:
        return False


class Tracked:
    """A daemon we did not start directly: found by pid."""

    def __init__(self, pid):
        self.pid = pid
        self.status = None          # exit status once reaped

    def reap(self):
        if self.status is not None:
            return True
        try:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == self.pid:
            self.status = (os.WEXITSTATUS(st) if os.WIFEXITED(st)
                           else -os.WTERMSIG(st))
            return True
        return False

    def gone(self):
        """Exited: reaped, no such process, or a zombie (PID 1 may not
        reap orphans here)."""
        if self.reap():
            return True
        st = proc_state(self.pid)
        if st is not None and st in "ZX":
            self.reap()         # it died since: ours to reap if we can
        return st is None or st in "ZX"

    def wait_gone(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gone():
                return True
            time.sleep(0.02)
        return self.gone()

    def kill(self):
        if not self.gone():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
            self.wait_gone(3)


def reap_strays(known):
    """Reap zombie children we did not start (the daemon's intermediate
    process, reparented to us as subreaper)."""
    me = os.getpid()
    for ent in os.listdir("/proc"):
        if not ent.isdigit() or int(ent) in known:
            continue
        try:
            with open("/proc/%s/stat" % ent) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        if rest[0] == "Z" and int(rest[1]) == me:
            try:
                os.waitpid(int(ent), os.WNOHANG)
            except ChildProcessError:
                pass


def procs_with_arg(arg):
    """Live (non-zombie) pids whose command line holds arg."""
    out = []
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % ent, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if arg.encode() in argv and proc_state(int(ent)) not in (None, "Z",
                                                                  "X"):
            out.append(int(ent))
    return out


def status_ids(pid):
    """(Uid fields, Gid fields, Groups) from /proc/PID/status."""
    uid = gid = groups = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "Uid":
                uid = [int(x) for x in v.split()]
            elif k == "Gid":
                gid = [int(x) for x in v.split()]
            elif k == "Groups":
                groups = [int(x) for x in v.split()]
    return uid, gid, groups


# -- the upstream ----------------------------------------------------------

def answer_any(q, transport):
    """Default upstream behaviour: AAAA -> NODATA, A -> V4, names under
    nx.example.test -> NXDOMAIN, other types NODATA."""
    resp = dns.message.make_response(q)
    resp.flags |= dns.flags.RA
    qn = q.question[0].name
    qt = q.question[0].rdtype
    if qn.to_text().lower().endswith("nx.example.test."):
        resp.set_rcode(dns.rcode.NXDOMAIN)
        qt = None
    if qt == dns.rdatatype.A:
        rrs = resp.find_rrset(resp.answer, qn, 1, dns.rdatatype.A,
                              create=True)
        rrs.add(dns.rdata.from_text(1, dns.rdatatype.A, V4), 300)
    else:
        soa = dns.rrset.from_text("example.test.", 300, "IN", "SOA",
                                  soa_rr().split(None, 4)[4])
        resp.authority.append(soa)
    return resp


# -- helpers ---------------------------------------------------------------

def wait_for(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(step)


def count_re(proxy, pattern):
    return len(re.findall(pattern, proxy.log_text(), re.M))


def aaaa_of(reply):
    return reply.addrs("AAAA")


def main(suite):
    suite.require_binary()
    B = suite.binary
    tmp = suite.tmp
    root = os.geteuid() == 0
    subreaper = set_subreaper()
    tracked = []                # daemons found by pid: killed at the end

    started_confs = []          # conf paths of the daemons we started

    def kill_tracked():
        for conf in started_confs:     # also daemons the pidfile missed
            for pid in procs_with_arg(conf):
                tracked.append(Tracked(pid))
        for t in tracked:
            t.kill()
        reap_strays({p.pid for p in suite.procs})
    suite.cleanups.append(kill_tracked)

    def case(name, fn):
        if not selected(name):
            return
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            print("SKIP: %s: %s" % (name, e))
            return
        except (CheckFailed, NoAnswer, StartError) as e:
            suite.fail(name, str(e))
            return
        except Exception as e:
            suite.fail(name, "%s: %s" % (type(e).__name__, e))
            return
        suite.passed += 1
        dt = time.monotonic() - t0
        print("PASS: %s%s" % (name, " (%.1fs)" % dt if dt >= 1 else ""))

    up = ScriptedUpstream(default=Rule(func=answer_any)).start()
    suite.cleanups.append(up.stop)

    def server_conf(extra_server="", prefix="64:ff9b::/96", timeout=1000,
                    attempts=2, tail=""):
        # {listen} is filled in by Proxy
        return ("[server]\n"
                "listen = {listen}\n"
                "upstream = 127.0.0.1:%d\n"
                "timeout = %d\n"
                "attempts = %d\n"
                "%s"
                "[dns64]\n"
                "prefix = %s\n"
                "%s" % (up.port, timeout, attempts, extra_server, prefix,
                        tail))

    # == 1. daemon mode ======================================================
    dstate = {}
    daemon_conf = os.path.join(tmp, "daemon.conf")
    pidfile = os.path.join(tmp, "daemon.pid")
    syslog = {"sock": None, "msgs": [], "why": None, "stop": False}

    def syslog_close():
        s = syslog["sock"]
        if s is None:
            return
        syslog["sock"] = None
        syslog["stop"] = True
        try:
            s.close()
        finally:
            try:
                os.unlink("/dev/log")
            except OSError:
                pass

    def syslog_open():
        if not root:
            syslog["why"] = "not root: cannot create /dev/log"
            return
        if os.path.lexists("/dev/log"):
            syslog["why"] = "/dev/log already exists (a real syslog?)"
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind("/dev/log")
        except OSError as e:
            s.close()
            syslog["why"] = "cannot bind /dev/log: %s" % e
            return
        syslog["sock"] = s
        suite.cleanups.append(syslog_close)
        s.settimeout(0.2)

        def drain():            # never let a sender block on a full queue
            while not syslog["stop"]:
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                syslog["msgs"].append(data.decode("utf-8", "replace"))
        threading.Thread(target=drain, daemon=True).start()

    def read_pidfile(path):
        with open(path) as f:
            return int(f.read().strip())

    def daemon_start():
        port = free_port(False)
        dstate["port"] = port
        with open(daemon_conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\n"
                    "upstream = 127.0.0.1:%d\ntimeout = 1000\n"
                    "attempts = 2\npidfile = %s\n[dns64]\n"
                    "prefix = 64:ff9b::/96\n" % (port, up.port, pidfile))
        syslog_open()
        out_path = os.path.join(tmp, "daemon.out")
        started_confs.append(daemon_conf)
        with open(out_path, "wb") as out:
            p = subprocess.Popen([B, "-c", daemon_conf],
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=out)
        suite.procs.append(p)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            raise CheckFailed("`dns64proxy -c CONF` did not return within "
                              "15s")
        # whatever happens next, the daemon is killed at the end
        if os.path.exists(pidfile):
            try:
                dstate["daemon"] = Tracked(read_pidfile(pidfile))
                tracked.append(dstate["daemon"])
            except ValueError:
                pass
        with open(out_path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        eq(rc, 0, "exit status of the starting command (output %r)" % out)
        # ready means ready: the pidfile is there, the first query is
        # answered at once, no polling
        check(os.path.exists(pidfile), "no pidfile %s when the starting "
              "command returned" % pidfile)
        r = ask(port, "ipv4only.arpa", "A", timeout=1)
        eq(sorted(r.addrs("A")), ["192.0.0.170", "192.0.0.171"],
           "ipv4only.arpa A right after start")
        text = open(pidfile).read()
        check(re.fullmatch(r"\d+\n?", text), "pidfile content %r" % text)
        pid = int(text)
        check(pid != p.pid, "pidfile holds the pid of the command that "
              "returned (%d): not the daemon" % pid)
        st = proc_state(pid)
        check(st is not None and st not in "ZX",
              "pid %d from the pidfile is not a live process (%r)" % (pid,
                                                                    st))
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0")]
        check(daemon_conf in argv, "pid %d is not our daemon: %r" % (pid,
                                                                     argv))
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        sid = int(fields[3])
        check(sid != os.getsid(0), "the daemon did not leave our session "
              "(sid %d)" % sid)
        # it forwards and synthesizes
        r = ask(port, "daemon.example.test", "AAAA", timeout=3)
        eq(r.rcode, dns.rcode.NOERROR, "rcode of AAAA")
        eq(aaaa_of(r), [OLD_ADDR], "synthesized AAAA from the daemon")
        r = ask(port, "daemon.example.test", "AAAA", tcp=True, timeout=3)
        eq(aaaa_of(r), [OLD_ADDR], "synthesized AAAA over TCP")

    def daemon_syslog():
        if "daemon" not in dstate:
            raise CheckFailed("no daemon running (daemon_start failed)")
        if syslog["sock"] is None:
            raise Skip(syslog["why"] or "no /dev/log socket")
        pid = dstate["daemon"].pid
        pat = re.compile(r"^<(\d+)>.*?dns64proxy\[(\d+)\]: .*dns64proxy "
                         r"\S+ started")

        def found():
            for m in list(syslog["msgs"]):
                mm = pat.search(m)
                if mm and int(mm.group(2)) == pid:
                    return mm
            return None
        m = wait_for(found, 3)
        check(m, "no 'dns64proxy ... started' line from pid %d on /dev/log;"
              " got %r" % (pid, syslog["msgs"][:5]))
        prio = int(m.group(1))
        eq(prio >> 3, 3, "syslog facility (daemon=3) of %r" % m.group(0))
        eq(prio & 7, 6, "syslog severity (info=6) of %r" % m.group(0))
        # and not on the terminal: stdio went to /dev/null
        for fd in ("1", "2"):
            tgt = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            eq(tgt, "/dev/null", "fd %s of the daemon" % fd)

    def daemon_sigterm():
        if "daemon" not in dstate:
            raise CheckFailed("no daemon running (daemon_start failed)")
        t = dstate["daemon"]
        os.kill(t.pid, signal.SIGTERM)
        check(t.wait_gone(5), "pid %d still running 5s after SIGTERM"
              % t.pid)
        if t.status is not None:
            eq(t.status, 0, "exit status of the daemon after SIGTERM")
        else:
            print("  (note: exit status not readable: not the reaper)")
        check(not os.path.exists(pidfile),
              "pidfile %s still there after exit" % pidfile)
        try:
            r = ask(dstate["port"], "ipv4only.arpa", "A", timeout=0.5)
            raise CheckFailed("answer after exit: %r" % r)
        except NoAnswer:
            pass
        if syslog["sock"] is not None:
            check(wait_for(lambda: any(
                "dns64proxy[%d]" % t.pid in m and "stopped" in m
                for m in syslog["msgs"]), 2),
                "no 'stopped' line in syslog")
        syslog_close()

    def daemon_port_in_use():
        port = free_port(False)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tc = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conf = os.path.join(tmp, "busy.conf")
        pf = os.path.join(tmp, "busy.pid")
        try:
            u.bind(("127.0.0.1", port))
            tc.bind(("127.0.0.1", port))
            tc.listen(1)
            with open(conf, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1:%d\n"
                        "upstream = 127.0.0.1:%d\npidfile = %s\n"
                        % (port, up.port, pf))
            out_path = os.path.join(tmp, "busy.out")
            started_confs.append(conf)
            with open(out_path, "wb") as out:
                p = subprocess.Popen([B, "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=out)
            suite.procs.append(p)
            try:
                rc = p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                raise CheckFailed("did not return within 10s")
            if os.path.exists(pf):
                try:
                    tracked.append(Tracked(read_pidfile(pf)))
                except ValueError:
                    pass
            with open(out_path, "rb") as f:
                out = f.read().decode("utf-8", "replace")
            eq(rc, 3, "exit status with the port in use (output %r)" % out)
            check(out.strip(), "nothing said about the failure")
            check("%d" % port in out, "the port %d is not named: %r"
                  % (port, out))
            time.sleep(0.1)
            check(not os.path.exists(pf), "pidfile %s left behind" % pf)
            left = procs_with_arg(conf)
            for pid in left:
                tracked.append(Tracked(pid))
            check(not left, "a process is left running: %r" % left)
        finally:
            u.close()
            tc.close()

    case("daemon_start", daemon_start)
    case("daemon_syslog", daemon_syslog)
    case("daemon_sigterm", daemon_sigterm)
    syslog_close()
    case("daemon_port_in_use", daemon_port_in_use)
    reap_strays({p.pid for p in suite.procs})

    # == 2. privilege drop ===================================================
    def privilege_drop():
        if not root:
            raise Skip("not root: cannot drop privileges")
        try:
            pw = pwd.getpwnam("nobody")
        except KeyError:
            raise Skip("no user nobody")
        try:
            gid = grp.getgrnam("nogroup").gr_gid
            group_line = "group = nogroup\n"
        except KeyError:
            gid = pw.pw_gid
            group_line = ""
        # start it with root's group as a supplementary group, so that
        # a drop that keeps the supplementary groups shows
        groups0 = os.getgroups()
        try:
            os.setgroups(sorted(set(groups0) | {0}))
        except OSError:
            pass
        # a directory that only root may write to, as /run
        rundir = os.path.join(tmp, "privrun")
        os.makedirs(rundir, exist_ok=True)
        os.chmod(rundir, 0o755)
        pf = os.path.join(rundir, "privdrop.pid")
        try:
            px = Proxy(suite, server_conf("user = nobody\n" + group_line +
                                          "pidfile = %s\n" % pf),
                       name="privdrop").start()
        finally:
            try:
                os.setgroups(groups0)
            except OSError:
                pass
        try:
            uid_f, gid_f, groups = status_ids(px.proc.pid)
            eq(uid_f[:3], [pw.pw_uid] * 3, "Uid real/effective/saved")
            eq(gid_f[:3], [gid] * 3, "Gid real/effective/saved")
            check(0 not in (groups or []), "supplementary groups still "
                  "hold root's group: %r" % groups)
            r = ask(px.port, "priv.example.test", "AAAA")
            eq(aaaa_of(r), [OLD_ADDR], "AAAA after the privilege drop")
            r = ask(px.port, "priv.example.test", "AAAA", tcp=True)
            eq(aaaa_of(r), [OLD_ADDR], "AAAA over TCP")
            eq(read_pidfile(pf), px.proc.pid, "pid in %s" % pf)
            eq(px.stop(), 0, "exit status after SIGTERM")
            # nobody may not remove it from rundir: emptied, not stale
            if os.path.exists(pf):
                eq(os.path.getsize(pf), 0, "size of %s after the exit of "
                   "a daemon that dropped root" % pf)
            check(wait_for(lambda: "pidfile %s emptied" % pf in
                           px.log_text(), 2),
                  "no 'pidfile emptied' line: %s" % px.log_tail())
        finally:
            px.stop()
    case("privilege_drop", privilege_drop)

    def daemon_relative_config():
        port = free_port(False)
        name = "relative.conf"
        conf = os.path.join(tmp, name)
        pf = os.path.join(tmp, "relative.pid")

        def write(prefix):
            with open(conf, "w") as f:
                f.write("[server]\nlisten = 127.0.0.1:%d\n"
                        "upstream = 127.0.0.1:%d\ntimeout = 1000\n"
                        "pidfile = %s\n[dns64]\nprefix = %s\n"
                        % (port, up.port, pf, prefix))
        write(OLD_PREFIX + "/96")
        started_confs.append(name)
        rc, out, err = run_cmd([B, "-c", name], timeout=15, cwd=tmp)
        eq(rc, 0, "exit status of `dns64proxy -c %s` (%r)" % (name, err))
        t = Tracked(read_pidfile(pf))
        tracked.append(t)
        r = ask(port, "rel1.example.test", "AAAA", timeout=3)
        eq(aaaa_of(r), [OLD_ADDR], "AAAA before the reload")
        write(NEW_PREFIX + "/96")
        os.kill(t.pid, signal.SIGHUP)

        def new_prefix():
            try:
                return aaaa_of(ask(port, "rel2.example.test", "AAAA",
                                   timeout=1)) == [NEW_ADDR]
            except NoAnswer:
                return False
        check(wait_for(new_prefix, 5), "the daemon started with -c %s "
              "did not take the changed file on SIGHUP" % name)
        os.kill(t.pid, signal.SIGTERM)
        check(t.wait_gone(5), "pid %d still running after SIGTERM" % t.pid)
    case("daemon_relative_config", daemon_relative_config)

    # == 3. SIGHUP with a new prefix under load =============================
    def sighup_prefix_under_load():
        px = Proxy(suite, server_conf(), name="reload").start()
        try:
            _reload_under_load(px)
        finally:
            px.stop()

    def _reload_under_load(px):
        # Under valgrind the daemon answered about 125 synthesized queries
        # a second here (memcheck checks every recvmmsg() vector before the
        # call: 1 MiB per upstream read), so 2,000 would outlast the
        # client's deadline.
        N = 600 if px.wrapper else 2000
        HARD = 30 if px.wrapper else 12   # seconds after the last send
        SPAN = 3.0               # seconds over which the queries are sent
        WINDOW = 8
        QTIMEOUT = 2.5
        res = [None] * N         # (t_send, t_recv, rcode, addrs)
        sent = [None] * N
        lost = []
        stop = threading.Event()

        def client():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            out = {}             # id -> index
            nxt = 0
            t0 = time.monotonic()
            hard = t0 + SPAN + HARD
            try:
                while (nxt < N or out) and not stop.is_set():
                    now = time.monotonic()
                    if now > hard:
                        break
                    while (nxt < N and len(out) < WINDOW
                           and now >= t0 + nxt * SPAN / N):
                        q = make_query("q%d.load.example.test" % nxt, "AAAA",
                                       qid=(nxt * 7 + 1) & 0xffff)
                        out[q.id] = nxt
                        sent[nxt] = time.monotonic()
                        s.sendto(q.to_wire(), ("127.0.0.1", px.port))
                        nxt += 1
                    for qid, i in list(out.items()):
                        if now - sent[i] > QTIMEOUT:
                            lost.append(i)
                            del out[qid]
                    wait = 0.05
                    if nxt < N and len(out) < WINDOW:
                        wait = max(0.0, min(wait, t0 + nxt * SPAN / N - now))
                    s.settimeout(max(wait, 0.001))
                    try:
                        data = s.recv(65535)
                    except socket.timeout:
                        continue
                    t = time.monotonic()
                    try:
                        m = dns.message.from_wire(data)
                    except Exception:
                        continue
                    i = out.pop(m.id, None)
                    if i is None:
                        continue
                    addrs = [rd.to_text() for rrs in m.answer
                             if rrs.rdtype == dns.rdatatype.AAAA
                             for rd in rrs]
                    qn = m.question[0].name.to_text() if m.question else ""
                    if qn.lower() != "q%d.load.example.test." % i:
                        addrs = ["wrong question %s" % qn]
                    res[i] = (sent[i], t, m.rcode(), addrs)
                lost.extend(out.values())
                lost.extend(range(nxt, N))
            finally:
                s.close()

        th = threading.Thread(target=client, daemon=True)
        base = count_re(px, r"configuration reloaded")
        th.start()
        try:
            # the middle of the stream: a third answered
            wait_for(lambda: sum(1 for r in res if r) >= N // 3, SPAN + 3,
                     step=0.005)
            t_hup = time.monotonic()
            px.write_conf(server_conf(prefix="2001:db8:64::/96").format(
                listen=px.listen_text(px.port)))
            px.signal(signal.SIGHUP)
            ok = wait_for(lambda: count_re(px, r"configuration reloaded")
                          > base, 3, step=0.005)
            t_rel = time.monotonic()
            th.join(SPAN + HARD + 3)
        finally:
            stop.set()
            th.join(3)
        check(ok, "no 'configuration reloaded' in the log after SIGHUP: %s"
              % px.log_tail())
        check(not lost, "%d of %d queries got no answer (first: q%d)"
              % (len(lost), N, min(lost)) if lost else "")
        bad = [(i, r) for i, r in enumerate(res)
               if r is None or r[2] != dns.rcode.NOERROR]
        check(not bad, "%d answers not NOERROR, e.g. q%d: %r" % (
            len(bad), bad[0][0], bad[0][1]) if bad else "")
        settle = t_rel + 0.2
        old = new = 0
        seen_new_at = None
        for i, (ts, tr, rc, addrs) in enumerate(res):
            check(addrs in ([OLD_ADDR], [NEW_ADDR]),
                  "q%d: AAAA %r, expected [%s] or [%s]" % (i, addrs,
                                                          OLD_ADDR, NEW_ADDR))
            if addrs == [OLD_ADDR]:
                old += 1
                check(ts <= settle, "q%d sent %.3fs after the reload was "
                      "logged got the old prefix" % (i, ts - t_rel))
                check(seen_new_at is None or ts <= seen_new_at,
                      "q%d got the old prefix though sent after a new-prefix"
                      " answer had come" % i)
            else:
                new += 1
                check(tr >= t_hup, "q%d answered %.3fs before SIGHUP has the"
                      " new prefix" % (i, t_hup - tr))
                seen_new_at = tr if seen_new_at is None else min(seen_new_at,
                                                                  tr)
        check(old > 0 and new > 0, "old-prefix answers %d, new-prefix %d"
              % (old, new))
        print("  (%d queries: %d old prefix, %d new prefix)" % (N, old, new))
    case("sighup_prefix_under_load", sighup_prefix_under_load)

    # == 4. SIGHUP with a broken file =======================================
    def sighup_bad_file():
        px = Proxy(suite, server_conf(), name="badreload").start()
        try:
            r = ask(px.port, "bad1.example.test", "AAAA")
            eq(aaaa_of(r), [OLD_ADDR], "AAAA before the reload")
            good = px.conf_path
            lines = server_conf(prefix="2001:db8:64::/96").format(
                listen=px.listen_text(px.port)).splitlines()
            # break the "timeout = ..." line
            idx = next(i for i, ln in enumerate(lines)
                       if ln.startswith("timeout"))
            lines[idx] = "timeout = banana"
            px.write_conf("\n".join(lines) + "\n")
            loc = "%s:%d:" % (good, idx + 1)
            px.signal(signal.SIGHUP)
            check(wait_for(lambda: loc in px.log_text(), 3),
                  "%r not in the log after SIGHUP: %s" % (loc,
                                                          px.log_tail()))
            check(px.alive(), "the proxy exited on a bad reload")
            for tcp in (False, True):
                r = ask(px.port, "bad2.example.test", "AAAA", tcp=tcp)
                eq(aaaa_of(r), [OLD_ADDR], "AAAA after the bad reload (%s)"
                   % ("TCP" if tcp else "UDP"))
            check("configuration reloaded" not in px.log_text(),
                  "a bad file was reported as reloaded")
        finally:
            px.stop()
    case("sighup_bad_file", sighup_bad_file)

    # == 5. SIGHUP adding and removing a listen address =====================
    def sighup_listen_add_remove():
        px = Proxy(suite, server_conf(), name="relisten").start()
        try:
            p2 = free_port(False)
            base = count_re(px, r"configuration reloaded")
            px.write_conf(server_conf().format(
                listen=px.listen_text(px.port) + " 127.0.0.1:%d" % p2))
            px.signal(signal.SIGHUP)
            check(wait_for(lambda: count_re(px, "configuration reloaded")
                           > base, 3), "no reload logged: %s"
                  % px.log_tail())
            r = ask(p2, "add.example.test", "AAAA", timeout=2)
            eq(aaaa_of(r), [OLD_ADDR], "AAAA on the added port (UDP)")
            r = ask(p2, "add.example.test", "AAAA", tcp=True, timeout=2)
            eq(aaaa_of(r), [OLD_ADDR], "AAAA on the added port (TCP)")
            ask(px.port, "ipv4only.arpa", "A")
            # and away again
            px.write_conf(server_conf().format(
                listen=px.listen_text(px.port)))
            px.signal(signal.SIGHUP)
            check(wait_for(lambda: count_re(px, "configuration reloaded")
                           > base + 1, 3), "no second reload logged: %s"
                  % px.log_tail())
            time.sleep(0.1)
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(2)
            try:
                c.connect(("127.0.0.1", p2))
                raise CheckFailed("TCP connect to the removed port %d "
                                  "succeeded" % p2)
            except ConnectionRefusedError:
                pass
            except socket.timeout:
                raise CheckFailed("TCP connect to the removed port timed "
                                  "out instead of being refused")
            finally:
                c.close()
            data = send_udp_raw(make_query("rm.example.test", "A").to_wire(),
                                p2, timeout=0.5)
            check(data is None, "the removed port %d still answers UDP" % p2)
            r = ask(px.port, "keep.example.test", "AAAA")
            eq(aaaa_of(r), [OLD_ADDR], "AAAA on the kept port")
        finally:
            px.stop()
    case("sighup_listen_add_remove", sighup_listen_add_remove)

    # == 5b. ... while queries asked on that address are in flight ==========
    def sighup_remove_listen_in_flight():
        # Each round: a query for a name the upstream answers after 0.4 s
        # goes to the second address, and a reload drops that address
        # before the answer.  The answer still comes, from the address
        # it was asked on (the proxy used to free the listener under the
        # query: no answer, and under load a crash).
        for i in range(6):
            up.set("if%d.slow.example.test" % i, "A", Rule(
                answer=["if%d.slow.example.test. 60 A %s" % (i, V4)],
                delay=0.4))
        px = Proxy(suite, server_conf(), name="dropinflight").start()
        try:
            base = count_re(px, "configuration reloaded")
            for i in range(6):
                p2 = free_port(False)
                px.write_conf(server_conf().format(
                    listen=px.listen_text(px.port) + " 127.0.0.1:%d" % p2))
                px.signal(signal.SIGHUP)
                base += 1
                check(wait_for(lambda: count_re(
                    px, "configuration reloaded") >= base, 3),
                    "no reload logged: %s" % px.log_tail())
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(3)
                q = make_query("if%d.slow.example.test" % i, "A")
                s.sendto(q.to_wire(), ("127.0.0.1", p2))
                time.sleep(0.1)
                px.write_conf(server_conf().format(
                    listen=px.listen_text(px.port)))
                px.signal(signal.SIGHUP)
                base += 1
                try:
                    data, src = s.recvfrom(65535)
                except socket.timeout:
                    raise CheckFailed("round %d: no answer to the query in "
                                      "flight on the dropped address" % i)
                finally:
                    s.close()
                eq(src, ("127.0.0.1", p2), "round %d: answer's source" % i)
                m = dns.message.from_wire(data)
                eq([r.to_text() for rs in m.answer for r in rs], [V4],
                   "round %d: the answer" % i)
                check(px.alive(), "died: %s" % px.log_tail())
            r = ask(px.port, "keep.example.test", "AAAA")
            eq(aaaa_of(r), [OLD_ADDR], "AAAA on the kept port")
        finally:
            px.stop()
    case("sighup_remove_listen_in_flight", sighup_remove_listen_in_flight)

    # == 5c. ... and added back while they are ==============================
    def sighup_readd_dropped_listen():
        # With workers = 2 the sockets kept for a dropped address's answers
        # hold it: a reload that adds it back at once used to be refused
        # ("configuration unchanged") and the address stayed closed.  It
        # is now tried again each second until those sockets are gone.
        up.set("readd.slow.example.test", "A", Rule(
            answer=["readd.slow.example.test. 60 A %s" % V4], delay=1.5))
        conf2 = server_conf("workers = 2\n", timeout=2000, attempts=1)
        px = Proxy(suite, conf2, name="readd").start()
        p2 = free_port(False)
        both = conf2.format(listen=px.listen_text(px.port)
                            + " 127.0.0.1:%d" % p2)
        try:
            px.write_conf(both)
            check(px.signal_and_wait(signal.SIGHUP, "configuration reloaded"),
                  "adding the address: " + px.log_tail())
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(4)
            s.sendto(make_query("readd.slow.example.test", "A").to_wire(),
                     ("127.0.0.1", p2))
            time.sleep(0.1)
            px.write_conf(conf2.format(listen=px.listen_text(px.port)))
            check(px.signal_and_wait(signal.SIGHUP, "configuration reloaded"),
                  "dropping the address: " + px.log_tail())
            px.write_conf(both)
            t0 = time.monotonic()
            check(px.signal_and_wait(signal.SIGHUP, "configuration reloaded",
                                     timeout=8),
                  "adding it back: " + px.log_tail())
            took = time.monotonic() - t0
            try:
                data, src = s.recvfrom(65535)
            except socket.timeout:
                raise CheckFailed("no answer to the query in flight")
            finally:
                s.close()
            eq(src, ("127.0.0.1", p2), "the answer's source")
            r = ask(p2, "back.example.test", "A")
            eq(r.addrs("A"), [V4], "A on the address added back")
            log = px.log_text()
            check("configuration unchanged" not in log,
                  "a reload was refused: " + px.log_tail())
            check("trying again in 1 s" in log, "the address was free at "
                  "once: the retry was not tried")
            print("  (added back %.1f s after the SIGHUP)" % took)
        finally:
            rc = px.stop()
        eq(rc, 0, "exit status")
    case("sighup_readd_dropped_listen", sighup_readd_dropped_listen)

    # == 6. SIGTERM drains the queries in flight ===========================
    def sigterm_drains():
        timeout_ms, attempts = 2000, 1
        bound = timeout_ms / 1000.0 * attempts * 3 + 1   # the man page's
        names_a = ["d%d.slow.example.test" % i for i in range(16)]
        names_aaaa = ["s%d.slow.example.test" % i for i in range(4)]
        names_tcp = ["t%d.slow.example.test" % i for i in range(3)]
        for n in names_a + names_tcp:
            up.set(n, "A", Rule(answer=["%s 60 A %s" % (n, V4)], delay=0.5))
        for n in names_aaaa:
            up.set(n, "AAAA", Rule(authority=[soa_rr()], delay=0.5))
            up.set(n, "A", Rule(answer=["%s 60 A %s" % (n, V4)], delay=0.5))
        px = Proxy(suite, server_conf(timeout=timeout_ms, attempts=attempts),
                   name="drain").start()
        try:
            results = {}

            def one(name, qtype, tcp):
                try:
                    results[(name, tcp)] = ask(px.port, name, qtype, tcp=tcp,
                                               timeout=bound + 2)
                except Exception as e:
                    results[(name, tcp)] = e
            ths = ([threading.Thread(target=one, args=(n, "A", False))
                    for n in names_a]
                   + [threading.Thread(target=one, args=(n, "AAAA", False))
                      for n in names_aaaa]
                   + [threading.Thread(target=one, args=(n, "A", True))
                      for n in names_tcp])
            for th in ths:
                th.daemon = True
                th.start()
            allnames = set(n.lower() + "." for n in
                           names_a + names_aaaa + names_tcp)

            def arrived():
                seen = {q.qname.lower() for q in up.queries()
                        if q.qname and q.qname.lower() in allnames}
                return seen == allnames
            check(wait_for(arrived, 2, step=0.005),
                  "the queries did not all reach the upstream")
            t_term = time.monotonic()
            px.signal(signal.SIGTERM)
            time.sleep(0.1)
            # after SIGTERM: nothing new is taken
            late_udp = send_udp_raw(make_query("late.example.test",
                                               "A").to_wire(), px.port,
                                    timeout=1.0)
            late_tcp = send_tcp_raw(make_query("late2.example.test",
                                               "A").to_wire(), px.port,
                                    timeout=1.0)
            for th in ths:
                th.join(max(0.1, t_term + bound + 3 - time.monotonic()))
            try:
                rc = px.proc.wait(max(0.1, t_term + bound -
                                      time.monotonic()))
            except subprocess.TimeoutExpired:
                raise CheckFailed("still running %.1fs after SIGTERM" % bound)
            t_exit = time.monotonic() - t_term
            errs = []
            for n in names_a + names_tcp:
                tcp = n in names_tcp
                r = results.get((n, tcp))
                if not hasattr(r, "rcode"):
                    errs.append("%s %s: %s" % (n, "TCP" if tcp else "UDP", r))
                elif r.rcode != dns.rcode.NOERROR or r.addrs("A") != [V4]:
                    errs.append("%s: %s" % (n, r))
            for n in names_aaaa:
                r = results.get((n, False))
                if not hasattr(r, "rcode"):
                    errs.append("%s AAAA: %s" % (n, r))
                elif r.rcode != dns.rcode.NOERROR or aaaa_of(r) != [OLD_ADDR]:
                    errs.append("%s AAAA: %s" % (n, r))
            check(not errs, "%d of %d queries in flight not answered "
                  "properly: %s" % (len(errs), len(results), "; ".join(
                      errs[:3])))
            eq(rc, 0, "exit status after SIGTERM")
            check(late_udp is None, "a UDP query sent after SIGTERM was "
                  "answered")
            check(late_tcp is None, "a TCP query sent after SIGTERM was "
                  "answered")
            print("  (exit %.2fs after SIGTERM; bound %.0fs)" % (t_exit,
                                                                 bound))
        finally:
            px.stop()
    case("sigterm_drains", sigterm_drains)

    def answered_then_exit(px, s):
        """The query in flight on s gets its A record, then the stopping
        proxy exits 0."""
        try:
            m = dns.message.from_wire(s.recv(65535))
        except socket.timeout:
            raise CheckFailed("no answer to the query in flight: %s"
                              % px.log_tail())
        eq([r.to_text() for rs in m.answer for r in rs], [V4], "the answer")
        eq(px.proc.wait(timeout=10), 0, "exit status")

    def sigterm_twice():
        # a second SIGTERM during the drain changes nothing (the first
        # used to hand the signal back to its default action: killed)
        up.set("twice.slow.example.test", "A", Rule(
            answer=["twice.slow.example.test. 60 A %s" % V4], delay=1.0))
        px = Proxy(suite, server_conf(timeout=2000), name="twice").start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(4)
        try:
            s.sendto(make_query("twice.slow.example.test", "A").to_wire(),
                     ("127.0.0.1", px.port))
            time.sleep(0.1)
            px.signal(signal.SIGTERM)
            time.sleep(0.3)
            px.signal(signal.SIGTERM)
            time.sleep(0.1)
            px.signal(signal.SIGINT)
            answered_then_exit(px, s)
        finally:
            s.close()
            px.stop()
    case("sigterm_twice_still_drains", sigterm_twice)

    def sigterm_after_shorter_reload():
        # a query started under timeout = 4000 is still in flight when a
        # reload sets timeout = 300 and SIGTERM follows: the drain is
        # bounded by the longer configuration the query runs under (the
        # new one alone would cut it off 1.6 s after the signal)
        up.set("long.slow.example.test", "A", Rule(
            answer=["long.slow.example.test. 60 A %s" % V4], delay=2.5))
        px = Proxy(suite, server_conf(timeout=4000, attempts=1),
                   name="shorter").start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(6)
        try:
            base = count_re(px, r"configuration reloaded")
            s.sendto(make_query("long.slow.example.test", "A").to_wire(),
                     ("127.0.0.1", px.port))
            time.sleep(0.1)
            px.write_conf(server_conf(timeout=300, attempts=1).format(
                listen=px.listen_text(px.port)))
            px.signal(signal.SIGHUP)
            check(wait_for(lambda: count_re(px, r"configuration reloaded")
                           > base, 3, step=0.01), "no reload: %s"
                  % px.log_tail())
            px.signal(signal.SIGTERM)
            answered_then_exit(px, s)
        finally:
            s.close()
            px.stop()
    case("sigterm_after_shorter_reload", sigterm_after_shorter_reload)

    def sigterm_three_exchanges():
        # an AAAA query whose A answer comes truncated over UDP takes
        # three exchanges (AAAA, A over UDP, A over TCP), each 1.9 s here
        # with timeout = 2000: the drain must allow all three (it allowed
        # two, 5 s, and the query got no answer)
        Z = "three.slow.example.test."
        up.set(Z, "AAAA", nodata(delay=1.9))
        up.set(Z, "A", Rule(answer=["%s 60 A %s" % (Z, V4)], tc_udp=True,
                            delay=1.9))
        px = Proxy(suite, server_conf(timeout=2000, attempts=1),
                   name="three").start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(8)
        try:
            s.sendto(make_query(Z, "AAAA").to_wire(), ("127.0.0.1", px.port))
            time.sleep(0.1)
            px.signal(signal.SIGTERM)
            try:
                m = dns.message.from_wire(s.recv(65535))
            except socket.timeout:
                raise CheckFailed("no answer to the query in flight: %s"
                                  % px.log_tail())
            eq([rd.to_text() for rs in m.answer
                if rs.rdtype == dns.rdatatype.AAAA for rd in rs], [OLD_ADDR],
               "the synthesized answer")
            eq(px.proc.wait(timeout=10), 0, "exit status")
        finally:
            s.close()
            px.stop()
    case("sigterm_three_exchanges", sigterm_three_exchanges)

    # == 7. + 8. query log and SIGUSR1 ======================================
    qlog = {}

    def query_log():
        px = Proxy(suite, server_conf(tail="[log]\nqueries = yes\n"),
                   name="qlog").start()
        qlog["px"] = px
        ask(px.port, "syn.example.test", "AAAA")
        ask(px.port, "fwd.example.test", "A")
        ask(px.port, "x.nx.example.test", "A")
        ask(px.port, "syn.example.test", "AAAA", tcp=True)
        v6 = suite.v6
        if v6:
            ask(px.port, "six.example.test", "AAAA", host="::1")
        lat = r"\d+(\.\d+)?\s*(ms|us|µs|s)\b"

        def lines_for(name, qtype, action, rc, client):
            out = []
            for ln in px.log_text().splitlines():
                if (re.search(r"(^|\s)%s\.?(\s|$)" % re.escape(name), ln,
                              re.I)
                        and re.search(r"\b%s\b" % qtype, ln)
                        and action in ln
                        and re.search(rc, ln)
                        and client in ln
                        and re.search(lat, ln)):
                    out.append(ln)
            return out

        def expect(name, qtype, action, rc, client, n):
            got = wait_for(lambda: len(lines_for(name, qtype, action, rc,
                                                 client)) >= n, 2)
            ls = lines_for(name, qtype, action, rc, client)
            check(got and len(ls) == n,
                  "expected %d query line(s) for %s %s %s %s from %s, got "
                  "%r; log: %s" % (n, name, qtype, action, rc, client, ls,
                                   px.log_tail(12)))
        expect("syn.example.test", "AAAA", "synthesized",
               r"(rcode=0\b|NOERROR)", "127.0.0.1", 2)
        expect("fwd.example.test", "A", "forwarded", r"(rcode=0\b|NOERROR)",
               "127.0.0.1", 1)
        expect("x.nx.example.test", "A", "forwarded",
               r"(rcode=3\b|NXDOMAIN)", "127.0.0.1", 1)
        if v6:
            expect("six.example.test", "AAAA", "synthesized",
                   r"(rcode=0\b|NOERROR)", "::1", 1)

    def sigusr1_counters():
        px = qlog.get("px")
        if px is None or not px.alive():
            px = Proxy(suite, server_conf(), name="usr1").start()
            ask(px.port, "syn.example.test", "AAAA")
        try:
            base = count_re(px, r"counters:")
            px.signal(signal.SIGUSR1)
            check(wait_for(lambda: count_re(px, r"counters:") > base, 3),
                  "no 'counters:' line after SIGUSR1: %s" % px.log_tail())
            line = [ln for ln in px.log_text().splitlines()
                    if "counters:" in ln][-1]
            check(re.search(r"\d", line), "no numbers in %r" % line)
            time.sleep(0.1)
            check(px.alive(), "SIGUSR1 ended the process")
            r = ask(px.port, "after.example.test", "AAAA")
            eq(aaaa_of(r), [OLD_ADDR], "AAAA after SIGUSR1")
        except BaseException:
            px.stop()
            qlog["px"] = None
            raise
        rc = px.stop()
        qlog["px"] = None
        eq(rc, 0, "exit status after SIGTERM")
    try:
        case("query_log", query_log)
        case("sigusr1_counters", sigusr1_counters)
    finally:
        if qlog.get("px") is not None:
            qlog["px"].stop()

    # == 9. workers = 2 ======================================================
    def workers_2():
        px = Proxy(suite, server_conf("workers = 2\n"), name="workers").start()
        try:
            tasks = os.listdir("/proc/%d/task" % px.proc.pid)
            check(len(tasks) >= 2, "%d thread(s) in /proc/%d/task"
                  % (len(tasks), px.proc.pid))
            NSOCK, PER, WINDOW = 10, 50, 5
            bad = []
            lock = threading.Lock()

            def sender(k):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", 0))
                out = {}
                nxt = 0
                deadline = time.monotonic() + 20
                try:
                    while (nxt < PER or out) and time.monotonic() < deadline:
                        while nxt < PER and len(out) < WINDOW:
                            qt = "AAAA" if nxt % 2 else "A"
                            name = "w%d-%d.example.test" % (k, nxt)
                            q = make_query(name, qt,
                                           qid=(k * PER + nxt + 1) & 0xffff)
                            out[q.id] = (name, qt, time.monotonic())
                            s.sendto(q.to_wire(), ("127.0.0.1", px.port))
                            nxt += 1
                        now = time.monotonic()
                        for qid, (name, qt, ts) in list(out.items()):
                            if now - ts > 3:
                                with lock:
                                    bad.append("%s %s: no answer" % (name,
                                                                     qt))
                                del out[qid]
                        s.settimeout(0.2)
                        try:
                            data = s.recv(65535)
                        except socket.timeout:
                            continue
                        m = dns.message.from_wire(data)
                        ent = out.pop(m.id, None)
                        if ent is None:
                            continue
                        name, qt, _ = ent
                        want = OLD_ADDR if qt == "AAAA" else V4
                        got = [rd.to_text() for rrs in m.answer for rd in rrs]
                        if m.rcode() != dns.rcode.NOERROR or got != [want]:
                            with lock:
                                bad.append("%s %s: rcode %s %r" % (
                                    name, qt, dns.rcode.to_text(m.rcode()),
                                    got))
                    for name, qt, _ in out.values():
                        with lock:
                            bad.append("%s %s: no answer" % (name, qt))
                    if nxt < PER:
                        with lock:
                            bad.append("socket %d sent only %d" % (k, nxt))
                finally:
                    s.close()
            ths = [threading.Thread(target=sender, args=(k,), daemon=True)
                   for k in range(NSOCK)]
            for th in ths:
                th.start()
            for th in ths:
                th.join(25)
            check(not any(th.is_alive() for th in ths), "senders hung")
            check(not bad, "%d of %d queries failed: %s" % (
                len(bad), NSOCK * PER, "; ".join(bad[:3])))
            r = ask(px.port, "wtcp.example.test", "AAAA", tcp=True)
            eq(aaaa_of(r), [OLD_ADDR], "AAAA over TCP with 2 workers")
            tasks = os.listdir("/proc/%d/task" % px.proc.pid)
            check(len(tasks) >= 2, "%d thread(s) after the load"
                  % len(tasks))
        finally:
            rc = px.stop()
        eq(rc, 0, "exit status after SIGTERM with 2 workers")
    case("workers_2", workers_2)

    # == 9b. workers = 3: reloads, scrapes and SIGUSR1 under load ===========
    # The paths where the main thread and the workers meet.  Run under
    # ThreadSanitizer by .ci/run, where a race stops the proxy.
    def workers_3_reloads_under_load():
        stats = [free_port(False), free_port(False)]
        extra = free_port(False)

        def conf_text(k):
            # k = 0, 1, 2, ...: every reload changes the prefix, the cache
            # size, the [stats] address and whether the extra address is
            # on; the workers log every query, as the reloads set the level
            tail = ("parallel = yes\n\n[cache]\nentries = %d\n\n"
                    "[stats]\nlisten = 127.0.0.1:%d\n\n"
                    "[log]\nqueries = yes\n"
                    % ((1000, 0, 50)[k % 3], stats[k % 2]))
            return server_conf("workers = 3\n",
                               prefix=(OLD_PREFIX, NEW_PREFIX)[k % 2] + "/96",
                               tail=tail)
        px = Proxy(suite, conf_text(0), name="workers3").start()
        stop = threading.Event()
        bad, counts = [], {"answers": 0, "scrapes": 0}
        lock = threading.Lock()

        def note(what, key=None):
            with lock:
                if key:
                    counts[key] += 1
                else:
                    bad.append(what)

        def sender(k, tcp):
            n = 0
            while not stop.is_set() and n < 400:
                qt = "AAAA" if n % 2 else "A"
                name = "w3-%d-%d.example.test" % (k, n)
                n += 1
                try:
                    r = ask(px.port, name, qt, tcp=tcp, timeout=3)
                except Exception as e:
                    note("%s %s: %s" % (name, qt, e))
                    continue
                want = ([OLD_ADDR], [NEW_ADDR]) if qt == "AAAA" else ([V4],)
                got = aaaa_of(r) if qt == "AAAA" else r.addrs("A")
                if r.rcode != dns.rcode.NOERROR or got not in want:
                    note("%s %s: rcode %s %r" % (name, qt, r.rcode, got))
                else:
                    note(None, "answers")

        def scraper():
            import http.client
            while not stop.is_set():
                for port in stats:
                    c = http.client.HTTPConnection("127.0.0.1", port,
                                                   timeout=2)
                    try:
                        c.request("GET", "/metrics")
                        if c.getresponse().status == 200:
                            note(None, "scrapes")
                    except OSError:
                        pass        # the other address, or moving
                    finally:
                        c.close()
                time.sleep(0.02)
        ths = ([threading.Thread(target=sender, args=(k, k == 0),
                                 daemon=True) for k in range(4)]
               + [threading.Thread(target=scraper, daemon=True)])
        try:
            for th in ths:
                th.start()
            for k in range(1, 7):
                time.sleep(0.3)
                text = conf_text(k).format(
                    port=px.port, listen=px.listen_text(px.port)
                    + (" 127.0.0.1:%d" % extra if k % 2 else ""))
                px.write_conf(text)
                check(px.signal_and_wait(signal.SIGHUP,
                                         "configuration reloaded"),
                      "reload %d: %s" % (k, px.log_tail()))
                if k % 2:
                    r = ask(extra, "w3-extra%d.example.test" % k, "A")
                    eq(r.addrs("A"), [V4], "A on the added address")
                check(px.signal_and_wait(signal.SIGUSR1, "counters:"),
                      "no counters after SIGUSR1: " + px.log_tail())
            time.sleep(0.3)
        finally:
            stop.set()
            for th in ths:
                th.join(10)
        check(not any(th.is_alive() for th in ths), "clients hung")
        check(not bad, "%d queries failed (%d answered): %s" % (
            len(bad), counts["answers"], "; ".join(bad[:3])))
        check(counts["answers"] >= 100, "only %d answers" % counts["answers"])
        check(counts["scrapes"] >= 5, "only %d scrapes" % counts["scrapes"])
        eq(px.stop(15), 0, "exit status after SIGTERM")
        log = px.log_text()
        check("Sanitizer" not in log, "sanitizer report: " + px.log_tail(30))
        print("  (%d answers, %d scrapes, 6 reloads)" % (counts["answers"],
                                                        counts["scrapes"]))
    case("workers_3_reloads_under_load", workers_3_reloads_under_load)

    # == 10. the manual pages ================================================
    man_dir = os.path.normpath(os.path.join(suite.e2e_dir, "..", "..",
                                            "man"))
    pages = [os.path.join(man_dir, "dns64proxy.8"),
             os.path.join(man_dir, "dns64proxy.conf.5")]
    mandoc = shutil.which("mandoc")
    groff = shutil.which("groff")

    def man_lint():
        for p in pages:
            check(os.path.exists(p), "missing %s" % p)
        if not mandoc:
            raise Skip("mandoc not installed")
        for p in pages:
            rc, out, err = run_cmd([mandoc, "-Tlint", "-Wwarning", p])
            check(not (out + err).strip() and rc == 0,
                  "mandoc -Tlint -Wwarning %s (exit %d): %s" % (
                      os.path.basename(p), rc, (out + err).strip()))

    def render(p):
        if mandoc:
            rc, out, err = run_cmd([mandoc, "-Tascii", p])
        else:
            rc, out, err = run_cmd([groff, "-Tascii", "-mandoc", "-P-c", p])
        check(rc == 0 and out.strip(), "rendering %s failed: %s" % (p, err))
        out = re.sub(r".\x08", "", out)
        return re.sub(r"\x1b\[[0-9;]*m", "", out)

    def man_coverage():
        for p in pages:
            check(os.path.exists(p), "missing %s" % p)
        if not mandoc and not groff:
            raise Skip("neither mandoc nor groff installed")
        t8 = render(pages[0])
        t5 = render(pages[1])
        both = t8 + "\n" + t5
        missing = []
        # the keys, each documented inside its section's part of the page:
        # split the conf page at headings (all-caps lines) and at "[name]"
        # lines; a chunk belongs to the sections its heading names
        chunks = []
        head, buf = "", []
        for ln in t5.splitlines():
            m = re.match(r"^([A-Z][A-Z0-9 ]+)$", ln) or \
                re.match(r"^\s*\[\s*([a-z0-9]+)[^\]]*\]\s*$", ln)
            if m:
                chunks.append((head, "\n".join(buf)))
                head, buf = m.group(1).lower(), []
            else:
                buf.append(ln)
        chunks.append((head, "\n".join(buf)))
        keys = {
            "server": "listen upstream timeout attempts allow user group "
                      "pidfile workers",
            "dns64": "prefix exclude mapped synthall on_error reverse "
                     "parallel clients",
            "log": "level queries",
            "cache": "entries",
            "stats": "listen",
        }
        for sect, ks in keys.items():
            mine = "\n".join(body for h, body in chunks
                             if re.search(r"\b%s\b" % sect, h))
            if not mine:
                missing.append("no [%s] part in dns64proxy.conf.5" % sect)
                continue
            for k in ks.split():
                if not re.search(r"(?m)^\s*%s\s*=" % re.escape(k), mine):
                    missing.append("[%s] %s" % (sect, k))
        for opt in "cftvVh":
            if not re.search(r"(?m)^\s+-%s\b" % opt, t8):
                missing.append("option -%s" % opt)
        for sig in ("SIGHUP", "SIGTERM", "SIGINT", "SIGUSR1"):
            if not re.search(r"\b%s\b" % sig, both):
                missing.append(sig)
        check(not missing, "not documented: %s" % ", ".join(missing))
    case("man_lint", man_lint)
    case("man_coverage", man_coverage)


if __name__ == "__main__":
    Suite(PREFIX, deadline=85).run(main)
