#!/usr/bin/python3
"""End-to-end: dns64proxy behind a scripted upstream (scripted_upstream.py).

Covers every numbered item of SPEC.md "DNS behaviour", over UDP and TCP
where it matters.  Each case uses its own names, so the upstream's log of
queries can be searched per case.
"""

import ipaddress
import os
import random
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.edns          # noqa: E402
import dns.flags         # noqa: E402
import dns.message       # noqa: E402
import dns.rcode         # noqa: E402
import dns.rdataclass    # noqa: E402
import dns.rdatatype     # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, make_query, rev,  # noqa
                     send_udp_raw, send_tcp_raw, CheckFailed, StartError)
from scripted_upstream import (ScriptedUpstream, Rule, answer_rule,  # noqa
                               nodata, nxdomain, servfail, soa_rr, SILENT)

NOERROR = dns.rcode.NOERROR
SERVFAIL = dns.rcode.SERVFAIL
NXDOMAIN = dns.rcode.NXDOMAIN
REFUSED = dns.rcode.REFUSED
FORMERR = dns.rcode.FORMERR

WKP = "64:ff9b::/96"
NSP = "2001:db8:64::/96"
V4 = "93.184.215.14"
V4_WKP = "64:ff9b::5db8:d70e"
V4_NSP = "2001:db8:64::5db8:d70e"
# RFC 6052 section 2.4, each on its own /32 so the prefixes do not overlap
RFC6052 = [("2001:db8::/32", "2001:db8:c000:221::"),
           ("2001:db9:100::/40", "2001:db9:1c0:2:21::"),
           ("2001:dba:122::/48", "2001:dba:122:c000:2:2100::"),
           ("2001:dbb:122:300::/56", "2001:dbb:122:3c0:0:221::"),
           ("2001:dbc:122:344::/64", "2001:dbc:122:344:c0:2:2100::"),
           ("2001:dbd:122:344::/96", "2001:dbd:122:344::c000:221")]
# as RFC 5952 writes them (...:2100:: is ...:2100:0)
RFC6052 = [(p, str(ipaddress.IPv6Address(a))) for p, a in RFC6052]


def embed(prefix, v4):
    """RFC 6052 2.2 (u-octet zero), as a cross-check of the table."""
    net = ipaddress.IPv6Network(prefix)
    b = bytearray(net.network_address.packed)
    v = ipaddress.IPv4Address(v4).packed
    pos = net.prefixlen // 8
    for byte in v:
        if pos == 8:
            pos += 1
        b[pos] = byte
        pos += 1
    return str(ipaddress.IPv6Address(bytes(b)))


def n(name):
    return name.lower().rstrip(".") + "."


def conf(upstreams, dns64="[dns64]\nprefix = 64:ff9b::/96\n",
         allow="127.0.0.0/8 ::1/128"):
    return ("[server]\nlisten = {listen}\nupstream = %s\ntimeout = 300\n"
            "attempts = 2\nallow = %s\n\n%s" % (upstreams, allow, dns64))


# -- the upstream's script ---------------------------------------------------

