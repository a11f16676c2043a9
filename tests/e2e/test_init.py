"""End-to-end test of the init scripts: the SysV script and the systemd unit.

The generated SysV script (etc/dns64proxy.init in the build tree) runs the
real binary as a daemon on free loopback ports, with a temporary config and
pidfile: start, status, reload, restart and stop, their LSB exit codes and
their error paths; once with start-stop-daemon and /lib/lsb/init-functions
where the system has them, once without (plain kill and echo).  The
generated unit (etc/dns64proxy.service) goes through `systemd-analyze
verify` with its paths pointed at the built binary.

Environment: DNS64PROXY (the binary), INITSCRIPT (the generated script;
without it the test is skipped, exit 77), DNS64PROXY_UNIT (optional: the
generated unit; default: dns64proxy.service beside INITSCRIPT), E2E_DIR
(unused beyond locating the man pages: E2E_DIR/../../man).

Prints "PASS: name" / "FAIL: name: reason" / "SKIP: name: reason" and a
closing "e2e-init: N passed, N failed"; exit 0 only when none failed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
PREFIX = "e2e-init"


class CheckFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


# -- processes and ports ---------------------------------------------------

def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


def become_subreaper():
    """Adopt the daemons this test starts (Linux), so that their exit can be
    reaped here: in a container whose init does not reap, they would stay
    zombies."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)	# PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def alive(pid):
    """True when pid is a live process (a zombie counts as gone)."""
    reap()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] not in ("Z", "X")
    except OSError:
        pass
    return True


