/*
 * test_cache.c: unit tests of the answer cache (cache.c): hits with the
 * TTLs counted down, the client's ID and letter case put in, expiry, RFC
 * 2308 negative caching, what is never kept, the key, LRU eviction,
 * replacement, truncation on the way out, flush, the size limits.
 *
 * Packets are built with the msg_builder API and every answer the cache
 * gives is parsed back with msg_parse_response() and msg_iter.
 * Parameterized cases carry plain values, never pointers: criterion runs
 * each one in a forked process.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "cache.h"
#include "msg.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

#define T0	1000000u	/* "now" of most stores */
#define OUTCAP	65535

#define AN	DNS_SECTION_ANSWER
#define NS	DNS_SECTION_AUTHORITY
#define AR	DNS_SECTION_ADDITIONAL

#define Q_EDNS	0x01	/* the query carries an OPT RR */
#define Q_DO	0x02	/* ... with DO */
#define Q_CD	0x04	/* CD set */
#define Q_NORD	0x08	/* RD clear */
#define Q_AD	0x10	/* AD set */

static size_t
wname(const char *text, uint8_t *out)
{
	size_t	 n = wire_name_from_text(text, out, DNS_MAX_NAME);

	cr_assert(n > 0, "bad test name \"%s\"", text);
	return n;
}

/* A client query. */
struct query {
	uint8_t		 buf[512];
	size_t		 len;
	struct msg_info	 mi;
};

static void
mkquery_full(struct query *q, uint16_t id, const char *qname, uint16_t qtype,
    uint16_t qclass, unsigned qflags, uint16_t udp)
{
	uint8_t		 n[DNS_MAX_NAME];
	size_t		 nl = wname(qname, n);
	uint8_t		 opt[11] = { 0, 0, 41, (uint8_t)(udp >> 8),
	    (uint8_t)udp, 0, 0, (qflags & Q_DO) ? 0x80 : 0, 0, 0, 0 };
	uint16_t	 flags = 0;

	if (!(qflags & Q_NORD))
		flags |= DNS_FLAG_RD;
	if (qflags & Q_CD)
		flags |= DNS_FLAG_CD;
	if (qflags & Q_AD)
		flags |= DNS_FLAG_AD;
	if (qflags & Q_DO)
		qflags |= Q_EDNS;
	q->len = msg_build_query(q->buf, sizeof(q->buf), id, flags, n, nl,
	    qtype, qclass, (qflags & Q_EDNS) ? opt : NULL,
	    (qflags & Q_EDNS) ? sizeof(opt) : 0);
	cr_assert(q->len > 0);
	cr_assert_eq(msg_parse_query(q->buf, q->len, &q->mi), MSG_OK);
}

static void
mkquery(struct query *q, uint16_t id, const char *qname, uint16_t qtype,
    unsigned qflags)
{
	mkquery_full(q, id, qname, qtype, DNS_CLASS_IN, qflags, 1232);
}

static void
key(struct cache_key *k, const struct query *q, int section)
{
	cache_key_make(k, &q->mi, section);
}

/* A response under construction. */
struct resp {
	uint8_t		 buf[16384];
	size_t		 len;
	struct msg_builder mb;
	struct msg_info	 mi;
};

/* Header and question; flags get QR and the RCODE. */
static void
rbegin(struct resp *r, uint16_t id, const char *qname, uint16_t qtype,
    uint16_t qclass, uint16_t flags, int rcode)
{
	struct msg_question q;

	memset(&q, 0, sizeof(q));
	q.name_len = wname(qname, q.name);
	q.qtype = qtype;
	q.qclass = qclass;
	msg_build_init(&r->mb, r->buf, sizeof(r->buf), id,
	    (uint16_t)(DNS_FLAG_QR | flags | (rcode & DNS_RCODE_MASK)));
	msg_build_question(&r->mb, &q);
}

static void
rr_a(struct resp *r, int sec, const char *owner, uint32_t ttl,
    const char *addr)
{
	uint8_t		 n[DNS_MAX_NAME];
	struct in_addr	 a;

	cr_assert_eq(inet_pton(AF_INET, addr, &a), 1);
	msg_build_rr(&r->mb, sec, n, wname(owner, n), DNS_TYPE_A,
	    DNS_CLASS_IN, ttl, &a, 4);
}

static void
rr_aaaa(struct resp *r, int sec, const char *owner, uint32_t ttl,
    const char *addr)
{
	uint8_t		 n[DNS_MAX_NAME];
	struct in6_addr	 a;

	cr_assert_eq(inet_pton(AF_INET6, addr, &a), 1);
	msg_build_rr(&r->mb, sec, n, wname(owner, n), DNS_TYPE_AAAA,
	    DNS_CLASS_IN, ttl, &a, 16);
}

/* A record whose RDATA is a name (NS, CNAME, PTR). */
static void
rr_name(struct resp *r, int sec, const char *owner, uint16_t type,
    uint32_t ttl, const char *target)
{
	uint8_t		 n[DNS_MAX_NAME], t[DNS_MAX_NAME];
	size_t		 tl = wname(target, t);

	msg_build_rr(&r->mb, sec, n, wname(owner, n), type, DNS_CLASS_IN,
	    ttl, t, (uint16_t)tl);
}

static void
rr_soa(struct resp *r, const char *zone, uint32_t ttl, uint32_t minimum)
{
	uint8_t		 n[DNS_MAX_NAME], rd[2 * DNS_MAX_NAME + 20];
	uint32_t	 v[5] = { 2024010101u, 3600, 600, 86400, minimum };
	size_t		 l;
	int		 i;

	l = wname("ns1.example.test", rd);
	l += wname("hostmaster.example.test", rd + l);
	for (i = 0; i < 5; i++) {
		rd[l++] = (uint8_t)(v[i] >> 24);
		rd[l++] = (uint8_t)(v[i] >> 16);
		rd[l++] = (uint8_t)(v[i] >> 8);
		rd[l++] = (uint8_t)v[i];
	}
	msg_build_rr(&r->mb, NS, n, wname(zone, n), DNS_TYPE_SOA,
	    DNS_CLASS_IN, ttl, rd, (uint16_t)l);
}

/* A TXT record of rdlen bytes (one or more character strings). */
static void
rr_txt(struct resp *r, int sec, const char *owner, uint32_t ttl,
    size_t rdlen)
{
	uint8_t		 n[DNS_MAX_NAME], rd[4096];
	size_t		 l = 0, chunk;

	cr_assert(rdlen > 0 && rdlen <= sizeof(rd));
	while (l < rdlen) {
		chunk = rdlen - l - 1;
		if (chunk > 255)
			chunk = 255;
		rd[l++] = (uint8_t)chunk;
		memset(rd + l, 'x', chunk);
		l += chunk;
	}
	msg_build_rr(&r->mb, sec, n, wname(owner, n), 16, DNS_CLASS_IN, ttl,
	    rd, (uint16_t)rdlen);
}

