#!/usr/bin/python3
"""End-to-end: dns64proxy in front of a real unbound (Debian's), asked with
dig as a user would, and with dnspython for the details."""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, free_port,  # noqa: E402
                     make_query, run_cmd, send_udp_raw, StartError)

UNBOUND = "/usr/sbin/unbound"
CHECKCONF = "/usr/sbin/unbound-checkconf"
SOA = "3600 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300"

UNBOUND_CONF = """\
server:
    interface: 127.0.0.1
    port: %(port)d
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    chroot: ""
    username: ""
    directory: "%(tmp)s"
    pidfile: "%(tmp)s/unbound.pid"
    module-config: "iterator"
    do-not-query-localhost: no
    do-ip6: no
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    # no trust anchor: nothing is validated
    # nothing leaves the machine: everything else is NXDOMAIN
    local-zone: "." static
    local-zone: "test." static
    local-data: "test. %(soa)s"
    local-data: "v4only.example.test. 3600 IN A 93.184.215.14"
    local-data: "private.example.test. 3600 IN A 10.1.2.3"
    local-data: "dual.example.test. 3600 IN A 93.184.215.14"
    local-data: "dual.example.test. 3600 IN AAAA 2001:db8::1"
    local-data: "alias.example.test. 3600 IN CNAME v4only.example.test."
    local-data: "mx.example.test. 3600 IN MX 10 v4only.example.test."
    local-zone: "215.184.93.in-addr.arpa." static
    local-data: "215.184.93.in-addr.arpa. %(soa)s"
    local-data: "14.215.184.93.in-addr.arpa. 3600 IN PTR v4only.example.test."

remote-control:
    control-enable: no
"""


def dig(port, *args):
    """dig @127.0.0.1 -p port args...; (rc, stdout)."""
    rc, out, err = run_cmd(["dig", "@127.0.0.1", "-p", str(port),
                            "+time=2", "+tries=1"] + list(args), timeout=10)
    return rc, out


def short(port, *args):
    rc, out = dig(port, "+short", *args)
    eq(rc, 0, "dig exit status")
    return [x.strip() for x in out.splitlines() if x.strip()
            and not x.startswith(";")]


def status(port, *args):
    rc, out = dig(port, *args)
    eq(rc, 0, "dig exit status")
    for line in out.splitlines():
        if "status:" in line:
            return line.split("status:")[1].split(",")[0].strip()
    return None


