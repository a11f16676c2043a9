/*
 * test_dns64.c: unit tests of the DNS64 policy and synthesis (dns64.c).
 *
 * Packets are built with the msg_builder API (or pasted from dnspython
 * where compression matters) and every answer is parsed back with
 * msg_parse_response() and msg_iter before its fields are checked.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "dns64.h"
#include "msg.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

#define NRR		24
#define OUTMAX		65535

/* Text name to wire form; fails the test if it is bad. */
static size_t
wname(const char *text, uint8_t *out)
{
	size_t	 n = wire_name_from_text(text, out, DNS_MAX_NAME);

	cr_assert(n > 0, "bad test name \"%s\"", text);
	return n;
}

static struct in6_addr
v6(const char *text)
{
	struct in6_addr	 a;

	cr_assert_eq(inet_pton(AF_INET6, text, &a), 1, "bad %s", text);
	return a;
}

static struct in_addr
v4(const char *text)
{
	struct in_addr	 a;

	cr_assert_eq(inet_pton(AF_INET, text, &a), 1, "bad %s", text);
	return a;
}

static struct dns64_prefix
pfx(const char *text)
{
	struct dns64_prefix p;

	cr_assert_eq(dns64_prefix_parse(text, &p), 0, "bad prefix %s", text);
	return p;
}

/* A section with the defaults and the given prefixes (NULL-terminated). */
static void
section(struct dns64_section *s, const char *p1, const char *p2)
{
	dns64_section_defaults(s);
	if (p1 == NULL)
		return;
	s->prefixes[0] = pfx(p1);
	s->nprefixes = 1;
	if (p2 != NULL)
		s->prefixes[s->nprefixes++] = pfx(p2);
}

/* A client query. */
struct query {
	uint8_t		 buf[512];
	size_t		 len;
	struct msg_info	 mi;
};

static void
mkquery_class(struct query *q, uint16_t id, const char *qname,
    uint16_t qtype, uint16_t qclass, bool edns, bool dobit)
{
	uint8_t		 n[DNS_MAX_NAME];
	size_t		 nl = wname(qname, n);
	uint8_t		 opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0,
	    dobit ? 0x80 : 0, 0, 0, 0 };

	q->len = msg_build_query(q->buf, sizeof(q->buf), id,
	    DNS_FLAG_RD | DNS_FLAG_CD, n, nl, qtype, qclass,
	    edns ? opt : NULL, edns ? sizeof(opt) : 0);
	cr_assert(q->len > 0);
	cr_assert_eq(msg_parse_query(q->buf, q->len, &q->mi), MSG_OK);
}

static void
mkquery(struct query *q, uint16_t id, const char *qname, uint16_t qtype,
    bool edns)
{
	mkquery_class(q, id, qname, qtype, DNS_CLASS_IN, edns, false);
}

/* One record of a test response, RDATA in presentation form. */
struct rrspec {
	int		 sec;
	const char	*owner;
	uint16_t	 type;
	uint32_t	 ttl;
	const char	*data;
};

#define AN	DNS_SECTION_ANSWER
#define NS	DNS_SECTION_AUTHORITY
#define AR	DNS_SECTION_ADDITIONAL

/* A test response: question, header flags (QR is added), records in
 * section order (until owner NULL), an OPT if edns, with EDE ede >= 0. */
struct respspec {
	const char	*qname;
	uint16_t	 qtype;
	uint16_t	 flags;
	bool		 edns;
	int		 ede;
	struct rrspec	 rr[NRR];
};

struct pkt {
	uint8_t		 buf[8192];
	size_t		 len;
	struct msg_info	 mi;
};

/* RDATA of one rrspec into rd; returns its length. */
static uint16_t
rdata(const struct rrspec *r, uint8_t *rd)
{
	char		 m[DNS_MAX_NAME * 4], n[DNS_MAX_NAME * 4];
	unsigned	 v[5];
	size_t		 a, b;
	int		 i;
	struct in_addr	 x4;
	struct in6_addr	 x6;

	switch (r->type) {
	case DNS_TYPE_A:
		x4 = v4(r->data);
		memcpy(rd, &x4, 4);
		return 4;
	case DNS_TYPE_AAAA:
		x6 = v6(r->data);
		memcpy(rd, &x6, 16);
		return 16;
	case DNS_TYPE_SOA:
		cr_assert_eq(sscanf(r->data, "%s %s %u %u %u %u %u", m, n,
		    &v[0], &v[1], &v[2], &v[3], &v[4]), 7);
		a = wname(m, rd);
		b = wname(n, rd + a);
		for (i = 0; i < 5; i++) {
			rd[a + b + 4 * i] = (uint8_t)(v[i] >> 24);
			rd[a + b + 4 * i + 1] = (uint8_t)(v[i] >> 16);
			rd[a + b + 4 * i + 2] = (uint8_t)(v[i] >> 8);
			rd[a + b + 4 * i + 3] = (uint8_t)v[i];
		}
		return (uint16_t)(a + b + 20);
	default:	/* CNAME, DNAME, PTR, NS */
		return (uint16_t)wname(r->data, rd);
	}
}

static void
mkresp(struct pkt *p, const struct respspec *rs)
{
	struct msg_builder mb;
	struct msg_question q;
	uint8_t		 owner[DNS_MAX_NAME], rd[1024];
	size_t		 ol;
	uint16_t	 rl;
	int		 i;

	memset(&q, 0, sizeof(q));
	q.name_len = wname(rs->qname, q.name);
	q.qtype = rs->qtype;
	q.qclass = DNS_CLASS_IN;
	msg_build_init(&mb, p->buf, sizeof(p->buf), 0x4242,
	    DNS_FLAG_QR | rs->flags);
	msg_build_question(&mb, &q);
	for (i = 0; i < NRR && rs->rr[i].owner != NULL; i++) {
		ol = wname(rs->rr[i].owner, owner);
		rl = rdata(&rs->rr[i], rd);
		msg_build_rr(&mb, rs->rr[i].sec, owner, ol, rs->rr[i].type,
		    DNS_CLASS_IN, rs->rr[i].ttl, rd, rl);
	}
	if (rs->edns)
		msg_build_opt(&mb, 4096, 0, rs->ede);
	p->len = msg_build_finish(&mb);
	cr_assert(p->len > 0, "test response does not fit");
	cr_assert(msg_parse_response(p->buf, p->len, &p->mi),
	    "test response does not parse");
}

static void
rawresp(struct pkt *p, const uint8_t *bytes, size_t len)
{
	memcpy(p->buf, bytes, len);
	p->len = len;
	cr_assert(msg_parse_response(p->buf, p->len, &p->mi));
}

/* Start a response in p for qname and qtype, flags QR and RA, by hand:
 * for records that mkresp() cannot write. */
static void
begin_resp(struct msg_builder *mb, struct pkt *p, const char *qname,
    uint16_t qtype)
{
	struct msg_question q;

	memset(&q, 0, sizeof(q));
	q.name_len = wname(qname, q.name);
	q.qtype = qtype;
	q.qclass = DNS_CLASS_IN;
	msg_build_init(mb, p->buf, sizeof(p->buf), 0x4242,
	    DNS_FLAG_QR | DNS_FLAG_RA);
	msg_build_question(mb, &q);
}

/* An answer of ours, parsed back. */
struct out {
	uint8_t		 buf[OUTMAX];
	size_t		 len;
	struct msg_info	 mi;
	struct msg_rr	 rr[64];
	size_t		 n;
};

static void
parse_out(struct out *o)
{
	struct msg_iter	 it;
	int		 r;

	cr_assert(o->len > 0, "no answer written");
	cr_assert(msg_parse_response(o->buf, o->len, &o->mi),
	    "answer does not parse back");
	o->n = 0;
	msg_iter_init(&it, o->buf, o->len, &o->mi);
	while ((r = msg_iter_next(&it, &o->rr[o->n])) == 1)
		if (o->rr[o->n].type != DNS_TYPE_OPT)
			cr_assert(++o->n < 64);
	cr_assert_eq(r, 0);
}

/* The idx-th record of this type in this section (type 0: any). */
static const struct msg_rr *
find(const struct out *o, int sec, uint16_t type, size_t idx)
{
	size_t	 i, left = idx;

	for (i = 0; i < o->n; i++)
		if (o->rr[i].section == sec &&
		    (type == 0 || o->rr[i].type == type) && left-- == 0)
			return &o->rr[i];
	cr_assert_fail("no record %zu of type %u in section %d", idx, type,
	    sec);
	return NULL;
}

static size_t
count(const struct out *o, int sec, uint16_t type)
{
	size_t	 i, n = 0;

	for (i = 0; i < o->n; i++)
		if (o->rr[i].section == sec &&
		    (type == 0 || o->rr[i].type == type))
			n++;
	return n;
}

/* Owner of a record as text. */
static const char *
owner(const struct msg_rr *rr)
{
	static char	 t[DNS_MAX_NAME * 4 + 2];

	cr_assert(wire_name_to_text(rr->name, rr->name_len, t, sizeof(t)));
	return t;
}

/* A name in a record's RDATA (CNAME, PTR, NS) as text. */
static const char *
rdname(const struct out *o, const struct msg_rr *rr)
{
	static char	 t[DNS_MAX_NAME * 4 + 2];
	uint8_t		 n[DNS_MAX_NAME];
	size_t		 nl;
	struct wire	 w;

	wire_init(&w, o->buf, o->len);
	cr_assert(wire_skip(&w, rr->rdata_off));
	cr_assert(wire_read_name(&w, n, &nl));
	cr_assert(wire_name_to_text(n, nl, t, sizeof(t)));
	return t;
}

/* Check an AAAA / A record's address. */
static void
assert_aaaa(const struct out *o, const struct msg_rr *rr, const char *want)
{
	struct in6_addr	 w = v6(want);

	cr_assert_eq(rr->type, DNS_TYPE_AAAA);
	cr_assert_eq(rr->rdlen, 16);
	cr_assert_arr_eq(o->buf + rr->rdata_off, w.s6_addr, 16,
	    "AAAA is not %s", want);
}

static void
assert_a(const struct out *o, const struct msg_rr *rr, const char *want)
{
	struct in_addr	 w = v4(want);

	cr_assert_eq(rr->type, DNS_TYPE_A);
	cr_assert_eq(rr->rdlen, 4);
	cr_assert_arr_eq(o->buf + rr->rdata_off, &w, 4, "A is not %s", want);
}

/* The answer carries the client's ID and exact question. */
static void
assert_client(const struct out *o, const struct query *q)
{
	cr_assert_eq(o->mi.id, q->mi.id);
	cr_assert(o->mi.has_question);
	cr_assert_eq(o->mi.q.name_len, q->mi.q.name_len);
	cr_assert_arr_eq(o->mi.q.name, q->mi.q.name, q->mi.q.name_len,
	    "question name not as the client wrote it");
	cr_assert_eq(o->mi.q.qtype, q->mi.q.qtype);
	cr_assert_eq(o->mi.q.qclass, q->mi.q.qclass);
	cr_assert(o->mi.flags & DNS_FLAG_QR);
}

/* ip6.arpa name of an address, as text. */
static void
ip6_arpa_text(const struct in6_addr *a, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int		 i;

	for (i = 15; i >= 0; i--) {
		*out++ = hex[a->s6_addr[i] & 0xf];
		*out++ = '.';
		*out++ = hex[a->s6_addr[i] >> 4];
		*out++ = '.';
	}
	strcpy(out, "ip6.arpa.");
}

/* ------------------------------------------------------------------ */
/* RFC 6052 2.4 table, both directions                                */
/* ------------------------------------------------------------------ */

struct rfc6052_vec {
	char	 prefix[32];
	char	 v4[16];
	char	 v6[40];
};

static struct rfc6052_vec rfc6052_table[] = {
	{ "2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::" },
	{ "2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::" },
	{ "2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::" },
	{ "2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::" },
	{ "2001:db8:122:344::/64", "192.0.2.33",
	    "2001:db8:122:344:c0:2:2100::" },
	{ "2001:db8:122:344::/96", "192.0.2.33",
	    "2001:db8:122:344::192.0.2.33" },
	{ "64:ff9b::/96", "192.0.2.33", "64:ff9b::192.0.2.33" },
};

ParameterizedTestParameters(rfc6052, embed)
{
	return cr_make_param_array(struct rfc6052_vec, rfc6052_table,
	    sizeof(rfc6052_table) / sizeof(rfc6052_table[0]));
}