/* An OPT RR of these option bytes (code, length, data, ...). */
static void
rr_opt(struct resp *r, const uint8_t *opts, size_t olen)
{
	static const uint8_t root = 0;

	msg_build_rr(&r->mb, AR, &root, 1, DNS_TYPE_OPT, 1232, 0, opts,
	    (uint16_t)olen);
}

static void
rend(struct resp *r)
{
	r->len = msg_build_finish(&r->mb);
	cr_assert(r->len > 0, "test response does not fit");
	cr_assert(msg_parse_response(r->buf, r->len, &r->mi),
	    "test response does not parse");
}

/* NOERROR, one A record of ttl, for (qname, A) with flags RD|RA. */
static void
simple_a(struct resp *r, const char *qname, uint32_t ttl, const char *addr)
{
	rbegin(r, 0x4242, qname, DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(r, AN, qname, ttl, addr);
	rend(r);
}

/* What the cache gave back, parsed. */
struct got {
	uint8_t		 buf[OUTCAP];
	size_t		 len;
	struct msg_info	 mi;
	int		 n;
	struct msg_rr	 rr[80];
};

static bool
lookup(struct cache *c, const struct query *q, int section, uint32_t now,
    size_t max, struct got *g)
{
	struct cache_key k;
	struct msg_iter	 it;
	int		 r;

	key(&k, q, section);
	memset(g, 0, sizeof(*g));
	g->len = cache_lookup(c, &k, &q->mi, now, max, g->buf,
	    sizeof(g->buf));
	if (g->len == 0)
		return false;
	cr_assert(msg_parse_response(g->buf, g->len, &g->mi),
	    "cached answer does not parse");
	msg_iter_init(&it, g->buf, g->len, &g->mi);
	while ((r = msg_iter_next(&it, &g->rr[g->n])) == 1) {
		g->n++;
		cr_assert(g->n < 80);
	}
	cr_assert_eq(r, 0, "cached answer has a bad RR");
	return true;
}

static bool
store(struct cache *c, const struct query *q, int section,
    const struct resp *r, uint32_t now)
{
	struct cache_key k;

	key(&k, q, section);
	return cache_store(c, &k, r->buf, r->len, now);
}

/* The IPv4 address in the first A record of the answer, as text. */
static const char *
first_a(const struct got *g, char *buf)
{
	int	 i;

	for (i = 0; i < g->n; i++)
		if (g->rr[i].type == DNS_TYPE_A && g->rr[i].rdlen == 4)
			return inet_ntop(AF_INET, g->buf + g->rr[i].rdata_off,
			    buf, INET_ADDRSTRLEN);
	return "";
}

/* ------------------------------------------------------------------ */
/* Hits                                                               */
/* ------------------------------------------------------------------ */

Test(hit, ttl_counted_down_in_every_rr)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	int		 i, opt = 0;

	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, Q_EDNS | Q_DO);
	rbegin(&r, 1, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.2");
	rr_name(&r, NS, "example.test", DNS_TYPE_NS, 300, "ns1.example.test");
	rr_a(&r, AR, "ns1.example.test", 300, "192.0.2.53");
	msg_build_opt(&r.mb, 4096, EDNS_FLAG_DO, -1);
	rend(&r);

	cr_assert(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 1);
	cr_assert(lookup(c, &q, 0, T0 + 100, 4096, &g));
	cr_expect_eq(g.len, r.len);
	cr_expect_eq(g.mi.ancount, 2);
	cr_expect_eq(g.mi.nscount, 1);
	cr_expect_eq(g.mi.arcount, 2);
	for (i = 0; i < g.n; i++) {
		if (g.rr[i].type == DNS_TYPE_OPT) {
			opt++;
			continue;
		}
		cr_expect_eq(g.rr[i].ttl, 200, "RR %d (section %d): TTL %u",
		    i, g.rr[i].section, g.rr[i].ttl);
		/* RDATA untouched */
		cr_expect_eq(memcmp(g.buf + g.rr[i].rdata_off,
		    r.buf + g.rr[i].rdata_off, g.rr[i].rdlen), 0);
	}
	cr_expect_eq(opt, 1);
	/* The OPT's TTL field holds flags, never a TTL: DO still there. */
	cr_expect(g.mi.edns);
	cr_expect_eq(g.mi.edns_flags & EDNS_FLAG_DO, EDNS_FLAG_DO);
	cr_expect_eq(g.mi.edns_udp, 4096);
	/* Header flags as stored. */
	cr_expect_eq(g.mi.flags & ~DNS_RCODE_MASK, r.mi.flags &
	    ~DNS_RCODE_MASK);
	cr_expect_eq(msg_rcode(&g.mi), DNS_RCODE_NOERROR);

	/* A second look-up, later: counted from the store, not the hit. */
	cr_assert(lookup(c, &q, 0, T0 + 250, 4096, &g));
	for (i = 0; i < g.n; i++)
		if (g.rr[i].type != DNS_TYPE_OPT)
			cr_expect_eq(g.rr[i].ttl, 50);
	/* At the store time itself: the TTLs as they came. */
	cr_assert(lookup(c, &q, 0, T0, 4096, &g));
	for (i = 0; i < g.n; i++)
		if (g.rr[i].type != DNS_TYPE_OPT)
			cr_expect_eq(g.rr[i].ttl, 300);
	cache_free(c);
}

/*
 * The entry lives as long as the smallest answer/authority TTL; the
 * additional section does not shorten it, and its TTLs stop at zero.
 */
Test(hit, additional_counted_down_not_limiting)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 1, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_name(&r, NS, "example.test", DNS_TYPE_NS, 3600,
	    "ns1.example.test");
	rr_a(&r, AR, "ns1.example.test", 50, "192.0.2.53");
	rr_a(&r, AR, "ns2.example.test", 7200, "192.0.2.54");
	rend(&r);

	cr_assert(store(c, &q, -1, &r, T0));
	cr_assert(lookup(c, &q, -1, T0 + 100, 512, &g));
	cr_assert_eq(g.n, 4);
	cr_expect_eq(g.rr[0].ttl, 200);
	cr_expect_eq(g.rr[1].ttl, 3500);
	cr_expect_eq(g.rr[2].ttl, 0, "additional TTL 50 after 100 s: %u",
	    g.rr[2].ttl);
	cr_expect_eq(g.rr[3].ttl, 7100);
	/* Still there until the answer's TTL runs out. */
	cr_expect(lookup(c, &q, -1, T0 + 299, 512, &g));
	cr_expect_not(lookup(c, &q, -1, T0 + 300, 512, &g));
	cache_free(c);
}