def script(up):
    S = up.set
    ex = "example.test."
    # 1. pass-through
    S("pass-a.example.test", "A", Rule(
        answer=["pass-a.example.test. 3600 A 93.184.215.14",
                "pass-a.example.test. 3600 A 192.0.2.1"],
        authority=["example.test. 86400 NS ns1.example.test."],
        additional=["ns1.example.test. 86400 A 192.0.2.53"], aa=True))
    S("pass-mx.example.test", "MX", answer_rule(
        "pass-mx.example.test. 1800 MX 10 mail1.example.test.",
        "pass-mx.example.test. 1800 MX 20 mail2.example.test."))
    S("pass-txt.example.test", "TXT", answer_rule(
        'pass-txt.example.test. 300 TXT "v=spf1 -all" "second string"'))
    S("nsid.example.test", "A", answer_rule(
        "nsid.example.test. 60 A 93.184.215.14", options=[
            dns.edns.GenericOption(dns.edns.OptionType.NSID, b"upstream-1"),
            dns.edns.GenericOption(65001, b"xyz")]))
    S("edns-up.example.test", "A", answer_rule(
        "edns-up.example.test. 60 A 93.184.215.14"))
    S("version.bind", "TXT", answer_rule('version.bind. 0 CH TXT "scripted"'))
    S("ch-v4.example.test", "AAAA", Rule())
    S("ch-v4.example.test", "A", answer_rule(
        "ch-v4.example.test. 60 A 93.184.215.14"))
    S("tcp-a.example.test", "A", answer_rule(
        "tcp-a.example.test. 60 A 93.184.215.14"))

    # 2. synthesis decisions
    def v4only(name, soa_ttl=300, minimum=120, a_ttl=3600, a=(V4,), **kw):
        S(name, "AAAA", nodata(soa_ttl=soa_ttl, minimum=minimum, **kw))
        S(name, "A", Rule(answer=["%s %d A %s" % (n(name), a_ttl, x)
                                  for x in a]))
    for name in ("v4only.example.test", "v4only-tcp.example.test",
                 "v4only-v6.example.test", "v4only-edns.example.test",
                 "v4only-sec.example.test", "multi1.example.test"):
        v4only(name)
    S("nx.example.test", "AAAA", nxdomain())
    S("nx.example.test", "A", answer_rule("nx.example.test. 60 A 8.8.8.8"))
    for name, rule in (("sf.example.test", servfail()),
                       ("refused.example.test", Rule(rcode="REFUSED")),
                       ("sf-noerr.example.test", servfail()),
                       ("ede22.example.test", servfail(ede=(22, "unreach"))),
                       ("slow-aaaa.example.test", SILENT),
                       ("slow-noerr.example.test", SILENT)):
        S(name, "AAAA", rule)
        S(name, "A", answer_rule("%s 3600 A %s" % (n(name), V4)))
    for code in (6, 9, 12):
        name = "bogus%d.example.test" % code
        S(name, "AAAA", servfail(ede=(code, "dnssec")))
        S(name, "A", answer_rule("%s 3600 A %s" % (n(name), V4)))
    # a DNSSEC verdict that is not the first EDE option
    S("bogus-2nd.example.test", "AAAA", servfail(
        options=[dns.edns.GenericOption(15, b"\x00\x00")],
        ede=(6, "dnssec")))
    S("bogus-2nd.example.test", "A", answer_rule(
        "bogus-2nd.example.test. 3600 A %s" % V4))
    # upstream EDNS options on the answers the proxy rebuilds
    def nsid(text):
        return [dns.edns.GenericOption(dns.edns.OptionType.NSID, text),
                dns.edns.GenericOption(65001, b"xyz"),
                dns.edns.GenericOption(dns.edns.OptionType.PADDING,
                                       b"\x00" * 8)]
    S("opts-synth.example.test", "AAAA", nodata(options=nsid(b"up-aaaa")))
    S("opts-synth.example.test", "A", answer_rule(
        "opts-synth.example.test. 300 A %s" % V4, options=nsid(b"up-a")))
    S("opts-filter.example.test", "AAAA", answer_rule(
        "opts-filter.example.test. 300 AAAA ::ffff:5db8:d70e",
        "opts-filter.example.test. 300 AAAA 2001:db8::1",
        options=nsid(b"up-f")))
    S("20.215.184.93.in-addr.arpa", "PTR", answer_rule(
        "20.215.184.93.in-addr.arpa. 3600 PTR opts.example.test.",
        options=nsid(b"up-ptr")))
    S("alias.example.test", "AAAA", Rule(
        answer=["alias.example.test. 1800 CNAME mid.example.test.",
                "mid.example.test. 900 CNAME v4only-c.example.test."],
        authority=[soa_rr(ex, 300, 120)]))
    S("alias.example.test", "A",
      answer_rule("alias.example.test. 60 A 8.8.4.4"))
    S("mid.example.test", "A", answer_rule("mid.example.test. 60 A 8.8.4.4"))
    S("v4only-c.example.test", "A", answer_rule(
        "v4only-c.example.test. 3600 A %s" % V4))
    S("mapped.example.test", "AAAA", answer_rule(
        "mapped.example.test. 300 AAAA ::ffff:5db8:d70e"))
    S("mapped.example.test", "A", answer_rule("mapped.example.test. 300 A %s"
                                              % V4))
    S("mixed.example.test", "AAAA", answer_rule(
        "mixed.example.test. 300 AAAA ::ffff:5db8:d70e",
        "mixed.example.test. 300 AAAA 2001:db8::1"))
    S("mixed.example.test", "A", answer_rule("mixed.example.test. 300 A %s"
                                             % V4))
    S("dual.example.test", "AAAA", answer_rule(
        "dual.example.test. 300 AAAA 2001:db8::1"))
    S("dual.example.test", "A",
      answer_rule("dual.example.test. 300 A %s" % V4))
    S("excl.example.test", "AAAA", answer_rule(
        "excl.example.test. 300 AAAA 2001:db8:bad::1"))
    S("excl.example.test", "A",
      answer_rule("excl.example.test. 300 A %s" % V4))
    S("excl-mixed.example.test", "AAAA", answer_rule(
        "excl-mixed.example.test. 300 AAAA 2001:db8:bad::1",
        "excl-mixed.example.test. 300 AAAA 2001:db8:1::1"))
    S("excl-mixed.example.test", "A", answer_rule(
        "excl-mixed.example.test. 300 A %s" % V4))
    v4only("private.example.test", a=("10.1.2.3",), serial=77)

    # 3. the synthesized answer
    v4only("ttl1.example.test", soa_ttl=300, minimum=120, a_ttl=3600)
    v4only("ttl2.example.test", soa_ttl=100, minimum=900, a_ttl=3600)
    v4only("ttl3.example.test", soa_ttl=300, minimum=120, a_ttl=50)
    v4only("ttl4.example.test", a_ttl=3600, soa=False)
    v4only("ttl5.example.test", a_ttl=30, soa=False)
    v4only("multi.example.test", a=(V4, "8.8.8.8"))
    v4only("rfc6052.example.test", a=("192.0.2.33",))
    S("authadd.example.test", "AAAA", nodata(serial=11))
    S("authadd.example.test", "A", Rule(
        answer=["authadd.example.test. 3600 A %s" % V4],
        authority=["example.test. 86400 NS ns1.example.test."],
        additional=["ns1.example.test. 86400 A 192.0.2.53"]))
    S("adflag.example.test", "AAAA", nodata(ad=True))
    S("adflag.example.test", "A", answer_rule(
        "adflag.example.test. 3600 A %s" % V4, ad=True))
    S("a-nx.example.test", "AAAA", nodata(serial=21))
    S("a-nx.example.test", "A", nxdomain(serial=22))
    S("a-sf.example.test", "AAAA", nodata(serial=23))
    S("a-sf.example.test", "A", servfail())
    S("a-empty.example.test", "AAAA", nodata(serial=31))
    S("a-empty.example.test", "A", nodata(serial=32))
    S("a-slow.example.test", "AAAA", nodata(serial=33))
    S("a-slow.example.test", "A", SILENT)

    # 4. PTR
    S("14.215.184.93.in-addr.arpa", "PTR", answer_rule(
        "14.215.184.93.in-addr.arpa. 3600 PTR v4only.example.test."))
    S("15.215.184.93.in-addr.arpa", "PTR",
      nxdomain(zone="215.184.93.in-addr.arpa."))
    S(rev(V4_WKP), "PTR", answer_rule("%s 60 PTR trap.example.test." %
                                      rev(V4_WKP)))
    S(rev("2001:db8::1"), "PTR", answer_rule(
        "%s 3600 PTR host.example.test." % rev("2001:db8::1")))
    S("33.2.0.192.in-addr.arpa", "PTR", answer_rule(
        "33.2.0.192.in-addr.arpa. 3600 PTR rfc6052.example.test."))

    # 5. ipv4only.arpa: only DS may reach the upstream
    S("ipv4only.arpa", "DS", nodata(zone="arpa.", serial=4242))
    S("ipv4only.arpa", None, answer_rule("ipv4only.arpa. 60 A 6.6.6.6"))

    # 6. DNSSEC
    v4only("dnssec.example.test")
    v4only("dnssec2.example.test")
    v4only("padded.example.test")

    # 7. truncation
    S("tc.example.test", "TXT", answer_rule(
        'tc.example.test. 60 TXT "full answer over tcp"', tc_udp=True))
    S("tc-aaaa.example.test", "AAAA", answer_rule(
        "tc-aaaa.example.test. 60 AAAA 2001:db8::2", tc_udp=True))
    S("tc-aaaa.example.test", "A", answer_rule(
        "tc-aaaa.example.test. 60 A %s" % V4))
    v4only("many.example.test", a=["93.184.215.%d" % i for i in range(1, 29)])
    S("bigtxt.example.test", "TXT", Rule(answer=[
        'bigtxt.example.test. 60 TXT "%s"' % (("%02d" % i) * 60)
        for i in range(12)]))

    # 8. upstream failures
    S("silent.example.test", "A", SILENT)
    S("silent2.example.test", "A", SILENT)
    S("silent6.example.test", None, SILENT)
    for kind in ("wrong_id", "wrong_question", "other_port"):
        name = "spoof-%s.example.test" % kind.replace("_", "-")
        S(name, "A", answer_rule("%s 60 A 1.2.3.4" % n(name), spoof=[kind]))
    S("spoof-aaaa.example.test", "AAAA", nodata(
        spoof=["wrong_id", "wrong_question", "other_port"]))
    S("spoof-aaaa.example.test", "A", answer_rule(
        "spoof-aaaa.example.test. 3600 A %s" % V4,
        spoof=["wrong_id", "wrong_question", "other_port"]))
    S("spoof-only.example.test", "A", answer_rule(
        "spoof-only.example.test. 60 A 1.2.3.4",
        spoof=["wrong_id", "wrong_question", "other_port"], spoof_only=True))
    for i in range(8):
        S("rid-%d.example.test" % i, "A", answer_rule(
            "rid-%d.example.test. 60 A 192.0.2.%d" % (i, i + 1)))

    def garbage(q, transport):
        return (struct.pack("!HHHHHH", q.id, 0x8180, 1, 5, 0, 0)
                + b"\x07garbage\x07example\x04test" + b"\xff" * 7)
    S("garbage-up.example.test", "A", Rule(func=garbage))
    # options: parallel, synthall, mapped, cache
    for name in ("par-v4.example.test", "cache-v4.example.test",
                 "cache-sec.example.test"):
        v4only(name)
    S("par-slow.example.test", "AAAA", SILENT)
    S("par-slow.example.test", "A", answer_rule(
        "par-slow.example.test. 3600 A %s" % V4))
    S("cache-a.example.test", "A", answer_rule(
        "cache-a.example.test. 60 A 192.0.2.7"))
    S("cache-nx.example.test", "A", nxdomain(soa_ttl=60, minimum=60))
    # 9. clients
    S("refused-client.example.test", "A", answer_rule(
        "refused-client.example.test. 60 A 1.2.3.4"))


# -- cases -------------------------------------------------------------------

def fuzz(rnd, wire, keep):
    """A mutation of wire; the first keep bytes stay (the ID, or the
    header)."""
    b = bytearray(wire)
    op = rnd.randrange(6)
    if op == 0:                                 # flip a few bytes
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(keep, len(b))
            b[i] = rnd.randrange(256)
    elif op == 1:                               # cut short
        b = b[:rnd.randrange(keep, len(b))]
    elif op == 2:                               # trailing junk
        b += bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 40)))
    elif op == 3:                               # wild counts
        for i in range(max(keep, 4), 12):
            b[i] = rnd.choice((0, 1, 2, 0xff))
    elif op == 4:                               # compression pointers
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(max(keep, 12), len(b) - 1)
            b[i] = 0xc0 | rnd.randrange(64)
            b[i + 1] = rnd.randrange(256)
    else:                                       # random tail
        i = rnd.randrange(max(keep, 12), len(b))
        b = b[:i] + bytes(rnd.randrange(256) for _ in range(len(b) - i))
    if len(b) > 2 and (keep >= 12 or rnd.random() < 0.8):
        b[2] = (b[2] & 0x7f) | (wire[2] & 0x80)  # keep QR as it was
    return bytes(b)


def only(recs, what):
    return [r for r in recs if r[2] == what]


def expect_synth(r, name, addrs, ttl=None):
    eq(r.rcode, NOERROR, "rcode")
    aaaa = r.rrs("answer", "AAAA")
    eq([a[3] for a in aaaa], list(addrs), "synthesized AAAA of " + name)
    for a in aaaa:
        eq(a[0], n(name), "AAAA owner")
        if ttl is not None:
            eq(a[1], ttl, "AAAA TTL")