def wait_gone(pid, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def read_pid(path):
    try:
        with open(path) as f:
            s = f.read().strip()
    except OSError:
        return None
    return int(s) if s.isdigit() else None


def accepts_tcp(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


# -- the test --------------------------------------------------------------

class InitTest:
    def __init__(self, binary, script, tmp):
        self.binary = binary
        self.script = script
        self.tmp = tmp
        self.passed = 0
        self.failed = 0
        self.pids = set()	# every daemon seen, killed at the end
        self.nrun = 0
        self.pidfile = os.path.join(tmp, "dns64proxy.pid")
        self.conf = os.path.join(tmp, "dns64proxy.conf")
        self.port = free_port()
        self.upstream = free_port()
        while self.upstream == self.port:
            self.upstream = free_port()
        self.write_conf(self.conf, pidfile=True)

    # -- reporting

    def case(self, name, fn, *args):
        """Run one case; True when it passed."""
        try:
            fn(*args)
        except CheckFailed as e:
            self.fail(name, str(e))
            return False
        except Exception as e:		# a bug of the test or the system
            self.fail(name, "%s: %s" % (type(e).__name__, e))
            return False
        print("PASS: %s" % name, flush=True)
        self.passed += 1
        return True

    def fail(self, name, reason):
        print("FAIL: %s: %s" % (name, reason.replace("\n", " | ")),
              flush=True)
        self.failed += 1

    def skip(self, name, reason):
        print("SKIP: %s: %s" % (name, reason), flush=True)

    # -- helpers

    def write_conf(self, path, pidfile=True, extra=""):
        text = ("[server]\n"
                "listen = 127.0.0.1:%d\n"
                "upstream = 127.0.0.1:%d\n" % (self.port, self.upstream))
        if pidfile:
            text += "pidfile = %s\n" % self.pidfile
        text += extra
        with open(path, "w") as f:
            f.write(text)

    def env(self, plain, **over):
        e = dict(os.environ)
        e.update({
            "DNS64PROXY_DAEMON": self.binary,
            "DNS64PROXY_CONF": self.conf,
            "DNS64PROXY_PIDFILE": self.pidfile,
            "DNS64PROXY_DEFAULTS": "/dev/null",	# not the host's
            "DNS64PROXY_ARGS": "",
            "SYSTEMCTL_SKIP_REDIRECT": "1",
        })
        for k in ("DNS64PROXY_START_STOP_DAEMON",
                  "DNS64PROXY_INIT_FUNCTIONS"):
            e.pop(k, None)
        if plain:
            e["DNS64PROXY_START_STOP_DAEMON"] = "no"
            e["DNS64PROXY_INIT_FUNCTIONS"] = os.path.join(self.tmp,
                                                          "no-such-file")
        e.update(over)
        return e

    def run(self, action, plain, timeout=40, **over):
        """The script with ACTION; (exit status, stdout + stderr).  Output
        goes to files, not pipes: a daemon that kept them open would
        otherwise hold the test."""
        self.nrun += 1
        out = os.path.join(self.tmp, "run%d.out" % self.nrun)
        with open(out, "w") as f:
            p = subprocess.run([self.script, action], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=subprocess.STDOUT,
                               env=self.env(plain, **over), timeout=timeout)
        with open(out) as f:
            text = f.read()
        pid = read_pid(self.pidfile)
        if pid is not None:
            self.pids.add(pid)
        return p.returncode, text.strip()

    def expect(self, action, plain, want, **over):
        rc, out = self.run(action, plain, **over)
        check(rc == want, "%s exited %d, expected %d; output: %s"
              % (action, rc, want, out or "(none)"))
        return out

    def running_pid(self):
        pid = read_pid(self.pidfile)
        check(pid is not None, "no pid in %s" % self.pidfile)
        check(alive(pid), "pid %d from %s is not alive" % (pid, self.pidfile))
        return pid

    def cleanup(self):
        pid = read_pid(self.pidfile)
        if pid is not None:
            self.pids.add(pid)
        for pid in self.pids:
            if not alive(pid):
                continue
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() != os.path.basename(self.binary):
                        continue
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGTERM)
                if not wait_gone(pid, 5):
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    # -- cases

    def c_syntax(self):
        p = subprocess.run(["/bin/sh", "-n", self.script],
                           capture_output=True, text=True)
        check(p.returncode == 0, "sh -n: %s" % p.stderr.strip())
        if shutil.which("dash"):
            p = subprocess.run(["dash", "-n", self.script],
                               capture_output=True, text=True)
            check(p.returncode == 0, "dash -n: %s" % p.stderr.strip())
        check(os.access(self.script, os.X_OK), "not executable")

    def c_checkbashisms(self):
        p = subprocess.run(["checkbashisms", "-p", "-x", self.script],
                           capture_output=True, text=True)
        check(p.returncode == 0, (p.stdout + p.stderr).strip())

    def c_lsb_header(self):
        with open(self.script) as f:
            text = f.read()
        m = re.search(r"^### BEGIN INIT INFO\n(.*?)^### END INIT INFO",
                      text, re.M | re.S)
        check(m, "no LSB header")
        hdr = m.group(1)
        for key, want in (("Provides", "dns64proxy"),
                          ("Required-Start", "$network $remote_fs $syslog"),
                          ("Default-Start", "2 3 4 5"),
                          ("Default-Stop", "0 1 6")):
            mm = re.search(r"^# %s:\s*(.*)$" % key, hdr, re.M)
            check(mm and mm.group(1).strip() == want,
                  "%s: %r" % (key, mm.group(1) if mm else None))
        for key in ("Short-Description", "Description"):
            check(re.search(r"^# %s:\s*\S" % key, hdr, re.M), "no " + key)
        check("@sbindir@" not in text and "@sysconfdir@" not in text,
              "placeholders left unfilled")

    def c_usage(self):
        rc, out = self.run("frobnicate", True)
        check(rc == 2, "exited %d, expected 2" % rc)
        check("Usage:" in out and "start" in out, "no usage: %s" % out)

    def c_status_stopped(self, plain):
        self.expect("status", plain, 3)
        check(not os.path.exists(self.pidfile), "pidfile exists")

    def c_start(self, plain):
        out = self.expect("start", plain, 0)
        pid = self.running_pid()
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
        check(comm == os.path.basename(self.binary),
              "pid %d is %r, not the daemon" % (pid, comm))
        check(accepts_tcp(self.port),
              "nothing accepts TCP on 127.0.0.1:%d (output: %s)"
              % (self.port, out))

    def c_start_again(self, plain):
        pid = self.running_pid()
        out = self.expect("start", plain, 0)
        check("already running" in out, "output: %s" % out)
        check(self.running_pid() == pid, "pid changed")

    def c_status_running(self, plain):
        pid = self.running_pid()
        out = self.expect("status", plain, 0)
        check(str(pid) in out, "pid %d not in: %s" % (pid, out))

    def c_status_pidfile_from_conf(self, plain):
        # PIDFILE is only the fallback: the configuration's pidfile wins.
        other = os.path.join(self.tmp, "other.pid")
        self.expect("status", plain, 0, DNS64PROXY_PIDFILE=other)

    def c_reload(self, plain):
        pid = self.running_pid()
        self.expect("reload", plain, 0)
        time.sleep(0.3)
        check(alive(pid), "pid %d died on SIGHUP" % pid)
        check(self.running_pid() == pid, "pid changed")
        self.expect("force-reload", plain, 0)
        time.sleep(0.3)
        check(alive(pid), "pid %d died on force-reload" % pid)
        check(accepts_tcp(self.port), "no longer accepts TCP")

    def c_reload_bad_conf(self, plain):
        pid = self.running_pid()
        bad = os.path.join(self.tmp, "bad.conf")
        self.write_conf(bad, extra="no_such_key = 1\n")
        rc, out = self.run("reload", plain, DNS64PROXY_CONF=bad)
        check(rc == 6, "exited %d, expected 6; output: %s" % (rc, out))
        check(bad + ":" in out, "the daemon's FILE:LINE message missing: %s"
              % out)
        check(alive(pid) and self.running_pid() == pid,
              "the running daemon was disturbed")

    def c_restart(self, plain):
        old = self.running_pid()
        self.expect("restart", plain, 0)
        check(wait_gone(old, 1), "old pid %d still alive" % old)
        new = self.running_pid()
        check(new != old, "pid did not change")
        check(accepts_tcp(self.port), "restarted daemon does not accept TCP")

    def c_stop(self, plain):
        pid = self.running_pid()
        self.expect("stop", plain, 0)
        check(not alive(pid), "pid %d still alive after stop" % pid)
        check(not os.path.exists(self.pidfile), "pidfile left behind")

    def c_stop_stopped(self, plain):
        self.expect("stop", plain, 0)

    def c_reload_stopped(self, plain):
        self.expect("reload", plain, 7)

    def c_try_restart_stopped(self, plain):
        self.expect("try-restart", plain, 0)
        check(not os.path.exists(self.pidfile), "try-restart started it")

    def c_status_stale(self, plain):
        p = subprocess.Popen(["true"])
        p.wait()
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % p.pid)
        try:
            self.expect("status", plain, 1)
            self.expect("reload", plain, 7)
        finally:
            os.unlink(self.pidfile)

    def c_status_emptied(self, plain):
        # what a daemon that dropped root leaves in /run: an empty file
        open(self.pidfile, "w").close()
        try:
            self.expect("status", plain, 3)
            self.expect("stop", plain, 0)
            check(not os.path.exists(self.pidfile), "stop left the empty "
                  "pidfile")
        finally:
            if os.path.exists(self.pidfile):
                os.unlink(self.pidfile)

    def c_start_bad_conf(self, plain):
        bad = os.path.join(self.tmp, "bad.conf")
        self.write_conf(bad, extra="no_such_key = 1\n")
        rc, out = self.run("start", plain, DNS64PROXY_CONF=bad)
        check(rc == 6, "exited %d, expected 6; output: %s" % (rc, out))
        check(bad + ":" in out, "the daemon's FILE:LINE message missing: %s"
              % out)
        check(not os.path.exists(self.pidfile), "a daemon was started")

    def c_start_no_pidfile(self, plain):
        conf = os.path.join(self.tmp, "nopid.conf")
        self.write_conf(conf, pidfile=False)
        rc, out = self.run("start", plain, DNS64PROXY_CONF=conf)
        check(rc == 6, "exited %d, expected 6; output: %s" % (rc, out))
        check("pidfile" in out, "no word about the pidfile: %s" % out)
        check(not accepts_tcp(self.port), "a daemon was started")

    def c_start_port_taken(self, plain):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", self.port))
            t.bind(("127.0.0.1", self.port))
            t.listen(1)
            rc, out = self.run("start", plain)
        finally:
            u.close()
            t.close()
        check(rc == 1, "exited %d, expected 1; output: %s" % (rc, out))
        check(read_pid(self.pidfile) is None or
              not alive(read_pid(self.pidfile)), "a daemon is running")

    # -- scenarios

    def lifecycle(self, plain, tag):
        """The life of one daemon under the script; later steps need the
        earlier ones."""
        def c(name, fn):
            return self.case("%s [%s]" % (name, tag), fn, plain)

        c("status when stopped exits 3", self.c_status_stopped)
        c("stop when stopped exits 0", self.c_stop_stopped)
        c("reload when stopped exits 7", self.c_reload_stopped)
        c("try-restart when stopped does nothing", self.c_try_restart_stopped)
        c("status with a stale pidfile exits 1", self.c_status_stale)
        c("status with an emptied pidfile exits 3", self.c_status_emptied)
        c("start with a bad config exits 6 with its errors",
          self.c_start_bad_conf)
        c("start with no pidfile in the config exits 6",
          self.c_start_no_pidfile)
        c("start with the port taken exits 1", self.c_start_port_taken)
        if not c("start runs the daemon and writes the pidfile",
                 self.c_start):
            self.cleanup()
            return
        steps = [
            ("start when running exits 0", self.c_start_again),
            ("status when running exits 0", self.c_status_running),
            ("status finds the config's pidfile",
             self.c_status_pidfile_from_conf),
            ("reload keeps the daemon", self.c_reload),
            ("reload with a bad config exits 6, daemon kept",
             self.c_reload_bad_conf),
            ("restart gives a new daemon", self.c_restart),
            ("stop ends the daemon and removes the pidfile", self.c_stop),
            ("status after stop exits 3", self.c_status_stopped),
        ]
        for name, fn in steps:
            c(name, fn)
        self.cleanup()

    def unit(self, unit_path):
        name = "unit: systemd-analyze verify"
        if not shutil.which("systemd-analyze"):
            self.skip(name, "systemd-analyze not installed")
            return
        if not os.path.exists(unit_path):
            self.fail(name, "no unit at %s" % unit_path)
            return
        d = os.path.join(self.tmp, "unit")
        os.makedirs(d, exist_ok=True)
        with open(unit_path) as f:
            text = f.read()
        # The unit's binary is not installed yet: point it at the built one.
        text = re.sub(r"^(ExecStart(?:Pre)?=)\S+", r"\g<1>" + self.binary,
                      text, flags=re.M)
        copy = os.path.join(d, "dns64proxy.service")
        with open(copy, "w") as f:
            f.write(text)

        def verify():
            check("@sbindir@" not in text and "@sysconfdir@" not in text,
                  "placeholders left unfilled")
            for want in ("Type=exec", "ExecReload=/bin/kill -HUP $MAINPID",
                         "Restart=on-failure", "User=dns64proxy",
                         "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                         "WantedBy=multi-user.target"):
                check(re.search("^" + re.escape(want) + "$", text, re.M),
                      "no line %s" % want)
            check(re.search(r"^ExecStart=\S+ -f -c \S+$", text, re.M),
                  "ExecStart is not '... -f -c FILE'")
            check(re.search(r"^ExecStartPre=\S+ -t -c \S+$", text, re.M),
                  "ExecStartPre is not '... -t -c FILE'")
            p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                                copy], capture_output=True, text=True,
                               timeout=60)
            msg = (p.stdout + p.stderr).strip()
            check(p.returncode == 0 and "dns64proxy.service" not in msg,
                  "exit %d: %s" % (p.returncode, msg))
        self.case(name, verify)

        # Documentation=man:... pages resolve, with the built man pages.
        name = "unit: Documentation= man pages exist"
        mandir = os.path.join(os.environ.get("E2E_DIR", ""), "..", "..",
                              "man")
        pages = [("dns64proxy.8", "man8"), ("dns64proxy.conf.5", "man5")]
        if not shutil.which("man") or not all(
                os.path.exists(os.path.join(mandir, p)) for p, _ in pages):
            self.skip(name, "man or the man pages not found")
            return
        mp = os.path.join(self.tmp, "man")
        for page, sub in pages:
            os.makedirs(os.path.join(mp, sub), exist_ok=True)
            shutil.copy(os.path.join(mandir, page), os.path.join(mp, sub))
        env = dict(os.environ, MANPATH=mp)
        if subprocess.run(["man", "-w", "dns64proxy"], env=env,
                          capture_output=True).returncode != 0:
            self.skip(name, "man does not work here")
            return

        def docs():
            p = subprocess.run(["systemd-analyze", "verify", copy], env=env,
                               capture_output=True, text=True, timeout=60)
            msg = (p.stdout + p.stderr).strip()
            check(p.returncode == 0, "exit %d: %s" % (p.returncode, msg))
        self.case(name, docs)