ParameterizedTest(struct rfc6052_vec *t, rfc6052, embed)
{
	struct dns64_prefix p = pfx(t->prefix);
	struct in6_addr	 out, want = v6(t->v6);
	char		 err[128];

	cr_assert_eq(dns64_prefix_check(&p, err, sizeof(err)), 0, "%s: %s",
	    t->prefix, err);
	memset(&out, 0xee, sizeof(out));
	cr_assert_eq(dns64_embed(&p, v4(t->v4), &out), 0);
	cr_assert_arr_eq(out.s6_addr, want.s6_addr, 16, "%s: not %s",
	    t->prefix, t->v6);
}

ParameterizedTestParameters(rfc6052, extract)
{
	return cr_make_param_array(struct rfc6052_vec, rfc6052_table,
	    sizeof(rfc6052_table) / sizeof(rfc6052_table[0]));
}

ParameterizedTest(struct rfc6052_vec *t, rfc6052, extract)
{
	struct dns64_prefix p = pfx(t->prefix);
	struct in6_addr	 a = v6(t->v6);
	struct in_addr	 got, want = v4(t->v4);

	cr_assert_eq(dns64_extract(&p, &a, &got), 0);
	cr_assert_arr_eq(&got, &want, 4, "%s: not %s", t->prefix, t->v4);
}

/* PTR mapping of the same vectors: ip6.arpa name -> in-addr.arpa name. */
ParameterizedTestParameters(rfc6052, ptr_map)
{
	return cr_make_param_array(struct rfc6052_vec, rfc6052_table,
	    sizeof(rfc6052_table) / sizeof(rfc6052_table[0]));
}

ParameterizedTest(struct rfc6052_vec *t, rfc6052, ptr_map)
{
	struct dns64_section s;
	struct in6_addr	 a;
	char		 text[128];
	uint8_t		 qn[DNS_MAX_NAME], out[DNS_MAX_NAME], want[DNS_MAX_NAME];
	size_t		 ql, ol = 0, wl;

	section(&s, t->prefix, NULL);
	cr_assert_eq(dns64_embed(&s.prefixes[0], v4(t->v4), &a), 0);
	ip6_arpa_text(&a, text);
	ql = wname(text, qn);
	cr_assert(dns64_ptr_map(&s, qn, ql, out, &ol), "%s", text);
	wl = wname("33.2.0.192.in-addr.arpa.", want);
	cr_assert_eq(ol, wl);
	cr_assert_arr_eq(out, want, wl);
}

Test(rfc6052, extract_rejects_outside)
{
	static const struct { const char *p, *a; } t[] = {
		{ "2001:db8::/32", "2001:db9:c000:221::" },
		{ "2001:db8:100::/40", "2001:db8:200:2:21::" },
		{ "2001:db8:122::/48", "2001:db8:123:c000:2:2100::" },
		{ "2001:db8:122:300::/56", "2001:db8:122:4c0:0:221::" },
		{ "2001:db8:122:344::/64", "2001:db8:122:345:c0:2:2100::" },
		{ "2001:db8:122:344::/96", "2001:db8:122:344:0:1:c000:221" },
		{ "64:ff9b::/96", "64:ff9b:1::c000:221" },
		{ "64:ff9b::/96", "::ffff:192.0.2.33" },
	};
	struct dns64_prefix p;
	struct in6_addr	 a;
	struct in_addr	 x;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = pfx(t[i].p);
		a = v6(t[i].a);
		cr_assert_eq(dns64_extract(&p, &a, &x), -1, "%s in %s",
		    t[i].a, t[i].p);
	}
}

Test(rfc6052, bad_length)
{
	struct dns64_prefix p = pfx("2001:db8::/33");
	struct in6_addr	 a = v6("2001:db8::1");
	struct in_addr	 x;

	cr_assert_eq(dns64_embed(&p, v4("192.0.2.1"), &a), -1);
	cr_assert_eq(dns64_extract(&p, &a, &x), -1);
}

Test(rfc6052, embed_zeroes_u_octet_and_suffix)
{
	struct dns64_prefix p = pfx("2001:db8:122:344::/64");
	struct in6_addr	 out;

	memset(&out, 0xff, sizeof(out));
	cr_assert_eq(dns64_embed(&p, v4("255.255.255.255"), &out), 0);
	cr_assert_eq(out.s6_addr[8], 0, "u-octet");
	cr_assert_eq(out.s6_addr[13], 0);
	cr_assert_eq(out.s6_addr[14], 0);
	cr_assert_eq(out.s6_addr[15], 0);
	cr_assert_eq(out.s6_addr[12], 0xff);
}

/* ------------------------------------------------------------------ */
/* Prefixes                                                           */
/* ------------------------------------------------------------------ */

Test(prefix, parse)
{
	struct dns64_prefix p;
	struct in6_addr	 w = v6("2001:db8:122:344::");
	static const char *bad[] = {
		"2001:db8::", "2001:db8::/", "/96", "2001:db8::/129",
		"2001:db8::/-1", "2001:db8::/9x", "2001:db8::/0096",
		"2001:db8::1/96", "192.0.2.0/24",
		"2001:db8:::/32", "", "2001:db8::/ 32", "64:ff9b::/16",
	};
	size_t		 i;

	cr_assert_eq(dns64_prefix_parse("2001:db8:122:344::/64", &p), 0);
	cr_assert_eq(p.len, 64);
	cr_assert_arr_eq(p.addr.s6_addr, w.s6_addr, 16);
	cr_assert_eq(dns64_prefix_parse("64:ff9b::/96", &p), 0);
	cr_assert_eq(p.len, 96);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dns64_prefix_parse(bad[i], &p), -1, "\"%s\"",
		    bad[i]);
}

struct check_case {
	const char	*prefix;
	bool		 ok;
	const char	*why;	/* a word the message must hold */
};

Test(prefix, check)
{
	static const struct check_case t[] = {
		{ "64:ff9b::/96", true, NULL },
		{ "64:ff9b:1::/48", true, NULL },
		{ "64:ff9b:1:fffe::/96", true, NULL },
		{ "2001:db8::/32", true, NULL },
		{ "2001:db8:100::/40", true, NULL },
		{ "2001:db8:122:300::/56", true, NULL },
		{ "2001:db8:122:344::/64", true, NULL },
		{ "fe00::/32", true, NULL },
		{ "100::/64", true, NULL },
		{ "2001:db8::/33", false, "length" },
		{ "2001:db8::/128", false, "length" },
		{ "::/0", false, "length" },
		{ "2001:d00::/24", false, "length" },
		{ "2001:db8:0:0:100::/96", false, "64 to 71" },
		{ "2001:db8:0:0:ff00::/96", false, "64 to 71" },
		{ "fe80::/64", false, "link-local" },
		{ "febf:ffff::/32", false, "link-local" },
		{ "ff02::/96", false, "multicast" },
		{ "ff00::/32", false, "multicast" },
		{ "::/96", false, "::/96" },
		{ "::/32", false, "::/96" },
		{ "::/64", false, "::/96" },
		{ "::ffff:0:0/96", false, "::ffff" },
	};
	struct dns64_prefix p;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = pfx(t[i].prefix);
		err[0] = '\0';
		if (t[i].ok) {
			cr_assert_eq(dns64_prefix_check(&p, err, sizeof(err)),
			    0, "%s refused: %s", t[i].prefix, err);
			continue;
		}
		cr_assert_eq(dns64_prefix_check(&p, err, sizeof(err)), -1,
		    "%s accepted", t[i].prefix);
		cr_assert(strstr(err, t[i].why) != NULL,
		    "%s: message \"%s\" lacks \"%s\"", t[i].prefix, err,
		    t[i].why);
	}
}

Test(prefix, check_host_bits)
{
	struct dns64_prefix p = pfx("2001:db8::/32");
	char		 err[128];

	p.addr.s6_addr[15] = 1;
	cr_assert_eq(dns64_prefix_check(&p, err, sizeof(err)), -1);
	cr_assert(strlen(err) > 0);
}

Test(prefix, is_wkp)
{
	struct dns64_prefix p;

	p = pfx("64:ff9b::/96");
	cr_assert(dns64_prefix_is_wkp(&p));
	p = pfx("64:ff9b:1::/48");
	cr_assert_not(dns64_prefix_is_wkp(&p));
	p = pfx("64:ff9b::/64");
	cr_assert_not(dns64_prefix_is_wkp(&p));
	p = pfx("64:ff9b:1:fffe::/96");
	cr_assert_not(dns64_prefix_is_wkp(&p));
}

Test(section, defaults)
{
	struct dns64_section s;
	struct in6_addr	 wkp = v6("64:ff9b::"), ex = v6("::ffff:0:0");

	memset(&s, 0xa5, sizeof(s));
	dns64_section_defaults(&s);
	cr_assert_str_eq(s.name, "");
	cr_assert_eq(s.nprefixes, 1);
	cr_assert_eq(s.prefixes[0].len, 96);
	cr_assert_arr_eq(s.prefixes[0].addr.s6_addr, wkp.s6_addr, 16);
	cr_assert_eq(s.nexclude, 1);
	cr_assert_eq(s.exclude[0].family, AF_INET6);
	cr_assert_eq(s.exclude[0].len, 96);
	cr_assert_arr_eq(s.exclude[0].a.v6.s6_addr, ex.s6_addr, 16);
	cr_assert_eq(s.nmapped, 0);
	cr_assert_not(s.mapped_set);
	cr_assert_eq(s.nclients, 2);
	cr_assert_eq(s.clients[0].family, AF_INET);
	cr_assert_eq(s.clients[0].len, 0);
	cr_assert_eq(s.clients[0].a.v4.s_addr, 0);
	cr_assert_eq(s.clients[1].family, AF_INET6);
	cr_assert_eq(s.clients[1].len, 0);
	cr_assert_not(s.synthall);
	cr_assert(s.on_error);
	cr_assert_not(s.parallel);
	cr_assert_eq(s.reverse, DNS64_REVERSE_CNAME);
}

Test(section, excluded)
{
	struct dns64_section s;
	struct in6_addr	 a;

	dns64_section_defaults(&s);
	a = v6("::ffff:192.0.2.1");
	cr_assert(dns64_excluded(&s, &a));
	a = v6("::fffe:192.0.2.1");
	cr_assert_not(dns64_excluded(&s, &a));
	a = v6("2001:db8::1");
	cr_assert_not(dns64_excluded(&s, &a));
	s.nexclude = 0;
	a = v6("::ffff:192.0.2.1");
	cr_assert_not(dns64_excluded(&s, &a));
}

/* ------------------------------------------------------------------ */
/* dns64_maps: RFC 6052 3.1, RFC 8215 5, `mapped`                     */
/* ------------------------------------------------------------------ */

Test(maps, wkp_refuses_non_global)
{
	static const char *priv[] = {
		"10.1.2.3", "192.168.1.1", "192.168.255.254", "127.0.0.1",
		"100.64.0.1", "169.254.1.1", "172.16.5.4", "0.1.2.3",
	};
	static const char *glob[] = { "8.8.8.8", "198.41.0.4", "1.1.1.1" };
	struct dns64_section s;
	size_t		 i;

	section(&s, NULL, NULL);
	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		cr_assert_not(dns64_maps(&s, &s.prefixes[0], v4(priv[i])),
		    "%s mapped under the WKP", priv[i]);
	for (i = 0; i < sizeof(glob) / sizeof(glob[0]); i++)
		cr_assert(dns64_maps(&s, &s.prefixes[0], v4(glob[i])),
		    "%s refused", glob[i]);
}

Test(maps, other_prefixes_take_all)
{
	struct dns64_section s;

	section(&s, "64:ff9b:1::/48", "2001:db8:64::/96");
	cr_assert(dns64_maps(&s, &s.prefixes[0], v4("10.1.2.3")));
	cr_assert(dns64_maps(&s, &s.prefixes[0], v4("192.168.1.1")));
	cr_assert(dns64_maps(&s, &s.prefixes[1], v4("127.0.0.1")));
	cr_assert(dns64_maps(&s, &s.prefixes[1], v4("8.8.8.8")));
}

