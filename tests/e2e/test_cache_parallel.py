#!/usr/bin/python3
"""End-to-end: the answer cache ([cache] entries) and parallel = yes.

The real proxy behind a scripted upstream (scripted_upstream.py), whose log
of received queries shows what reached it.

Cache (entries = 100): a repeated query is answered without the upstream,
with the TTL counted down; letter case does not split the cache but every
client gets its own case back; synthesized answers are cached, but only for
clients of the same [dns64] section (a second section with another prefix
serves 127.0.0.2); NXDOMAIN lives as long as its SOA says; SERVFAIL and TC
answers are not kept; SIGHUP empties it, even when the new file is refused;
entries = 0 (the default) means no cache.  What one client sent never
reaches another through the cache: the upstream's COOKIE answer to its
cookie, an answer for its Client Subnet, an AD bit it asked for; a TTL of
2^31 or more is zero (RFC 2181 8); a negative answer's SOA goes out with
min(SOA TTL, MINIMUM) counted down (RFC 2308 5); a NODATA made because the
AAAA query failed is kept 30 s at most, like such a synthesis; a query of
EDNS version 1 is not answered from the cache (the upstream says BADVERS).

parallel = yes (RFC 6147 5.1.8): the A query leaves with the AAAA query
(the upstream sees both before it answers either), so an IPv4-only name
costs one upstream delay instead of two; a real AAAA still wins; a CNAME
chain in the AAAA answer still leads to an A query for the chain's end.
"""

import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("E2E_DIR")
                or os.path.dirname(os.path.abspath(__file__)))

import dns.edns          # noqa: E402
import dns.flags         # noqa: E402
import dns.message       # noqa: E402
import dns.rcode         # noqa: E402

from dnstest import (Suite, Proxy, ask, check, eq, make_query,  # noqa: E402
                     StartError)
from scripted_upstream import (ScriptedUpstream, Rule, answer_rule,  # noqa
                               nodata, nxdomain, servfail, soa_rr, SILENT)

NOERROR = dns.rcode.NOERROR
SERVFAIL = dns.rcode.SERVFAIL
NXDOMAIN = dns.rcode.NXDOMAIN

V4 = "93.184.215.14"
V4_WKP = "64:ff9b::5db8:d70e"
V4_NSP = "2001:db8:64::5db8:d70e"
OTHER_V4 = "8.8.4.4"
OTHER_WKP = "64:ff9b::808:404"
REAL_V6 = "2001:db8:abcd::1"

DELAY = 0.3     # the upstream's answer delay in the timing cases


def n(name):
    return name.lower().rstrip(".") + "."


def conf(upstream, cache=None, parallel=False, second_section=False,
         timeout=1500, attempts=2):
    text = ("[server]\nlisten = {listen}\nupstream = %s\ntimeout = %d\n"
            "attempts = %d\nallow = 127.0.0.0/8 ::1/128\n\n"
            "[dns64]\nprefix = 64:ff9b::/96\nparallel = %s\n"
            % (upstream, timeout, attempts, "yes" if parallel else "no"))
    if second_section:
        text += ("\n[dns64 other]\nprefix = 2001:db8:64::/96\n"
                 "clients = 127.0.0.2/32\nparallel = %s\n"
                 % ("yes" if parallel else "no"))
    if cache is not None:
        text += "\n[cache]\nentries = %d\n" % cache
    return text


def saw(up, name, qtype=None, transport=None):
    return up.queries(qname=name, qtype=qtype, transport=transport)


def count(up, name, qtype=None):
    return len(saw(up, name, qtype))


def answer_ttls(r):
    return [x[1] for x in r.rrs("answer")]


def qname_text(r):
    return r.msg.question[0].name.to_text()


COOKIE = 10
ECS = 8


def a_response(q, addr=V4, ttl=300, options=None):
    """The answer to q: one A record, RA set, an OPT with options if
    given."""
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    if options is not None:
        r.use_edns(0, 0, 1232, options=options)
    rrs = r.find_rrset(r.answer, q.question[0].name, dns.rdataclass.IN,
                       dns.rdatatype.A, create=True)
    rrs.add(dns.rdata.from_text("IN", "A", addr), ttl)
    return r


def cookie_echo(q, transport):
    """A with the client's cookie and a server cookie of 8 bytes."""
    opts = [o for o in q.options if o.otype == COOKIE]
    if not opts:
        return a_response(q)
    return a_response(q, options=[dns.edns.GenericOption(
        COOKIE, opts[0].to_wire()[:8] + b"SRVCOOKY")])