/* The smallest TTL of answer and authority decides. */
Test(hit, authority_ttl_limits)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 1, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 3600, "192.0.2.1");
	rr_name(&r, NS, "example.test", DNS_TYPE_NS, 120, "ns1.example.test");
	rend(&r);

	cr_assert(store(c, &q, -1, &r, T0));
	cr_expect(lookup(c, &q, -1, T0 + 119, 512, &g));
	cr_expect_not(lookup(c, &q, -1, T0 + 120, 512, &g));
	cache_free(c);
}

Test(hit, client_id_and_letter_case)
{
	struct cache	*c = cache_new(16);
	struct query	 q1, q2, q3;
	struct resp	 r;
	struct got	 g;
	uint8_t		 want[DNS_MAX_NAME];
	size_t		 wl;
	char		 a[INET_ADDRSTRLEN];

	mkquery(&q1, 0x1111, "WWW.Example.TEST", DNS_TYPE_A, 0);
	simple_a(&r, "WWW.Example.TEST", 300, "192.0.2.7");
	cr_assert(store(c, &q1, 0, &r, T0));

	mkquery(&q2, 0xbeef, "www.example.test", DNS_TYPE_A, 0);
	cr_assert(lookup(c, &q2, 0, T0 + 1, 512, &g));
	cr_expect_eq(g.mi.id, 0xbeef);
	cr_expect_eq(g.mi.q.name_len, q2.mi.q.name_len);
	cr_expect_eq(memcmp(g.mi.q.name, q2.mi.q.name, q2.mi.q.name_len), 0,
	    "the question is not the client's");
	cr_expect_eq(g.mi.q.qtype, DNS_TYPE_A);
	cr_expect_eq(g.mi.q.qclass, DNS_CLASS_IN);
	/* The owner is compressed to the question: the client's case too. */
	cr_assert_eq(g.n, 1);
	cr_expect_eq(memcmp(g.rr[0].name, q2.mi.q.name, q2.mi.q.name_len), 0);
	cr_expect_str_eq(first_a(&g, a), "192.0.2.7");

	mkquery(&q3, 0x0102, "wWw.eXaMpLe.TeSt", DNS_TYPE_A, 0);
	cr_assert(lookup(c, &q3, 0, T0 + 2, 512, &g));
	cr_expect_eq(g.mi.id, 0x0102);
	wl = wname("wWw.eXaMpLe.TeSt", want);
	cr_expect_eq(memcmp(g.buf + DNS_HDR_LEN, want, wl), 0);

	/* And the first client again: its own case. */
	cr_assert(lookup(c, &q1, 0, T0 + 3, 512, &g));
	cr_expect_eq(g.mi.id, 0x1111);
	cr_expect_eq(memcmp(g.mi.q.name, q1.mi.q.name, q1.mi.q.name_len), 0);
	cr_expect_eq(cache_count(c), 1);
	cache_free(c);
}

Test(hit, udp_size_and_id_not_in_key)
{
	struct cache	*c = cache_new(16);
	struct query	 q1, q2;
	struct resp	 r;
	struct got	 g;

	mkquery_full(&q1, 1, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    Q_EDNS, 4096);
	mkquery_full(&q2, 2, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    Q_EDNS, 1232);
	simple_a(&r, "www.example.test", 300, "192.0.2.7");
	cr_assert(store(c, &q1, 0, &r, T0));
	cr_expect(lookup(c, &q2, 0, T0, 1232, &g));
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Expiry                                                             */
/* ------------------------------------------------------------------ */

Test(expiry, at_and_after)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 300, "192.0.2.7");
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + 299, 512, &g));
	cr_expect_eq(g.rr[0].ttl, 1);
	cr_expect_eq(cache_count(c), 1);
	cr_expect_not(lookup(c, &q, 0, T0 + 300, 512, &g),
	    "hit at the expiry time");
	cr_expect_eq(cache_count(c), 0, "the expired entry was not removed");
	cr_expect_not(lookup(c, &q, 0, T0 + 1, 512, &g),
	    "the removed entry came back");

	cr_assert(store(c, &q, 0, &r, T0));
	cr_expect_not(lookup(c, &q, 0, T0 + 100000, 512, &g));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/* Seconds counted on uint32_t: a store just before the wrap still ages. */
Test(expiry, clock_wraps)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	uint32_t	 t = 0xffffff00u;

	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 600, "192.0.2.7");
	cr_assert(store(c, &q, 0, &r, t));
	cr_assert(lookup(c, &q, 0, t + 500, 512, &g));	/* wrapped */
	cr_expect_eq(g.rr[0].ttl, 100);
	cr_expect_not(lookup(c, &q, 0, t + 600, 512, &g));
	cache_free(c);
}

/* Entries in one chain: removing one leaves the others findable. */
Test(expiry, many_entries_some_expire)
{
	struct cache	*c = cache_new(2000);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	char		 name[64];
	int		 i;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		mkquery(&q, (uint16_t)i, name, DNS_TYPE_A, 0);
		simple_a(&r, name, (i % 2) ? 100 : 1000, "192.0.2.7");
		cr_assert(store(c, &q, 0, &r, T0));
	}
	cr_assert_eq(cache_count(c), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		mkquery(&q, (uint16_t)i, name, DNS_TYPE_A, 0);
		cr_assert_eq(lookup(c, &q, 0, T0 + 500, 512, &g), i % 2 == 0,
		    "%s", name);
	}
	cr_expect_eq(cache_count(c), 500);
	for (i = 0; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		mkquery(&q, (uint16_t)i, name, DNS_TYPE_A, 0);
		cr_assert(lookup(c, &q, 0, T0 + 999, 512, &g), "%s", name);
		cr_expect_eq(g.rr[0].ttl, 1);
	}
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Negative answers (RFC 2308)                                        */
/* ------------------------------------------------------------------ */

struct neg_case {
	char		 name[24];
	int		 rcode;
	uint32_t	 soa_ttl;
	uint32_t	 minimum;
	uint32_t	 life;		/* expected time kept */
};

static struct neg_case neg_cases[] = {
	{ "nx minimum smaller",	DNS_RCODE_NXDOMAIN,	900,	60,	60 },
	{ "nx soa ttl smaller",	DNS_RCODE_NXDOMAIN,	30,	600,	30 },
	{ "nx equal",		DNS_RCODE_NXDOMAIN,	120,	120,	120 },
	{ "nodata min smaller",	DNS_RCODE_NOERROR,	3600,	300,	300 },
	{ "nodata ttl smaller",	DNS_RCODE_NOERROR,	45,	86400,	45 },
	{ "nx capped",		DNS_RCODE_NXDOMAIN,	200000,	100000,	86400 },
};