Test(maps, mapped_decides_alone)
{
	struct dns64_section s;

	section(&s, NULL, NULL);
	s.mapped_set = true;
	s.mapped[0].family = AF_INET;
	s.mapped[0].a.v4 = v4("10.0.0.0");
	s.mapped[0].len = 8;
	s.nmapped = 1;
	cr_assert(dns64_maps(&s, &s.prefixes[0], v4("10.1.2.3")));
	cr_assert_not(dns64_maps(&s, &s.prefixes[0], v4("8.8.8.8")));
	cr_assert_not(dns64_maps(&s, &s.prefixes[0], v4("11.0.0.1")));
	s.nmapped = 0;
	cr_assert_not(dns64_maps(&s, &s.prefixes[0], v4("10.1.2.3")));
}

/* ------------------------------------------------------------------ */
/* dns64_classify                                                     */
/* ------------------------------------------------------------------ */

#define QN	"www.example.com."
#define SOA_EX	"ns.example.com. host.example.com. 1 3600 600 86400 300"

struct classify_case {
	const char		*what;
	bool			 on_error;
	bool			 synthall;
	struct respspec		 r;
	enum dns64_action	 want;
	const char		*target;	/* for NEED_A */
};

static const struct classify_case classify_cases[] = {
	{ "NXDOMAIN", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_NXDOMAIN, false, -1,
	    { { NS, "example.com.", DNS_TYPE_SOA, 300, SOA_EX } } },
	    DNS64_PASS, NULL },
	{ "NXDOMAIN synthall", true, true,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_NXDOMAIN, false, -1, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "SERVFAIL on_error", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, false, -1, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "SERVFAIL no on_error", false, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, false, -1, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "SERVFAIL EDE 6", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, 6, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "SERVFAIL EDE 9", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, 9, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "SERVFAIL EDE 12", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, 12, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "SERVFAIL EDE 5", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, 5, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "SERVFAIL EDE 13", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, 13, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "SERVFAIL EDNS no EDE", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL, true, -1, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "REFUSED with EDE 6 is not a DNSSEC failure", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_REFUSED, true, 6, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "REFUSED on_error", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_REFUSED, false, -1, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "REFUSED no on_error", false, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_REFUSED, false, -1, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "NOTIMP on_error", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_RCODE_NOTIMP, false, -1, { { 0 } } },
	    DNS64_NEED_A_ON_ERROR, QN },
	{ "NODATA with SOA", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_FLAG_RA, false, -1,
	    { { NS, "example.com.", DNS_TYPE_SOA, 300, SOA_EX } } },
	    DNS64_NEED_A, QN },
	{ "NODATA, on_error no", false, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1, { { 0 } } },
	    DNS64_NEED_A, QN },
	{ "real AAAA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::1" } } },
	    DNS64_PASS, NULL },
	{ "real AAAA, owner in other case", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, "WWW.EXAMPLE.COM.", DNS_TYPE_AAAA, 300,
	    "2001:db8::1" } } },
	    DNS64_PASS, NULL },
	{ "real AAAA synthall", true, true,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::1" } } },
	    DNS64_NEED_A, QN },
	{ "only ::ffff: AAAA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "::ffff:192.0.2.1" },
	    { AN, QN, DNS_TYPE_AAAA, 300, "::ffff:192.0.2.2" } } },
	    DNS64_NEED_A, QN },
	{ "mixed", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "::ffff:192.0.2.1" },
	    { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::1" } } },
	    DNS64_FILTER, NULL },
	{ "AAAA not owned by the question name", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, "other.example.com.", DNS_TYPE_AAAA, 300,
	    "2001:db8::1" } } },
	    DNS64_NEED_A, QN },
	{ "CNAME chain to NODATA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, "a.example.net.", DNS_TYPE_CNAME, 300, "B.example.org." },
	    { NS, "example.org.", DNS_TYPE_SOA, 300, SOA_EX } } },
	    DNS64_NEED_A, "B.example.org." },
	{ "CNAME chain out of order, mixed case owners", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, "A.EXAMPLE.NET.", DNS_TYPE_CNAME, 300, "b.example.org." },
	    { AN, "Www.Example.Com.", DNS_TYPE_CNAME, 300, "a.example.net." } } },
	    DNS64_NEED_A, "b.example.org." },
	{ "DNAME and CNAME to NODATA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, "example.com.", DNS_TYPE_DNAME, 300, "example.net." },
	    { AN, QN, DNS_TYPE_CNAME, 300, "www.example.net." } } },
	    DNS64_NEED_A, "www.example.net." },
	{ "CNAME chain to AAAA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, "a.example.net.", DNS_TYPE_AAAA, 300, "2001:db8::5" } } },
	    DNS64_PASS, NULL },
	{ "CNAME chain to excluded AAAA", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, "a.example.net.", DNS_TYPE_AAAA, 300,
	    "::ffff:10.0.0.1" } } },
	    DNS64_NEED_A, "a.example.net." },
	{ "AAAA at the question name, not at the chain end", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::5" } } },
	    DNS64_NEED_A, "a.example.net." },
	{ "AAAA at the question name before its CNAME", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::5" },
	    { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." } } },
	    DNS64_NEED_A, "a.example.net." },
	{ "excluded AAAA before the CNAME, real AAAA at its end", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_AAAA, 300, "::ffff:10.0.0.1" },
	    { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, "a.example.net.", DNS_TYPE_AAAA, 300, "2001:db8::5" } } },
	    DNS64_FILTER, NULL },
	{ "CNAME loop", true, false,
	    { QN, DNS_TYPE_AAAA, 0, false, -1,
	    { { AN, QN, DNS_TYPE_CNAME, 300, "a.example.net." },
	    { AN, "a.example.net.", DNS_TYPE_CNAME, 300, QN } } },
	    DNS64_NEED_A, NULL },
	{ "TC set", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_FLAG_TC, false, -1, { { 0 } } },
	    DNS64_PASS, NULL },
	{ "TC set with SERVFAIL", true, false,
	    { QN, DNS_TYPE_AAAA, DNS_FLAG_TC | DNS_RCODE_SERVFAIL, false, -1,
	    { { 0 } } },
	    DNS64_PASS, NULL },
};

/*
 * Criterion copies parameters into a new process where pointers of this
 * one mean nothing, so the parameters are indices into the table.
 */
#define NCLASSIFY	(sizeof(classify_cases) / sizeof(classify_cases[0]))

ParameterizedTestParameters(classify, table)
{
	static size_t	 idx[NCLASSIFY];
	size_t		 i;

	for (i = 0; i < NCLASSIFY; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NCLASSIFY);
}

ParameterizedTest(size_t *i, classify, table)
{
	const struct classify_case *t = &classify_cases[*i];
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	uint8_t		 target[DNS_MAX_NAME], want[DNS_MAX_NAME];
	size_t		 tlen = 0, wl;
	enum dns64_action got;

	section(&s, NULL, NULL);
	s.on_error = t->on_error;
	s.synthall = t->synthall;
	mkquery(&q, 7, "WWW.example.COM.", DNS_TYPE_AAAA, false);
	mkresp(&r, &t->r);
	got = dns64_classify(&s, &q.mi, r.buf, r.len, &r.mi, target, &tlen);
	cr_assert_eq(got, t->want, "%s: got %d, want %d", t->what, got,
	    t->want);
	if ((got != DNS64_NEED_A && got != DNS64_NEED_A_ON_ERROR) ||
	    t->target == NULL)
		return;
	wl = wname(t->target, want);
	cr_assert(wire_name_equal(target, tlen, want, wl),
	    "%s: wrong target", t->what);
}

Test(classify, target_is_client_qname_on_error)
{
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	uint8_t		 target[DNS_MAX_NAME];
	size_t		 tlen = 0;

	section(&s, NULL, NULL);
	mkquery(&q, 7, "WWW.example.COM.", DNS_TYPE_AAAA, false);
	mkresp(&r, &(struct respspec){ QN, DNS_TYPE_AAAA, DNS_RCODE_SERVFAIL,
	    false, -1, { { 0 } } });
	cr_assert_eq(dns64_classify(&s, &q.mi, r.buf, r.len, &r.mi, target,
	    &tlen), DNS64_NEED_A_ON_ERROR);
	cr_assert_eq(tlen, q.mi.q.name_len);
	cr_assert_arr_eq(target, q.mi.q.name, tlen);
}

Test(classify, timeout)
{
	struct dns64_section s;
	struct query	 q;
	uint8_t		 target[DNS_MAX_NAME];
	size_t		 tlen = 0;

	section(&s, NULL, NULL);
	mkquery(&q, 7, "WWW.example.COM.", DNS_TYPE_AAAA, false);
	cr_assert_eq(dns64_classify(&s, &q.mi, NULL, 0, NULL, target, &tlen),
	    DNS64_NEED_A_ON_ERROR);
	cr_assert_eq(tlen, q.mi.q.name_len);
	cr_assert_arr_eq(target, q.mi.q.name, tlen);
	s.on_error = false;
	cr_assert_eq(dns64_classify(&s, &q.mi, NULL, 0, NULL, target, &tlen),
	    DNS64_PASS);
}

/* dnspython: www.example.com AAAA -> CNAME cdn -> CNAME edge, SOA with
 * MINIMUM 60, all names compressed. */
static const uint8_t dnspython_chain[] = {
	0x42, 0x42, 0x81, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
	0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
	0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00,
	0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x06, 0x03, 0x63, 0x64,
	0x6e, 0xc0, 0x10, 0xc0, 0x2d, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01,
	0x2c, 0x00, 0x07, 0x04, 0x65, 0x64, 0x67, 0x65, 0xc0, 0x10, 0xc0, 0x10,
	0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x20, 0x02, 0x6e,
	0x73, 0xc0, 0x10, 0x04, 0x68, 0x6f, 0x73, 0x74, 0xc0, 0x10, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00,
	0x00, 0x04, 0x00, 0x00, 0x00, 0x3c,
};

/* dnspython: edge.example.com A 8.8.8.8, 1.1.1.1 (TTL 3600), NS
 * ns.example.com, glue 9.9.9.9, compressed. */
static const uint8_t dnspython_a[] = {
	0x43, 0x43, 0x81, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00, 0x01,
	0x04, 0x65, 0x64, 0x67, 0x65, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
	0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0x08, 0x08,
	0x08, 0x08, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,
	0x00, 0x04, 0x01, 0x01, 0x01, 0x01, 0xc0, 0x11, 0x00, 0x02, 0x00, 0x01,
	0x00, 0x00, 0x0e, 0x10, 0x00, 0x05, 0x02, 0x6e, 0x73, 0xc0, 0x11, 0xc0,
	0x4e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 0x09,
	0x09, 0x09, 0x09,
};

Test(classify, compressed_chain)
{
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	uint8_t		 target[DNS_MAX_NAME], want[DNS_MAX_NAME];
	size_t		 tlen = 0, wl;

	section(&s, NULL, NULL);
	mkquery(&q, 7, "www.example.com.", DNS_TYPE_AAAA, false);
	rawresp(&r, dnspython_chain, sizeof(dnspython_chain));
	cr_assert_eq(dns64_classify(&s, &q.mi, r.buf, r.len, &r.mi, target,
	    &tlen), DNS64_NEED_A);
	wl = wname("edge.example.com.", want);
	cr_assert_eq(tlen, wl);
	cr_assert_arr_eq(target, want, wl);
}

/* ------------------------------------------------------------------ */
/* dns64_filter                                                       */
/* ------------------------------------------------------------------ */

static const struct respspec mixed_resp = {
	QN, DNS_TYPE_AAAA, DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AD, true, 3,
	{ { AN, QN, DNS_TYPE_AAAA, 300, "2001:db8::1" },
	{ AN, QN, DNS_TYPE_AAAA, 300, "::ffff:192.0.2.1" },
	{ AN, QN, DNS_TYPE_AAAA, 200, "2001:db8::2" },
	{ NS, "example.com.", DNS_TYPE_NS, 900, "ns.example.com." },
	{ AR, "ns.example.com.", DNS_TYPE_A, 900, "192.0.2.53" } }
};

