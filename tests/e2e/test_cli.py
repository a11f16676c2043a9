#!/usr/bin/python3
"""End-to-end: the command line, configuration checking, exit codes and
signals of dns64proxy (SPEC.md "Command line")."""

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

from dnstest import (Suite, Proxy, ask, check, eq, free_port,  # noqa: E402
                     run_cmd, CheckFailed)

VERSION = "0.1.0"


def main(suite):
    suite.require_binary()
    B = suite.binary
    tmp = suite.tmp

    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    port = free_port(False)
    uport = free_port(False)

    def version():
        rc, out, err = run_cmd([B, "-V"])
        eq(rc, 0, "exit status")
        check(VERSION in out + err, "version %s not in %r" % (VERSION,
                                                             out + err))
    suite.case("version", version)

    def usage():
        rc, out, err = run_cmd([B, "-h"])
        eq(rc, 0, "exit status")
        text = out + err
        check(re.search(r"usage", text, re.I), "no usage text: %r" % text)
        check("-c" in text and "-t" in text, "options not listed: %r" % text)
    suite.case("help", usage)

    def unknown():
        rc, out, err = run_cmd([B, "-Z"])
        eq(rc, 2, "exit status for -Z")
        check(err.strip(), "nothing on stderr")
        rc, out, err = run_cmd([B, "-c"])
        eq(rc, 2, "exit status for -c without an argument")
        rc, out, err = run_cmd([B, "-t", "-c", "/nonexistent", "extra"])
        eq(rc, 2, "exit status for an extra operand")
    suite.case("usage_errors_exit_2", unknown)

    good = write("good.conf", """\
# a complete configuration
[server]
listen = 127.0.0.1:%(port)d, [::1]:%(port)d
upstream = 127.0.0.1:%(uport)d 192.0.2.53
timeout = 1500
attempts = 3
allow = 127.0.0.0/8 ::1/128 10.0.0.0/8
workers = 1

[dns64]
prefix = 64:ff9b::/96
exclude = ::ffff:0:0/96
mapped = 192.0.2.0/24 198.51.100.0/24
synthall = no
on_error = yes
reverse = cname
parallel = no
clients = 0.0.0.0/0 ::/0

[dns64 branch-office]   ; another prefix for other clients
prefix = 2001:db8:64::/96
clients = 2001:db8:1::/48
reverse = rewrite

[log]
level = info
queries = no

[cache]
entries = 0
""" % {"port": port, "uport": uport})

    def check_good():
        rc, out, err = run_cmd([B, "-t", "-c", good])
        eq(rc, 0, "exit status of -t on a good file (stderr %r)" % err)
    suite.case("check_good_config", check_good)

    sample = os.path.normpath(os.path.join(suite.e2e_dir, "..", "..", "etc",
                                           "dns64proxy.conf"))
    if os.path.exists(sample):
        def check_sample():
            rc, out, err = run_cmd([B, "-t", "-c", sample])
            eq(rc, 0, "exit status of -t on etc/dns64proxy.conf (stderr %r)"
               % err)
        suite.case("check_sample_config", check_sample)

    bad_text = """\
[server]
listen = 127.0.0.1:%(port)d
upstream = 127.0.0.1:%(uport)d
timeout = fast
bogus_key = 1
allow = 10.0.0.0/33
[dns64]
prefix = 2001:db8::/33
reverse = sideways
on_error = maybe
[nosuchsection]
foo = bar
[log]
level = loud
""" % {"port": port, "uport": uport}
    bad = write("bad.conf", bad_text)

    def check_bad():
        rc, out, err = run_cmd([B, "-t", "-c", bad])
        eq(rc, 1, "exit status of -t on a bad file")
        lines = err.splitlines()
        for want in (4, 5, 6, 8, 9, 10, 14):
            pre = "%s:%d: " % (bad, want)
            check(any(x.startswith(pre) and x[len(pre):].strip()
                      for x in lines),
                  "no %r line in stderr: %r" % (pre, err))
        check(any(x.startswith("%s:11: " % bad) or
                  x.startswith("%s:12: " % bad) for x in lines),
              "unknown section not reported at line 11 or 12: %r" % err)
        rc2, out2, err2 = run_cmd([B, "-f", "-c", bad], timeout=5)
        eq(rc2, 1, "exit status when starting with a bad file")
        check("%s:4: " % bad in err2, "errors not printed at start: %r" % err2)
    suite.case("check_bad_config_all_errors", check_bad)

    def bad_prefixes():
        for i, pfx in enumerate(("2001:db8:1:2:ff00::/96",   # bits 64-71
                                 "2001:db8::/33",             # length
                                 "2001:db8::/128",
                                 "fe80::/96",                 # link-local
                                 "ff00::/96",                 # multicast
                                 "::/96",
                                 "::ffff:0:0/96",
                                 "64:ff9b::1/96",             # host bits
                                 "not-a-prefix")):
            path = write("prefix%d.conf" % i,
                         "[server]\nlisten = 127.0.0.1:%d\nupstream = "
                         "127.0.0.1:%d\n\n[dns64]\nprefix = %s\n" % (
                             port, uport, pfx))
            rc, out, err = run_cmd([B, "-t", "-c", path])
            eq(rc, 1, "exit status for prefix %s" % pfx)
            check("%s:6: " % path in err, "no FILE:6: line for prefix %s: %r"
                  % (pfx, err))
    suite.case("bad_prefixes_refused", bad_prefixes)

    def good_prefixes():
        for i, pfx in enumerate(("2001:db8::/32", "2001:db8:100::/40",
                                 "2001:db8:122::/48", "2001:db8:122:300::/56",
                                 "2001:db8:122:344::/64",
                                 "2001:db8:122:344::/96", "64:ff9b:1::/48")):
            path = write("okprefix%d.conf" % i,
                         "[server]\nlisten = 127.0.0.1:%d\nupstream = "
                         "127.0.0.1:%d\n\n[dns64]\nprefix = %s\n" % (
                             port, uport, pfx))
            rc, out, err = run_cmd([B, "-t", "-c", path])
            eq(rc, 0, "exit status for prefix %s (stderr %r)" % (pfx, err))
    suite.case("rfc6052_prefix_lengths_accepted", good_prefixes)

    def missing():
        path = os.path.join(tmp, "does-not-exist.conf")
        for args in (["-t", "-c", path], ["-f", "-c", path]):
            rc, out, err = run_cmd([B] + args, timeout=5)
            eq(rc, 1, "exit status of %s" % " ".join(args))
            check(path in err, "path not named on stderr: %r" % err)
    suite.case("missing_config_file_exit_1", missing)

    verbose = write("verbose.conf", "[server]\nlisten = 127.0.0.1:%d\n"
                    "upstream = 127.0.0.1:%d\n\n[dns64]\nprefix = "
                    "64:ff9b::/96 2001:db8:122:344::/64 64:ff9b:1::/48\n" % (
                        port, uport))

    def check_verbose():
        rc, out, err = run_cmd([B, "-t", "-v", "-c", verbose])
        eq(rc, 0, "exit status")
        text = out + err
        check("192.0.2.33" in text, "192.0.2.33 not mentioned: %r" % text)
        for want in ("64:ff9b::/96", "2001:db8:122:344::/64",
                     "64:ff9b:1::/48", "127.0.0.1:%d" % uport):
            check(want in text, "%s not in the -t -v output: %r" % (want,
                                                                   text))
        # addresses compared as addresses: RFC 5952 writes the RFC 6052
        # example 2001:db8:122:344:c0:2:2100:: as ...:2100:0
        found = set()
        for tok in re.findall(r"[0-9a-fA-F:.]*:[0-9a-fA-F:.]+", text):
            try:
                found.add(ipaddress.IPv6Address(tok))
            except ValueError:
                pass
        for want in ("2001:db8:122:344:c0:2:2100::",
                     "64:ff9b:1:c000:2:2100::"):
            check(ipaddress.IPv6Address(want) in found,
                  "%s not in the -t -v output: %r" % (want, text))
        check("64:ff9b::c000:221" not in text and
              "64:ff9b::192.0.2.33" not in text or
              re.search(r"not|non-global|refused|skip", text, re.I),
              "the WKP must not map 192.0.2.33 (not global): %r" % text)
    suite.case("check_verbose_prints_mappings", check_verbose)

    def verbose_output_is_a_config():
        # what -t -v prints, saved, is itself a valid configuration with
        # the same effective settings
        rc, out, err = run_cmd([B, "-t", "-v", "-c", verbose])
        eq(rc, 0, "exit status")
        last = out.rstrip("\n").split("\n")[-1]
        eq(last, "; %s: configuration OK" % verbose, "closing line")
        saved = write("saved.conf", out)
        rc, out2, err2 = run_cmd([B, "-t", "-v", "-c", saved])
        eq(rc, 0, "exit status on the saved output (stderr %r)" % err2)
        eq(out2.split("\n")[:-2], out.split("\n")[:-2],
           "the saved output's effective configuration")
        rc, out3, err3 = run_cmd([B, "-t", "-c", verbose])
        eq(out3, "%s: configuration OK\n" % verbose,
           "without -v the line is plain")
    suite.case("check_verbose_output_is_a_config", verbose_output_is_a_config)

    def long_line():
        # inih as Debian builds it cuts lines at about 200 bytes
        nets = ["10.%d.0.0/16" % i for i in range(60)]
        path = write("long.conf", "[server]\nlisten = 127.0.0.1:%d\n"
                     "upstream = 127.0.0.1:%d\nallow = %s\n\n[dns64]\n"
                     "prefix = 64:ff9b::/96\n" % (port, uport, " ".join(nets)))
        rc, out, err = run_cmd([B, "-t", "-v", "-c", path])
        eq(rc, 0, "exit status for a %d-byte line (stderr %r)" % (
            len(" ".join(nets)) + 8, err))
        text = out + err
        for net in (nets[0], nets[30], nets[-1]):
            check(net in text, "%s lost from a long line" % net)
    suite.case("long_list_line", long_line)

    def port_in_use():
        p = free_port(False)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", p))
            t.bind(("127.0.0.1", p))
            t.listen(1)
            path = write("inuse.conf", "[server]\nlisten = 127.0.0.1:%d\n"
                         "upstream = 127.0.0.1:%d\n" % (p, uport))
            rc, out, err = run_cmd([B, "-f", "-c", path], timeout=10)
            eq(rc, 3, "exit status when UDP and TCP are taken")
            check(err.strip(), "nothing on stderr")
            t.close()
            rc, out, err = run_cmd([B, "-f", "-c", path], timeout=10)
            eq(rc, 3, "exit status when only UDP is taken")
        finally:
            u.close()
            t.close()
    suite.case("listen_port_in_use_exit_3", port_in_use)

    def second_instance():
        # workers = 2 binds with SO_REUSEPORT, which would let a second
        # instance of the same user join the first one's sockets and take
        # half its queries (and its pidfile)
        p = free_port(False)
        text = ("[server]\nlisten = 127.0.0.1:%d\nupstream = 127.0.0.1:%d\n"
                "workers = 2\n" % (p, uport))
        path = write("twice.conf", text)
        first = subprocess.Popen([B, "-f", "-c", path],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            up = False
            while time.monotonic() < deadline and not up:
                try:
                    socket.create_connection(("127.0.0.1", p), 0.2).close()
                    up = True
                except OSError:
                    time.sleep(0.05)
            check(up, "the first instance did not start")
            rc, out, err = run_cmd([B, "-f", "-c", path], timeout=10)
            eq(rc, 3, "exit status of a second instance on the same "
               "address")
            check("cannot listen on 127.0.0.1:%d" % p in err,
                  "no reason on stderr: %r" % err)
            check(first.poll() is None, "the first instance stopped")
        finally:
            first.terminate()
            first.wait(10)
    suite.case("second_instance_workers_2_exit_3", second_instance)

    def upstream_is_listen():
        p = free_port(False)
        path = write("loop.conf", "[server]\nlisten = 127.0.0.1:%d\n"
                     "upstream = 127.0.0.1:%d\n" % (p, p))
        rc, out, err = run_cmd([B, "-t", "-c", path])
        eq(rc, 1, "exit status of -t")
        check(re.search(re.escape(path) + r":\d+: ", err),
              "no FILE:LINE: line: %r" % err)
        rc, out, err = run_cmd([B, "-f", "-c", path], timeout=5)
        eq(rc, 1, "exit status at start")
        path = write("loop53.conf", "[server]\nlisten = 127.0.0.1\n"
                     "upstream = 127.0.0.1:53\n")
        rc, out, err = run_cmd([B, "-t", "-c", path])
        eq(rc, 1, "exit status with the default port 53 on both")
    suite.case("upstream_equal_to_listen_exit_1", upstream_is_listen)

    def unknown_accounts():
        p = free_port(False)
        path = write("accounts.conf", "[server]\nlisten = 127.0.0.1:%d\n"
                     "upstream = 127.0.0.1:%d\n"
                     "user = no-such-user-dns64\n"
                     "group = no-such-group-dns64\n" % (p, uport))
        rc, out, err = run_cmd([B, "-t", "-c", path])
        eq(rc, 1, "exit status of -t (stderr %r)" % err)
        check("%s:4: user: no such user: no-such-user-dns64" % path in err,
              "no FILE:LINE for the user: %r" % err)
        check("%s:5: group: no such group: no-such-group-dns64" % path
              in err, "no FILE:LINE for the group: %r" % err)
        check("configuration OK" not in out, "-t said OK: %r" % out)
        # a start stops there too, with the same lines, before binding
        rc, out, err = run_cmd([B, "-f", "-c", path], timeout=5)
        eq(rc, 1, "exit status at start (stderr %r)" % err)
        check("no such user" in err, "start: %r" % err)
    suite.case("unknown_user_group_exit_1", unknown_accounts)

    # -- signals on a running proxy --------------------------------------
    sport = free_port(False)
    conf1 = ("[server]\nlisten = {listen}\nupstream = 127.0.0.1:%d\n"
             "timeout = 300\nattempts = 1\nworkers = 2\n\n[dns64]\n"
             "prefix = 64:ff9b::/96\n\n[stats]\nlisten = 127.0.0.1:%d\n"
             % (uport, sport))
    p = Proxy(suite, conf1, name="signals")
    p.start()

    def v4only_aaaa():
        return sorted(ask(p.port, "ipv4only.arpa", "AAAA", timeout=1).addrs())

    def running():
        eq(v4only_aaaa(), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"],
           "ipv4only.arpa AAAA")
    suite.case("running_workers_2", running)

    def metrics():
        url = "http://127.0.0.1:%d/metrics" % sport
        # no HTTP proxy from the environment for loopback
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=3) as resp:
            eq(resp.status, 200, "HTTP status of /metrics")
            body = resp.read().decode("utf-8", "replace")
        samples = [x for x in body.splitlines()
                   if x and not x.startswith("#")]
        check(samples, "no samples in /metrics: %r" % body[:300])
        bad = [x for x in samples if not re.match(
            r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf|NaN)?$",
            x)]
        eq(bad, [], "lines not in the Prometheus text format")
        check(any(float(x.rsplit(" ", 1)[1]) > 0 for x in samples),
              "every counter is zero after queries: %r" % body[:300])
        try:
            opener.open("http://127.0.0.1:%d/nothing" % sport, timeout=3)
            raise CheckFailed("/nothing answered 200")
        except urllib.error.HTTPError as e:
            eq(e.code, 404, "HTTP status of /nothing")
    suite.case("stats_metrics", metrics)

    def reload_good():
        p.write_conf(conf1.replace("64:ff9b::/96", "2001:db8:64::/96")
                     .format(listen=p.listen_text(p.port)))
        p.signal(signal.SIGHUP)
        want = ["2001:db8:64::c000:aa", "2001:db8:64::c000:ab"]
        got = None
        for _ in range(30):
            got = v4only_aaaa()
            if got == want:
                break
            time.sleep(0.1)
        eq(got, want, "ipv4only.arpa AAAA after SIGHUP with a new prefix")
    suite.case("sighup_reloads", reload_good)

    def reload_bad():
        size = len(p.log_text())
        p.write_conf("[server]\nlisten = {listen}\ntimeout = never\n".format(
            listen=p.listen_text(p.port)))
        p.signal(signal.SIGHUP)
        time.sleep(0.5)
        check(p.alive(), "died on a bad reload: %s" % p.log_tail())
        eq(v4only_aaaa(), ["2001:db8:64::c000:aa", "2001:db8:64::c000:ab"],
           "answers after a bad reload (old configuration kept)")
        new = p.log_text()[size:]
        check(p.conf_path in new, "bad file not reported in the log: %r"
              % new[-500:])
    suite.case("sighup_bad_config_keeps_running", reload_bad)

    def usr1():
        size = len(p.log_text())
        p.signal(signal.SIGUSR1)
        time.sleep(0.3)
        check(p.alive(), "died on SIGUSR1")
        check(len(p.log_text()) > size, "nothing logged on SIGUSR1")
    suite.case("sigusr1_logs_counters", usr1)

    def sigterm():
        t0 = time.monotonic()
        rc = p.stop()
        eq(rc, 0, "exit status after SIGTERM")
        check(time.monotonic() - t0 < 2.0, "slow shutdown")
    suite.case("sigterm_exit_0", sigterm)

    p2 = Proxy(suite, conf1, name="sigint")
    p2.start()

    def sigint():
        p2.signal(signal.SIGINT)
        try:
            p2.proc.wait(3)
        except Exception:
            pass
        eq(p2.proc.returncode, 0, "exit status after SIGINT")
    suite.case("sigint_exit_0", sigint)


if __name__ == "__main__":
    Suite("e2e-cli").run(main)