ParameterizedTestParameters(negative, soa_time)
{
	return cr_make_param_array(struct neg_case, neg_cases,
	    sizeof(neg_cases) / sizeof(neg_cases[0]));
}

ParameterizedTest(struct neg_case *t, negative, soa_time)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "nope.example.test", DNS_TYPE_AAAA, 0);
	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, t->rcode);
	rr_soa(&r, "example.test", t->soa_ttl, t->minimum);
	rend(&r);

	cr_assert(store(c, &q, 0, &r, T0), "%s: not kept", t->name);
	/*
	 * RFC 2308 5: the SOA goes out with the negative TTL, min(SOA TTL,
	 * MINIMUM) within the cache's own cap, counted down, so that it
	 * ends when the entry does.
	 */
	cr_assert(lookup(c, &q, 0, T0 + 1, 512, &g));
	cr_assert_eq(g.n, 1);
	cr_expect_eq(g.rr[0].ttl, t->life - 1, "%s: SOA TTL %u after 1 s",
	    t->name, g.rr[0].ttl);
	cr_assert(lookup(c, &q, 0, T0 + t->life - 1, 512, &g),
	    "%s: gone before %u s", t->name, t->life);
	cr_expect_eq(msg_rcode(&g.mi), t->rcode);
	cr_expect_eq(g.mi.ancount, 0);
	cr_assert_eq(g.n, 1);
	cr_expect_eq(g.rr[0].type, DNS_TYPE_SOA);
	cr_expect_eq(g.rr[0].ttl, 1, "%s: SOA TTL %u at the end", t->name,
	    g.rr[0].ttl);
	cr_expect_eq(g.mi.id, 7);
	cr_expect_not(lookup(c, &q, 0, T0 + t->life, 512, &g),
	    "%s: still there after %u s", t->name, t->life);
	cache_free(c);
}

Test(negative, without_soa_not_kept)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "nope.example.test", DNS_TYPE_AAAA, 0);
	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NXDOMAIN);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "NXDOMAIN without SOA kept");

	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "empty NODATA kept");

	/* A referral: NS in authority but no SOA. */
	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_name(&r, NS, "example.test", DNS_TYPE_NS, 3600,
	    "ns1.example.test");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "NODATA with NS only kept");

	/* An SOA in the additional section does not count. */
	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NXDOMAIN);
	rr_a(&r, AR, "ns1.example.test", 300, "192.0.2.53");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/*
 * RFC 2308 2.1/2.2: NXDOMAIN or NODATA at the end of a CNAME chain.  The
 * answer section holds the chain, the SOA still bounds the time kept, and
 * so do the chain's own TTLs.
 */
struct chain_case {
	char		 name[32];
	int		 rcode;
	uint32_t	 cname_ttl;
	uint32_t	 soa_ttl;
	uint32_t	 minimum;
	uint32_t	 life;
};

static struct chain_case chain_cases[] = {
	{ "nodata minimum",	DNS_RCODE_NOERROR,	3600,	3600,	60,	60 },
	{ "nodata soa ttl",	DNS_RCODE_NOERROR,	3600,	90,	600,	90 },
	{ "nodata cname ttl",	DNS_RCODE_NOERROR,	30,	3600,	600,	30 },
	{ "nx minimum",		DNS_RCODE_NXDOMAIN,	3600,	3600,	60,	60 },
	{ "nx cname ttl",	DNS_RCODE_NXDOMAIN,	30,	300,	300,	30 },
};

ParameterizedTestParameters(negative, cname_chain)
{
	return cr_make_param_array(struct chain_case, chain_cases,
	    sizeof(chain_cases) / sizeof(chain_cases[0]));
}

ParameterizedTest(struct chain_case *t, negative, cname_chain)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "alias.example.test", 15, 0);
	rbegin(&r, 7, "alias.example.test", 15, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, t->rcode);
	rr_name(&r, AN, "alias.example.test", DNS_TYPE_CNAME, t->cname_ttl,
	    "target.example.test");
	rr_soa(&r, "example.test", t->soa_ttl, t->minimum);
	rend(&r);

	cr_assert(store(c, &q, 0, &r, T0), "%s: not kept", t->name);
	cr_assert(lookup(c, &q, 0, T0 + t->life - 1, 512, &g),
	    "%s: gone before %u s", t->name, t->life);
	cr_expect_eq(msg_rcode(&g.mi), t->rcode);
	cr_expect_eq(g.mi.ancount, 1);
	cr_expect_not(lookup(c, &q, 0, T0 + t->life, 512, &g),
	    "%s: still there after %u s", t->name, t->life);
	cache_free(c);
}

/* A CNAME chain to nothing, without an SOA: an NXDOMAIN is not kept. */
Test(negative, cname_chain_without_soa)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "alias.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 7, "alias.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NXDOMAIN);
	rr_name(&r, AN, "alias.example.test", DNS_TYPE_CNAME, 300,
	    "target.example.test");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cache_free(c);
}

Test(negative, minimum_zero_not_kept)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "nope.example.test", DNS_TYPE_AAAA, 0);
	rbegin(&r, 7, "nope.example.test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NXDOMAIN);
	rr_soa(&r, "example.test", 3600, 0);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Never kept                                                         */
/* ------------------------------------------------------------------ */

struct rcode_case {
	int	 rcode;
};

static struct rcode_case rcode_cases[] = {
	{ DNS_RCODE_FORMERR }, { DNS_RCODE_SERVFAIL }, { DNS_RCODE_NOTIMP },
	{ DNS_RCODE_REFUSED }, { 6 }, { 9 }, { 15 },
};

ParameterizedTestParameters(not_kept, rcode)
{
	return cr_make_param_array(struct rcode_case, rcode_cases,
	    sizeof(rcode_cases) / sizeof(rcode_cases[0]));
}

/* Even with records and an SOA that would give a lifetime. */
ParameterizedTest(struct rcode_case *t, not_kept, rcode)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, t->rcode);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_soa(&r, "example.test", 300, 300);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "RCODE %d kept", t->rcode);
	cr_expect_eq(cache_count(c), 0);
	cr_expect_not(lookup(c, &q, 0, T0, 512, &g));
	cache_free(c);
}

Test(not_kept, truncated)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_TC, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "TC answer kept");
	/* Nor a truncated negative answer. */
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA | DNS_FLAG_TC, DNS_RCODE_NXDOMAIN);
	rr_soa(&r, "example.test", 300, 300);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