Test(filter, drops_excluded)
{
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	struct out	 o;

	section(&s, NULL, NULL);
	mkquery(&q, 0x1234, "wWw.ExAmPlE.cOm.", DNS_TYPE_AAAA, true);
	mkresp(&r, &mixed_resp);
	o.len = dns64_filter(&s, &q.mi, r.buf, r.len, &r.mi, 4096, o.buf,
	    sizeof(o.buf));
	parse_out(&o);
	assert_client(&o, &q);
	cr_assert_eq(o.mi.flags, r.mi.flags, "flags from the response");
	cr_assert_eq(count(&o, AN, 0), 2);
	assert_aaaa(&o, find(&o, AN, DNS_TYPE_AAAA, 0), "2001:db8::1");
	assert_aaaa(&o, find(&o, AN, DNS_TYPE_AAAA, 1), "2001:db8::2");
	cr_assert_eq(find(&o, AN, DNS_TYPE_AAAA, 1)->ttl, 200);
	cr_assert_eq(count(&o, NS, DNS_TYPE_NS), 1);
	cr_assert_str_eq(rdname(&o, find(&o, NS, DNS_TYPE_NS, 0)),
	    "ns.example.com.");
	cr_assert_eq(count(&o, AR, DNS_TYPE_A), 1);
	cr_assert(o.mi.edns);
	cr_assert_eq(o.mi.edns_udp, 4096);
	cr_assert_eq(o.mi.ede, 3);
}

Test(filter, no_opt_without_client_edns)
{
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	struct out	 o;

	section(&s, NULL, NULL);
	mkquery(&q, 0x1234, QN, DNS_TYPE_AAAA, false);
	mkresp(&r, &mixed_resp);
	o.len = dns64_filter(&s, &q.mi, r.buf, r.len, &r.mi, 512, o.buf,
	    sizeof(o.buf));
	parse_out(&o);
	cr_assert_not(o.mi.edns);
	cr_assert_eq(count(&o, AN, DNS_TYPE_AAAA), 2);
}

Test(filter, truncates)
{
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	struct out	 o;

	section(&s, NULL, NULL);
	mkquery(&q, 0x1234, QN, DNS_TYPE_AAAA, true);
	mkresp(&r, &mixed_resp);
	o.len = dns64_filter(&s, &q.mi, r.buf, r.len, &r.mi, 80, o.buf,
	    sizeof(o.buf));
	parse_out(&o);
	cr_assert_leq(o.len, 80);
	cr_assert(o.mi.flags & DNS_FLAG_TC);
	/* header, question, OPT and the one whole AAAA that fits with it */
	cr_assert_eq(o.mi.ancount, 1);
	cr_assert_eq(o.mi.nscount, 0);
	cr_assert(o.mi.edns);
	assert_client(&o, &q);
	cr_assert_eq(dns64_filter(&s, &q.mi, r.buf, r.len, &r.mi, 512, o.buf,
	    20), 0, "a buffer too small for the question gives 0");
}

/* ------------------------------------------------------------------ */
/* dns64_synthesize                                                   */
/* ------------------------------------------------------------------ */

/* NODATA for AAAA, SOA TTL 900 MINIMUM 300: negative TTL 300. */
static const struct respspec aaaa_nodata = {
	QN, DNS_TYPE_AAAA, DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AD, true, -1,
	{ { NS, "example.com.", DNS_TYPE_SOA, 900, SOA_EX } }
};

/* NODATA for AAAA without an SOA. */
static const struct respspec aaaa_nodata_nosoa = {
	QN, DNS_TYPE_AAAA, DNS_FLAG_RD | DNS_FLAG_RA, false, -1, { { 0 } }
};

static const struct respspec a_two = {
	QN, DNS_TYPE_A, DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AD, true, -1,
	{ { AN, QN, DNS_TYPE_A, 1000, "8.8.8.8" },
	{ AN, QN, DNS_TYPE_A, 100, "8.8.4.4" },
	{ NS, "example.com.", DNS_TYPE_NS, 3600, "ns1.example.com." },
	{ AR, "ns1.example.com.", DNS_TYPE_A, 3600, "1.1.1.1" },
	{ AR, "ns1.example.com.", DNS_TYPE_AAAA, 3600, "2001:db8::53" } }
};

struct synth {
	struct dns64_section s;
	struct query	 q;
	struct pkt	 aaaa, a;
	struct out	 o;
	bool		 synthesized;
};

/* Run dns64_synthesize on x (aaaa NULL when rs_aaaa is NULL). */
static void
run_synth(struct synth *x, const struct respspec *rs_aaaa,
    const struct respspec *rs_a, size_t max)
{
	bool		 first;

	if (rs_aaaa != NULL)
		mkresp(&x->aaaa, rs_aaaa);
	mkresp(&x->a, rs_a);
	/* twice, so that *synthesized is seen to be written either way */
	x->synthesized = true;
	x->o.len = dns64_synthesize(&x->s, &x->q.mi,
	    rs_aaaa != NULL ? x->aaaa.buf : NULL, x->aaaa.len,
	    rs_aaaa != NULL ? &x->aaaa.mi : NULL, x->a.buf, x->a.len,
	    &x->a.mi, max, x->o.buf, sizeof(x->o.buf), &x->synthesized);
	first = x->synthesized;
	x->synthesized = false;
	x->o.len = dns64_synthesize(&x->s, &x->q.mi,
	    rs_aaaa != NULL ? x->aaaa.buf : NULL, x->aaaa.len,
	    rs_aaaa != NULL ? &x->aaaa.mi : NULL, x->a.buf, x->a.len,
	    &x->a.mi, max, x->o.buf, sizeof(x->o.buf), &x->synthesized);
	cr_assert_eq(first, x->synthesized);
	parse_out(&x->o);
	assert_client(&x->o, &x->q);
}

Test(synthesize, basic_ttl_from_soa)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 0x1234, "WWW.Example.Com.", DNS_TYPE_AAAA, true);
	run_synth(&x, &aaaa_nodata, &a_two, 4096);
	cr_assert(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_AD, 0, "AD must be cleared");
	cr_assert(x.o.mi.flags & DNS_FLAG_RA);
	cr_assert(x.o.mi.flags & DNS_FLAG_RD);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_TC, 0);
	cr_assert_eq(count(&x.o, AN, 0), 2);
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 0),
	    "64:ff9b::8.8.8.8");
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl, 300,
	    "min(A 1000, SOA MINIMUM 300)");
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 1),
	    "64:ff9b::8.8.4.4");
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 1)->ttl, 100);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->rclass, DNS_CLASS_IN);
	/* the A record's owner; equal to the question, so written as a
	 * pointer to it (in the client's letter case) */
	cr_assert_eq(strcasecmp(owner(find(&x.o, AN, DNS_TYPE_AAAA, 0)),
	    "www.example.com."), 0, "owner is the A record's");
	/* RFC 6147 5.3.2, 5.4: authority and additional of the A answer */
	cr_assert_eq(count(&x.o, NS, 0), 1);
	cr_assert_str_eq(rdname(&x.o, find(&x.o, NS, DNS_TYPE_NS, 0)),
	    "ns1.example.com.");
	cr_assert_eq(count(&x.o, AR, 0), 2);
	assert_a(&x.o, find(&x.o, AR, DNS_TYPE_A, 0), "1.1.1.1");
	assert_aaaa(&x.o, find(&x.o, AR, DNS_TYPE_AAAA, 0), "2001:db8::53");
	/* EDE 29 to an EDNS client, with our size and its DO bit */
	cr_assert(x.o.mi.edns);
	cr_assert_eq(x.o.mi.ede, EDE_SYNTHESIZED);
	cr_assert_eq(x.o.mi.edns_udp, DNS_EDNS_OUR_SIZE);
	cr_assert_eq(x.o.mi.edns_flags & EDNS_FLAG_DO, 0);
}

Test(synthesize, soa_ttl_below_minimum)
{
	static struct synth x;
	static const struct respspec aaaa = {
		QN, DNS_TYPE_AAAA, DNS_FLAG_RA, false, -1,
		{ { NS, "example.com.", DNS_TYPE_SOA, 60, SOA_EX } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa, &a_two, 4096);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl, 60);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 1)->ttl, 60);
}

Test(synthesize, ttl_without_soa_is_600)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata_nosoa, &a_two, 4096);
	cr_assert(x.synthesized);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl, 600);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 1)->ttl, 100);
}

/*
 * An SOA whose RDATA runs on past MINIMUM is no SOA for the negative TTL
 * (RFC 1035 3.3.13: MINIMUM ends it): the TTL falls back to 600, as
 * without one; the same SOA ending at MINIMUM gives 300.
 */
Test(synthesize, ttl_from_soa_that_ends_at_minimum)
{
	static struct synth x;
	static const struct rrspec soa = {
		NS, "example.com.", DNS_TYPE_SOA, 900, SOA_EX
	};
	struct msg_builder mb;
	uint8_t		 owner[DNS_MAX_NAME], rd[1024];
	size_t		 ol, extra;
	uint16_t	 rl;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	mkresp(&x.a, &a_two);
	for (extra = 0; extra <= 1; extra++) {
		begin_resp(&mb, &x.aaaa, QN, DNS_TYPE_AAAA);
		ol = wname(soa.owner, owner);
		rl = rdata(&soa, rd);
		rd[rl] = 0x77;		/* a byte too many when extra */
		msg_build_rr(&mb, NS, owner, ol, DNS_TYPE_SOA, DNS_CLASS_IN,
		    900, rd, (uint16_t)(rl + extra));
		x.aaaa.len = msg_build_finish(&mb);
		cr_assert(msg_parse_response(x.aaaa.buf, x.aaaa.len,
		    &x.aaaa.mi));
		x.o.len = dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf,
		    x.aaaa.len, &x.aaaa.mi, x.a.buf, x.a.len, &x.a.mi, 4096,
		    x.o.buf, sizeof(x.o.buf), &x.synthesized);
		parse_out(&x.o);
		cr_assert(x.synthesized);
		cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl,
		    extra ? 600 : 300, "extra %zu: TTL %u", extra,
		    find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl);
	}
}

Test(synthesize, no_ede_without_client_edns)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a_two, 4096);
	cr_assert(x.synthesized);
	cr_assert_not(x.o.mi.edns);
	cr_assert_eq(x.o.mi.ede, -1);
}

Test(synthesize, do_bit_copied)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery_class(&x.q, 1, QN, DNS_TYPE_AAAA, DNS_CLASS_IN, true, true);
	run_synth(&x, &aaaa_nodata, &a_two, 4096);
	cr_assert(x.o.mi.edns);
	cr_assert(x.o.mi.edns_flags & EDNS_FLAG_DO);
	cr_assert_eq(x.o.mi.ede, EDE_SYNTHESIZED);
}

Test(synthesize, prefix_order)
{
	static struct synth x;
	static const char *want[] = {
		"2001:db8:64::8.8.8.8", "64:ff9b::8.8.8.8",
		"2001:db8:64::8.8.4.4", "64:ff9b::8.8.4.4",
	};
	size_t		 i;

	section(&x.s, "2001:db8:64::/96", "64:ff9b::/96");
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a_two, 4096);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 4);
	for (i = 0; i < 4; i++)
		assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, i), want[i]);
}

Test(synthesize, maps_per_prefix)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, 0, false, -1,
		{ { AN, QN, DNS_TYPE_A, 300, "10.1.2.3" },
		{ AN, QN, DNS_TYPE_A, 300, "8.8.8.8" } }
	};

	section(&x.s, "64:ff9b::/96", "64:ff9b:1::/48");
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a, 4096);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 3);
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 0),
	    "64:ff9b:1:a01:2:300::");
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 1),
	    "64:ff9b::8.8.8.8");
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 2),
	    "64:ff9b:1:808:8:800::");
}

Test(synthesize, cname_chain_kept)
{
	static struct synth x;
	static const struct respspec aaaa = {
		QN, DNS_TYPE_AAAA, DNS_FLAG_RA, false, -1,
		{ { AN, QN, DNS_TYPE_CNAME, 500, "cdn.example.net." },
		{ NS, "example.net.", DNS_TYPE_SOA, 900, SOA_EX } }
	};
	/* the A query asks for the chain end and finds one more hop */
	static const struct respspec a = {
		"cdn.example.net.", DNS_TYPE_A, DNS_FLAG_RA, false, -1,
		{ { AN, "cdn.example.net.", DNS_TYPE_CNAME, 400,
		"edge.example.org." },
		{ AN, "edge.example.org.", DNS_TYPE_A, 1000, "8.8.8.8" },
		{ AN, "other.example.org.", DNS_TYPE_A, 1000, "8.8.4.4" } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa, &a, 4096);
	cr_assert(x.synthesized);
	cr_assert_eq(count(&x.o, AN, 0), 3);
	cr_assert_eq(x.o.rr[0].type, DNS_TYPE_CNAME);
	cr_assert_str_eq(owner(&x.o.rr[0]), QN);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "cdn.example.net.");
	cr_assert_eq(x.o.rr[0].ttl, 500);
	cr_assert_eq(x.o.rr[1].type, DNS_TYPE_CNAME);
	cr_assert_str_eq(owner(&x.o.rr[1]), "cdn.example.net.");
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[1]), "edge.example.org.");
	cr_assert_eq(x.o.rr[2].type, DNS_TYPE_AAAA);
	cr_assert_str_eq(owner(&x.o.rr[2]), "edge.example.org.");
	assert_aaaa(&x.o, &x.o.rr[2], "64:ff9b::8.8.8.8");
	cr_assert_eq(x.o.rr[2].ttl, 300);
}

