#!/usr/bin/python3
"""mkcorpus.py: write the seed corpora of fuzz_synth, fuzz_ptr and
fuzz_config (tests/fuzz/corpus/{synth,ptr,config}/) with dnspython.

    /usr/bin/python3 tests/fuzz/mkcorpus.py [OUTDIR]

OUTDIR defaults to the corpus directory next to this script.  The files
are small and checked in; run this again only to change them.

Input layouts (see the targets' comments):
  synth: option byte, u16 length + client query (empty: derived from the
         AAAA answer's question), u16 length + AAAA answer, rest A answer
  ptr:   option byte, u16 length + name (wire, or text with bit 7),
         rest the upstream answer for the in-addr.arpa name
  config: the text of a configuration file
"""

import ipaddress
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

# synth option bits
S_EDNS, S_DO, S_CD, S_FLIP, S_AAAA_NULL, S_CAP = 1, 2, 4, 8, 16, 32
# ptr option bits (qtype index in bits 3-5: 0 PTR, 1 A, 2 AAAA, 3 DS,
# 4 TXT, 5 SOA, 6 ANY)
P_EDNS, P_DO, P_CD, P_CAP, P_TEXT = 1, 2, 4, 64, 128


def u16(n):
    return struct.pack(">H", n)


def query(name, rdtype, edns=False, do=False, cd=False, cookie=False):
    q = dns.message.make_query(name, rdtype, use_edns=edns or do or cookie,
                               want_dnssec=do)
    q.id = 0x1234
    if cd:
        q.flags |= dns.flags.CD
    if cookie:
        q.use_edns(0, dns.flags.DO if do else 0, 1232,
                   options=[dns.edns.GenericOption(10, b"\x01" * 8)])
    return q


SOA = "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"


def soa(zone, ttl=900):
    return rr(zone, ttl, "SOA", SOA)


def response(name, rdtype, answer=(), authority=(), additional=(),
             rcode=dns.rcode.NOERROR, edns=False, ede=None, flags=0):
    q = dns.message.make_query(name, rdtype, use_edns=edns or ede is not None)
    r = dns.message.make_response(q)
    r.id = 0xbeef
    r.flags |= dns.flags.RA | flags
    r.set_rcode(rcode)
    for rr in answer:
        r.answer.append(rr)
    for rr in authority:
        r.authority.append(rr)
    for rr in additional:
        r.additional.append(rr)
    if ede is not None:
        r.use_edns(0, 0, 1232,
                   options=[dns.edns.EDEOption(ede, "seed")])
    return r.to_wire(want_shuffle=False)


def rr(name, ttl, rdtype, *rdatas):
    """An RRset with its records in the order given (from_text keeps
    no order)."""
    rs = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN,
                         dns.rdatatype.from_text(rdtype))
    for text in rdatas:
        rs.add(dns.rdata.from_text(dns.rdataclass.IN, rs.rdtype, text),
               ttl)
    return rs


def synth(opt, aaaa, a, q=None):
    qw = q.to_wire(want_shuffle=False) if q is not None else b""
    return bytes([opt]) + u16(len(qw)) + qw + u16(len(aaaa)) + aaaa + a


def ip6_arpa(addr):
    return ipaddress.IPv6Address(addr).reverse_pointer + "."


def ptr_seed(opt, name, answer, text=False):
    if text:
        part = name.rstrip(".").encode()
        opt |= P_TEXT
    else:
        part = dns.name.from_text(name).to_wire()
    return bytes([opt]) + u16(len(part)) + part + answer