def main():
    script = os.environ.get("INITSCRIPT", "")
    binary = os.environ.get("DNS64PROXY", "")
    if not script:
        print("SKIP: INITSCRIPT is not set (the generated init script)")
        return SKIP
    if not binary or not os.access(binary, os.X_OK):
        print("SKIP: DNS64PROXY is not set to the built binary")
        return SKIP
    script = os.path.abspath(script)
    if not os.path.exists(script):
        print("FAIL: init: %s not found (etc/ not built?)" % script)
        print("%s: 0 passed, 1 failed" % PREFIX)
        return 1
    binary = os.path.abspath(binary)
    unit = os.environ.get("DNS64PROXY_UNIT") or os.path.join(
        os.path.dirname(script), "dns64proxy.service")

    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="dns64proxy-init-")
    t = InitTest(binary, script, tmp)
    try:
        if not t.case("init: sh -n", t.c_syntax):
            raise SystemExit(1)
        t.case("init: LSB header", t.c_lsb_header)
        if shutil.which("checkbashisms"):
            t.case("init: checkbashisms", t.c_checkbashisms)
        else:
            t.skip("init: checkbashisms", "checkbashisms not installed")
        t.case("init: unknown action exits 2 with usage", t.c_usage)

        have_ssd = shutil.which("start-stop-daemon") or os.path.exists(
            "/sbin/start-stop-daemon")
        have_lsb = os.path.exists("/lib/lsb/init-functions")
        if have_ssd or have_lsb:
            t.lifecycle(False, "%s+%s" % (
                "start-stop-daemon" if have_ssd else "kill",
                "init-functions" if have_lsb else "echo"))
        else:
            t.skip("lifecycle [start-stop-daemon+init-functions]",
                   "neither is installed")
        t.lifecycle(True, "kill+echo")
        t.unit(unit)
    except SystemExit:
        pass
    finally:
        t.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d passed, %d failed" % (PREFIX, t.passed, t.failed))
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