def main(suite):
    suite.require_binary()
    for tool in (UNBOUND, CHECKCONF):
        if not os.access(tool, os.X_OK):
            suite.skip("%s not installed (Debian package unbound)" % tool)
    if not shutil.which("dig"):
        suite.skip("dig not installed (Debian package bind9-dnsutils)")

    tmp = suite.tmp
    uport = None
    ub = None
    for _ in range(5):
        uport = free_port(False)
        conf = os.path.join(tmp, "unbound.conf")
        with open(conf, "w") as f:
            f.write(UNBOUND_CONF % {"port": uport, "tmp": tmp, "soa": SOA})
        rc, out, err = run_cmd([CHECKCONF, conf])
        if rc != 0:
            suite.fail("unbound_checkconf", (out + err).strip())
            return
        log = open(os.path.join(tmp, "unbound.log"), "ab")
        ub = subprocess.Popen([UNBOUND, "-d", "-c", conf],
                              stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT)
        log.close()
        suite.procs.append(ub)
        q = make_query("v4only.example.test", "A").to_wire()
        ready = False
        for _ in range(50):
            if ub.poll() is not None:
                break
            if send_udp_raw(q, uport, timeout=0.1):
                ready = True
                break
        if ready:
            break
        ub.kill()
        ub.wait(3)
    else:
        with open(os.path.join(tmp, "unbound.log"), "rb") as f:
            suite.fail("unbound_start", f.read().decode()[-500:])
        return
    suite.case("unbound_checkconf_and_start", lambda: None)

    def unbound_direct():
        r = ask(uport, "v4only.example.test", "AAAA")
        eq(r.rcode, dns.rcode.NOERROR, "unbound rcode")
        eq(r.rrs("answer"), [], "unbound AAAA answer")
        r = ask(uport, "nonexistent.example.test", "A")
        eq(r.rcode, dns.rcode.NXDOMAIN, "unbound rcode")
    suite.case("unbound_answers_directly", unbound_direct)

    proxy = Proxy(suite, "[server]\nlisten = {listen}\nupstream = "
                  "127.0.0.1:%d\ntimeout = 500\nattempts = 2\n\n[dns64]\n"
                  "prefix = 64:ff9b::/96\n" % uport, name="proxy")
    try:
        proxy.start()
    except StartError as e:
        suite.fail("proxy_start", str(e))
        return
    P = proxy.port

    def aaaa_v4only():
        eq(short(P, "AAAA", "v4only.example.test"), ["64:ff9b::5db8:d70e"],
           "dig +short AAAA v4only.example.test")
        eq(short(P, "+tcp", "AAAA", "v4only.example.test"),
           ["64:ff9b::5db8:d70e"], "dig +tcp +short AAAA v4only.example.test")
    suite.case("dig_aaaa_synthesized", aaaa_v4only)

    def aaaa_private():
        eq(short(P, "AAAA", "private.example.test"), [],
           "dig +short AAAA private.example.test (10.1.2.3, WKP)")
        eq(status(P, "AAAA", "private.example.test"), "NOERROR", "status")
    suite.case("dig_aaaa_private_not_synthesized", aaaa_private)

    def aaaa_dual():
        eq(short(P, "AAAA", "dual.example.test"), ["2001:db8::1"],
           "dig +short AAAA dual.example.test")
    suite.case("dig_aaaa_real_kept", aaaa_dual)

    def aaaa_alias():
        eq(short(P, "AAAA", "alias.example.test"),
           ["v4only.example.test.", "64:ff9b::5db8:d70e"],
           "dig +short AAAA alias.example.test")
    suite.case("dig_aaaa_cname_synthesized", aaaa_alias)

    def ptr():
        eq(short(P, "-x", "64:ff9b::5db8:d70e"),
           ["14.215.184.93.in-addr.arpa.", "v4only.example.test."],
           "dig +short -x 64:ff9b::5db8:d70e")
        eq(status(P, "-x", "64:ff9b::5db8:d70f"), "NXDOMAIN",
           "dig -x 64:ff9b::5db8:d70f status")
    suite.case("dig_ptr_cname", ptr)

    def a_pass():
        eq(short(P, "A", "v4only.example.test"), ["93.184.215.14"],
           "dig +short A v4only.example.test")
        eq(short(P, "MX", "mx.example.test"), ["10 v4only.example.test."],
           "dig +short MX mx.example.test")
    suite.case("dig_a_passthrough", a_pass)

    def nx():
        eq(status(P, "A", "nonexistent.example.test"), "NXDOMAIN",
           "dig A nonexistent.example.test status")
        eq(status(P, "AAAA", "nonexistent.example.test"), "NXDOMAIN",
           "dig AAAA nonexistent.example.test status")
    suite.case("dig_nxdomain_passthrough", nx)

    def v4only_arpa():
        eq(sorted(short(P, "AAAA", "ipv4only.arpa")),
           ["64:ff9b::c000:aa", "64:ff9b::c000:ab"], "dig AAAA ipv4only.arpa")
        eq(short(P, "-x", "64:ff9b::c000:aa"), ["ipv4only.arpa."],
           "dig -x 64:ff9b::c000:aa")
    suite.case("dig_ipv4only_arpa", v4only_arpa)

    def details():
        r = ask(P, "v4only.example.test", "AAAA", edns=1232)
        eq(r.rrs("answer"), [("v4only.example.test.", 300, "AAAA",
                              "64:ff9b::5db8:d70e")],
           "answer (TTL: min of A 3600 and the SOA's 300)")
        check(29 in r.ede(), "no EDE 29 on a synthesized answer")
        r = ask(P, "alias.example.test", "AAAA")
        eq(r.rrs("answer"), [
            ("alias.example.test.", 3600, "CNAME", "v4only.example.test."),
            ("v4only.example.test.", 600, "AAAA", "64:ff9b::5db8:d70e")],
           "answer (no SOA: TTL min(3600, 600))")
    suite.case("synthesized_ttl_and_ede", details)

    def alive():
        check(proxy.alive(), "proxy died")
        check(ub.poll() is None, "unbound died")
        eq(proxy.stop(), 0, "proxy exit status after SIGTERM")
    suite.case("clean_shutdown", alive)


if __name__ == "__main__":
    Suite("e2e-unbound").run(main)