Test(not_kept, ttl_zero)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 0, "192.0.2.1");
	cr_expect_not(store(c, &q, 0, &r, T0), "TTL 0 kept");

	/* One RR of TTL 0 among others is enough. */
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_a(&r, AN, "www.example.test", 0, "192.0.2.2");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/* RFC 2181 8: a TTL with the top bit set is read as zero. */
Test(not_kept, ttl_top_bit)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 0x80000000u, "192.0.2.1");
	cr_expect_not(store(c, &q, 0, &r, T0), "TTL 2^31 kept");
	simple_a(&r, "www.example.test", 0xffffffffu, "192.0.2.1");
	cr_expect_not(store(c, &q, 0, &r, T0), "TTL 2^32-1 kept");

	/* In the additional section too, which does not bound the life. */
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_a(&r, AR, "ns1.example.test", 0x80000000u, "192.0.2.53");
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0));
	cr_expect_eq(cache_count(c), 0);

	/* 2^31-1 is a TTL: kept for the cache's day at most. */
	simple_a(&r, "www.example.test", 0x7fffffffu, "192.0.2.1");
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + 10, 512, &g));
	cr_expect_eq(g.rr[0].ttl, 0x7fffffffu - 10);
	cr_expect_not(lookup(c, &q, 0, T0 + CACHE_MAX_TTL, 512, &g));
	cache_free(c);
}

/*
 * A name may point into a TTL field ("x." spelt by the bytes of the A
 * record's TTL, 0x01780000, here the NS record's name): counting that TTL
 * down would change the name, so such an answer is not kept.  The fuzzer
 * found the first of these.
 */
Test(not_kept, name_through_a_ttl)
{
	static const uint8_t pkt[] = {
		0x00, 0x07, 0x81, 0x80, 0, 1, 0, 1, 0, 1, 0, 0,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,	/* 12 */
		0xc0, 0x0c, 0, 1, 0, 1, 0x01, 'x', 0, 0,	/* 24: A */
		0, 4, 192, 0, 2, 1,
		0xc0, 0x0c, 0, 2, 0, 1, 0, 0, 0x0e, 0x10,	/* 40: NS */
		0, 2, 0xc0, 30,				/* -> "x." */
	};
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct cache_key k;
	struct msg_info	 mi;

	cr_assert(msg_parse_response(pkt, sizeof(pkt), &mi));
	mkquery(&q, 7, "a.test", DNS_TYPE_A, 0);
	key(&k, &q, 0);
	cr_expect_not(cache_store(c, &k, pkt, sizeof(pkt), T0),
	    "answer with a name inside a TTL kept");
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/* RFC 7871 7.3.1: an answer with a Client Subnet option is not kept. */
Test(not_kept, client_subnet)
{
	static const uint8_t ecs[] = { 0, 8, 0, 7, 0, 1, 24, 24, 192, 0, 2 };
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, Q_EDNS);
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_opt(&r, ecs, sizeof(ecs));
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0), "answer with ECS kept");
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/*
 * The options of one client or one transport (COOKIE, TCP keepalive,
 * Padding) are left out of what is kept; the others stay.  An answer with
 * records after its OPT RR is not kept then: leaving bytes out would move
 * them under the pointers that aim at them.
 */
Test(hit, per_client_options_left_out)
{
	static const uint8_t opts[] = {
		0, 3, 0, 3, 'n', 's', '1',			/* NSID */
		0, 10, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8,		/* COOKIE */
		9, 10, 11, 12, 13, 14, 15, 16,
		0, 11, 0, 2, 0, 100,				/* keepalive */
		0, 12, 0, 6, 0, 0, 0, 0, 0, 0,			/* Padding */
		0, 15, 0, 2, 0, 3,				/* EDE 3 */
	};
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	int		 i, opt = -1, last = -1;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, Q_EDNS);
	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_opt(&r, opts, sizeof(opts));
	rr_a(&r, AR, "ns1.example.test", 600, "192.0.2.53");
	rend(&r);
	cr_assert(r.mi.opts & EDNS_OPT_BIT(EDNS_OPT_COOKIE));
	cr_expect_not(store(c, &q, 0, &r, T0), "kept with a record after "
	    "the OPT");

	rbegin(&r, 7, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rr_a(&r, AR, "ns1.example.test", 600, "192.0.2.53");
	rr_opt(&r, opts, sizeof(opts));
	rend(&r);
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + 10, 4096, &g));
	cr_assert(g.mi.edns);
	cr_expect(g.mi.opts & EDNS_OPT_BIT(3), "NSID lost");
	cr_expect_not(g.mi.opts & EDNS_OPT_BIT(EDNS_OPT_COOKIE),
	    "another client's COOKIE served");
	cr_expect_not(g.mi.opts & EDNS_OPT_BIT(EDNS_OPT_KEEPALIVE));
	cr_expect_not(g.mi.opts & EDNS_OPT_BIT(EDNS_OPT_PADDING));
	cr_expect_eq(g.mi.ede, 3);
	cr_expect_eq(g.len, r.len - 20 - 6 - 10);
	for (i = 0; i < g.n; i++) {
		if (g.rr[i].type == DNS_TYPE_OPT)
			opt = i;
		last = i;
	}
	cr_assert(opt >= 0 && last == opt);
	cr_expect_eq(g.rr[opt - 1].type, DNS_TYPE_A);
	cr_expect_eq(g.rr[opt - 1].ttl, 590, "TTL of the glue: %u",
	    g.rr[opt - 1].ttl);
	cr_expect_eq(g.rr[0].ttl, 290);
	cache_free(c);
}

Test(not_kept, malformed_and_queries)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct cache_key k;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	key(&k, &q, 0);
	/* A query (QR clear) is not an answer. */
	cr_expect_not(cache_store(c, &k, q.buf, q.len, T0));
	simple_a(&r, "www.example.test", 300, "192.0.2.1");
	/* Cut inside the last record. */
	cr_expect_not(cache_store(c, &k, r.buf, r.len - 2, T0));
	cr_expect_not(cache_store(c, &k, r.buf, 5, T0));
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

Test(ttl, capped_at_a_day)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 1000000, "192.0.2.1");
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + CACHE_MAX_TTL - 1, 512, &g),
	    "gone before a day");
	cr_expect_not(lookup(c, &q, 0, T0 + CACHE_MAX_TTL, 512, &g),
	    "kept longer than %d s", CACHE_MAX_TTL);

	/* The largest TTL there is (RFC 2181 8: 2^31 - 1). */
	simple_a(&r, "www.example.test", 0x7fffffffu, "192.0.2.1");
	cr_assert(store(c, &q, 0, &r, T0));
	cr_expect(lookup(c, &q, 0, T0 + CACHE_MAX_TTL - 1, 512, &g));
	cr_expect_not(lookup(c, &q, 0, T0 + CACHE_MAX_TTL, 512, &g));
	cache_free(c);
}

/* A cap from the caller (answers synthesized over a failure) wins over
 * a longer TTL, and a longer cap leaves the TTL alone. */