def saw(up, name, qtype, transport=None):
    return up.queries(qname=name, qtype=qtype, transport=transport)


def main(suite):
    suite.require_binary()
    up = ScriptedUpstream().start()
    suite.cleanups.append(up.stop)
    script(up)
    U = "127.0.0.1:%d" % up.port
    v6 = suite.v6
    ip6name = rev(V4_WKP)

    proxies = []

    def start(conf_text, name):
        p = Proxy(suite, conf_text, name=name)
        proxies.append(p)
        p.start()
        return p

    def stop(p):
        def shutdown():
            check(p.alive(), "%s died before the end: %s" % (
                p.name, p.log_tail()))
            rc = p.stop()
            eq(rc, 0, "exit status after SIGTERM")
            log = p.log_text()
            check("Sanitizer" not in log and "runtime error" not in log,
                  "sanitizer report in the log: " + p.log_tail(20))
        suite.case("shutdown_" + p.name, shutdown)

    def block(body, conf_text, name):
        """Start a proxy, run the cases of body(proxy), stop it; a proxy
        that does not start fails "start_NAME" and the next block runs."""
        try:
            p = start(conf_text, name)
        except StartError as e:
            suite.fail("start_" + name, str(e))
            return
        try:
            body(p)
        finally:
            stop(p)

    def block_1(main_p):
        P = main_p.port

        # ---- 1. pass-through ------------------------------------------------
        def passthrough_a():
            r = ask(P, "pass-a.example.test", "A", qid=0x1234)
            eq(r.rcode, NOERROR, "rcode")
            check(r.flag(dns.flags.AA), "AA of the upstream answer lost")
            check(r.flag(dns.flags.RA), "RA of the upstream answer lost")
            check(r.flag(dns.flags.RD), "RD not copied")
            eq(r.rrs("answer"), [
                ("pass-a.example.test.", 3600, "A", "93.184.215.14"),
                ("pass-a.example.test.", 3600, "A", "192.0.2.1")], "answer")
            eq(r.rrs("authority"), [("example.test.", 86400, "NS",
                                     "ns1.example.test.")], "authority")
            eq(r.rrs("additional"), [("ns1.example.test.", 86400, "A",
                                      "192.0.2.53")], "additional")
            eq(r.msg.edns, -1, "EDNS version (client sent none)")
            check(saw(up, "pass-a.example.test", "A"), "upstream never asked")
        suite.case("passthrough_a_udp", passthrough_a)

        def passthrough_mx_tcp():
            r = ask(P, "pass-mx.example.test", "MX", tcp=True)
            eq(r.rcode, NOERROR, "rcode")
            mx = "pass-mx.example.test."
            eq(r.rrs("answer"), [(mx, 1800, "MX", "10 mail1.example.test."),
                                 (mx, 1800, "MX", "20 mail2.example.test.")],
               "answer")
            check(saw(up, "pass-mx.example.test", "MX", "tcp"),
                  "upstream not asked over TCP: %r" %
                  saw(up, "pass-mx.example.test", "MX"))
        suite.case("passthrough_mx_tcp", passthrough_mx_tcp)

        def passthrough_txt():
            host = "::1" if v6 else "127.0.0.1"
            r = ask(P, "pass-txt.example.test", "TXT", host=host)
            eq(r.rrs("answer"), [("pass-txt.example.test.", 300, "TXT",
                                  '"v=spf1 -all" "second string"')], "answer")
        suite.case("passthrough_txt_udp%s" % ("_ipv6" if v6 else ""),
                   passthrough_txt)

        def question_case():
            for tcp in (False, True):
                r = ask(P, "PaSs-A.ExAmPle.TEST", "A", tcp=tcp)
                eq(r.msg.question[0].name.to_text(), "PaSs-A.ExAmPle.TEST.",
                   "question name over %s" % ("TCP" if tcp else "UDP"))
                eq(len(r.rrs("answer")), 2, "answer count")
            r = ask(P, "V4Only.Example.TEST", "AAAA")
            eq(r.msg.question[0].name.to_text(), "V4Only.Example.TEST.",
               "question name of a synthesized answer")
            expect_synth(r, "v4only.example.test", [V4_WKP])
            r = ask(P, "IPv4Only.ARPA", "A")
            eq(r.msg.question[0].name.to_text(), "IPv4Only.ARPA.",
               "question name of a local answer")
        suite.case("question_case_preserved", question_case)

        def edns_options_down():
            opts = [dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")]
            r = ask(P, "nsid.example.test", "A", edns=1232, options=opts)
            check(r.msg.edns == 0, "no OPT in the answer to an EDNS client")
            got = {o.otype: getattr(o, "data", None) for o in r.msg.options}
            eq(got.get(dns.edns.OptionType.NSID), b"upstream-1",
               "NSID option from the upstream")
            eq(got.get(65001), b"xyz", "option 65001 from the upstream")
        suite.case("edns_options_to_client", edns_options_down)

        def edns_options_up():
            opts = [dns.edns.GenericOption(65002, b"abc")]
            ask(P, "edns-up.example.test", "A", edns=1232, options=opts)
            qs = saw(up, "edns-up.example.test", "A")
            check(qs, "upstream never asked")
            check(qs[0].edns >= 0, "query reached the upstream without EDNS")
            got = {o.otype: getattr(o, "data", None) for o in qs[0].options}
            eq(got.get(65002), b"abc", "client's EDNS option at the upstream")
        suite.case("edns_options_to_upstream", edns_options_up)

        def class_ch():
            r = ask(P, "version.bind", "TXT", rdclass="CH")
            eq(r.rrs("answer"), [("version.bind.", 0, "TXT", '"scripted"')],
               "CH TXT answer")
            eq(r.msg.answer[0].rdclass, dns.rdataclass.CH, "answer class")
            r = ask(P, "ch-v4.example.test", "AAAA", rdclass="CH")
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [], "answer to AAAA CH (must not synthesize)")
            check(saw(up, "ch-v4.example.test", "AAAA"),
                  "AAAA CH not forwarded")
            check(not saw(up, "ch-v4.example.test", "A"),
                  "an A query was sent for a CH query")
        suite.case("class_ch_untouched", class_ch)

        # ---- 2. when to synthesize ------------------------------------------
        def synth(name, tcp=False, host="127.0.0.1"):
            r = ask(P, name, "AAAA", tcp=tcp, host=host)
            expect_synth(r, name, [V4_WKP], ttl=120)
            eq(r.rrs("authority"), [], "authority (A answer had none)")
            eq(r.msg.edns, -1, "OPT in the answer to a client without EDNS")
            check(saw(up, name, "AAAA"), "upstream not asked AAAA")
            check(saw(up, name, "A"), "upstream not asked A")
            return r
        suite.case("synth_nodata_udp", synth, "v4only.example.test")

        def synth_tcp():
            synth("v4only-tcp.example.test", tcp=True)
            check(saw(up, "v4only-tcp.example.test", "AAAA", "tcp"),
                  "AAAA of a TCP client not sent over TCP: %r" %
                  saw(up, "v4only-tcp.example.test", None))
        suite.case("synth_nodata_tcp", synth_tcp)
        if v6:
            suite.case("synth_nodata_ipv6_client", synth,
                       "v4only-v6.example.test", host="::1")

        def nx_not_synth():
            for tcp in (False, True):
                r = ask(P, "nx.example.test", "AAAA", tcp=tcp)
                eq(r.rcode, NXDOMAIN, "rcode")
                eq(r.rrs("answer"), [], "answer")
                check(only(r.rrs("authority"), "SOA"),
                      "SOA of the NXDOMAIN lost")
            check(not saw(up, "nx.example.test", "A"),
                  "A query sent after NXDOMAIN")
        suite.case("nxdomain_never_synthesized", nx_not_synth)

        def err_synth(name):
            r = ask(P, name, "AAAA")
            expect_synth(r, name, [V4_WKP], ttl=600)
        suite.case("servfail_synthesized_on_error_yes", err_synth,
                   "sf.example.test")
        suite.case("refused_synthesized_on_error_yes", err_synth,
                   "refused.example.test")
        suite.case("servfail_ede22_synthesized", err_synth,
                   "ede22.example.test")

        def bogus():
            for code in (6, 9, 12):
                name = "bogus%d.example.test" % code
                r = ask(P, name, "AAAA", edns=1232)
                eq(r.rcode, SERVFAIL, "rcode for EDE %d" % code)
                eq(r.rrs("answer"), [], "answer for EDE %d" % code)
                check(code in r.ede(),
                      "EDE %d not relayed: %r" % (code, r.ede()))
                check(not saw(up, name, "A"), "A query after EDE %d" % code)
        suite.case("servfail_ede_dnssec_not_synthesized", bogus)

        def bogus_second():
            r = ask(P, "bogus-2nd.example.test", "AAAA", edns=1232)
            eq(r.rcode, SERVFAIL, "rcode")
            eq(sorted(r.ede()), [0, 6], "EDE options relayed")
            check(not saw(up, "bogus-2nd.example.test", "A"),
                  "A query after a DNSSEC EDE behind another one")
        suite.case("servfail_second_ede_dnssec_not_synthesized",
                   bogus_second)

        def rebuilt_options():
            ask_opts = [dns.edns.GenericOption(dns.edns.OptionType.NSID,
                                               b"")]
            for name, qtype, nsid_want, ede_want in (
                    ("opts-synth.example.test", "AAAA", b"up-a", [29]),
                    ("opts-filter.example.test", "AAAA", b"up-f", []),
                    (rev("64:ff9b::5db8:d714"), "PTR", b"up-ptr", [29])):
                r = ask(P, name, qtype, edns=1232, options=ask_opts)
                eq(r.rcode, NOERROR, "rcode of %s" % name)
                got = [(o.otype, getattr(o, "data", None))
                       for o in r.msg.options
                       if o.otype != dns.edns.OptionType.EDE]
                eq(got, [(dns.edns.OptionType.NSID, nsid_want),
                         (65001, b"xyz")],
                   "options other than EDE in the answer for %s (padding "
                   "dropped)" % name)
                eq(r.ede(), ede_want, "EDE of %s" % name)
            r = ask(P, "opts-filter.example.test", "AAAA", edns=1232)
            eq(r.addrs(), ["2001:db8::1"], "filtered AAAA")
        suite.case("edns_options_on_rebuilt_answers", rebuilt_options)

        def aaaa_timeout():
            r = ask(P, "slow-aaaa.example.test", "AAAA", timeout=5)
            expect_synth(r, "slow-aaaa.example.test", [V4_WKP], ttl=600)
            check(r.elapsed < 3.0, "took %.1fs" % r.elapsed)
            eq(len(saw(up, "slow-aaaa.example.test", "AAAA")), 2,
               "AAAA attempts (attempts = 2)")
        suite.case("aaaa_timeout_synthesized", aaaa_timeout)

        def cname_chain():
            r = ask(P, "alias.example.test", "AAAA")
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [
                ("alias.example.test.", 1800, "CNAME", "mid.example.test."),
                ("mid.example.test.", 900, "CNAME", "v4only-c.example.test."),
                ("v4only-c.example.test.", 120, "AAAA", V4_WKP)], "answer")
            a = saw(up, None, "A")
            asked = [q.qname.lower() for q in a
                     if q.qname.lower() in ("alias.example.test.",
                                            "mid.example.test.",
                                            "v4only-c.example.test.")]
            eq(asked, ["v4only-c.example.test."], "A queries sent")
        suite.case("cname_chain_kept_a_for_chain_end", cname_chain)

        def mapped_only():
            r = ask(P, "mapped.example.test", "AAAA")
            expect_synth(r, "mapped.example.test", [V4_WKP])
        suite.case("only_mapped_aaaa_synthesized", mapped_only)

        def mixed():
            for tcp in (False, True):
                r = ask(P, "mixed.example.test", "AAAA", tcp=tcp)
                eq(r.rcode, NOERROR, "rcode")
                eq(r.addrs(), ["2001:db8::1"], "AAAA records")
            check(not saw(up, "mixed.example.test", "A"), "A query sent")
        suite.case("mixed_aaaa_only_usable", mixed)

        def real_aaaa():
            r = ask(P, "dual.example.test", "AAAA")
            eq(r.rrs("answer"), [("dual.example.test.", 300, "AAAA",
                                  "2001:db8::1")], "answer")
            check(not saw(up, "dual.example.test", "A"), "A query sent")
        suite.case("real_aaaa_passthrough", real_aaaa)

        def wkp_private():
            r = ask(P, "private.example.test", "AAAA", edns=1232)
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [], "answer (10.1.2.3 under the WKP)")
            soa = only(r.rrs("authority"), "SOA")
            check(soa and " 77 " in soa[0][3], "original SOA not returned: %r"
                  % r.rrs("authority"))
            check(29 not in r.ede(),
                  "EDE 29 on an answer that is not synthesized")
        suite.case("wkp_nonglobal_not_synthesized", wkp_private)

        # ---- 3. the synthesized answer --------------------------------------
        def ttl(name, want):
            r = ask(P, name, "AAAA")
            expect_synth(r, name, [V4_WKP], ttl=want)
        suite.case("ttl_soa_minimum", ttl, "ttl1.example.test", 120)
        suite.case("ttl_soa_ttl", ttl, "ttl2.example.test", 100)
        suite.case("ttl_a_record", ttl, "ttl3.example.test", 50)
        suite.case("ttl_no_soa_600", ttl, "ttl4.example.test", 600)
        suite.case("ttl_no_soa_a_record", ttl, "ttl5.example.test", 30)

        def auth_add():
            r = ask(P, "authadd.example.test", "AAAA")
            expect_synth(r, "authadd.example.test", [V4_WKP])
            eq(r.rrs("authority"), [("example.test.", 86400, "NS",
                                     "ns1.example.test.")], "authority")
            eq(r.rrs("additional"), [("ns1.example.test.", 86400, "A",
                                      "192.0.2.53")], "additional")
        suite.case("authority_additional_of_a_answer", auth_add)

        def ad_cleared():
            q = make_query("adflag.example.test", "AAAA")
            q.flags |= dns.flags.AD
            r = ask(P, "adflag.example.test", "AAAA", query=q)
            expect_synth(r, "adflag.example.test", [V4_WKP])
            check(not r.flag(dns.flags.AD), "AD set on a synthesized answer")
        suite.case("ad_cleared", ad_cleared)

        def ede29():
            r = ask(P, "v4only-edns.example.test", "AAAA", edns=1232)
            expect_synth(r, "v4only-edns.example.test", [V4_WKP])
            check(29 in r.ede(), "no EDE 29: options %r" % r.msg.options)
            r = ask(P, "v4only-edns.example.test", "AAAA", tcp=True, edns=1232)
            check(29 in r.ede(), "no EDE 29 over TCP")
            r = ask(P, "v4only-edns.example.test", "AAAA")
            eq(r.msg.edns, -1, "OPT to a client without EDNS")
            r = ask(P, "pass-a.example.test", "A", edns=1232)
            check(29 not in r.ede(), "EDE 29 on a pass-through answer")
        suite.case("ede29_only_for_edns_clients", ede29)

        def a_nx():
            r = ask(P, "a-nx.example.test", "AAAA")
            eq(r.rcode, NXDOMAIN, "rcode when the A query gives NXDOMAIN")
            eq(r.rrs("answer"), [], "answer")
        suite.case("a_nxdomain_fallback", a_nx)

        def a_sf():
            r = ask(P, "a-sf.example.test", "AAAA")
            eq(r.rcode, SERVFAIL, "rcode when the A query gives SERVFAIL")
        suite.case("a_servfail_fallback", a_sf)

        def a_empty():
            r = ask(P, "a-empty.example.test", "AAAA")
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [], "answer")
            soa = only(r.rrs("authority"), "SOA")
            check(soa and " 31 " in soa[0][3],
                  "expected the AAAA answer's SOA (serial 31), got %r" %
                  r.rrs("authority"))
        suite.case("a_nodata_original_aaaa_answer", a_empty)

        def a_slow():
            r = ask(P, "a-slow.example.test", "AAAA", timeout=5)
            check(r.rcode in (NOERROR, SERVFAIL), "rcode %s" %
                  dns.rcode.to_text(r.rcode))
            eq(r.rrs("answer", "AAAA"), [], "AAAA records")
            check(r.elapsed < 3.0, "took %.1fs" % r.elapsed)
        suite.case("a_timeout_answered", a_slow)

        # ---- 4. PTR ---------------------------------------------------------
        def ptr_cname(tcp):
            r = ask(P, ip6name, "PTR", tcp=tcp)
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [
                (ip6name, r.rrs("answer")[0][1] if r.rrs("answer") else 0,
                 "CNAME", "14.215.184.93.in-addr.arpa."),
                ("14.215.184.93.in-addr.arpa.", 3600, "PTR",
                 "v4only.example.test.")], "answer")
            check(saw(up, "14.215.184.93.in-addr.arpa", "PTR"),
                  "upstream not asked for the in-addr.arpa name")
            check(not saw(up, ip6name, "PTR"), "ip6.arpa name was forwarded")
        suite.case("ptr_cname_udp", ptr_cname, False)
        suite.case("ptr_cname_tcp", ptr_cname, True)

        def ptr_nx():
            r = ask(P, rev("64:ff9b::5db8:d70f"), "PTR")
            eq(r.rcode, NXDOMAIN, "rcode")
            eq(r.rrs("answer"), [], "answer (no dangling CNAME)")
        suite.case("ptr_nxdomain_no_cname", ptr_nx)

        def ptr_outside():
            name = rev("2001:db8::1")
            r = ask(P, name, "PTR")
            eq(r.rrs("answer"), [(name, 3600, "PTR", "host.example.test.")],
               "answer")
            check(saw(up, name, "PTR"), "not forwarded")
        suite.case("ptr_outside_prefix_forwarded", ptr_outside)

        def ptr_partial():
            name = "b.9.f.f.4.6.0.0.ip6.arpa."
            r = ask(P, name, "PTR")
            eq(r.rcode, NXDOMAIN, "rcode (the upstream's)")
            check(saw(up, name, "PTR"), "partial name not forwarded")
        suite.case("ptr_partial_name_forwarded", ptr_partial)

        # ---- 5. ipv4only.arpa -----------------------------------------------
        def v4o_a():
            for tcp in (False, True):
                r = ask(P, "ipv4only.arpa", "A", tcp=tcp)
                eq(r.rcode, NOERROR, "rcode")
                eq(sorted(r.addrs("A")), ["192.0.0.170", "192.0.0.171"], "A")
        suite.case("ipv4only_a", v4o_a)

        def v4o_aaaa():
            r = ask(P, "ipv4only.arpa", "AAAA")
            eq(r.rcode, NOERROR, "rcode")
            eq(sorted(r.addrs()), ["64:ff9b::c000:aa", "64:ff9b::c000:ab"],
               "AAAA")
            # synthesized, so EDE 29 to a client that sent EDNS
            r = ask(P, "ipv4only.arpa", "AAAA", edns=1232)
            eq(r.ede(), [29], "EDE of the AAAA answer")
            r = ask(P, "ipv4only.arpa", "A", edns=1232)
            eq(r.ede(), [], "EDE of the A answer")
        suite.case("ipv4only_aaaa", v4o_aaaa)

        def v4o_other():
            for t in ("MX", "TXT", "NS"):
                r = ask(P, "ipv4only.arpa", t)
                eq(r.rcode, NOERROR, "rcode of %s" % t)
                eq(r.rrs("answer"), [], "answer of %s" % t)
        suite.case("ipv4only_other_types_empty", v4o_other)

        def v4o_ds():
            r = ask(P, "ipv4only.arpa", "DS")
            check(saw(up, "ipv4only.arpa", "DS"), "DS not forwarded")
            soa = only(r.rrs("authority"), "SOA")
            check(soa and " 4242 " in soa[0][3],
                  "not the upstream's answer: %r" % r)
        suite.case("ipv4only_ds_forwarded", v4o_ds)

        def v4o_sub():
            for t in ("A", "AAAA", "PTR"):
                r = ask(P, "foo.ipv4only.arpa", t)
                eq(r.rcode, NXDOMAIN, "rcode of foo.ipv4only.arpa %s" % t)
        suite.case("ipv4only_subdomain_nxdomain", v4o_sub)

        def v4o_ptr():
            for name in ("170.0.0.192.in-addr.arpa",
                         "171.0.0.192.in-addr.arpa",
                         rev("64:ff9b::c000:aa"), rev("64:ff9b::c000:ab")):
                r = ask(P, name, "PTR")
                eq(r.rcode, NOERROR, "rcode of %s" % name)
                eq([x[3] for x in r.rrs("answer", "PTR")], ["ipv4only.arpa."],
                   "PTR of %s" % name)
        suite.case("ipv4only_ptr", v4o_ptr)

        def v4o_local():
            names = ["ipv4only.arpa.", "foo.ipv4only.arpa.",
                     "170.0.0.192.in-addr.arpa.", "171.0.0.192.in-addr.arpa.",
                     rev("64:ff9b::c000:aa"), rev("64:ff9b::c000:ab")]
            bad = [q for q in up.queries()
                   if q.qname and q.qname.lower() in names
                   and q.qtype != dns.rdatatype.DS]
            eq(bad, [], "queries the upstream saw")
        suite.case("ipv4only_never_forwarded_except_ds", v4o_local)

        # ---- 6. DO + CD -----------------------------------------------------
        def do_cd():
            r = ask(P, "dnssec.example.test", "AAAA", do=True, cd=True)
            eq(r.rcode, NOERROR, "rcode")
            eq(r.rrs("answer"), [], "answer (no synthesis with DO+CD)")
            check(only(r.rrs("authority"), "SOA"), "SOA of the NODATA lost")
            check(not saw(up, "dnssec.example.test", "A"), "A query sent")
            qs = saw(up, "dnssec.example.test", "AAAA")
            check(qs and qs[0].flags & dns.flags.CD, "CD not forwarded")
            check(qs and qs[0].ednsflags & dns.flags.DO, "DO not forwarded")
        suite.case("do_cd_not_synthesized", do_cd)

        def do_only():
            r = ask(P, "dnssec2.example.test", "AAAA", do=True)
            expect_synth(r, "dnssec2.example.test", [V4_WKP])
        suite.case("do_without_cd_synthesized", do_only)

        def padded():
            # 1100 bytes of Padding (RFC 7830) in the client's OPT: the
            # follow-up A query still carries EDNS and DO, without it
            pad = dns.edns.GenericOption(12, b"\0" * 1100)
            r = ask(P, "padded.example.test", "AAAA", do=True,
                    options=[pad])
            expect_synth(r, "padded.example.test", [V4_WKP])
            qs = saw(up, "padded.example.test", "A")
            check(qs, "no A query")
            eq((qs[0].edns, bool(qs[0].ednsflags & dns.flags.DO)), (0, True),
               "EDNS version and DO of the A query")
            eq([o.otype for o in qs[0].options], [],
               "options of the A query (the Padding left out)")
        suite.case("padded_client_a_query_keeps_edns", padded)

        # ---- 7. truncation and TCP ------------------------------------------
        def tc():
            r = ask(P, "tc.example.test", "TXT")
            check(r.flag(dns.flags.TC), "TC of the upstream answer lost")
            r = ask(P, "tc.example.test", "TXT", tcp=True)
            check(not r.flag(dns.flags.TC), "TC over TCP")
            eq(r.rrs("answer"), [("tc.example.test.", 60, "TXT",
                                  '"full answer over tcp"')],
               "answer over TCP")
            check(saw(up, "tc.example.test", "TXT", "tcp"),
                  "upstream not asked over TCP")
        suite.case("tc_relayed_then_tcp", tc)

        def tc_aaaa():
            r = ask(P, "tc-aaaa.example.test", "AAAA")
            check(r.flag(dns.flags.TC), "TC of a truncated AAAA answer lost")
            check(V4_WKP not in r.addrs(),
                  "synthesized over a truncated answer")
            r = ask(P, "tc-aaaa.example.test", "AAAA", tcp=True)
            eq(r.addrs(), ["2001:db8::2"], "AAAA over TCP")
        suite.case("tc_aaaa_relayed", tc_aaaa)

        def tcp_upstream():
            ask(P, "tcp-a.example.test", "A", tcp=True)
            qs = saw(up, "tcp-a.example.test", "A")
            check(qs and all(q.transport == "tcp" for q in qs),
                  "TCP client's query went over %r" %
                  [q.transport for q in qs])
        suite.case("tcp_client_tcp_upstream", tcp_upstream)

        many = [embed(WKP, "93.184.215.%d" % i) for i in range(1, 29)]

        def big_synth():
            q = make_query("many.example.test", "AAAA")
            data = send_udp_raw(q.to_wire(), P, timeout=3)
            check(data is not None, "no answer over UDP")
            check(len(data) <= 512, "UDP answer of %d bytes to a client "
                  "without EDNS" % len(data))
            try:
                m = dns.message.from_wire(data)
            except Exception as e:
                raise CheckFailed("truncated answer does not parse: %s %s" % (
                    type(e).__name__, e))
            check(m.flags & dns.flags.TC, "TC not set (%d bytes, %d AAAA)" % (
                len(data), sum(len(x) for x in m.answer)))
            got = [rd.address for rrs in m.answer for rd in rrs
                   if rrs.rdtype == dns.rdatatype.AAAA]
            check(len(got) < 28, "all 28 AAAA in 512 bytes?")
            check(all(a in many for a in got), "unexpected AAAA in %r" % got)
            r = ask(P, "many.example.test", "AAAA", tcp=True)
            check(not r.flag(dns.flags.TC), "TC over TCP")
            eq(r.addrs(), many, "AAAA over TCP")
            r = ask(P, "many.example.test", "AAAA", edns=1232)
            check(not r.flag(dns.flags.TC), "TC with EDNS 1232")
            eq(r.addrs(), many, "AAAA over UDP with EDNS 1232")
        suite.case("big_synthesized_answer_truncated", big_synth)

        def big_pass():
            q = make_query("bigtxt.example.test", "TXT")
            data = send_udp_raw(q.to_wire(), P, timeout=3)
            check(data is not None, "no answer over UDP")
            check(len(data) <= 512, "UDP answer of %d bytes" % len(data))
            m = dns.message.from_wire(data)
            check(m.flags & dns.flags.TC, "TC not set")
            r = ask(P, "bigtxt.example.test", "TXT", tcp=True)
            eq(len(r.rrs("answer")), 12, "TXT records over TCP")
        suite.case("big_passthrough_answer_truncated", big_pass)

        # ---- 8. upstream failures -------------------------------------------
        def silent():
            r = ask(P, "silent.example.test", "A", timeout=5)
            eq(r.rcode, SERVFAIL, "rcode")
            check(0.4 <= r.elapsed <= 2.0, "SERVFAIL after %.2fs (timeout "
                  "300ms x 2 attempts)" % r.elapsed)
            eq(len(saw(up, "silent.example.test", "A")), 2, "attempts sent")
        suite.case("silent_upstream_servfail", silent)

        def silent6():
            r = ask(P, "silent6.example.test", "AAAA", timeout=6)
            eq(r.rcode, SERVFAIL, "rcode")
            check(r.elapsed <= 3.5, "SERVFAIL after %.2fs" % r.elapsed)
        suite.case("silent_upstream_aaaa_servfail", silent6)

        def no_stall():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.sendto(make_query("silent2.example.test", "A").to_wire(),
                         ("127.0.0.1", P))
                r = ask(P, "pass-a.example.test", "A", timeout=2)
                check(r.elapsed < 0.5, "answer took %.2fs behind a silent "
                      "query" % r.elapsed)
            finally:
                s.close()
        suite.case("silent_query_does_not_stall_others", no_stall)

        def spoof(kind):
            name = "spoof-%s.example.test" % kind.replace("_", "-")
            r = ask(P, name, "A")
            eq(r.addrs("A"), ["1.2.3.4"], "A records (6.6.6.6 is the spoof)")
        for kind in ("wrong_id", "wrong_question", "other_port"):
            suite.case("spoof_%s_dropped" % kind, spoof, kind)

        def spoof_aaaa():
            r = ask(P, "spoof-aaaa.example.test", "AAAA")
            expect_synth(r, "spoof-aaaa.example.test", [V4_WKP])
        suite.case("spoof_during_synthesis_dropped", spoof_aaaa)

        def spoof_only():
            r = ask(P, "spoof-only.example.test", "A", timeout=5)
            eq(r.rcode, SERVFAIL, "rcode when only spoofs arrive")
            eq(r.addrs("A"), [], "A records")
        suite.case("spoof_only_servfail", spoof_only)

        def random_ids():
            for i in range(8):
                ask(P, "rid-%d.example.test" % i, "A", qid=0x4242)
            qs = [saw(up, "rid-%d.example.test" % i, "A")[0] for i in range(8)]
            ids = [q.id for q in qs]
            check(ids.count(0x4242) <= 1, "upstream IDs copy the client's: %r"
                  % ids)
            check(len(set(ids)) >= 7, "upstream IDs not random: %r" % ids)
            return qs
        suite.case("upstream_ids_random", random_ids)

        def random_ports():
            ports = [saw(up, "rid-%d.example.test" % i, "A")[0].sport
                     for i in range(8)]
            check(len(set(ports)) >= 2, "one source port for all: %r" % ports)
        suite.case("upstream_source_ports_random", random_ports)

        def garbage_up():
            r = ask(P, "garbage-up.example.test", "A", timeout=5)
            check(r.rcode != NOERROR or not r.rrs("answer"),
                  "garbage relayed: %r" % r)
            check(main_p.alive(), "proxy died")
        suite.case("upstream_garbage_survived", garbage_up)

        # ---- 9. hostile client input ----------------------------------------
        def formerr():
            hdr = struct.pack("!HHHHHH", 0xbeef, 0x0100, 1, 0, 0, 0)
            hdr2 = struct.pack("!HHHHHH", 0xbeef, 0x0100, 1, 0, 0, 2)
            cases = {
                "truncated name": hdr + b"\x07example\x04te",
                "no type/class": hdr + b"\x07example\x04test\x00",
                "pointer loop": hdr + b"\xc0\x0c\x00\x01\x00\x01",
                "bad additional": hdr2 + b"\x04test\x00\x00\x01\x00\x01"
                + b"\x00\x00\x29\x04",
            }
            for what, pkt in cases.items():
                data = send_udp_raw(pkt, P, timeout=1.5)
                check(data is not None and len(data) >= 12,
                      "no answer to a query with %s" % what)
                qid, flags = struct.unpack("!HH", data[:4])
                eq(qid, 0xbeef, "ID of the FORMERR (%s)" % what)
                check(flags & 0x8000, "QR not set (%s)" % what)
                eq(flags & 0xf, FORMERR, "rcode (%s)" % what)
        suite.case("garbage_query_formerr", formerr)

        def dropped():
            for what, pkt in (("5 bytes", b"\x12\x34\x01\x00\x00"),
                              ("11 bytes", b"\x12\x34\x01\x00\x00\x01\x00\x00"
                               b"\x00\x00\x00"),
                              ("empty", b"")):
                data = send_udp_raw(pkt, P, timeout=0.4, match_id=False)
                eq(data, None, "answer to a packet of %s" % what)
            resp = dns.message.make_response(make_query("pass-a.example.test",
                                                        "A")).to_wire()
            data = send_udp_raw(resp, P, timeout=0.4)
            eq(data, None, "answer to a packet with QR set")
        suite.case("short_and_qr_packets_dropped", dropped)

        def tcp_garbage():
            for pkt in (b"\x00\x03abc", b"\x00\x20" + b"\xff" * 32,
                        b"\x00\x00", b"\x00"):
                s = socket.create_connection(("127.0.0.1", P), timeout=2)
                try:
                    # the proxy may close (even reset) the connection at
                    # any point: only its survival matters
                    s.sendall(pkt)
                    s.shutdown(socket.SHUT_WR)
                    for _ in range(100):
                        if not s.recv(4096):
                            break
                except OSError:
                    pass
                finally:
                    s.close()
            r = ask(P, "pass-a.example.test", "A", tcp=True)
            eq(r.rcode, NOERROR, "rcode after garbage over TCP")
        suite.case("tcp_garbage_survived", tcp_garbage)

        def client_fuzz():
            rnd = random.Random(6147)
            base = [make_query("v4only.example.test", "AAAA").to_wire(),
                    make_query("pass-a.example.test", "A", edns=1232,
                               options=[dns.edns.GenericOption(
                                   65001, b"x")]).to_wire(),
                    make_query(ip6name, "PTR", do=True).to_wire(),
                    make_query("ipv4only.arpa", "AAAA").to_wire()]
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.01)
            try:
                for i in range(400):
                    pkt = fuzz(rnd, rnd.choice(base), 2)
                    s.sendto(pkt, ("127.0.0.1", P))
                    if i % 50 == 49:
                        try:
                            for _ in range(200):
                                s.recv(65535)
                        except OSError:
                            pass
            finally:
                s.close()
            for i in range(20):
                pkt = fuzz(rnd, rnd.choice(base), 2)
                send_tcp_raw(pkt, P, timeout=0.5)
            check(main_p.alive(), "proxy died: %s" % main_p.log_tail())
            r = ask(P, "pass-a.example.test", "A", timeout=5)
            eq(r.rcode, NOERROR, "rcode after 420 fuzzed queries")
        suite.case("fuzzed_queries_survived", client_fuzz)

        def upstream_fuzz():
            rnd = random.Random(8880)

            def mutated(good):
                def f(q, transport):
                    return fuzz(rnd, good(q).to_wire(), 12)
                return f

            def nodata_msg(q):
                return up.build(q, nodata(), "udp")

            def a_msg(q):
                return up.build(q, answer_rule(
                    "%s 60 A 93.184.215.14" % q.question[0].name,
                    "%s 60 A 8.8.8.8" % q.question[0].name,
                    authority=["example.test. 60 NS ns.example.test."]),
                    "udp")
            names = ["fz%d.example.test" % i for i in range(40)]
            for name in names:
                up.set(name, "AAAA", Rule(func=mutated(nodata_msg)))
                up.set(name, "A", Rule(func=mutated(a_msg)))
                up.set(name, "PTR", Rule(func=mutated(a_msg)))
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            want = {}
            try:
                for i, name in enumerate(names):
                    q = make_query(name, "AAAA" if i % 4 else "A",
                                   edns=1232 if i % 2 else None)
                    want[q.id] = name
                    s.sendto(q.to_wire(), ("127.0.0.1", P))
                deadline = time.monotonic() + 6
                while want and time.monotonic() < deadline:
                    try:
                        data = s.recv(65535)
                    except socket.timeout:
                        continue
                    if len(data) >= 12:
                        want.pop(struct.unpack("!H", data[:2])[0], None)
            finally:
                s.close()
            check(main_p.alive(), "proxy died: %s" % main_p.log_tail())
            eq(sorted(want.values()), [], "queries never answered")
            r = ask(P, "pass-a.example.test", "A", timeout=5)
            eq(r.rcode, NOERROR, "rcode after fuzzed upstream answers")
        suite.case("fuzzed_upstream_answers_survived", upstream_fuzz)

        def alive():
            check(main_p.alive(), "proxy died: %s" % main_p.log_tail())
            r = ask(P, "pass-a.example.test", "A")
            eq(r.rcode, NOERROR, "rcode")
            r = ask(P, "v4only.example.test", "AAAA")
            expect_synth(r, "v4only.example.test", [V4_WKP])
        suite.case("still_answers_after_hostile_input", alive)

    block(block_1, conf(U), "main")

    # ---- other configurations -------------------------------------------
    def block_2(p):
        def sf_noerr():
            r = ask(p.port, "sf-noerr.example.test", "AAAA")
            eq(r.rcode, SERVFAIL, "rcode")
            check(not saw(up, "sf-noerr.example.test", "A"), "A query sent")
            r = ask(p.port, "slow-noerr.example.test", "AAAA", timeout=5)
            eq(r.rcode, SERVFAIL, "rcode after a timeout")
            check(r.elapsed < 2.0, "took %.1fs" % r.elapsed)
            check(not saw(up, "slow-noerr.example.test", "A"), "A query sent")
        suite.case("on_error_no_servfail", sf_noerr)

    block(block_2, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                            "on_error = no\n"), "onerror-no")

    def block_3(p):
        def multi():
            r = ask(p.port, "multi.example.test", "AAAA")
            got = r.addrs()
            want = [V4_NSP, V4_WKP, "2001:db8:64::808:808", "64:ff9b::808:808"]
            eq(sorted(got), sorted(want), "AAAA records")
            check(got.index(V4_NSP) < got.index(V4_WKP) and
                  got.index("2001:db8:64::808:808") <
                  got.index("64:ff9b::808:808"),
                  "prefix order not kept: %r" % got)
        suite.case("multiple_prefixes_in_order", multi)

        def multi_private():
            r = ask(p.port, "private.example.test", "AAAA")
            eq(r.addrs(), ["2001:db8:64::a01:203"],
               "10.1.2.3: NSP maps it, the WKP does not")
        suite.case("nsp_maps_private_wkp_does_not", multi_private)

        def multi_v4only():
            r = ask(p.port, "ipv4only.arpa", "AAAA")
            got = r.addrs()
            eq(sorted(got), sorted(["2001:db8:64::c000:aa",
                                    "2001:db8:64::c000:ab",
                                    "64:ff9b::c000:aa", "64:ff9b::c000:ab"]),
               "AAAA")
            r = ask(p.port, rev("2001:db8:64::c000:ab"), "PTR")
            eq([x[3] for x in r.rrs("answer", "PTR")], ["ipv4only.arpa."],
               "PTR")
        suite.case("ipv4only_multiple_prefixes", multi_v4only)

    block(block_3, conf(U, "[dns64]\nprefix = 2001:db8:64::/96 "
                            "64:ff9b::/96\n"), "multi")

    def block_4(p):
        def rfc6052():
            for pfx, addr in RFC6052:
                eq(embed(pfx, "192.0.2.33"), addr, "test vector " + pfx)
            r = ask(p.port, "rfc6052.example.test", "AAAA")
            expect_synth(r, "rfc6052.example.test", [x[1] for x in RFC6052])
        suite.case("rfc6052_all_prefix_lengths", rfc6052)

        def ptr64():
            for pfx, addr in RFC6052:
                name = rev(addr)
                r = ask(p.port, name, "PTR")
                eq([x[3] for x in r.rrs("answer", "PTR")],
                   ["rfc6052.example.test."], "PTR of %s (%s)" % (addr, pfx))
        suite.case("ptr_all_prefix_lengths", ptr64)

    block(block_4, conf(U, "[dns64]\nprefix = %s\n" % " ".join(
        x[0] for x in RFC6052)), "rfc6052")

    def block_5(p):
        def rewrite():
            r = ask(p.port, ip6name, "PTR")
            eq(r.rcode, NOERROR, "rcode")
            eq([(x[0], x[2], x[3]) for x in r.rrs("answer")],
               [(ip6name, "PTR", "v4only.example.test.")], "answer")
            r = ask(p.port, rev("64:ff9b::5db8:d70f"), "PTR")
            eq(r.rcode, NXDOMAIN, "rcode for a missing in-addr.arpa name")
        suite.case("ptr_rewrite", rewrite)

    block(block_5, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                            "reverse = rewrite\n"), "rewrite")

    def block_6(p):
        def revno():
            before = len(saw(up, ip6name, "PTR"))
            r = ask(p.port, ip6name, "PTR")
            eq(r.rrs("answer"), [(ip6name, 60, "PTR", "trap.example.test.")],
               "answer (the upstream's)")
            eq(len(saw(up, ip6name, "PTR")), before + 1, "upstream asked")
        suite.case("ptr_reverse_no_forwarded", revno)

    block(block_6, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                            "reverse = no\n"), "reverse-no")

    def block_7(p):
        def exclude():
            r = ask(p.port, "excl.example.test", "AAAA")
            expect_synth(r, "excl.example.test", [V4_WKP])
            r = ask(p.port, "excl-mixed.example.test", "AAAA")
            eq(r.addrs(), ["2001:db8:1::1"], "AAAA")
            r = ask(p.port, "mapped.example.test", "AAAA")
            eq(r.addrs(), [V4_WKP], "AAAA for ::ffff: only")
            r = ask(p.port, "dual.example.test", "AAAA")
            eq(r.addrs(), ["2001:db8::1"], "AAAA outside exclude")
        suite.case("exclude_configured", exclude)

    block(block_7, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                            "exclude = 2001:db8:bad::/48 ::ffff:0:0/96\n"),
          "exclude")

    def block_8(p):
        def refused():
            for tcp in (False, True):
                r = ask(p.port, "refused-client.example.test", "A", tcp=tcp)
                eq(r.rcode, REFUSED,
                   "rcode over %s" % ("TCP" if tcp else "UDP"))
                eq(r.rrs("answer"), [], "answer")
            eq(saw(up, "refused-client.example.test", None), [],
               "queries forwarded")
        suite.case("client_not_allowed_refused", refused)

    block(block_8, conf(U, allow="10.0.0.0/8"), "allow")

    def block_9(p):
        def sections():
            r = ask(p.port, "v4only-sec.example.test", "AAAA")
            eq(r.addrs(), [V4_WKP], "AAAA for 127.0.0.1")
            r = ask(p.port, "v4only-sec.example.test", "AAAA",
                    source="127.0.0.2")
            eq(r.addrs(), [V4_NSP], "AAAA for 127.0.0.2")
            r = ask(p.port, "v4only-sec.example.test", "AAAA",
                    source="127.0.0.3")
            eq(r.addrs(), [V4_WKP], "AAAA for 127.0.0.3")
            if v6:
                r = ask(p.port, "v4only-sec.example.test", "AAAA", host="::1")
                eq(r.rcode, NOERROR, "rcode for ::1")
                eq(r.addrs(), [],
                   "AAAA for ::1 (no section: plain forwarding)")
        suite.case("sections_longest_client_match", sections)

    block(block_9, conf(U, "[dns64]\nprefix = 64:ff9b::/96\nclients = "
                            "127.0.0.0/8\n\n[dns64 two]\nprefix = "
                            "2001:db8:64::/96\nclients = 127.0.0.2/32\n"),
          "sections")

    # the same written in IPv4-mapped form: upstream, allow and clients
    def block_9m(p):
        def mapped_forms():
            for tcp in (False, True):
                r = ask(p.port, "v4only-sec.example.test", "AAAA", tcp=tcp,
                        timeout=2)
                eq(r.addrs(), [V4_WKP], "AAAA for 127.0.0.1 over %s "
                   "(upstream [::ffff:127.0.0.1])" % ("TCP" if tcp
                                                       else "UDP"))
                check(r.elapsed < 1.0, "took %.2f s" % r.elapsed)
            r = ask(p.port, "v4only-sec.example.test", "AAAA",
                    source="127.0.0.2")
            eq(r.addrs(), [V4_NSP], "AAAA for 127.0.0.2 (clients = "
               "::ffff:127.0.0.2/128)")
        suite.case("ipv4_mapped_forms_in_config", mapped_forms)

    block(block_9m, conf("[::ffff:127.0.0.1]:%d" % up.port,
                         "[dns64]\nprefix = 64:ff9b::/96\n\n[dns64 two]\n"
                         "prefix = 2001:db8:64::/96\n"
                         "clients = ::ffff:127.0.0.2/128\n",
                         allow="::ffff:127.0.0.0/104 ::1/128"),
          "mapped")

    def block_par(p):
        def parallel():
            r = ask(p.port, "par-v4.example.test", "AAAA")
            expect_synth(r, "par-v4.example.test", [V4_WKP], ttl=120)
            r = ask(p.port, "dual.example.test", "AAAA")
            eq(r.addrs(), ["2001:db8::1"], "real AAAA (no synthesis)")
            r = ask(p.port, "nx.example.test", "AAAA")
            eq(r.rcode, NXDOMAIN, "rcode")
            eq(r.rrs("answer"), [], "answer")
            r = ask(p.port, "par-slow.example.test", "AAAA", timeout=5)
            expect_synth(r, "par-slow.example.test", [V4_WKP], ttl=600)
            check(r.elapsed >= 0.25, "synthesized after %.2fs, before the "
                  "AAAA query timed out" % r.elapsed)
            a = saw(up, "par-v4.example.test", "A")
            aaaa = saw(up, "par-v4.example.test", "AAAA")
            check(a and aaaa, "A and AAAA not both asked")
        suite.case("parallel_yes", parallel)

    block(block_par, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                             "parallel = yes\n"), "parallel")

    def block_synthall(p):
        def synthall():
            r = ask(p.port, "dual.example.test", "AAAA")
            check(V4_WKP in r.addrs(), "no synthesized AAAA with synthall: "
                  "%r" % r.addrs())
        suite.case("synthall_yes", synthall)

    block(block_synthall, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                                  "synthall = yes\n"), "synthall")

    def block_mapped(p):
        def mapped():
            r = ask(p.port, "multi.example.test", "AAAA")
            eq(r.addrs(), [V4_WKP], "only the A inside mapped (93.184/16)")
            r = ask(p.port, "private.example.test", "AAAA")
            eq(r.addrs(), ["64:ff9b::a01:203"],
               "10.1.2.3: `mapped` decides alone, even under the WKP")
        suite.case("mapped_ranges", mapped)

    block(block_mapped, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                                "mapped = 93.184.0.0/16 10.0.0.0/8\n"),
          "mapped")

    def block_cache(p):
        def cache():
            r1 = ask(p.port, "cache-a.example.test", "A")
            r2 = ask(p.port, "CACHE-A.example.TEST", "A", qid=0x7777)
            eq(r2.addrs("A"), ["192.0.2.7"], "cached answer")
            eq(r2.msg.question[0].name.to_text(), "CACHE-A.example.TEST.",
               "question of a cached answer")
            check(r2.rrs("answer")[0][1] <= 60, "TTL grew in the cache")
            eq(len(saw(up, "cache-a.example.test", "A")), 1,
               "upstream queries for a cached name")
            check(r1.rcode == r2.rcode == NOERROR, "rcode")
            r = ask(p.port, "cache-v4.example.test", "AAAA")
            expect_synth(r, "cache-v4.example.test", [V4_WKP])
            r = ask(p.port, "cache-v4.example.test", "AAAA", tcp=True)
            expect_synth(r, "cache-v4.example.test", [V4_WKP])
            eq(len(saw(up, "cache-v4.example.test", "AAAA")), 1,
               "upstream AAAA queries for a cached synthesized answer")
            r = ask(p.port, "cache-v4.example.test", "AAAA", edns=1232)
            check(29 in r.ede(), "EDE 29 lost from a cached answer")
            for _ in range(2):
                r = ask(p.port, "cache-nx.example.test", "A")
                eq(r.rcode, NXDOMAIN, "rcode")
        suite.case("cache_answers", cache)

        def cache_sections():
            r = ask(p.port, "cache-sec.example.test", "AAAA")
            eq(r.addrs(), [V4_WKP], "AAAA for 127.0.0.1")
            r = ask(p.port, "cache-sec.example.test", "AAAA",
                    source="127.0.0.2")
            eq(r.addrs(), [V4_NSP], "AAAA for 127.0.0.2 (another section: "
               "the cache must not hand it the other prefix)")
        suite.case("cache_per_section", cache_sections)

        def cache_do_cd():
            r = ask(p.port, "v4only.example.test", "AAAA")
            expect_synth(r, "v4only.example.test", [V4_WKP])
            r = ask(p.port, "v4only.example.test", "AAAA", do=True, cd=True)
            eq(r.addrs(), [], "DO+CD query answered from a synthesized "
               "cache entry")
        suite.case("cache_do_cd_not_synthesized", cache_do_cd)

    block(block_cache, conf(U, "[dns64]\nprefix = 64:ff9b::/96\n"
                               "clients = 127.0.0.0/8\n\n[dns64 two]\n"
                               "prefix = 2001:db8:64::/96\n"
                               "clients = 127.0.0.2/32\n\n[cache]\n"
                               "entries = 1000\n"), "cache")

    silent_up = ScriptedUpstream(default=SILENT).start()
    suite.cleanups.append(silent_up.stop)

    def block_10(p):
        def two_up():
            r = ask(p.port, "pass-a.example.test", "A", timeout=5)
            eq(r.rcode, NOERROR, "rcode")
            eq(len(r.rrs("answer")), 2, "answer")
            check(silent_up.queries(qname="pass-a.example.test"),
                  "first upstream not tried")
            r = ask(p.port, "multi1.example.test", "AAAA", timeout=5)
            expect_synth(r, "multi1.example.test", [V4_WKP])
        suite.case("second_upstream_after_silent_first", two_up)

    block(block_10, conf("127.0.0.1:%d %s" % (silent_up.port, U)),
          "two-upstreams")


if __name__ == "__main__":
    Suite("e2e-scripted").run(main)