def synth_seeds():
    s = {}
    w = "www.example.com."
    nodata = response(w, "AAAA", authority=[soa("example.com.", 900)],
                      edns=True)
    a2 = response(w, "A", answer=[rr(w, 3600, "A", "93.184.216.34",
                                     "192.0.2.33")])
    s["nodata_soa_a"] = synth(S_EDNS | S_FLIP, nodata, a2)
    s["nodata_plain_a_do"] = synth(S_EDNS | S_DO | 0x40, nodata, a2)
    s["nodata_query_cookie"] = synth(
        0, response(w, "AAAA", authority=[soa("example.com.", 30)]),
        a2, q=query("WWW.example.COM.", "AAAA", cookie=True))
    s["nodata_nosoa_private"] = synth(
        S_FLIP, response(w, "AAAA"),
        response(w, "A", answer=[rr(w, 60, "A", "10.1.2.3",
                                    "192.168.7.7", "198.51.100.9")]))

    # a CNAME chain in both answers; the A answer carries it one further
    chain = [rr(w, 300, "CNAME", "cdn.example.net."),
             rr("cdn.example.net.", 300, "CNAME", "edge.example.org.")]
    aaaa_chain = response(w, "AAAA", answer=chain,
                          authority=[soa("example.org.", 120)], edns=True)
    a_chain = response("edge.example.org.", "A", answer=[
        rr("edge.example.org.", 300, "CNAME", "edge2.example.org."),
        rr("edge2.example.org.", 20, "A", "203.0.113.5", "8.8.4.4")],
        authority=[rr("example.org.", 3600, "NS", "ns.example.org.")],
        additional=[rr("ns.example.org.", 3600, "A", "203.0.113.53")])
    s["cname_chain"] = synth(S_EDNS, aaaa_chain, a_chain)
    s["cname_chain_tcp"] = synth(S_EDNS | S_CAP | 0xc0, aaaa_chain, a_chain)
    s["dname"] = synth(0, response(w, "AAAA", answer=[
        rr("example.com.", 300, "DNAME", "example.net."),
        rr(w, 300, "CNAME", "www.example.net.")]),
        response("www.example.net.", "A", answer=[
            rr("www.example.net.", 300, "A", "192.0.2.1")]))

    # real AAAA: pass, or filter when some are excluded
    s["aaaa_real"] = synth(S_EDNS, response(w, "AAAA", answer=[
        rr(w, 300, "AAAA", "2001:db8::1")]), a2)
    s["aaaa_mixed_excluded"] = synth(S_EDNS, response(w, "AAAA", answer=[
        rr(w, 300, "AAAA", "::ffff:192.0.2.1", "2001:db8:122:344::1",
           "2a00:1450::1")], edns=True), a2)
    s["aaaa_only_mapped"] = synth(0, response(w, "AAAA", answer=[
        rr(w, 300, "AAAA", "::ffff:192.0.2.1")]), a2)

    # errors, timeouts, truncation
    s["servfail_on_error"] = synth(S_EDNS, response(
        w, "AAAA", rcode=dns.rcode.SERVFAIL), a2)
    s["servfail_ede6"] = synth(S_EDNS, response(
        w, "AAAA", rcode=dns.rcode.SERVFAIL, ede=6), a2)
    s["nxdomain"] = synth(0, response(w, "AAAA", rcode=dns.rcode.NXDOMAIN,
                                      authority=[soa("example.com.")]), a2)
    s["aaaa_tc"] = synth(0, response(w, "AAAA", flags=dns.flags.TC), a2)
    s["aaaa_timeout"] = synth(S_AAAA_NULL | S_EDNS, nodata, a2,
                              q=query(w, "AAAA", edns=True))
    s["a_nxdomain"] = synth(S_EDNS, nodata, response(
        w, "A", rcode=dns.rcode.NXDOMAIN, authority=[soa("example.com.")]))
    s["a_nodata"] = synth(0, nodata, response(
        w, "A", authority=[soa("example.com.", 5)]))
    s["a_tc_ad"] = synth(S_EDNS | S_DO | S_CD, nodata, response(
        w, "A", answer=[rr(w, 300, "A", "1.1.1.1")],
        flags=dns.flags.TC | dns.flags.AD))

    # many A records: the synthesized answer needs truncation at 512
    many = ["198.51.100.%d" % i for i in range(1, 41)]
    s["a_many"] = synth(S_EDNS | 0x40, nodata, response(
        w, "A", answer=[rr(w, 300, "A", *many)],
        authority=[rr("example.com.", 3600, "NS", "a.iana-servers.net.",
                      "b.iana-servers.net.")]))
    # ipv4only.arpa as an upstream would answer it
    s["ipv4only"] = synth(S_EDNS, response(
        "ipv4only.arpa.", "AAAA", authority=[soa("ipv4only.arpa.")]),
        response("ipv4only.arpa.", "A", answer=[
            rr("ipv4only.arpa.", 86400, "A", "192.0.0.170",
               "192.0.0.171")]))
    return s