def subnet_echo(q, transport):
    """A for the client's subnet: 192.0.2.1 for 192.0.2.0/24, else
    OTHER_V4; V4 without a subnet."""
    opts = [o for o in q.options if isinstance(o, dns.edns.ECSOption)]
    if not opts:
        return a_response(q)
    e = opts[0]
    return a_response(
        q, "192.0.2.1" if e.address.startswith("192.0.2.") else OTHER_V4,
        options=[dns.edns.ECSOption(e.address, e.srclen, 24)])


def ad_when_asked(q, transport):
    r = a_response(q)
    if q.flags & dns.flags.AD:
        r.flags |= dns.flags.AD
    return r


def badvers(q, transport):
    """RFC 6891 6.1.3: BADVERS to a version above 0, else an A record."""
    if q.edns <= 0:
        return a_response(q)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    r.use_edns(0, 0, 1232)
    r.set_rcode(dns.rcode.BADVERS)
    return r


def big_ttl(q, transport):
    """A with TTL 2^31, which RFC 2181 8 reads as zero."""
    return a_response(q, ttl=0x80000000)


# -- the upstream's script ---------------------------------------------------

def v4only(up, name, a=V4, a_ttl=3600, soa_ttl=300, minimum=120,
           aaaa_delay=0.0, a_delay=0.0):
    up.set(name, "AAAA", nodata(soa_ttl=soa_ttl, minimum=minimum,
                                delay=aaaa_delay))
    up.set(name, "A", Rule(answer=["%s %d A %s" % (n(name), a_ttl, a)],
                           delay=a_delay))


def script(up):
    S = up.set
    # cache
    S("hit.example.test", "A", answer_rule("hit.example.test. 300 A " + V4))
    S("case.example.test", "A", answer_rule("case.example.test. 300 A " + V4))
    v4only(up, "synth.example.test")
    v4only(up, "sect.example.test")
    v4only(up, "edns.example.test")
    S("nx1.example.test", "A", nxdomain(soa_ttl=300, minimum=2))
    S("nx2.example.test", "A", nxdomain(soa_ttl=2, minimum=300))
    S("nxlong.example.test", "A", nxdomain(soa_ttl=600, minimum=600))
    S("sf.example.test", "A", servfail())
    # on_error synthesis: the AAAA query fails, the A query answers
    S("onerr.example.test", "AAAA", servfail())
    S("onerr.example.test", "A", answer_rule(
        "onerr.example.test. 300 A " + V4))
    S("onerr-nodata.example.test", "AAAA", Rule(silent=True))
    S("onerr-nodata.example.test", "A", nodata(soa_ttl=3600, minimum=3600))
    S("cookie.example.test", "A", Rule(func=cookie_echo))
    S("subnet.example.test", "A", Rule(func=subnet_echo))
    S("ad.example.test", "A", Rule(func=ad_when_asked))
    S("vers.example.test", "A", Rule(func=badvers))
    S("bigttl.example.test", "A", Rule(func=big_ttl))
    S("badhup.example.test", "A", answer_rule(
        "badhup.example.test. 300 A " + V4))
    S("tc.example.test", "TXT", answer_rule(
        'tc.example.test. 300 TXT "truncated over udp"', tc_udp=True))
    S("rd.example.test", "A", answer_rule("rd.example.test. 300 A " + V4))
    S("hup.example.test", "A", answer_rule("hup.example.test. 300 A " + V4))
    S("nocache.example.test", "A", answer_rule(
        "nocache.example.test. 300 A " + V4))
    v4only(up, "nocache-synth.example.test")
    # parallel
    v4only(up, "slow-par.example.test", aaaa_delay=DELAY, a_delay=DELAY)
    v4only(up, "slow-seq.example.test", aaaa_delay=DELAY, a_delay=DELAY)
    v4only(up, "afirst.example.test", aaaa_delay=0.2)
    v4only(up, "aaaafirst.example.test", a_delay=0.2)
    v4only(up, "par-tcp.example.test")
    S("dual.example.test", "AAAA", answer_rule(
        "dual.example.test. 300 AAAA " + REAL_V6, delay=0.1))
    S("dual.example.test", "A", answer_rule("dual.example.test. 300 A " + V4))
    S("nx-par.example.test", "AAAA", nxdomain(delay=0.1))
    S("nx-par.example.test", "A", answer_rule(
        "nx-par.example.test. 300 A " + V4))
    for name, a_delay in (("alias-fast.example.test", 0.0),
                          ("alias-slow.example.test", 0.4)):
        target = name.replace("alias", "target")
        S(name, "AAAA", Rule(
            answer=["%s 1800 CNAME %s" % (n(name), n(target))],
            authority=[soa_rr("example.test.", 300, 120)], delay=0.1))
        # The parallel A query asks for the alias: its answer must not be
        # what the client gets.
        S(name, "A", answer_rule("%s 60 A %s" % (n(name), OTHER_V4),
                                 delay=a_delay))
        S(target, "A", answer_rule("%s 3600 A %s" % (n(target), V4)))
    S("dead-a.example.test", "AAAA", nodata())
    S("dead-a.example.test", "A", SILENT)
    v4only(up, "docd.example.test")