/*
 * A CDN chain to 8 addresses: the owners and CNAME targets written again
 * are pointers to their first copy (RFC 1035 4.1.4), so the answer fits
 * 512 bytes whole, as the upstream's A answer did.
 */
Test(synthesize, names_compressed)
{
	static struct synth x;
	static const char *end = "e1234.dscx.akamaiedge.net.";
	static const struct respspec aaaa = {
		QN, DNS_TYPE_AAAA, DNS_FLAG_RA, false, -1,
		{ { AN, QN, DNS_TYPE_CNAME, 500, "www.example.com.edgekey.net." },
		{ AN, "www.example.com.edgekey.net.", DNS_TYPE_CNAME, 500,
		"e1234.dscx.akamaiedge.net." },
		{ NS, "dscx.akamaiedge.net.", DNS_TYPE_SOA, 900, SOA_EX } }
	};
	static struct respspec a = {
		"e1234.dscx.akamaiedge.net.", DNS_TYPE_A, DNS_FLAG_RA, false, -1,
		{ { 0 } }
	};
	static char addrs[8][16];
	size_t		 i, full;

	for (i = 0; i < 8; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "93.184.%zu.1", i);
		a.rr[i] = (struct rrspec){ AN, end, DNS_TYPE_A, 20,
		    addrs[i] };
	}
	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa, &a, 512);
	cr_assert(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_TC, 0, "TC: %zu bytes", x.o.len);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 8);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]),
	    "www.example.com.edgekey.net.");
	cr_assert_str_eq(owner(&x.o.rr[1]), "www.example.com.edgekey.net.");
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[1]), end);
	for (i = 0; i < 8; i++) {
		const struct msg_rr *rr = find(&x.o, AN, DNS_TYPE_AAAA, i);
		char	 want[64];

		cr_assert_str_eq(owner(rr), end);
		/* a pointer: 2 bytes of owner before the 10 of the head */
		cr_assert_eq(rr->rdata_off - rr->owner_off, 12);
		snprintf(want, sizeof(want), "64:ff9b::5db8:%zx01", i);
		assert_aaaa(&x.o, rr, want);
	}
	/* written in full, the owners alone would not have fitted */
	full = x.o.len + 8 * (strlen(end) + 1 - 2);
	cr_assert_gt(full, 512);
}

Test(synthesize, compressed_packets)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 9, "www.example.com.", DNS_TYPE_AAAA, false);
	rawresp(&x.aaaa, dnspython_chain, sizeof(dnspython_chain));
	rawresp(&x.a, dnspython_a, sizeof(dnspython_a));
	x.o.len = dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf, x.aaaa.len,
	    &x.aaaa.mi, x.a.buf, x.a.len, &x.a.mi, 512, x.o.buf,
	    sizeof(x.o.buf), &x.synthesized);
	parse_out(&x.o);
	assert_client(&x.o, &x.q);
	cr_assert(x.synthesized);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_CNAME), 2);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[1]), "edge.example.com.");
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 2);
	assert_aaaa(&x.o, &x.o.rr[2], "64:ff9b::808:808");
	assert_aaaa(&x.o, &x.o.rr[3], "64:ff9b::101:101");
	cr_assert_eq(x.o.rr[2].ttl, 60, "SOA MINIMUM 60 of the AAAA answer");
	cr_assert_str_eq(owner(&x.o.rr[3]), "edge.example.com.");
	cr_assert_str_eq(rdname(&x.o, find(&x.o, NS, DNS_TYPE_NS, 0)),
	    "ns.example.com.");
	assert_a(&x.o, find(&x.o, AR, DNS_TYPE_A, 0), "9.9.9.9");
}

Test(synthesize, a_error_passed)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA | DNS_FLAG_AD | DNS_RCODE_SERVFAIL,
		true, 22, { { 0 } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, true);
	run_synth(&x, &aaaa_nodata, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_SERVFAIL);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_AD, 0);
	cr_assert_eq(x.o.mi.ancount, 0);
	cr_assert(x.o.mi.edns);
	cr_assert_neq(x.o.mi.ede, EDE_SYNTHESIZED);
}

Test(synthesize, a_nxdomain_with_authority)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA | DNS_RCODE_NXDOMAIN, false, -1,
		{ { NS, "example.com.", DNS_TYPE_SOA, 120, SOA_EX } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	/* AAAA timed out, A says NXDOMAIN */
	run_synth(&x, NULL, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NXDOMAIN);
	cr_assert_eq(x.o.mi.ancount, 0);
	cr_assert_eq(count(&x.o, NS, DNS_TYPE_SOA), 1);
	cr_assert_eq(find(&x.o, NS, DNS_TYPE_SOA, 0)->ttl, 120);
}

Test(synthesize, no_usable_a_relays_aaaa)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1,
		{ { NS, "example.com.", DNS_TYPE_SOA, 50, SOA_EX } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 0x5151, "wWw.Example.Com.", DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(x.o.mi.ancount, 0);
	cr_assert_eq(find(&x.o, NS, DNS_TYPE_SOA, 0)->ttl, 900,
	    "the SOA of the AAAA answer");
}

Test(synthesize, only_private_a_under_wkp)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1,
		{ { AN, QN, DNS_TYPE_A, 300, "10.0.0.1" },
		{ AN, QN, DNS_TYPE_A, 300, "192.168.0.1" } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(count(&x.o, AN, 0), 0);
	cr_assert_eq(count(&x.o, NS, DNS_TYPE_SOA), 1);
}

Test(synthesize, relayed_aaaa_loses_excluded)
{
	static struct synth x;
	static const struct respspec aaaa = {
		QN, DNS_TYPE_AAAA, DNS_FLAG_RA, false, -1,
		{ { AN, QN, DNS_TYPE_AAAA, 300, "::ffff:10.0.0.1" } }
	};
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1,
		{ { AN, QN, DNS_TYPE_A, 300, "10.0.0.1" } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 0,
	    "RFC 6147 5.1.4: never return the excluded AAAA");
}

Test(synthesize, aaaa_timeout)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, NULL, &a_two, 4096);
	cr_assert(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_AD, 0);
	cr_assert(x.o.mi.flags & DNS_FLAG_RA);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 2);
	cr_assert_eq(find(&x.o, AN, DNS_TYPE_AAAA, 0)->ttl, 600);
}

Test(synthesize, aaaa_servfail_a_empty)
{
	static struct synth x;
	static const struct respspec aaaa = {
		QN, DNS_TYPE_AAAA, DNS_FLAG_RA | DNS_RCODE_SERVFAIL, false, -1,
		{ { 0 } }
	};
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1, { { 0 } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_SERVFAIL,
	    "the AAAA answer relayed");
}

Test(synthesize, aaaa_timeout_a_empty)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA | DNS_FLAG_AD, false, -1,
		{ { NS, "example.com.", DNS_TYPE_SOA, 70, SOA_EX } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, true);
	run_synth(&x, NULL, &a, 4096);
	cr_assert_not(x.synthesized);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_AD, 0);
	cr_assert_eq(x.o.mi.ancount, 0);
	cr_assert_eq(find(&x.o, NS, DNS_TYPE_SOA, 0)->ttl, 70);
	cr_assert(x.o.mi.edns);
	cr_assert_neq(x.o.mi.ede, EDE_SYNTHESIZED);
}

/*
 * RFC 2181 9: no TC "merely because some extra information could have been
 * included".  4 A records with 6 NS and 12 glue records: for a client of
 * 512 bytes the AAAA records go out whole with the authority, without the
 * glue, and without TC.
 */
Test(synthesize, extras_left_out_without_tc)
{
	static struct synth x;
	static struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1, { { 0 } }
	};
	static char addrs[4][16], ns[6][32], glue[12][16];
	size_t		 i, n = 0;

	for (i = 0; i < 4; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "8.8.%zu.1", i);
		a.rr[n++] = (struct rrspec){ AN, QN, DNS_TYPE_A, 300,
		    addrs[i] };
	}
	for (i = 0; i < 6; i++) {
		snprintf(ns[i], sizeof(ns[i]), "ns%zu.example.com.", i);
		a.rr[n++] = (struct rrspec){ NS, "example.com.", DNS_TYPE_NS,
		    3600, ns[i] };
	}
	for (i = 0; i < 12; i++) {
		snprintf(glue[i], sizeof(glue[i]), "192.0.2.%zu", i + 1);
		a.rr[n++] = (struct rrspec){ AR, ns[i % 6], DNS_TYPE_A, 3600,
		    glue[i] };
	}
	section(&x.s, NULL, NULL);
	mkquery(&x.q, 0x7777, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a, 65535);
	cr_assert_gt(x.o.len, 512, "the test answer fits 512 whole");
	cr_assert_eq(x.o.mi.arcount, 12);
	run_synth(&x, &aaaa_nodata, &a, 512);
	cr_assert_leq(x.o.len, 512);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_TC, 0, "TC for extra records");
	cr_assert_eq(x.o.mi.ancount, 4);
	for (i = 0; i < 4; i++) {
		char	 want[64];

		snprintf(want, sizeof(want), "64:ff9b::808:%zx01", i);
		assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, i), want);
	}
	cr_assert_eq(x.o.mi.nscount, 6, "the authority fits: kept whole");
	cr_assert_eq(x.o.mi.arcount, 0, "glue left out whole");
}

/*
 * Over TCP the limit is 65535 bytes: 2400 A records make 2400 AAAA of 28
 * bytes, 67200 bytes.  The client gets the AAAA records that fit, whole,
 * with TC: not an empty answer that looks like "no address".
 */
Test(synthesize, tcp_limit_keeps_what_fits)
{
	static struct synth x;
	static uint8_t	 qn[DNS_MAX_NAME];
	struct msg_builder mb;
	struct msg_question q;
	struct msg_iter	 it;
	struct msg_rr	 rr;
	size_t		 i, naaaa = 0;
	int		 r;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 0x7777, QN, DNS_TYPE_AAAA, true);
	mkresp(&x.aaaa, &aaaa_nodata);
	memset(&q, 0, sizeof(q));
	q.name_len = wname(QN, qn);
	memcpy(q.name, qn, q.name_len);
	q.qtype = DNS_TYPE_A;
	q.qclass = DNS_CLASS_IN;
	{
		static uint8_t	 abuf[65535];
		static struct msg_info ami;
		size_t		 alen;

		msg_build_init(&mb, abuf, sizeof(abuf), 0x7777,
		    DNS_FLAG_QR | DNS_FLAG_RA);
		msg_build_question(&mb, &q);
		for (i = 0; i < 2400; i++) {
			uint8_t	 a4[4] = { 93, (uint8_t)(i >> 8), (uint8_t)i,
			    1 };

			msg_build_rr_qowner(&mb, AN, DNS_TYPE_A, DNS_CLASS_IN,
			    300, a4, 4);
		}
		alen = msg_build_finish(&mb);
		cr_assert_gt(alen, 0);
		cr_assert(msg_parse_response(abuf, alen, &ami));
		x.o.len = dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf,
		    x.aaaa.len, &x.aaaa.mi, abuf, alen, &ami, 65535, x.o.buf,
		    sizeof(x.o.buf), &x.synthesized);
	}
	cr_assert_gt(x.o.len, 0);
	cr_assert_leq(x.o.len, 65535);
	cr_assert(msg_parse_response(x.o.buf, x.o.len, &x.o.mi));
	cr_assert(x.o.mi.flags & DNS_FLAG_TC, "no TC: %zu bytes, %u AAAA",
	    x.o.len, x.o.mi.ancount);
	cr_assert(x.o.mi.edns);
	msg_iter_init(&it, x.o.buf, x.o.len, &x.o.mi);
	while ((r = msg_iter_next_lazy(&it, &rr)) == 1)
		if (rr.type == DNS_TYPE_AAAA && rr.rdlen == 16)
			naaaa++;
	cr_assert_eq(r, 0);
	cr_assert_eq(naaaa, x.o.mi.ancount);
	cr_assert_gt(naaaa, 2300, "only %zu AAAA of 2400 kept", naaaa);
	cr_assert_lt(naaaa, 2400);
	cr_assert_gt(x.o.len + 28, 65535, "room for one more AAAA was left");
}