def ptr_seeds():
    s = {}
    v4 = "33.2.0.192.in-addr.arpa."
    ans = response(v4, "PTR", answer=[rr(v4, 3600, "PTR", "host.example.")])
    # RFC 6052 2.4: 192.0.2.33 under each prefix of the table
    table = {
        "wkp96": "64:ff9b::192.0.2.33",
        "nsp32": "2001:db8:c000:221::",
        "nsp40": "2001:db8:1c0:2:21::",
        "nsp48": "2001:db8:122:c000:2:2100::",
        "nsp56": "2001:db8:122:3c0:0:221::",
        "nsp64": "2001:db8:122:344:c0:2:2100:0",
        "nsp96": "2001:db8:122:344::192.0.2.33",
    }
    for tag, addr in table.items():
        s["rfc6052_" + tag] = ptr_seed(P_EDNS, ip6_arpa(addr), ans)
    s["rfc6052_nsp64_text"] = ptr_seed(0, ip6_arpa(table["nsp64"]), ans,
                                       text=True)
    s["nxdomain"] = ptr_seed(P_EDNS | P_DO, ip6_arpa("64:ff9b::198.51.100.7"),
                             response("7.100.51.198.in-addr.arpa.", "PTR",
                                      rcode=dns.rcode.NXDOMAIN,
                                      authority=[soa("51.198.in-addr.arpa.")]))
    # RFC 2317 classless delegation: CNAME to the PTR
    s["rfc2317_cname"] = ptr_seed(0, ip6_arpa("2001:db8:c000:221::"),
                                  response(v4, "PTR", answer=[
                                      rr(v4, 300, "CNAME",
                                         "33.32/27.2.0.192.in-addr.arpa."),
                                      rr("33.32/27.2.0.192.in-addr.arpa.",
                                         600, "PTR", "a.example.",
                                         "b.example.")]))
    s["servfail"] = ptr_seed(P_CAP, ip6_arpa(table["wkp96"]),
                             response(v4, "PTR", rcode=dns.rcode.SERVFAIL))
    s["partial_name"] = ptr_seed(0, "0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.", ans)
    s["uppercase"] = ptr_seed(0, ip6_arpa(table["nsp32"]).upper(), ans)
    # RFC 8880: the local answers
    wk = "ipv4only.arpa."
    s["ipv4only_a"] = ptr_seed(1 << 3, wk, b"")
    s["ipv4only_aaaa_edns"] = ptr_seed(P_EDNS | 2 << 3, wk, b"")
    s["ipv4only_ds"] = ptr_seed(3 << 3, wk, b"")
    s["ipv4only_soa"] = ptr_seed(5 << 3, wk, b"")
    s["below_ipv4only"] = ptr_seed(4 << 3, "x.ipv4only.arpa.", b"")
    s["wka170_ptr"] = ptr_seed(0, "170.0.0.192.in-addr.arpa.", b"")
    s["wka171_ip6"] = ptr_seed(P_EDNS, ip6_arpa("64:ff9b::192.0.0.171"), b"")
    s["wka170_nsp32_text"] = ptr_seed(0, ip6_arpa("2001:db8:c000:aa::"),
                                      b"", text=True)
    return s