# -- checks ------------------------------------------------------------------

def expect_synth(r, addrs, what="answer"):
    eq(r.rcode, NOERROR, what + " rcode")
    got = sorted(r.addrs("AAAA"))
    eq(got, sorted(addrs), what + " AAAA records")


def main(suite):
    suite.require_binary()
    up = ScriptedUpstream().start()
    suite.cleanups.append(up.stop)
    script(up)
    U = "127.0.0.1:%d" % up.port

    def block(name, conf_text, body):
        try:
            p = Proxy(suite, conf_text, name=name).start()
        except StartError as e:
            suite.fail("start_" + name, str(e))
            return
        try:
            body(p)
        finally:
            def shutdown():
                check(p.alive(), "%s died: %s" % (p.name, p.log_tail()))
                eq(p.stop(), 0, "exit status after SIGTERM")
                log = p.log_text()
                check("Sanitizer" not in log and "runtime error" not in log,
                      "sanitizer report in the log: " + p.log_tail(20))
            suite.case("shutdown_" + name, shutdown)

    # ---- cache on ------------------------------------------------------------
    def cache_cases(p):
        P = p.port

        def hit():
            r1 = ask(P, "hit.example.test", "A", qid=0x1111)
            eq(r1.addrs("A"), [V4], "first answer")
            eq(count(up, "hit.example.test"), 1, "upstream queries")
            r2 = ask(P, "hit.example.test", "A", qid=0x2222)
            eq(r2.addrs("A"), [V4], "second answer")
            eq(count(up, "hit.example.test"), 1,
               "upstream queries after the second (cached) query")
            eq(r2.msg.id, 0x2222, "ID of the cached answer")
            check(answer_ttls(r2)[0] <= answer_ttls(r1)[0],
                  "cached TTL %r above the first %r" % (answer_ttls(r2),
                                                        answer_ttls(r1)))
            check(r2.flag(dns.flags.RD) and r2.flag(dns.flags.RA),
                  "RD/RA lost in the cached answer")
            # counted down: 1.2 s later the TTL is at least 1 lower
            time.sleep(1.2)
            r3 = ask(P, "hit.example.test", "A")
            eq(count(up, "hit.example.test"), 1, "upstream queries (third)")
            check(answer_ttls(r3)[0] < 300,
                  "TTL not counted down after 1.2 s: %r" % answer_ttls(r3))
            # over TCP too (same key: transport is not part of it)
            r4 = ask(P, "hit.example.test", "A", tcp=True)
            eq(r4.addrs("A"), [V4], "answer over TCP")
            eq(count(up, "hit.example.test"), 1, "upstream queries (TCP)")
        suite.case("cache_second_query_not_forwarded", hit)

        def case_insensitive():
            r1 = ask(P, "Case.Example.TEST", "A")
            eq(qname_text(r1), "Case.Example.TEST.", "first question")
            for name in ("case.example.test", "CASE.EXAMPLE.TEST",
                         "cAsE.eXaMpLe.TeSt"):
                r = ask(P, name, "A")
                eq(qname_text(r), name + ".", "question of the cached answer")
                eq(r.addrs("A"), [V4], "answer to " + name)
                names = [x.name.to_text() for x in r.msg.answer]
                eq(names, [name + "."], "owner name of the answer")
            eq(count(up, "case.example.test"), 1, "upstream queries")
        suite.case("cache_case_insensitive_own_case_back", case_insensitive)

        def synth():
            r1 = ask(P, "synth.example.test", "AAAA")
            expect_synth(r1, [V4_WKP], "first")
            r2 = ask(P, "Synth.Example.Test", "AAAA")
            expect_synth(r2, [V4_WKP], "second")
            eq(qname_text(r2), "Synth.Example.Test.", "question")
            eq((count(up, "synth.example.test", "AAAA"),
                count(up, "synth.example.test", "A")), (1, 1),
               "upstream (AAAA, A) queries for two client queries")
            check(answer_ttls(r2)[0] <= answer_ttls(r1)[0], "TTL went up")
            check(answer_ttls(r1)[0] <= 120, "synthesized TTL %r above the "
                  "negative TTL 120" % answer_ttls(r1))
        suite.case("cache_synthesized_answer", synth)

        def onerror_brief():
            # Synthesized because the AAAA query failed: cached, but for
            # 30 s at most (CACHE_ONERROR_TTL), not the A record's 300 s,
            # so a recovered upstream's AAAA shows within half a minute.
            t0 = time.monotonic()
            r1 = ask(P, "onerr.example.test", "AAAA")
            expect_synth(r1, [V4_WKP], "first")
            r2 = ask(P, "onerr.example.test", "AAAA")
            expect_synth(r2, [V4_WKP], "second")
            eq(count(up, "onerr.example.test", "AAAA"), 1,
               "upstream AAAA queries within the 30 s")
            time.sleep(max(0.0, 31.0 - (time.monotonic() - t0)))
            r3 = ask(P, "onerr.example.test", "AAAA")
            expect_synth(r3, [V4_WKP], "after 31 s")
            eq(count(up, "onerr.example.test", "AAAA"), 2,
               "upstream AAAA queries after 31 s (kept for the A TTL?)")
        suite.case("cache_onerror_synthesis_kept_30s", onerror_brief)

        def onerror_nodata_brief():
            # The AAAA query times out and the A answer is NODATA: the
            # client gets that NODATA, made over a failure, so the cache
            # keeps it 30 s at most, not the SOA's hour (RFC 2308 7.1).
            # The SOA goes out with what is left of that, so it shows.
            r1 = ask(P, "onerr-nodata.example.test", "AAAA", timeout=8)
            eq((r1.rcode, r1.msg.answer), (NOERROR, []), "first: NODATA")
            n1 = count(up, "onerr-nodata.example.test", "AAAA")
            r2 = ask(P, "onerr-nodata.example.test", "AAAA")
            eq(count(up, "onerr-nodata.example.test", "AAAA"), n1,
               "upstream AAAA queries (the second from the cache)")
            soa = r2.rrs("authority", "SOA")
            check(soa and soa[0][1] <= 30, "cached NODATA over a failed "
                  "AAAA query kept with SOA TTL %r (more than 30 s)"
                  % [x[1] for x in soa])
        suite.case("cache_onerror_nodata_kept_30s", onerror_nodata_brief)

        def cookie_not_handed_on():
            # RFC 7873: the upstream's COOKIE answers one client's cookie;
            # another client must not get it (it would drop the answer).
            ca = dns.edns.GenericOption(COOKIE, b"AAAAAAAA")
            cb = dns.edns.GenericOption(COOKIE, b"BBBBBBBB")
            r1 = ask(P, "cookie.example.test", "A", options=[ca])
            got = [o.to_wire() for o in r1.msg.options if o.otype == COOKIE]
            eq(got, [b"AAAAAAAASRVCOOKY"], "first client's COOKIE")
            r2 = ask(P, "cookie.example.test", "A", options=[cb])
            eq(r2.addrs("A"), [V4], "second client's answer")
            eq(count(up, "cookie.example.test"), 1,
               "upstream queries (the second from the cache)")
            got = [o.to_wire() for o in r2.msg.options if o.otype == COOKIE]
            check(not any(g.startswith(b"AAAAAAAA") for g in got),
                  "the first client's COOKIE went to the second: %r" % got)
        suite.case("cache_cookie_not_handed_on", cookie_not_handed_on)

        def subnet_not_cached():
            # RFC 7871 7.3.1: an answer for one client subnet is for it.
            r1 = ask(P, "subnet.example.test", "A", options=[
                dns.edns.ECSOption("192.0.2.0", 24)])
            eq(r1.addrs("A"), ["192.0.2.1"], "answer for 192.0.2.0/24")
            r2 = ask(P, "subnet.example.test", "A", options=[
                dns.edns.ECSOption("203.0.113.0", 24)])
            eq(r2.addrs("A"), [OTHER_V4], "answer for 203.0.113.0/24 (the "
               "other subnet's answer from the cache?)")
            r3 = ask(P, "subnet.example.test", "A")
            eq(r3.addrs("A"), [V4], "answer without a subnet")
            check(not [o for o in r3.msg.options if o.otype == ECS],
                  "Client Subnet option in an answer to a query without")
            eq(count(up, "subnet.example.test"), 3, "upstream queries")
        suite.case("cache_client_subnet_not_cached", subnet_not_cached)

        def ad_apart():
            q = make_query("ad.example.test", "A")
            q.flags |= dns.flags.AD
            r1 = ask(P, "ad.example.test", "A", query=q)
            check(r1.flag(dns.flags.AD), "AD lost for the client asking it")
            r2 = ask(P, "ad.example.test", "A")
            check(not r2.flag(dns.flags.AD), "AD set for a client that set "
                  "neither AD nor DO (RFC 6840 5.8): from the cache")
            eq(count(up, "ad.example.test"), 2, "upstream queries")
        suite.case("cache_ad_kept_apart", ad_apart)

        def edns_version():
            r1 = ask(P, "vers.example.test", "A", edns=1232)
            eq(r1.addrs("A"), [V4], "version 0 answer")
            q = dns.message.make_query("vers.example.test", "A")
            q.use_edns(edns=1, payload=1232)
            r2 = ask(P, "vers.example.test", "A", query=q)
            eq(r2.msg.rcode(), dns.rcode.BADVERS, "rcode for EDNS version 1 "
               "(a version 0 answer from the cache?)")
            eq(count(up, "vers.example.test"), 2, "upstream queries")
        suite.case("cache_edns_version_1_not_from_cache", edns_version)

        def ttl_top_bit():
            r1 = ask(P, "bigttl.example.test", "A")
            eq(r1.addrs("A"), [V4], "first answer")
            r2 = ask(P, "bigttl.example.test", "A")
            eq(count(up, "bigttl.example.test"), 2, "upstream queries (TTL "
               "2^31 is zero: not kept)")
            eq(r2.addrs("A"), [V4], "second answer")
            # dnspython reads such a TTL as 0; the wire shows what came
            ttl = r2.wire[-10:-6]
            eq(ttl.hex(), "80000000", "TTL bytes of the second answer")
        suite.case("cache_ttl_top_bit_not_kept", ttl_top_bit)

        def edns_apart():
            r1 = ask(P, "edns.example.test", "AAAA", edns=1232)
            expect_synth(r1, [V4_WKP], "EDNS client")
            check(29 in r1.ede(), "no EDE 29 for the EDNS client: %r"
                  % r1.ede())
            r2 = ask(P, "edns.example.test", "AAAA")
            expect_synth(r2, [V4_WKP], "plain client")
            eq(r2.msg.edns, -1, "OPT in the answer to a client without EDNS")
            eq(count(up, "edns.example.test", "AAAA"), 2,
               "upstream AAAA queries (EDNS and plain are kept apart)")
            r3 = ask(P, "edns.example.test", "AAAA", edns=1232)
            check(29 in r3.ede(), "EDE 29 lost in the cached answer")
            r4 = ask(P, "edns.example.test", "AAAA", edns=1232, do=True)
            expect_synth(r4, [V4_WKP], "DO client")
            eq(count(up, "edns.example.test", "AAAA"), 3,
               "upstream AAAA queries (DO is a key of its own)")
        suite.case("cache_edns_and_do_kept_apart", edns_apart)

        def sections():
            r1 = ask(P, "sect.example.test", "AAAA", source="127.0.0.1")
            expect_synth(r1, [V4_WKP], "section [dns64]")
            r2 = ask(P, "sect.example.test", "AAAA", source="127.0.0.2")
            expect_synth(r2, [V4_NSP], "section [dns64 other]")
            eq(count(up, "sect.example.test", "AAAA"), 2,
               "upstream AAAA queries (one per section)")
            # each section now hits its own entry
            r3 = ask(P, "sect.example.test", "AAAA", source="127.0.0.2")
            expect_synth(r3, [V4_NSP], "[dns64 other] again")
            r4 = ask(P, "sect.example.test", "AAAA", source="127.0.0.1")
            expect_synth(r4, [V4_WKP], "[dns64] again")
            eq(count(up, "sect.example.test", "AAAA"), 2,
               "upstream AAAA queries after the repeats")
        suite.case("cache_kept_apart_per_dns64_section", sections)

        def nx_soa_time():
            for name in ("nx1.example.test", "nx2.example.test"):
                r = ask(P, name, "A")
                eq(r.rcode, NXDOMAIN, name + " rcode")
            t0 = time.monotonic()
            for name in ("nx1.example.test", "nx2.example.test"):
                r = ask(P, name, "A")
                eq(r.rcode, NXDOMAIN, name + " rcode (cached)")
                soa = r.rrs("authority", "SOA")
                check(soa, "SOA lost in the cached NXDOMAIN")
                # RFC 2308 5: min(SOA TTL, MINIMUM), counted down
                check(soa and soa[0][1] <= 2, "cached NXDOMAIN's SOA TTL "
                      "%r above min(SOA TTL, MINIMUM) = 2"
                      % [x[1] for x in soa])
                eq(count(up, name), 1, name + ": upstream queries while "
                   "the 2 s negative TTL runs")
            # min(SOA TTL, MINIMUM) = 2 s: gone after 2 s (whole seconds)
            time.sleep(max(0.0, 2.1 - (time.monotonic() - t0)))
            for name in ("nx1.example.test", "nx2.example.test"):
                r = ask(P, name, "A")
                eq(r.rcode, NXDOMAIN, name + " rcode (after expiry)")
                eq(count(up, name), 2, name + ": upstream queries after "
                   "the negative TTL (kept longer than min(SOA TTL, "
                   "MINIMUM) = 2 s?)")
            # a long one stays
            ask(P, "nxlong.example.test", "A")
            ask(P, "nxlong.example.test", "A")
            eq(count(up, "nxlong.example.test"), 1, "nxlong upstream queries")
        suite.case("cache_nxdomain_for_soa_time", nx_soa_time)

        def sf_not_cached():
            for i in range(3):
                r = ask(P, "sf.example.test", "A")
                eq(r.rcode, SERVFAIL, "rcode")
            # every client query reached the upstream (maybe more than once
            # each: attempts)
            check(count(up, "sf.example.test") >= 3,
                  "SERVFAIL served from the cache: %d upstream queries for "
                  "3 client queries" % count(up, "sf.example.test"))
        suite.case("cache_servfail_not_kept", sf_not_cached)

        def tc_not_cached():
            for i in range(2):
                r = ask(P, "tc.example.test", "TXT")
                check(r.flag(dns.flags.TC), "TC not set over UDP")
            eq(len(saw(up, "tc.example.test", "TXT", "udp")), 2,
               "upstream UDP queries (a TC answer must not be kept)")
        suite.case("cache_tc_not_kept", tc_not_cached)

        def rd_apart():
            r1 = ask(P, "rd.example.test", "A", rd=False)
            check(not r1.flag(dns.flags.RD), "RD set in the answer to an "
                  "RD=0 query")
            r2 = ask(P, "rd.example.test", "A")
            check(r2.flag(dns.flags.RD), "RD not copied into the answer "
                  "(RFC 1035 4.1.1): the RD=0 answer came from the cache")
            eq(count(up, "rd.example.test"), 2, "upstream queries (an answer "
               "to an RD=0 query may be partial: not for RD=1 clients)")
            r3 = ask(P, "rd.example.test", "A")
            check(r3.flag(dns.flags.RD), "RD lost")
            eq(count(up, "rd.example.test"), 2, "upstream queries (repeat)")
        suite.case("cache_rd_kept_apart", rd_apart)

        def sighup():
            ask(P, "hup.example.test", "A")
            ask(P, "hup.example.test", "A")
            eq(count(up, "hup.example.test"), 1, "cached before SIGHUP")
            check(p.signal_and_wait(signal.SIGHUP, "configuration reloaded"),
                  "no reload in the log: " + p.log_tail())
            time.sleep(0.2)     # the worker takes the new configuration
            r = ask(P, "hup.example.test", "A")
            eq(r.addrs("A"), [V4], "answer after SIGHUP")
            eq(count(up, "hup.example.test"), 2,
               "upstream queries after SIGHUP (cache not emptied)")
            ask(P, "hup.example.test", "A")
            eq(count(up, "hup.example.test"), 2, "cache works after SIGHUP")
            check(p.alive(), "died on SIGHUP")
        suite.case("cache_emptied_on_sighup", sighup)

        def sighup_refused():
            # A new file with an error is refused, but SIGHUP still
            # empties the cache: operators send it to flush.
            ask(P, "badhup.example.test", "A")
            ask(P, "badhup.example.test", "A")
            eq(count(up, "badhup.example.test"), 1, "cached before SIGHUP")
            good = open(p.conf_path).read()
            with open(p.conf_path, "w") as f:
                f.write(good + "\n[server]\nno_such_key = 1\n")
            try:
                check(p.signal_and_wait(signal.SIGHUP, "has errors"),
                      "no refused reload in the log: " + p.log_tail())
            finally:
                with open(p.conf_path, "w") as f:
                    f.write(good)
            time.sleep(0.2)
            eq(ask(P, "badhup.example.test", "A").addrs("A"), [V4],
               "answer after the refused reload")
            eq(count(up, "badhup.example.test"), 2, "upstream queries after "
               "SIGHUP with a bad file (cache not emptied)")
            check(p.alive(), "died on SIGHUP")
        suite.case("cache_emptied_on_refused_reload", sighup_refused)

    block("cache", conf(U, cache=100, second_section=True), cache_cases)

    # ---- cache off (default) ---------------------------------------------------
    def nocache_cases(p):
        P = p.port

        def every_query_forwarded():
            for i in range(3):
                eq(ask(P, "nocache.example.test", "A").addrs("A"), [V4],
                   "answer")
            eq(count(up, "nocache.example.test"), 3, "upstream queries")
            for i in range(2):
                expect_synth(ask(P, "nocache-synth.example.test", "AAAA"),
                             [V4_WKP])
            eq((count(up, "nocache-synth.example.test", "AAAA"),
                count(up, "nocache-synth.example.test", "A")), (2, 2),
               "upstream (AAAA, A) queries")
        suite.case("no_cache_by_default", every_query_forwarded)

    block("nocache", conf(U), nocache_cases)

    # ---- parallel = no: the reference timing -----------------------------------
    seq = {}

    def seq_cases(p):
        P = p.port

        def sequential_timing():
            r = ask(P, "slow-seq.example.test", "AAAA", timeout=5)
            expect_synth(r, [V4_WKP])
            seq["elapsed"] = r.elapsed
            qa = saw(up, "slow-seq.example.test", "AAAA")
            q4 = saw(up, "slow-seq.example.test", "A")
            eq((len(qa), len(q4)), (1, 1), "upstream (AAAA, A) queries")
            check(q4[0].time - qa[0].time >= DELAY - 0.02,
                  "parallel = no sent the A query %.0f ms after the AAAA "
                  "query, before the AAAA answer (%.0f ms)" % (
                      (q4[0].time - qa[0].time) * 1000, DELAY * 1000))
            check(r.elapsed >= 2 * DELAY,
                  "parallel = no took %.0f ms, less than two upstream "
                  "delays" % (r.elapsed * 1000))
            print("  parallel = no: %.0f ms for an IPv4-only name "
                  "(upstream delay %.0f ms per answer)"
                  % (r.elapsed * 1000, DELAY * 1000))
        suite.case("sequential_two_delays", sequential_timing)

    block("sequential", conf(U), seq_cases)

    # ---- parallel = yes ------------------------------------------------------
    def par_cases(p):
        P = p.port

        def parallel_timing():
            r = ask(P, "slow-par.example.test", "AAAA", timeout=5)
            expect_synth(r, [V4_WKP])
            qa = saw(up, "slow-par.example.test", "AAAA")
            q4 = saw(up, "slow-par.example.test", "A")
            eq((len(qa), len(q4)), (1, 1), "upstream (AAAA, A) queries")
            gap = q4[0].time - qa[0].time
            check(gap < 0.1, "the A query came %.0f ms after the AAAA query"
                  % (gap * 1000))
            check(q4[0].time < qa[0].time + DELAY,
                  "the A query came after the AAAA answer")
            check(r.elapsed < 0.5, "parallel = yes took %.0f ms (one "
                  "upstream delay is %.0f ms)" % (r.elapsed * 1000,
                                                  DELAY * 1000))
            print("  parallel = yes: %.0f ms (A query %.1f ms after the AAAA "
                  "query); parallel = no: %s" % (
                      r.elapsed * 1000, gap * 1000,
                      "%.0f ms" % (seq["elapsed"] * 1000)
                      if "elapsed" in seq else "not measured"))
        suite.case("parallel_one_delay", parallel_timing)

        def order(name):
            r = ask(P, name, "AAAA", timeout=5)
            expect_synth(r, [V4_WKP])
            eq(r.rrs("answer")[0][0], n(name), "owner")
            eq((count(up, name, "AAAA"), count(up, name, "A")), (1, 1),
               "upstream (AAAA, A) queries")
        suite.case("parallel_a_answer_first", order, "afirst.example.test")
        suite.case("parallel_aaaa_answer_first", order,
                   "aaaafirst.example.test")

        def over_tcp():
            r = ask(P, "par-tcp.example.test", "AAAA", tcp=True)
            expect_synth(r, [V4_WKP])
            check(saw(up, "par-tcp.example.test", "A", "tcp"),
                  "parallel A query not over TCP for a TCP client: %r"
                  % saw(up, "par-tcp.example.test"))
        suite.case("parallel_over_tcp", over_tcp)

        def dual_stack():
            r = ask(P, "dual.example.test", "AAAA", edns=1232)
            eq(r.rcode, NOERROR, "rcode")
            eq(r.addrs("AAAA"), [REAL_V6], "AAAA records")
            check(29 not in r.ede(), "EDE 29 on a real AAAA answer")
            # the A query did go out in parallel; its answer is not used
            eq(count(up, "dual.example.test", "A"), 1, "upstream A queries")
        suite.case("parallel_real_aaaa_wins", dual_stack)

        def nx():
            r = ask(P, "nx-par.example.test", "AAAA")
            eq(r.rcode, NXDOMAIN, "rcode (NXDOMAIN is never synthesized)")
            eq(r.addrs("AAAA"), [], "AAAA records")
        suite.case("parallel_nxdomain_not_synthesized", nx)

        def chain(name):
            target = name.replace("alias", "target")
            r = ask(P, name, "AAAA", timeout=5)
            eq(r.rcode, NOERROR, "rcode")
            eq([x[2:] for x in r.rrs("answer")],
               [("CNAME", n(target)), ("AAAA", V4_WKP)],
               "answer (CNAME then the AAAA of the chain's end, not %s "
               "from the A of the alias)" % OTHER_WKP)
            eq(r.rrs("answer")[1][0], n(target), "owner of the AAAA")
            eq(count(up, target, "A"), 1,
               "upstream A queries for the chain's end")
            eq(count(up, target, "AAAA"), 0,
               "upstream AAAA queries for the chain's end")
        suite.case("parallel_cname_chain_a_done_first", chain,
                   "alias-fast.example.test")
        suite.case("parallel_cname_chain_a_pending", chain,
                   "alias-slow.example.test")

        def dead_a():
            t0 = time.monotonic()
            r = ask(P, "dead-a.example.test", "AAAA", timeout=6)
            eq(r.rcode, SERVFAIL, "rcode when the A query never gets an "
               "answer")
            check(time.monotonic() - t0 < 3.5, "took %.1f s" % (
                time.monotonic() - t0))
        suite.case("parallel_a_timeout_servfail", dead_a)

        def do_cd():
            r = ask(P, "docd.example.test", "AAAA", edns=1232, do=True,
                    cd=True)
            eq(r.rcode, NOERROR, "rcode")
            eq(r.addrs("AAAA"), [], "AAAA records (DO+CD: no synthesis)")
            eq(count(up, "docd.example.test", "A"), 0,
               "upstream A queries (DO+CD: no parallel A query)")
        suite.case("parallel_not_for_do_cd", do_cd)

        def concurrent():
            # many at once, mixed: every client gets its right answer
            names = ["burst%d.example.test" % i for i in range(40)]
            for i, name in enumerate(names):
                v4only(up, name, aaaa_delay=0.05 * (i % 3),
                       a_delay=0.05 * ((i + 1) % 3))
            errors = []

            def one(name):
                try:
                    r = ask(P, name, "AAAA", timeout=5)
                    if sorted(r.addrs("AAAA")) != [V4_WKP]:
                        errors.append("%s: %r" % (name, r.addrs("AAAA")))
                except Exception as e:
                    errors.append("%s: %s" % (name, e))
            ths = [threading.Thread(target=one, args=(x,)) for x in names]
            for t in ths:
                t.start()
            for t in ths:
                t.join(10)
            check(not errors, "; ".join(errors[:5]))
        suite.case("parallel_concurrent_queries", concurrent)

    block("parallel", conf(U, parallel=True, timeout=800), par_cases)

    # ---- parallel = yes with the cache ------------------------------------------
    def par_cache_cases(p):
        P = p.port

        def both():
            v4only(up, "pc.example.test", aaaa_delay=0.1)
            expect_synth(ask(P, "pc.example.test", "AAAA"), [V4_WKP])
            expect_synth(ask(P, "PC.example.test", "AAAA"), [V4_WKP])
            eq((count(up, "pc.example.test", "AAAA"),
                count(up, "pc.example.test", "A")), (1, 1),
               "upstream (AAAA, A) queries")
        suite.case("parallel_with_cache", both)

    block("parallel-cache", conf(U, cache=100, parallel=True),
          par_cache_cases)


if __name__ == "__main__":
    Suite("e2e-cache-parallel").run(main)