Test(synthesize, truncated)
{
	static struct synth x;
	static struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA, false, -1, { { 0 } }
	};
	static char addrs[NRR][16];
	size_t		 i;

	for (i = 0; i < NRR; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "8.8.%zu.1", i);
		a.rr[i] = (struct rrspec){ AN, QN, DNS_TYPE_A, 300,
		    addrs[i] };
	}
	section(&x.s, NULL, NULL);
	mkquery(&x.q, 0x7777, QN, DNS_TYPE_AAAA, true);
	/*
	 * 24 A records: 24 AAAA of 28 bytes do not fit 512.  The answer
	 * holds the whole records that fit with the OPT, in order, and TC
	 * (RFC 2181 9).
	 */
	run_synth(&x, &aaaa_nodata, &a, 512);
	cr_assert_leq(x.o.len, 512);
	cr_assert(x.o.mi.flags & DNS_FLAG_TC);
	cr_assert_gt(x.o.mi.ancount, 10);
	cr_assert_lt(x.o.mi.ancount, NRR);
	cr_assert_gt(x.o.len + 28, 512, "room for one more AAAA was left "
	    "(%zu bytes)", x.o.len);
	for (i = 0; i < x.o.mi.ancount; i++) {
		char	 want[64];

		snprintf(want, sizeof(want), "64:ff9b::808:%zx01", i);
		assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, i), want);
	}
	cr_assert_eq(x.o.mi.nscount, 0);
	cr_assert(x.o.mi.edns);
	cr_assert_eq(x.o.mi.ede, EDE_SYNTHESIZED);
	cr_assert(x.synthesized);
	/* the same over TCP fits */
	run_synth(&x, &aaaa_nodata, &a, 65535);
	cr_assert_eq(x.o.mi.flags & DNS_FLAG_TC, 0);
	cr_assert_eq(x.o.mi.ancount, NRR);
}

/*
 * A record to copy whose RDATA does not parse (an NS name cut short in the
 * A answer's authority section): no answer (the caller sends SERVFAIL),
 * never one with TC set, which would only send the client to TCP for the
 * same broken data.
 */
Test(synthesize, malformed_copied_rdata_no_answer)
{
	static struct synth x;
	static const uint8_t bad_ns[] = { 5, 'a', 'b' };
	struct msg_builder mb;
	uint8_t		 owner[DNS_MAX_NAME];
	size_t		 ol;
	struct in_addr	 a4 = v4("8.8.8.8");
	bool		 synthesized = false;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, true);
	mkresp(&x.aaaa, &aaaa_nodata);
	begin_resp(&mb, &x.a, QN, DNS_TYPE_A);
	ol = wname(QN, owner);
	msg_build_rr(&mb, AN, owner, ol, DNS_TYPE_A, DNS_CLASS_IN, 300, &a4,
	    4);
	ol = wname("example.com.", owner);
	msg_build_rr(&mb, NS, owner, ol, DNS_TYPE_NS, DNS_CLASS_IN, 300,
	    bad_ns, sizeof(bad_ns));
	x.a.len = msg_build_finish(&mb);
	cr_assert(x.a.len > 0);
	cr_assert(msg_parse_response(x.a.buf, x.a.len, &x.a.mi),
	    "the packet itself parses; only the NS RDATA is broken");
	x.o.len = dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf, x.aaaa.len,
	    &x.aaaa.mi, x.a.buf, x.a.len, &x.a.mi, 4096, x.o.buf,
	    sizeof(x.o.buf), &synthesized);
	cr_expect_eq(x.o.len, 0, "an answer of %zu bytes from a broken "
	    "record", x.o.len);
}

Test(synthesize, a_tc_kept)
{
	static struct synth x;
	static const struct respspec a = {
		QN, DNS_TYPE_A, DNS_FLAG_RA | DNS_FLAG_TC, false, -1,
		{ { AN, QN, DNS_TYPE_A, 300, "8.8.8.8" } }
	};

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	run_synth(&x, &aaaa_nodata, &a, 4096);
	cr_assert(x.o.mi.flags & DNS_FLAG_TC);
}

Test(synthesize, buffer_too_small)
{
	static struct synth x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 1, QN, DNS_TYPE_AAAA, false);
	mkresp(&x.aaaa, &aaaa_nodata);
	mkresp(&x.a, &a_two);
	cr_assert_eq(dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf, x.aaaa.len,
	    &x.aaaa.mi, x.a.buf, x.a.len, &x.a.mi, 512, x.o.buf, 16,
	    &x.synthesized), 0);
}

/* ------------------------------------------------------------------ */
/* dns64_ptr_map                                                      */
/* ------------------------------------------------------------------ */

/* ptr_map of a text name under the section; want NULL: not mapped. */
static void
check_ptr_map(const struct dns64_section *s, const char *qname,
    const char *want)
{
	uint8_t		 qn[DNS_MAX_NAME], out[DNS_MAX_NAME], w[DNS_MAX_NAME];
	size_t		 ql = wname(qname, qn), ol = 0, wl;
	bool		 got = dns64_ptr_map(s, qn, ql, out, &ol);

	if (want == NULL) {
		cr_assert_not(got, "%s mapped", qname);
		return;
	}
	cr_assert(got, "%s not mapped", qname);
	wl = wname(want, w);
	cr_assert_eq(ol, wl, "%s", qname);
	cr_assert_arr_eq(out, w, wl, "%s", qname);
}

/* The last 24 nibbles of an address in 64:ff9b::/96, and ip6.arpa. */
#define WKP_ARPA \
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa."

Test(ptr_map, names)
{
	struct dns64_section s;

	section(&s, NULL, NULL);
	/* 64:ff9b::c000:221 */
	check_ptr_map(&s, "1.2.2.0.0.0.0.c." WKP_ARPA,
	    "33.2.0.192.in-addr.arpa.");
	check_ptr_map(&s, "1.2.2.0.0.0.0.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "B.9.F.F.4.6.0.0.IP6.ARPA.", "33.2.0.192.in-addr.arpa.");
	check_ptr_map(&s, "f.f.f.f.f.f.f.f." WKP_ARPA,
	    "255.255.255.255.in-addr.arpa.");
	check_ptr_map(&s, "0.0.0.0.0.0.0.0." WKP_ARPA,
	    "0.0.0.0.in-addr.arpa.");
	/* outside the prefix: 64:ff9c:: */
	check_ptr_map(&s, "1.2.2.0.0.0.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "c.9.f.f.4.6.0.0.ip6.arpa.", NULL);
	/* short: 31 nibbles, and only the prefix part */
	check_ptr_map(&s, "2.2.0.0.0.0.c." WKP_ARPA, NULL);
	check_ptr_map(&s, WKP_ARPA, NULL);
	check_ptr_map(&s, "ip6.arpa.", NULL);
	/* 33 nibbles */
	check_ptr_map(&s, "0.1.2.2.0.0.0.0.c." WKP_ARPA, NULL);
	/* two digits in a label, a non-hex digit, an empty-looking name */
	check_ptr_map(&s, "21.2.0.0.0.0.c." WKP_ARPA, NULL);
	check_ptr_map(&s, "g.2.2.0.0.0.0.c." WKP_ARPA, NULL);
	/* ip6.int and in-addr.arpa are not ip6.arpa */
	check_ptr_map(&s, "1.2.2.0.0.0.0.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "b.9.f.f.4.6.0.0.ip6.int.", NULL);
	check_ptr_map(&s, "33.2.0.192.in-addr.arpa.", NULL);
	check_ptr_map(&s, "1.2.2.0.0.0.0.c." WKP_ARPA "example.", NULL);
}

/* Each byte value as the lowest nibble's digit, then as the next one's:
 * mapped exactly when it is a hexadecimal digit, to its value. */
Test(ptr_map, every_digit_byte)
{
	static const char hex[] = "0123456789abcdef";
	struct dns64_section s;
	uint8_t		 qn[DNS_MAX_NAME], out[DNS_MAX_NAME];
	size_t		 ql, ol, pos;
	unsigned	 c;
	const char	*h;
	bool		 got;

	section(&s, NULL, NULL);
	/* 64:ff9b::c000:200 */
	ql = wname("0.0.2.0.0.0.0.c." WKP_ARPA, qn);
	for (pos = 1; pos <= 3; pos += 2)
		for (c = 0; c < 256; c++) {
			qn[pos] = (uint8_t)c;
			got = dns64_ptr_map(&s, qn, ql, out, &ol);
			qn[pos] = '0';
			h = c != 0 ? strchr(hex, tolower((int)c)) : NULL;
			cr_assert_eq(got, h != NULL, "byte %u at %zu", c, pos);
			if (h == NULL)
				continue;
			/* 192.0.2.N: N's digits lead the name */
			cr_assert_eq(out[0] == 1 ? out[1] - '0' : out[0] == 2 ?
			    (out[1] - '0') * 10 + out[2] - '0' :
			    (out[1] - '0') * 100 + (out[2] - '0') * 10 +
			    out[3] - '0', (int)(h - hex) << (pos == 3 ? 4 : 0),
			    "byte %u at %zu", c, pos);
		}
}

Test(ptr_map, reverse_no)
{
	struct dns64_section s;

	section(&s, NULL, NULL);
	s.reverse = DNS64_REVERSE_NO;
	check_ptr_map(&s, "1.2.2.0.0.0.0.c." WKP_ARPA, NULL);
	s.reverse = DNS64_REVERSE_REWRITE;
	check_ptr_map(&s, "1.2.2.0.0.0.0.c." WKP_ARPA,
	    "33.2.0.192.in-addr.arpa.");
}

/* Nested prefixes: the longest holding the address made it, in either
 * order; an address only the shorter holds maps under that one. */
Test(ptr_map, longest_prefix_wins)
{
	struct dns64_section s;
	struct in6_addr	 a = v6("2001:db8:122:344::192.0.2.33");
	struct in6_addr	 b = v6("2001:db8:c000:221::");
	char		 text[128], btext[128];

	ip6_arpa_text(&a, text);
	ip6_arpa_text(&b, btext);
	section(&s, "2001:db8::/32", "2001:db8:122:344::/96");
	check_ptr_map(&s, text, "33.2.0.192.in-addr.arpa.");
	check_ptr_map(&s, btext, "33.2.0.192.in-addr.arpa.");
	section(&s, "2001:db8:122:344::/96", "2001:db8::/32");
	check_ptr_map(&s, text, "33.2.0.192.in-addr.arpa.");
	check_ptr_map(&s, btext, "33.2.0.192.in-addr.arpa.");
	section(&s, "2001:db9::/32", "64:ff9b::/96");
	check_ptr_map(&s, text, NULL);
}

/* ------------------------------------------------------------------ */
/* dns64_ptr_answer                                                   */
/* ------------------------------------------------------------------ */

#define V4NAME	"33.2.0.192.in-addr.arpa."
#define PTRQ	"1.2.2.0.0.0.0.C." WKP_ARPA

static const struct respspec ptr_two = {
	V4NAME, DNS_TYPE_PTR, DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_AD, false,
	-1,
	{ { AN, V4NAME, DNS_TYPE_PTR, 300, "host.example." },
	{ AN, V4NAME, DNS_TYPE_PTR, 200, "alias.example." },
	{ NS, "2.0.192.in-addr.arpa.", DNS_TYPE_NS, 900, "ns.example." } }
};

struct ptr {
	struct dns64_section s;
	struct query	 q;
	struct pkt	 r;
	struct out	 o;
};

static void
run_ptr(struct ptr *x, enum dns64_reverse mode, bool edns,
    const struct respspec *rs, const char *v4name)
{
	uint8_t		 v4n[DNS_MAX_NAME];
	size_t		 v4l = wname(v4name, v4n);

	section(&x->s, NULL, NULL);
	x->s.reverse = mode;
	mkquery(&x->q, 0x6006, PTRQ, DNS_TYPE_PTR, edns);
	mkresp(&x->r, rs);
	x->o.len = dns64_ptr_answer(&x->s, &x->q.mi, v4n, v4l, x->r.buf,
	    x->r.len, &x->r.mi, 4096, x->o.buf, sizeof(x->o.buf));
	parse_out(&x->o);
	assert_client(&x->o, &x->q);
	cr_assert_eq(x->o.mi.flags & DNS_FLAG_AD, 0);
}

Test(ptr_answer, cname)
{
	static struct ptr x;

	run_ptr(&x, DNS64_REVERSE_CNAME, true, &ptr_two, V4NAME);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(count(&x.o, AN, 0), 3);
	cr_assert_eq(x.o.rr[0].type, DNS_TYPE_CNAME);
	cr_assert_eq(x.o.rr[0].name_len, x.q.mi.q.name_len);
	cr_assert_arr_eq(x.o.rr[0].name, x.q.mi.q.name, x.q.mi.q.name_len);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), V4NAME);
	cr_assert_eq(x.o.rr[0].ttl, 200, "smallest PTR TTL");
	cr_assert_eq(x.o.rr[1].type, DNS_TYPE_PTR);
	cr_assert_str_eq(owner(&x.o.rr[1]), V4NAME);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[1]), "host.example.");
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[2]), "alias.example.");
	cr_assert_eq(count(&x.o, NS, DNS_TYPE_NS), 1);
	cr_assert(x.o.mi.edns);
	cr_assert_eq(x.o.mi.ede, EDE_SYNTHESIZED);
}