EDGE = {
    "unknown_key": "[server]\nupstream = 192.0.2.1\nbogus = 1\n",
    "bad_prefix_len": "[dns64]\nprefix = 2001:db8::/33\n",
    "prefix_linklocal": "[dns64]\nprefix = fe80::/96\n",
    "prefix_u_octet": "[dns64]\nprefix = 2001:db8:0:0:ff00::/96\n",
    "prefix_host_bits": "[dns64]\nprefix = 2001:db8::1/32\n",
    "dup_section": "[dns64 a]\n[dns64 a]\n[server]\n[server]\n",
    "bad_section": "[dns64 a b]\n[dns64 a/b]\n[nosuch]\n[]\n[server\n",
    "key_outside": "upstream = 192.0.2.1\n[server]\n",
    "self_upstream": "[server]\nlisten = 0.0.0.0:53\nupstream = 127.0.0.1\n",
    "stats_clash": "[server]\nupstream = 192.0.2.1\nlisten = [::]:53\n"
                   "[stats]\nlisten = [::1]:53\n",
    "too_many_prefixes": "[server]\nupstream = 192.0.2.1\n[dns64]\n"
                         "prefix = " + " ".join("2001:db8:%x::/48" % i
                                                for i in range(9)) + "\n",
    "empty_values": "[server]\nupstream =\nallow = ,,\ntimeout = \n",
    "ranges": "[server]\nupstream = 192.0.2.1\ntimeout = 9\nattempts = 21\n"
              "workers = 65\n[cache]\nentries = 10000001\n[log]\n"
              "level = loud\n",
    "control_char": "[server]\nupstream = 192.0.2.1\x01\n",
    "crlf_bom": "\ufeff[server]\r\nupstream = 192.0.2.1:5353\r\n"
                "[log]\r\nqueries = on\r\n",
    "continuation": "[server]\nupstream = 192.0.2.1\nallow = 127.0.0.0/8\n"
                    "  ; a comment between\n\n    10.0.0.0/8,\n"
                    "\t::1/128 , fc00::/7\n[dns64]\nclients = 0.0.0.0/0\n"
                    "  ::/0\n",
    "stray_continuation": "[server]\n   10.0.0.0/8\n",
    "long_line": "[server]\nupstream = 192.0.2.1\nallow = " +
                 " ".join("10.%d.0.0/16" % i for i in range(60)) + "\n",
    "comments": "# c\n; c\n[server] # c\nupstream = 192.0.2.1;x\n"
                "pidfile = /run/x#y ; c\nuser = a=b\n",
    "mapped_wrong_family": "[dns64]\nmapped = 2001:db8::/32\n"
                           "exclude = 10.0.0.0/8\n",
    "names": "[DNS64 Branch-1.a_b]\nprefix = 64:ff9b:1::/48\n"
             "[dns64 " + "n" * 64 + "]\n",
    "scalar_lists": "[server]\nupstream = 192.0.2.1\ntimeout = 100\n"
                    "  200\nuser = a b\n",
    "reverse_modes": "[server]\nupstream = [2001:db8::53]:5353\n[dns64]\n"
                     "reverse = rewrite\n[dns64 b]\nreverse = maybe\n"
                     "synthall = perhaps\nparallel = TRUE\n",
}


def spec_example():
    """The ```ini block of SPEC.md, if it is around."""
    for path in (os.path.join(TOP, "SPEC.md"),
                 os.path.join(TOP, "..", "shared", "SPEC.md")):
        try:
            text = open(path).read()
        except OSError:
            continue
        start = text.find("```ini\n")
        end = text.find("```", start + 7)
        if start >= 0 and end > start:
            return text[start + 7:end]
    return None


def config_seeds():
    s = {}
    with open(os.path.join(TOP, "etc", "dns64proxy.conf")) as f:
        s["sample"] = f.read()
    ex = spec_example()
    if ex is not None:
        s["spec_example"] = ex
        # each section of the example alone, with an upstream
        parts = ex.split("\n[")
        for i, part in enumerate(parts):
            if i > 0:
                part = "[" + part
            head = part.split("]")[0].strip("[").replace(" ", "_")
            if not head.startswith("server"):
                part = "[server]\nupstream = 192.0.2.1\n" + part
            s["spec_" + head] = part
    s["minimal"] = "[server]\nupstream = 192.0.2.1\n"
    s["empty"] = ""
    for k, v in EDGE.items():
        s["edge_" + k] = v
    return s


def write(outdir, sub, seeds):
    d = os.path.join(outdir, sub)
    os.makedirs(d, exist_ok=True)
    for name, data in sorted(seeds.items()):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d files" % (d, len(seeds)))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE,
                                                                "corpus")
    write(outdir, "synth", synth_seeds())
    write(outdir, "ptr", ptr_seeds())
    write(outdir, "config", config_seeds())


if __name__ == "__main__":
    main()