Test(ttl, caller_cap)
{
	struct cache	*c = cache_new(16);
	struct cache_key k;
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 7, "www.example.test", DNS_TYPE_A, 0);
	key(&k, &q, 0);
	simple_a(&r, "www.example.test", 600, "192.0.2.1");
	cr_assert(cache_store_capped(c, &k, r.buf, r.len, T0,
	    CACHE_ONERROR_TTL));
	cr_assert(lookup(c, &q, 0, T0 + CACHE_ONERROR_TTL - 1, 512, &g),
	    "gone before the cap");
	cr_expect_eq(g.rr[0].ttl, 600 - (CACHE_ONERROR_TTL - 1),
	    "the answer's own TTL is counted down, not replaced");
	cr_expect_not(lookup(c, &q, 0, T0 + CACHE_ONERROR_TTL, 512, &g),
	    "kept past the cap of %d s", CACHE_ONERROR_TTL);

	cr_assert(cache_store_capped(c, &k, r.buf, r.len, T0, 3600));
	cr_expect(lookup(c, &q, 0, T0 + 599, 512, &g));
	cr_expect_not(lookup(c, &q, 0, T0 + 600, 512, &g),
	    "a cap above the TTL lengthened it");
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* The key                                                            */
/* ------------------------------------------------------------------ */

/* A variant of the base query www.example.test A IN, RD, no EDNS, section 0. */
struct key_case {
	char		 what[24];
	char		 qname[32];
	uint16_t	 qtype;
	uint16_t	 qclass;
	unsigned	 qflags;
	int		 section;
};