Test(ptr_answer, rewrite)
{
	static struct ptr x;

	run_ptr(&x, DNS64_REVERSE_REWRITE, false, &ptr_two, V4NAME);
	cr_assert_eq(count(&x.o, AN, 0), 2);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_PTR), 2);
	cr_assert_arr_eq(x.o.rr[0].name, x.q.mi.q.name, x.q.mi.q.name_len);
	cr_assert_arr_eq(x.o.rr[1].name, x.q.mi.q.name, x.q.mi.q.name_len);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "host.example.");
	cr_assert_eq(x.o.rr[0].ttl, 300);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[1]), "alias.example.");
	cr_assert_eq(x.o.rr[1].ttl, 200);
	cr_assert_not(x.o.mi.edns);
}

Test(ptr_answer, nxdomain)
{
	static struct ptr x;
	static const struct respspec nx = {
		V4NAME, DNS_TYPE_PTR, DNS_FLAG_RA | DNS_RCODE_NXDOMAIN, false,
		-1, { { NS, "2.0.192.in-addr.arpa.", DNS_TYPE_SOA, 60,
		SOA_EX } }
	};

	run_ptr(&x, DNS64_REVERSE_CNAME, true, &nx, V4NAME);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NXDOMAIN);
	cr_assert_eq(x.o.mi.ancount, 0, "no dangling CNAME");
	cr_assert_eq(count(&x.o, NS, DNS_TYPE_SOA), 1);
	cr_assert(x.o.mi.edns);
	cr_assert_neq(x.o.mi.ede, EDE_SYNTHESIZED);
	run_ptr(&x, DNS64_REVERSE_REWRITE, false, &nx, V4NAME);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NXDOMAIN);
	cr_assert_eq(x.o.mi.ancount, 0);
}

Test(ptr_answer, nodata)
{
	static struct ptr x;
	static const struct respspec nd = {
		V4NAME, DNS_TYPE_PTR, DNS_FLAG_RA, false, -1,
		{ { NS, "2.0.192.in-addr.arpa.", DNS_TYPE_SOA, 60, SOA_EX } }
	};

	run_ptr(&x, DNS64_REVERSE_CNAME, false, &nd, V4NAME);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(x.o.mi.ancount, 0);
	cr_assert_eq(count(&x.o, NS, DNS_TYPE_SOA), 1);
}

Test(ptr_answer, servfail)
{
	static struct ptr x;
	static const struct respspec sf = {
		V4NAME, DNS_TYPE_PTR, DNS_FLAG_RA | DNS_RCODE_SERVFAIL, false,
		-1, { { 0 } }
	};

	run_ptr(&x, DNS64_REVERSE_CNAME, false, &sf, V4NAME);
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_SERVFAIL);
	cr_assert_eq(x.o.mi.ancount, 0);
}

/* RFC 2317: the PTR sits behind a CNAME in a classless delegation. */
static const struct respspec ptr_2317 = {
	V4NAME, DNS_TYPE_PTR, DNS_FLAG_RA, false, -1,
	{ { AN, V4NAME, DNS_TYPE_CNAME, 3600, "33.0-63.2.0.192.in-addr.arpa." },
	{ AN, "33.0-63.2.0.192.in-addr.arpa.", DNS_TYPE_PTR, 120,
	"host.example." } }
};

Test(ptr_answer, rfc2317_cname)
{
	static struct ptr x;

	run_ptr(&x, DNS64_REVERSE_CNAME, false, &ptr_2317, V4NAME);
	cr_assert_eq(count(&x.o, AN, 0), 3);
	cr_assert_eq(x.o.rr[0].type, DNS_TYPE_CNAME);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), V4NAME);
	cr_assert_eq(x.o.rr[0].ttl, 120);
	cr_assert_eq(x.o.rr[1].type, DNS_TYPE_CNAME);
	cr_assert_eq(x.o.rr[2].type, DNS_TYPE_PTR);
}

Test(ptr_answer, rfc2317_rewrite)
{
	static struct ptr x;

	run_ptr(&x, DNS64_REVERSE_REWRITE, false, &ptr_2317, V4NAME);
	cr_assert_eq(count(&x.o, AN, 0), 1);
	cr_assert_eq(x.o.rr[0].type, DNS_TYPE_PTR);
	cr_assert_arr_eq(x.o.rr[0].name, x.q.mi.q.name, x.q.mi.q.name_len);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "host.example.");
}

/* ------------------------------------------------------------------ */
/* dns64_local_answer: RFC 8880 7.1, 7.2                              */
/* ------------------------------------------------------------------ */

struct local {
	struct dns64_section s;
	struct query	 q;
	struct out	 o;
};

static size_t
run_local(struct local *x, const char *qname, uint16_t qtype,
    uint16_t qclass, bool edns)
{
	mkquery_class(&x->q, 0x0aa0, qname, qtype, qclass, edns, edns);
	x->o.len = dns64_local_answer(&x->s, &x->q.mi, 4096, x->o.buf,
	    sizeof(x->o.buf));
	if (x->o.len == 0)
		return 0;
	parse_out(&x->o);
	assert_client(&x->o, &x->q);
	cr_assert(x->o.mi.flags & DNS_FLAG_AA);
	cr_assert(x->o.mi.flags & DNS_FLAG_RA);
	cr_assert(x->o.mi.flags & DNS_FLAG_RD, "RD copied");
	cr_assert_eq(x->o.mi.flags & DNS_FLAG_AD, 0);
	cr_assert_eq(x->o.mi.edns, edns);
	if (edns) {
		/* EDE 29 on synthesized AAAA records only */
		cr_assert(x->o.mi.edns_flags & EDNS_FLAG_DO);
		cr_assert_eq(x->o.mi.ede, qtype == DNS_TYPE_AAAA &&
		    x->o.mi.ancount > 0 ? EDE_SYNTHESIZED : -1);
	}
	return x->o.len;
}

/* Our SOA for ipv4only.arpa in the authority section. */
static void
assert_wkn_soa(const struct out *o)
{
	const struct msg_rr *rr;

	cr_assert_eq(count(o, NS, 0), 1);
	rr = find(o, NS, DNS_TYPE_SOA, 0);
	cr_assert_str_eq(owner(rr), "ipv4only.arpa.");
	cr_assert_eq(rr->ttl, 3600);
	cr_assert_str_eq(rdname(o, rr), "localhost.");
}

Test(local, a)
{
	static struct local x;

	section(&x.s, NULL, NULL);
	cr_assert(run_local(&x, "ipv4only.arpa.", DNS_TYPE_A, DNS_CLASS_IN,
	    false));
	cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK, DNS_RCODE_NOERROR);
	cr_assert_eq(count(&x.o, AN, 0), 2);
	assert_a(&x.o, &x.o.rr[0], "192.0.0.170");
	assert_a(&x.o, &x.o.rr[1], "192.0.0.171");
	cr_assert_eq(x.o.rr[0].ttl, 86400);
	cr_assert_eq(count(&x.o, NS, 0), 0);
}

Test(local, aaaa_every_prefix)
{
	static struct local x;
	static const char *want[] = {
		"64:ff9b::192.0.0.170", "2001:db8:c000:aa::",
		"64:ff9b::192.0.0.171", "2001:db8:c000:ab::",
	};
	size_t		 i;

	section(&x.s, "64:ff9b::/96", "2001:db8::/32");
	/* neither the WKP rule nor `mapped` holds these back */
	x.s.mapped_set = true;
	x.s.nmapped = 0;
	cr_assert(run_local(&x, "IPv4Only.Arpa.", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    true));
	cr_assert_eq(count(&x.o, AN, 0), 4);
	for (i = 0; i < 4; i++) {
		assert_aaaa(&x.o, &x.o.rr[i], want[i]);
		cr_assert_eq(x.o.rr[i].ttl, 86400);
	}
}

Test(local, other_types_nodata)
{
	static struct local x;
	static const uint16_t types[] = { DNS_TYPE_MX, DNS_TYPE_NS,
	    DNS_TYPE_SOA, DNS_TYPE_PTR, 16, 255 };
	size_t		 i;

	section(&x.s, NULL, NULL);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cr_assert(run_local(&x, "ipv4only.arpa.", types[i],
		    DNS_CLASS_IN, false), "type %u", types[i]);
		cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK,
		    DNS_RCODE_NOERROR);
		cr_assert_eq(x.o.mi.ancount, 0);
		assert_wkn_soa(&x.o);
	}
}

Test(local, ds_forwarded)
{
	static struct local x;

	section(&x.s, NULL, NULL);
	cr_assert_eq(run_local(&x, "ipv4only.arpa.", DNS_TYPE_DS,
	    DNS_CLASS_IN, false), 0);
}

Test(local, below_is_nxdomain)
{
	static struct local x;
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA,
	    DNS_TYPE_DS, DNS_TYPE_PTR };
	size_t		 i;

	section(&x.s, NULL, NULL);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cr_assert(run_local(&x, "www.sub.IPV4ONLY.arpa.", types[i],
		    DNS_CLASS_IN, true));
		cr_assert_eq(x.o.mi.flags & DNS_RCODE_MASK,
		    DNS_RCODE_NXDOMAIN);
		cr_assert_eq(x.o.mi.ancount, 0);
		assert_wkn_soa(&x.o);
	}
}

Test(local, ptr_in_addr)
{
	static struct local x;

	section(&x.s, NULL, NULL);
	cr_assert(run_local(&x, "170.0.0.192.in-addr.arpa.", DNS_TYPE_PTR,
	    DNS_CLASS_IN, false));
	cr_assert_eq(count(&x.o, AN, 0), 1);
	cr_assert_eq(x.o.rr[0].type, DNS_TYPE_PTR);
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "ipv4only.arpa.");
	cr_assert_eq(x.o.rr[0].ttl, 86400);
	cr_assert(run_local(&x, "171.0.0.192.IN-ADDR.ARPA.", DNS_TYPE_PTR,
	    DNS_CLASS_IN, true));
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "ipv4only.arpa.");
	cr_assert_eq(run_local(&x, "172.0.0.192.in-addr.arpa.", DNS_TYPE_PTR,
	    DNS_CLASS_IN, false), 0);
	cr_assert_eq(run_local(&x, "170.0.0.192.in-addr.arpa.", DNS_TYPE_A,
	    DNS_CLASS_IN, false), 0);
}

Test(local, ptr_ip6_arpa)
{
	static struct local x;
	struct in6_addr	 a;
	char		 text[128];

	section(&x.s, "64:ff9b::/96", "2001:db8:122::/48");
	a = v6("64:ff9b::192.0.0.170");
	ip6_arpa_text(&a, text);
	cr_assert(run_local(&x, text, DNS_TYPE_PTR, DNS_CLASS_IN, false));
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "ipv4only.arpa.");
	a = v6("2001:db8:122:c000:0:ab00::");
	ip6_arpa_text(&a, text);
	cr_assert(run_local(&x, text, DNS_TYPE_PTR, DNS_CLASS_IN, false));
	cr_assert_str_eq(rdname(&x.o, &x.o.rr[0]), "ipv4only.arpa.");
	/* another address, another prefix's form: forwarded */
	a = v6("64:ff9b::192.0.0.172");
	ip6_arpa_text(&a, text);
	cr_assert_eq(run_local(&x, text, DNS_TYPE_PTR, DNS_CLASS_IN, false), 0);
	a = v6("2001:db8::192.0.0.170");
	ip6_arpa_text(&a, text);
	cr_assert_eq(run_local(&x, text, DNS_TYPE_PTR, DNS_CLASS_IN, false), 0);
}

Test(local, not_ours)
{
	static struct local x;

	section(&x.s, NULL, NULL);
	cr_assert_eq(run_local(&x, "www.example.com.", DNS_TYPE_AAAA,
	    DNS_CLASS_IN, false), 0);
	cr_assert_eq(run_local(&x, "arpa.", DNS_TYPE_SOA, DNS_CLASS_IN,
	    false), 0);
	cr_assert_eq(run_local(&x, "xipv4only.arpa.", DNS_TYPE_A,
	    DNS_CLASS_IN, false), 0);
	/* RFC 6147 5.1: other classes are never touched */
	cr_assert_eq(run_local(&x, "ipv4only.arpa.", DNS_TYPE_A, 3, false),
	    0);
	cr_assert_eq(run_local(&x, "170.0.0.192.in-addr.arpa.", DNS_TYPE_PTR,
	    3, false), 0);
}

Test(local, truncated)
{
	static struct local x;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 3, "ipv4only.arpa.", DNS_TYPE_AAAA, false);
	x.o.len = dns64_local_answer(&x.s, &x.q.mi, 40, x.o.buf,
	    sizeof(x.o.buf));
	parse_out(&x.o);
	cr_assert_leq(x.o.len, 40);
	cr_assert(x.o.mi.flags & DNS_FLAG_TC);
	cr_assert_eq(x.o.mi.ancount, 0);
}

/* ------------------------------------------------------------------ */
/* Hostile input                                                      */
/* ------------------------------------------------------------------ */

/* Any answer we write parses back and fits max. */
static void
assert_sane(const uint8_t *buf, size_t len, size_t max)
{
	struct msg_info	 mi;
	struct msg_iter	 it;
	struct msg_rr	 rr;
	int		 r;

	if (len == 0)
		return;
	cr_assert_leq(len, max);
	cr_assert(msg_parse_response(buf, len, &mi));
	msg_iter_init(&it, buf, len, &mi);
	while ((r = msg_iter_next(&it, &rr)) == 1)
		;
	cr_assert_eq(r, 0);
}

/*
 * Every byte of the two dnspython packets set to a few values: each
 * variant that msg_parse_response() accepts goes through every function
 * as AAAA answer, A answer and PTR answer.
 */
Test(hostile, mutated_answers)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x05, 0x0c, 0x1c, 0x3f,
	    0x40, 0x80, 0xc0, 0xc0 | 0x0c, 0xff };
	static struct pkt p, other;
	static uint8_t out[4096];
	static const struct { const uint8_t *b; size_t len; } src[] = {
		{ dnspython_chain, sizeof(dnspython_chain) },
		{ dnspython_a, sizeof(dnspython_a) },
	};
	struct dns64_section s;
	struct query	 q;
	uint8_t		 target[DNS_MAX_NAME], v4n[DNS_MAX_NAME];
	size_t		 tlen, v4l, i, j, k, n, tried = 0;
	bool		 syn;

	section(&s, "64:ff9b::/96", "2001:db8::/32");
	mkquery(&q, 1, "www.example.com.", DNS_TYPE_AAAA, true);
	v4l = wname("33.2.0.192.in-addr.arpa.", v4n);
	for (k = 0; k < 2; k++) {
		rawresp(&other, src[1 - k].b, src[1 - k].len);
		for (i = 0; i < src[k].len; i++)
			for (j = 0; j < sizeof(vals); j++) {
				memcpy(p.buf, src[k].b, src[k].len);
				p.buf[i] = vals[j];
				p.len = src[k].len;
				if (!msg_parse_response(p.buf, p.len, &p.mi))
					continue;
				tried++;
				(void)dns64_classify(&s, &q.mi, p.buf, p.len,
				    &p.mi, target, &tlen);
				n = dns64_filter(&s, &q.mi, p.buf, p.len,
				    &p.mi, 512, out, sizeof(out));
				assert_sane(out, n, 512);
				n = dns64_synthesize(&s, &q.mi, p.buf, p.len,
				    &p.mi, other.buf, other.len, &other.mi,
				    512, out, sizeof(out), &syn);
				assert_sane(out, n, 512);
				n = dns64_synthesize(&s, &q.mi, other.buf,
				    other.len, &other.mi, p.buf, p.len, &p.mi,
				    512, out, sizeof(out), &syn);
				assert_sane(out, n, 512);
				n = dns64_synthesize(&s, &q.mi, NULL, 0, NULL,
				    p.buf, p.len, &p.mi, 100, out,
				    sizeof(out), &syn);
				assert_sane(out, n, 100);
				n = dns64_ptr_answer(&s, &q.mi, v4n, v4l,
				    p.buf, p.len, &p.mi, 512, out,
				    sizeof(out));
				assert_sane(out, n, 512);
			}
		/* and every shorter length */
		for (i = 0; i < src[k].len; i++) {
			memcpy(p.buf, src[k].b, i);
			if (!msg_parse_response(p.buf, i, &p.mi))
				continue;
			n = dns64_filter(&s, &q.mi, p.buf, i, &p.mi, 512,
			    out, sizeof(out));
			assert_sane(out, n, 512);
		}
	}
	cr_assert_gt(tried, 100, "only %zu variants parsed", tried);
}

Test(hostile, ptr_map_names)
{
	struct dns64_section s;
	uint8_t		 qn[DNS_MAX_NAME], out[DNS_MAX_NAME];
	size_t		 ql, ol, i;
	int		 c;

	section(&s, NULL, NULL);
	ql = wname("1.2.2.0.0.0.0.c." WKP_ARPA, qn);
	/* every byte of the name replaced: never a crash, and a mapped
	 * name always gives a well-formed in-addr.arpa name */
	for (i = 0; i < ql; i++)
		for (c = 0; c < 256; c++) {
			uint8_t	 m[DNS_MAX_NAME];

			memcpy(m, qn, ql);
			m[i] = (uint8_t)c;
			ol = 0;
			if (dns64_ptr_map(&s, m, ql, out, &ol))
				cr_assert_eq(wire_name_len(out, ol), ol);
		}
	/* lengths that cut the name */
	for (i = 0; i < ql; i++)
		cr_assert_not(dns64_ptr_map(&s, qn, i, out, &ol));
}

/*
 * Found while fuzzing (fuzz_synth): every CNAME/DNAME of the A answer
 * was looked up in the whole AAAA answer, so two hostile 64 KB answers
 * (thousands of CNAMEs each) took seconds of CPU in one call and stalled
 * the worker.  Only the first 2 * 16 of the A answer's chain records are
 * taken now: enough for the 16 hops chain_end() follows.
 */
Test(hostile, a_answer_cname_flood_is_cut)
{
	static struct synth x;
	struct msg_builder mb;
	struct msg_question q;
	uint8_t		 on[DNS_MAX_NAME], tn[DNS_MAX_NAME];
	uint8_t		 addr[4] = { 8, 8, 8, 8 };
	size_t		 ol, tl;
	char		 t[32];
	int		 i;

	section(&x.s, NULL, NULL);
	mkquery(&x.q, 3, QN, DNS_TYPE_AAAA, false);
	mkresp(&x.aaaa, &(struct respspec){ QN, DNS_TYPE_AAAA, DNS_FLAG_RA,
	    false, -1, { { NS, "example.com.", DNS_TYPE_SOA, 900,
	    SOA_EX } } });
	/* the A answer: its A record, then 100 CNAMEs of other names */
	q = x.q.mi.q;
	q.qtype = DNS_TYPE_A;
	tl = wname("target.example.", tn);
	msg_build_init(&mb, x.a.buf, sizeof(x.a.buf), 4, DNS_FLAG_QR |
	    DNS_FLAG_RA);
	msg_build_question(&mb, &q);
	msg_build_rr(&mb, AN, q.name, q.name_len, DNS_TYPE_A, DNS_CLASS_IN,
	    300, addr, 4);
	for (i = 0; i < 100; i++) {
		snprintf(t, sizeof(t), "c%d.example.", i);
		ol = wname(t, on);
		msg_build_rr(&mb, AN, on, ol, DNS_TYPE_CNAME, DNS_CLASS_IN,
		    300, tn, (uint16_t)tl);
	}
	x.a.len = msg_build_finish(&mb);
	cr_assert(x.a.len > 0);
	cr_assert(msg_parse_response(x.a.buf, x.a.len, &x.a.mi));

	x.o.len = dns64_synthesize(&x.s, &x.q.mi, x.aaaa.buf, x.aaaa.len,
	    &x.aaaa.mi, x.a.buf, x.a.len, &x.a.mi, OUTMAX, x.o.buf,
	    sizeof(x.o.buf), &x.synthesized);
	parse_out(&x.o);
	assert_client(&x.o, &x.q);
	cr_assert(x.synthesized);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_CNAME), 32);
	cr_assert_eq(count(&x.o, AN, DNS_TYPE_AAAA), 1);
	assert_aaaa(&x.o, find(&x.o, AN, DNS_TYPE_AAAA, 0), "64:ff9b::808:808");
}

/* The same flood at full size against an AAAA answer just as large must
 * not take seconds (it took 2.6 s at -O2 before). */
Test(hostile, cname_flood_64k_is_quick, .timeout = 2)
{
	static uint8_t	 aaaa[DNS_MAX_UDP], a[DNS_MAX_UDP], out[DNS_MAX_UDP];
	static const uint8_t self[2] = { 0xc0, 0x0c }, xn[3] = { 1, 'x', 0 };
	struct dns64_section s;
	struct query	 q;
	struct msg_builder mb;
	struct msg_question qq;
	struct msg_info	 ai, ani;
	uint8_t		 addr[4] = { 8, 8, 8, 8 };
	size_t		 aaaa_len, a_len, n;
	bool		 syn;

	section(&s, NULL, NULL);
	mkquery(&q, 5, QN, DNS_TYPE_AAAA, false);
	qq = q.mi.q;
	/* AAAA answer: the question name CNAME to itself, ~4600 times */
	msg_build_init(&mb, aaaa, sizeof(aaaa), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &qq);
	while (mb.b.len + 14 <= sizeof(aaaa))
		msg_build_rr(&mb, AN, qq.name, qq.name_len, DNS_TYPE_CNAME,
		    DNS_CLASS_IN, 60, self, sizeof(self));
	aaaa_len = msg_build_finish(&mb);
	cr_assert(msg_parse_response(aaaa, aaaa_len, &ai));
	/* A answer: one A record, then ~4300 CNAMEs owned by "x." */
	qq.qtype = DNS_TYPE_A;
	msg_build_init(&mb, a, sizeof(a), 2, DNS_FLAG_QR);
	msg_build_question(&mb, &qq);
	msg_build_rr(&mb, AN, qq.name, qq.name_len, DNS_TYPE_A, DNS_CLASS_IN,
	    60, addr, 4);
	while (mb.b.len + 15 <= sizeof(a))
		msg_build_rr(&mb, AN, xn, sizeof(xn), DNS_TYPE_CNAME,
		    DNS_CLASS_IN, 60, self, sizeof(self));
	a_len = msg_build_finish(&mb);
	cr_assert(msg_parse_response(a, a_len, &ani));
	cr_assert_gt(ai.ancount, 4000);
	cr_assert_gt(ani.ancount, 4000);

	n = dns64_synthesize(&s, &q.mi, aaaa, aaaa_len, &ai, a, a_len, &ani,
	    512, out, sizeof(out), &syn);
	cr_assert(n > 0 && n <= 512);
	cr_assert(syn);
}