static struct key_case key_cases[] = {
	{ "base",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, 0, 0 },
	{ "edns",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, Q_EDNS, 0 },
	{ "edns+do",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, Q_DO, 0 },
	{ "cd",		"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, Q_CD, 0 },
	{ "edns+cd",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN,
	    Q_EDNS | Q_CD, 0 },
	{ "do+cd",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN,
	    Q_DO | Q_CD, 0 },
	{ "no rd",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, Q_NORD, 0 },
	{ "ad",		"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, Q_AD, 0 },
	{ "edns+ad",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN,
	    Q_EDNS | Q_AD, 0 },
	{ "section 1",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, 0, 1 },
	{ "no section",	"www.example.test",  DNS_TYPE_A,  DNS_CLASS_IN, 0, -1 },
	{ "aaaa",	"www.example.test",  DNS_TYPE_AAAA, DNS_CLASS_IN, 0, 0 },
	{ "class ch",	"www.example.test",  DNS_TYPE_A,  3, 0, 0 },
	{ "other name",	"www2.example.test", DNS_TYPE_A,  DNS_CLASS_IN, 0, 0 },
	{ "shorter",	"ww.example.test",   DNS_TYPE_A,  DNS_CLASS_IN, 0, 0 },
	{ "parent",	"example.test",      DNS_TYPE_A,  DNS_CLASS_IN, 0, 0 },
};
#define NKEYS	(sizeof(key_cases) / sizeof(key_cases[0]))

static void
key_query(struct query *q, size_t i, uint16_t id)
{
	mkquery_full(q, id, key_cases[i].qname, key_cases[i].qtype,
	    key_cases[i].qclass, key_cases[i].qflags, 1232);
}

static void
key_resp(struct resp *r, size_t i)
{
	char	 addr[INET_ADDRSTRLEN];

	snprintf(addr, sizeof(addr), "192.0.2.%zu", i + 1);
	rbegin(r, 1, key_cases[i].qname, key_cases[i].qtype,
	    key_cases[i].qclass, DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(r, AN, key_cases[i].qname, 300, addr);
	rend(r);
}

/* One entry per variant: each look-up finds its own, and only that. */
Test(key, variants_do_not_collide)
{
	struct cache	*c = cache_new(64);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	char		 want[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];
	size_t		 i, j;

	/* Only the base stored: every other variant misses. */
	key_query(&q, 0, 1);
	key_resp(&r, 0);
	cr_assert(store(c, &q, key_cases[0].section, &r, T0));
	for (i = 1; i < NKEYS; i++) {
		key_query(&q, i, 1);
		cr_expect_not(lookup(c, &q, key_cases[i].section, T0 + 1, 512,
		    &g), "\"%s\" got the base entry", key_cases[i].what);
	}
	cache_flush(c);

	for (i = 0; i < NKEYS; i++) {
		key_query(&q, i, 1);
		key_resp(&r, i);
		cr_assert(store(c, &q, key_cases[i].section, &r, T0),
		    "\"%s\" not kept", key_cases[i].what);
	}
	cr_expect_eq(cache_count(c), NKEYS, "some variants share an entry");
	for (j = 0; j < NKEYS; j++) {
		key_query(&q, j, (uint16_t)(100 + j));
		cr_assert(lookup(c, &q, key_cases[j].section, T0 + 1, 4096, &g),
		    "\"%s\" missed", key_cases[j].what);
		snprintf(want, sizeof(want), "192.0.2.%zu", j + 1);
		cr_expect_str_eq(first_a(&g, a), want, "\"%s\" got %s",
		    key_cases[j].what, a);
		cr_expect_eq(g.mi.q.qtype, key_cases[j].qtype);
		cr_expect_eq(g.mi.q.qclass, key_cases[j].qclass);
	}
	cache_free(c);
}

/* The answer echoes the client's header bits the key holds (RD, CD). */
Test(key, rd_and_cd_echo)
{
	struct cache	*c = cache_new(16);
	struct query	 q1, q2;
	struct resp	 r;
	struct got	 g;

	mkquery(&q1, 1, "www.example.test", DNS_TYPE_A, Q_NORD);
	rbegin(&r, 1, "www.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_a(&r, AN, "www.example.test", 300, "192.0.2.1");
	rend(&r);
	cr_assert(store(c, &q1, 0, &r, T0));
	/* A recursive query must not get the non-recursive answer (RD 0). */
	mkquery(&q2, 2, "www.example.test", DNS_TYPE_A, 0);
	cr_expect_not(lookup(c, &q2, 0, T0 + 1, 512, &g),
	    "an RD=1 query got an RD=0 answer");
	cr_assert(lookup(c, &q1, 0, T0 + 1, 512, &g));
	cr_expect_eq(g.mi.flags & DNS_FLAG_RD, 0);
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* LRU, replacement, flush                                            */
/* ------------------------------------------------------------------ */

static void
put_name(struct cache *c, const char *name, uint32_t now, const char *addr)
{
	struct query	 q;
	struct resp	 r;

	mkquery(&q, 1, name, DNS_TYPE_A, 0);
	simple_a(&r, name, 3600, addr);
	cr_assert(store(c, &q, 0, &r, now), "%s not kept", name);
}

static bool
has_name(struct cache *c, const char *name, uint32_t now)
{
	struct query	 q;
	struct got	 g;

	mkquery(&q, 1, name, DNS_TYPE_A, 0);
	return lookup(c, &q, 0, now, 512, &g);
}

Test(lru, oldest_goes)
{
	struct cache	*c = cache_new(3);

	put_name(c, "a.example.test", T0, "192.0.2.1");
	put_name(c, "b.example.test", T0 + 1, "192.0.2.2");
	put_name(c, "c.example.test", T0 + 2, "192.0.2.3");
	cr_expect_eq(cache_count(c), 3);
	put_name(c, "d.example.test", T0 + 3, "192.0.2.4");
	cr_expect_eq(cache_count(c), 3);
	cr_expect_not(has_name(c, "a.example.test", T0 + 4), "a still there");
	cr_expect(has_name(c, "b.example.test", T0 + 4));
	cr_expect(has_name(c, "c.example.test", T0 + 4));
	cr_expect(has_name(c, "d.example.test", T0 + 4));
	cache_free(c);
}

Test(lru, lookup_refreshes)
{
	struct cache	*c = cache_new(3);

	put_name(c, "a.example.test", T0, "192.0.2.1");
	put_name(c, "b.example.test", T0, "192.0.2.2");
	put_name(c, "c.example.test", T0, "192.0.2.3");
	cr_assert(has_name(c, "a.example.test", T0 + 1));	/* a newest */
	put_name(c, "d.example.test", T0 + 2, "192.0.2.4");	/* b goes */
	cr_expect(has_name(c, "a.example.test", T0 + 3), "a was evicted");
	cr_expect_not(has_name(c, "b.example.test", T0 + 3), "b still there");
	/* now c is the least recently used */
	put_name(c, "e.example.test", T0 + 4, "192.0.2.5");
	cr_expect_not(has_name(c, "c.example.test", T0 + 5), "c still there");
	cr_expect(has_name(c, "d.example.test", T0 + 5));
	cr_expect(has_name(c, "e.example.test", T0 + 5));
	cr_expect(has_name(c, "a.example.test", T0 + 5));
	cr_expect_eq(cache_count(c), 3);
	/* Touching the newest, the oldest, the middle: the list holds. */
	cr_expect(has_name(c, "a.example.test", T0 + 6));
	cr_expect(has_name(c, "d.example.test", T0 + 6));
	put_name(c, "f.example.test", T0 + 7, "192.0.2.6");	/* e goes */
	cr_expect_not(has_name(c, "e.example.test", T0 + 8));
	cr_expect_eq(cache_count(c), 3);
	cache_free(c);
}

Test(lru, size_one)
{
	struct cache	*c = cache_new(1);

	put_name(c, "a.example.test", T0, "192.0.2.1");
	put_name(c, "b.example.test", T0, "192.0.2.2");
	cr_expect_eq(cache_count(c), 1);
	cr_expect_not(has_name(c, "a.example.test", T0));
	cr_expect(has_name(c, "b.example.test", T0));
	cache_free(c);
}

Test(replace, same_key)
{
	struct cache	*c = cache_new(3);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	char		 a[INET_ADDRSTRLEN];

	put_name(c, "a.example.test", T0, "192.0.2.1");
	put_name(c, "b.example.test", T0, "192.0.2.2");
	put_name(c, "c.example.test", T0, "192.0.2.3");
	/* a again, newer data: one entry, the new one, and it is newest. */
	mkquery(&q, 1, "A.EXAMPLE.TEST", DNS_TYPE_A, 0);
	simple_a(&r, "A.EXAMPLE.TEST", 60, "198.51.100.1");
	cr_assert(store(c, &q, 0, &r, T0 + 10));
	cr_expect_eq(cache_count(c), 3);
	mkquery(&q, 9, "a.example.test", DNS_TYPE_A, 0);
	cr_assert(lookup(c, &q, 0, T0 + 20, 512, &g));
	cr_expect_str_eq(first_a(&g, a), "198.51.100.1");
	cr_expect_eq(g.rr[0].ttl, 50, "TTL from the new store time");
	cr_expect_not(lookup(c, &q, 0, T0 + 70, 512, &g));
	cr_expect_eq(cache_count(c), 2);

	/* A later answer that is not kept leaves the old one alone. */
	put_name(c, "b.example.test", T0, "192.0.2.2");
	mkquery(&q, 1, "b.example.test", DNS_TYPE_A, 0);
	rbegin(&r, 1, "b.example.test", DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_SERVFAIL);
	rend(&r);
	cr_expect_not(store(c, &q, 0, &r, T0 + 1));
	cr_expect(has_name(c, "b.example.test", T0 + 2));
	cache_free(c);
}

Test(flush, empties)
{
	struct cache	*c = cache_new(100);
	char		 name[64];
	int		 i;

	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		put_name(c, name, T0, "192.0.2.1");
	}
	cr_expect_eq(cache_count(c), 50);
	cache_flush(c);
	cr_expect_eq(cache_count(c), 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "h%d.example.test", i);
		cr_expect_not(has_name(c, name, T0 + 1), "%s after flush",
		    name);
	}
	/* Usable again. */
	put_name(c, "again.example.test", T0 + 2, "192.0.2.9");
	cr_expect(has_name(c, "again.example.test", T0 + 3));
	cr_expect_eq(cache_count(c), 1);
	cache_flush(c);
	cache_flush(c);
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

Test(null, no_cache)
{
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	cr_expect_null(cache_new(0));
	mkquery(&q, 1, "www.example.test", DNS_TYPE_A, 0);
	simple_a(&r, "www.example.test", 300, "192.0.2.1");
	cr_expect_not(store(NULL, &q, 0, &r, T0));
	cr_expect_not(lookup(NULL, &q, 0, T0, 512, &g));
	cr_expect_eq(cache_count(NULL), 0);
	cache_flush(NULL);
	cache_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Size on the way out, size limits on the way in                     */
/* ------------------------------------------------------------------ */

static void
many_a(struct resp *r, const char *qname, int n, bool edns)
{
	char	 addr[INET_ADDRSTRLEN];
	int	 i;

	rbegin(r, 1, qname, DNS_TYPE_A, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 250, i % 250);
		rr_a(r, AN, qname, 300, addr);
	}
	if (edns)
		msg_build_opt(&r->mb, 4096, 0, -1);
	rend(r);
}

Test(truncate, to_smaller_max)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 5, "big.example.test", DNS_TYPE_A, 0);
	many_a(&r, "big.example.test", 40, false);	/* 12+22+40*16 */
	cr_assert_gt(r.len, 512);
	cr_assert(store(c, &q, 0, &r, T0));

	cr_assert(lookup(c, &q, 0, T0 + 1, 512, &g));
	cr_expect_leq(g.len, 512);
	cr_expect(g.mi.flags & DNS_FLAG_TC, "TC not set");
	cr_expect_eq(g.mi.ancount, 0);
	cr_expect_eq(g.mi.nscount, 0);
	cr_expect_eq(g.mi.arcount, 0);
	cr_expect_eq(g.mi.id, 5);
	cr_expect(g.mi.has_question);
	cr_expect_eq(memcmp(g.mi.q.name, q.mi.q.name, q.mi.q.name_len), 0);

	/* The entry is whole for the next client with room. */
	cr_assert(lookup(c, &q, 0, T0 + 2, 4096, &g));
	cr_expect_eq(g.len, r.len);
	cr_expect_eq(g.mi.flags & DNS_FLAG_TC, 0);
	cr_expect_eq(g.mi.ancount, 40);
	cache_free(c);
}

Test(truncate, keeps_opt)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 5, "big.example.test", DNS_TYPE_A, Q_EDNS);
	many_a(&r, "big.example.test", 60, true);
	cr_assert_gt(r.len, 600);
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + 1, 600, &g));
	cr_expect_leq(g.len, 600);
	cr_expect(g.mi.flags & DNS_FLAG_TC);
	cr_expect_eq(g.mi.ancount, 0);
	cr_expect_eq(g.mi.arcount, 1);
	cr_expect(g.mi.edns, "OPT lost in truncation");
	cache_free(c);
}

Test(truncate, cap_too_small_misses_keeps_entry)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct cache_key k;
	uint8_t		 small[64];

	mkquery(&q, 5, "big.example.test", DNS_TYPE_A, 0);
	many_a(&r, "big.example.test", 10, false);
	cr_assert(store(c, &q, 0, &r, T0));
	key(&k, &q, 0);
	cr_expect_eq(cache_lookup(c, &k, &q.mi, T0 + 1, 512, small,
	    sizeof(small)), 0);
	cr_expect_eq(cache_count(c), 1);
	cache_free(c);
}

/* TXT answer of exactly len bytes. */
static void
sized(struct resp *r, const char *qname, size_t len)
{
	size_t	 base;

	/* header 12, question, owner pointer 2 + 10 of RR head */
	base = DNS_HDR_LEN + strlen(qname) + 2 + 4 + 12;
	cr_assert_gt(len, base + 2);
	rbegin(r, 1, qname, 16, DNS_CLASS_IN, DNS_FLAG_RD | DNS_FLAG_RA,
	    DNS_RCODE_NOERROR);
	if (len - base > 4096) {
		rr_txt(r, AN, qname, 300, 4000);
		rr_txt(r, AN, qname, 300, len - base - 4000 - 12);
	} else
		rr_txt(r, AN, qname, 300, len - base);
	rend(r);
	cr_assert_eq(r->len, len);
}

Test(limits, answer_size)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;

	mkquery(&q, 1, "txt.example.test", 16, 0);
	sized(&r, "txt.example.test", CACHE_MAX_ANSWER);
	cr_expect(store(c, &q, 0, &r, T0), "%d bytes not kept",
	    CACHE_MAX_ANSWER);
	cr_expect(lookup(c, &q, 0, T0 + 1, 65535, &g));
	cr_expect_eq(g.len, CACHE_MAX_ANSWER);
	cache_flush(c);

	sized(&r, "txt.example.test", CACHE_MAX_ANSWER + 1);
	cr_expect_not(store(c, &q, 0, &r, T0), "%d bytes kept",
	    CACHE_MAX_ANSWER + 1);
	sized(&r, "txt.example.test", 6000);
	cr_expect_not(store(c, &q, 0, &r, T0), "6000 bytes kept");
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

Test(limits, rr_count)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	int		 i;

	mkquery(&q, 1, "many.example.test", DNS_TYPE_A, Q_EDNS);
	/* 64 records plus the OPT (which has no TTL to count down). */
	many_a(&r, "many.example.test", CACHE_MAX_RRS, true);
	cr_assert_leq(r.len, CACHE_MAX_ANSWER);
	cr_expect(store(c, &q, 0, &r, T0), "%d RRs not kept", CACHE_MAX_RRS);
	cr_assert(lookup(c, &q, 0, T0 + 10, 65535, &g));
	cr_expect_eq(g.mi.ancount, CACHE_MAX_RRS);
	for (i = 0; i < g.n; i++)
		if (g.rr[i].type == DNS_TYPE_A)
			cr_expect_eq(g.rr[i].ttl, 290, "RR %d", i);
	cache_flush(c);

	many_a(&r, "many.example.test", CACHE_MAX_RRS + 1, true);
	cr_assert_leq(r.len, CACHE_MAX_ANSWER);
	cr_expect_not(store(c, &q, 0, &r, T0), "%d RRs kept",
	    CACHE_MAX_RRS + 1);
	cr_expect_eq(cache_count(c), 0);
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* A synthesized answer shape: CNAME chain, AAAA, SOA-less authority   */
/* ------------------------------------------------------------------ */

Test(hit, chain_and_aaaa)
{
	struct cache	*c = cache_new(16);
	struct query	 q;
	struct resp	 r;
	struct got	 g;
	int		 i;

	mkquery(&q, 3, "Alias.Example.Test", DNS_TYPE_AAAA, Q_EDNS);
	rbegin(&r, 3, "Alias.Example.Test", DNS_TYPE_AAAA, DNS_CLASS_IN,
	    DNS_FLAG_RD | DNS_FLAG_RA, DNS_RCODE_NOERROR);
	rr_name(&r, AN, "Alias.Example.Test", DNS_TYPE_CNAME, 1800,
	    "v4.example.test");
	rr_aaaa(&r, AN, "v4.example.test", 120, "64:ff9b::c000:201");
	msg_build_opt(&r.mb, 1232, 0, EDE_SYNTHESIZED);
	rend(&r);
	cr_assert(store(c, &q, 0, &r, T0));
	cr_assert(lookup(c, &q, 0, T0 + 20, 1232, &g));
	cr_expect_eq(g.mi.ede, EDE_SYNTHESIZED);
	cr_assert_eq(g.mi.ancount, 2);
	cr_expect_eq(g.rr[0].ttl, 1780);
	cr_expect_eq(g.rr[1].ttl, 100);
	for (i = 0; i < 2; i++)
		cr_expect_eq(memcmp(g.buf + g.rr[i].rdata_off,
		    r.buf + g.rr[i].rdata_off, g.rr[i].rdlen), 0);
	cr_expect_not(lookup(c, &q, 0, T0 + 120, 1232, &g));
	cache_free(c);
}
