/*
 * test_msg.c: parsing queries and responses, walking RRs, building,
 * relaying and truncating messages (msg.c).
 *
 * Packets are annotated byte arrays: the comment at the start of each row
 * gives its offset.  Tables that criterion runs as parameterized tests
 * pass indices, since each parameter runs in a fresh process where
 * pointers into this one would mean nothing.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "msg.h"
#include "wire.h"

#define U16(x)	(uint8_t)(((x) >> 8) & 0xff), (uint8_t)((x) & 0xff)
#define U32(x)	(uint8_t)(((x) >> 24) & 0xff), (uint8_t)(((x) >> 16) & 0xff), \
		(uint8_t)(((x) >> 8) & 0xff), (uint8_t)((x) & 0xff)
#define HDR(id, fl, qd, an, ns, ar) \
		U16(id), U16(fl), U16(qd), U16(an), U16(ns), U16(ar)
/* owner, type, class IN, TTL, RDLENGTH (RDATA follows) */
#define RR(type, ttl, rdlen)	U16(type), U16(1), U32(ttl), U16(rdlen)
/* whole OPT RR header: root, 41, UDP size, ext-rcode 0, version, flags */
#define OPT(udp, ver, flags, rdlen) \
		0x00, U16(41), U16(udp), 0x00, ver, U16(flags), U16(rdlen)

#define N_EXAMPLE_COM	7,'e','x','a','m','p','l','e',3,'c','o','m',0	/* 13 */
#define N_WWW_EXAMPLE_COM 3,'w','w','w',N_EXAMPLE_COM			/* 17 */

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...)	sizeof((const uint8_t[]){ __VA_ARGS__ })
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const uint8_t ex_com[] = { N_EXAMPLE_COM };
static const uint8_t www_ex_com[] = { N_WWW_EXAMPLE_COM };

/* ---------------------------------------------------------------- */
/* Queries                                                           */
/* ---------------------------------------------------------------- */

struct qcase {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
	enum msg_verdict v;
	bool		 has_q;
	bool		 edns;
	uint16_t	 qtype;		/* checked when has_q */
	size_t		 opt_off;	/* checked when edns */
};

#define Q(what, v, has_q, edns, qtype, opt_off, ...) \
	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), v, has_q, edns, \
	  qtype, opt_off }

static const struct qcase qcases[] = {
	Q("AAAA with EDNS and DO", MSG_OK, true, true, 28, 29,
	    HDR(0x1234, 0x0100, 1, 0, 0, 1),	/* 0: RD */
	    N_EXAMPLE_COM,			/* 12 */
	    U16(28), U16(1),			/* 25: AAAA IN */
	    OPT(4096, 0, 0x8000, 0)),		/* 29: DO */
	Q("A without EDNS", MSG_OK, true, false, 1, 0,
	    HDR(0x0001, 0x0000, 1, 0, 0, 0),
	    N_EXAMPLE_COM,
	    U16(1), U16(1)),
	Q("root NS", MSG_OK, true, false, 2, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0),
	    0x00,				/* 12: root */
	    U16(2), U16(1)),
	Q("RD CD AD kept in flags", MSG_OK, true, false, 28, 0,
	    HDR(0x0001, 0x0130, 1, 0, 0, 0),
	    N_EXAMPLE_COM,
	    U16(28), U16(1)),
	Q("EDNS with an option (cookie)", MSG_OK, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM,
	    U16(28), U16(1),
	    OPT(1232, 0, 0, 12),		/* 29 */
	    U16(10), U16(8), 1, 2, 3, 4, 5, 6, 7, 8),	/* 40: COOKIE */
	Q("EDNS version 1 still parses", MSG_OK, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM,
	    U16(28), U16(1),
	    OPT(1232, 1, 0, 0)),
	Q("an RR before the OPT (additional)", MSG_OK, true, true, 1, 45,
	    HDR(0x0001, 0x0100, 1, 0, 0, 2),
	    N_EXAMPLE_COM,
	    U16(1), U16(1),			/* 25 */
	    0xc0, 12, RR(1, 60, 4), 192, 0, 2, 1,	/* 29 */
	    OPT(1232, 0, 0, 0)),		/* 45 */
	Q("OPT followed by another RR", MSG_OK, true, true, 1, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 2),
	    N_EXAMPLE_COM,
	    U16(1), U16(1),			/* 25 */
	    OPT(1232, 0, 0, 0),			/* 29: no options */
	    0xc0, 12, RR(1, 60, 4), 192, 0, 2, 1),	/* 40 */
	Q("trailing garbage ignored", MSG_OK, true, false, 1, 0,
	    HDR(0x0001, 0x0000, 1, 0, 0, 0),
	    N_EXAMPLE_COM,
	    U16(1), U16(1),
	    0xde, 0xad),

	Q("QR set", MSG_DROP, false, false, 0, 0,
	    HDR(0x0001, 0x8000, 1, 0, 0, 0),
	    N_EXAMPLE_COM,
	    U16(1), U16(1)),
	Q("QR set, header only", MSG_DROP, false, false, 0, 0,
	    HDR(0x0001, 0x8100, 0, 0, 0, 0)),
	Q("11 bytes", MSG_DROP, false, false, 0, 0,
	    0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0),
	Q("1 byte", MSG_DROP, false, false, 0, 0, 0),

	Q("opcode NOTIFY with question", MSG_NOTIMP, true, false, 6, 0,
	    HDR(0x0001, 0x2000, 1, 0, 0, 0),	/* opcode 4 */
	    N_EXAMPLE_COM,
	    U16(6), U16(1)),
	Q("opcode STATUS, header only", MSG_NOTIMP, false, false, 0, 0,
	    HDR(0x0001, 0x1000, 0, 0, 0, 0)),	/* opcode 2 */
	Q("opcode UPDATE with OPT", MSG_NOTIMP, true, true, 6, 29,
	    HDR(0x0001, 0x2800, 1, 0, 0, 1),	/* opcode 5 */
	    N_EXAMPLE_COM,
	    U16(6), U16(1),
	    OPT(1232, 0, 0, 0)),
	Q("opcode 15, bad question", MSG_NOTIMP, false, false, 0, 0,
	    HDR(0x0001, 0x7800, 1, 0, 0, 0),
	    3, 'a'),

	Q("qdcount 0", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 0, 0, 0, 0)),
	Q("qdcount 0 with OPT", MSG_FORMERR, false, true, 0, 12,
	    HDR(0x0001, 0x0100, 0, 0, 0, 1),
	    OPT(1232, 0, 0x8000, 0)),		/* 12 */
	Q("qdcount 2", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 2, 0, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1),
	    N_EXAMPLE_COM, U16(28), U16(1)),
	Q("header only, qdcount 1", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0)),
	Q("question name cut", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0),
	    7, 'e', 'x', 'a', 'm'),
	Q("question without class", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0),
	    N_EXAMPLE_COM, U16(28), 0x00),
	Q("question name self pointer", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0),
	    0xc0, 12, U16(1), U16(1)),
	Q("question name 0x40 label", MSG_FORMERR, false, false, 0, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 0),
	    0x41, 0, U16(1), U16(1)),
	Q("two OPTs", MSG_FORMERR, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 2),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0),			/* 29 */
	    OPT(1232, 0, 0, 0)),		/* 40 */
	Q("OPT owned by example.com", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 12, U16(41), U16(1232), U32(0), U16(0)),
	Q("OPT in the answer section", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0)),
	Q("OPT in the authority section", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 0, 1, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0)),
	Q("OPT option runs past RDATA", MSG_FORMERR, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 6),
	    U16(10), U16(8), 1, 2),
	Q("OPT option header cut", MSG_FORMERR, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 3),
	    U16(10), 0),
	Q("arcount 1, nothing follows", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1)),
	Q("trailing RR truncated", MSG_FORMERR, true, true, 28, 29,
	    HDR(0x0001, 0x0100, 1, 0, 0, 2),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0),			/* 29 */
	    0xc0, 12, U16(1), U16(1), 0, 0),	/* 40: TTL cut */
	Q("RDLENGTH past the end", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 12, RR(1, 60, 5), 192, 0, 2, 1),
	Q("answer owner forward pointer", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 31, RR(1, 60, 0)),
	Q("ancount larger than the RRs", MSG_FORMERR, true, false, 28, 0,
	    HDR(0x0001, 0x0100, 1, 3, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 12, RR(1, 60, 4), 192, 0, 2, 1),
};

ParameterizedTestParameters(msg_query, table)
{
	static size_t	idx[NELEM(qcases)];
	size_t		i;

	for (i = 0; i < NELEM(qcases); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NELEM(qcases));
}

ParameterizedTest(size_t *ip, msg_query, table)
{
	const struct qcase	*c = &qcases[*ip];
	struct msg_info		 mi;
	enum msg_verdict	 v;

	memset(&mi, 0x5a, sizeof(mi));
	v = msg_parse_query(c->p, c->len, &mi);
	cr_assert_eq(v, c->v, "%s: verdict %d", c->what, v);
	cr_assert_eq(mi.has_question, c->has_q, "%s: has_question", c->what);
	cr_assert_eq(mi.edns, c->edns, "%s: edns", c->what);
	if (c->len >= DNS_HDR_LEN) {
		cr_assert_eq(mi.id, wire_get_u16(c->p), "%s: id", c->what);
		cr_assert_eq(mi.flags, wire_get_u16(c->p + 2), "%s: flags",
		    c->what);
		cr_assert_eq(mi.qdcount, wire_get_u16(c->p + 4));
		cr_assert_eq(mi.arcount, wire_get_u16(c->p + 10));
	}
	if (c->has_q) {
		cr_assert_eq(mi.q.qtype, c->qtype, "%s: qtype", c->what);
		cr_assert_eq(mi.q.qclass, 1, "%s: qclass", c->what);
		cr_assert_eq(mi.question_end, DNS_HDR_LEN + mi.q.name_len + 4,
		    "%s: question_end", c->what);
		cr_assert_arr_eq(mi.q.name, c->p + DNS_HDR_LEN,
		    mi.q.name_len, "%s: name", c->what);
	}
	if (c->edns) {
		cr_assert_eq(mi.opt_off, c->opt_off, "%s: opt_off %zu",
		    c->what, mi.opt_off);
		cr_assert_geq(mi.opt_len, 11, "%s: opt_len", c->what);
		cr_assert_eq(c->p[mi.opt_off], 0, "%s: OPT owner", c->what);
		cr_assert_eq(wire_get_u16(c->p + mi.opt_off + 1), 41);
		cr_assert_eq(mi.edns_udp, wire_get_u16(c->p + mi.opt_off + 3));
	}
	if (v == MSG_OK)
		cr_assert_eq(mi.ede, -1, "%s: ede", c->what);
}

Test(msg_query, edns_fields)
{
	static const uint8_t q[] = {
		HDR(0xabcd, 0x0110, 1, 0, 0, 1),	/* 0: RD CD */
		N_WWW_EXAMPLE_COM,			/* 12 */
		U16(28), U16(1),			/* 29 */
		OPT(4096, 0, 0x8000, 12),		/* 33: DO */
		U16(10), U16(8), 1, 2, 3, 4, 5, 6, 7, 8,	/* 44 */
	};						/* 56 */
	struct msg_info	mi;

	cr_assert_eq(msg_parse_query(q, sizeof(q), &mi), MSG_OK);
	cr_assert_eq(mi.id, 0xabcd);
	cr_assert_eq(mi.flags, 0x0110);
	cr_assert(mi.has_question);
	cr_assert_eq(mi.q.name_len, 17);
	cr_assert_arr_eq(mi.q.name, www_ex_com, 17);
	cr_assert_eq(mi.question_end, 33);
	cr_assert(mi.edns);
	cr_assert_eq(mi.edns_udp, 4096);
	cr_assert_eq(mi.edns_flags, EDNS_FLAG_DO);
	cr_assert_eq(mi.edns_version, 0);
	cr_assert_eq(mi.opt_off, 33);
	cr_assert_eq(mi.opt_len, 23);
	cr_assert_eq(mi.ede, -1);
	cr_assert_eq(msg_client_udp_max(&mi), 4096);
}

Test(msg_query, edns_version_and_flags)
{
	static const uint8_t q[] = {
		HDR(0x0001, 0x0000, 1, 0, 0, 1),
		0x00, U16(1), U16(1),			/* 12: . A IN */
		0x00, U16(41), U16(512), 0x07, 0x02, U16(0x8123), U16(0),
	};
	struct msg_info	mi;

	cr_assert_eq(msg_parse_query(q, sizeof(q), &mi), MSG_OK);
	cr_assert_eq(mi.edns_version, 2);
	cr_assert_eq(mi.edns_flags, 0x8123);
	cr_assert_eq(mi.edns_udp, 512);
	cr_assert_eq(mi.q.name_len, 1);
}

Test(msg_query, null_and_empty)
{
	struct msg_info	mi;

	cr_assert_eq(msg_parse_query(NULL, 0, &mi), MSG_DROP);
	cr_assert_eq(msg_parse_query(BYTES(0), 0, &mi), MSG_DROP);
	cr_assert_eq(mi.ede, -1);
	cr_assert_not(mi.edns);
	cr_assert_not(mi.has_question);
}

/*
 * A query whose name takes exactly 255 bytes parses; one of 256 does not.
 */
Test(msg_query, name_limits)
{
	uint8_t		pkt[DNS_HDR_LEN + 300];
	struct msg_info	mi;
	size_t		off, i;

	memset(pkt, 0, sizeof(pkt));
	wire_set_u16(pkt, 7);
	wire_set_u16(pkt + 4, 1);
	off = DNS_HDR_LEN;
	for (i = 0; i < 3; i++) {
		pkt[off++] = 63;
		memset(pkt + off, 'q', 63);
		off += 63;
	}
	pkt[off++] = 61;
	memset(pkt + off, 'q', 61);
	off += 61;
	pkt[off++] = 0;
	cr_assert_eq(off - DNS_HDR_LEN, 255);
	wire_set_u16(pkt + off, 28);
	wire_set_u16(pkt + off + 2, 1);
	cr_assert_eq(msg_parse_query(pkt, off + 4, &mi), MSG_OK);
	cr_assert_eq(mi.q.name_len, 255);

	/* make the last label 62 bytes: 256 */
	pkt[DNS_HDR_LEN + 192] = 62;
	pkt[off - 1] = 'q';
	pkt[off] = 0;
	wire_set_u16(pkt + off + 1, 28);
	wire_set_u16(pkt + off + 3, 1);
	cr_assert_eq(msg_parse_query(pkt, off + 5, &mi), MSG_FORMERR);
	cr_assert_not(mi.has_question);
}

/* ---------------------------------------------------------------- */
/* Responses                                                         */
/* ---------------------------------------------------------------- */

/* www.example.com AAAA: CNAME, AAAA, SOA, OPT with EDE 29. 143 bytes. */
static const uint8_t resp1[] = {
	HDR(0xbeef, 0x8180, 1, 2, 1, 1),	/* 0: QR RD RA NOERROR */
	N_WWW_EXAMPLE_COM,			/* 12; example.com at 16 */
	U16(28), U16(1),			/* 29: AAAA IN */
	0xc0, 12, RR(5, 300, 2),		/* 33: CNAME, RDATA at 45 */
	0xc0, 16,				/* 45: -> example.com */
	0xc0, 16, RR(28, 60, 16),		/* 47: AAAA, RDATA at 59 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,	/* 59: 2001:db8::1 */
	0, 0, 0, 0, 0, 0, 0, 1,
	0xc0, 16, RR(6, 3600, 39),		/* 75: SOA, RDATA at 87 */
	3, 'n', 's', '1', 0xc0, 16,		/* 87: ns1.example.com */
	10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r',
	0xc0, 16,				/* 93: hostmaster... */
	U32(2024010101), U32(7200), U32(900),	/* 106: serial refresh retry */
	U32(1209600), U32(300),			/* 118: expire minimum */
	OPT(1232, 0, 0x8000, 6),		/* 126: OPT */
	U16(15), U16(2), U16(29),		/* 137: EDE 29 */
};

Test(msg_response, full)
{
	struct msg_info	mi;

	cr_assert_eq(sizeof(resp1), 143);
	cr_assert(msg_parse_response(resp1, sizeof(resp1), &mi));
	cr_assert_eq(mi.id, 0xbeef);
	cr_assert_eq(mi.flags, 0x8180);
	cr_assert_eq(msg_rcode(&mi), DNS_RCODE_NOERROR);
	cr_assert_eq(mi.qdcount, 1);
	cr_assert_eq(mi.ancount, 2);
	cr_assert_eq(mi.nscount, 1);
	cr_assert_eq(mi.arcount, 1);
	cr_assert(mi.has_question);
	cr_assert_arr_eq(mi.q.name, www_ex_com, sizeof(www_ex_com));
	cr_assert_eq(mi.q.qtype, DNS_TYPE_AAAA);
	cr_assert_eq(mi.question_end, 33);
	cr_assert(mi.edns);
	cr_assert_eq(mi.edns_udp, 1232);
	cr_assert_eq(mi.edns_flags, EDNS_FLAG_DO);
	cr_assert_eq(mi.opt_off, 126);
	cr_assert_eq(mi.opt_len, 17);
	cr_assert_eq(mi.ede, EDE_SYNTHESIZED);
}

struct rcase {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
	bool		 ok;
	int		 rcode;
	int		 ede;
	bool		 edns;
};

#define R(what, ok, rcode, ede, edns, ...) \
	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), ok, rcode, ede, edns }

static const struct rcase rcases[] = {
	R("SERVFAIL, EDE 6 with text", true, 2, 6, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),	/* 12 */
	    OPT(1232, 0, 0, 9),			/* 29 */
	    U16(15), U16(5), U16(6), 'b', 'a', 'd'),	/* 40: DNSSEC Bogus */
	R("two EDE options: the first counts", true, 2, 9, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 12),
	    U16(15), U16(2), U16(9),		/* DNSKEY missing */
	    U16(15), U16(2), U16(22)),
	R("EDE 0, then 6: the DNSSEC one counts", true, 2, 6, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 12),
	    U16(15), U16(2), U16(0),		/* Other */
	    U16(15), U16(2), U16(6)),		/* DNSSEC Bogus */
	R("EDE 22, then 3: the first counts", true, 2, 22, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 12),
	    U16(15), U16(2), U16(22),
	    U16(15), U16(2), U16(3)),
	R("EDE after a cookie", true, 2, 23, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 18),
	    U16(10), U16(8), 1, 2, 3, 4, 5, 6, 7, 8,
	    U16(15), U16(2), U16(23)),
	R("EDE shorter than its INFO-CODE: ignored", true, 2, -1, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 5),
	    U16(15), U16(1), 0x06),
	R("large INFO-CODE", true, 2, 0xfffe, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 6),
	    U16(15), U16(2), U16(0xfffe)),
	R("NXDOMAIN without EDNS", true, 3, -1, false,
	    HDR(0x0002, 0x8183, 1, 0, 1, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 12, RR(6, 60, 22),		/* 29: SOA */
	    0x00, 0x00, U32(1), U32(2), U32(3), U32(4), U32(5)),
	R("header only", false, 0, -1, false,
	    HDR(0x0002, 0x8180, 1, 0, 0, 0)),
	R("short", false, 0, -1, false,
	    0, 2, 0x81, 0x80),
	R("QR clear", false, 0, -1, false,
	    HDR(0x0002, 0x0100, 1, 0, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1)),
	R("qdcount 0", false, 5, -1, false,
	    HDR(0x0002, 0x8105, 0, 0, 0, 0)),
	R("qdcount 2", false, 0, -1, false,
	    HDR(0x0002, 0x8180, 2, 0, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    N_EXAMPLE_COM, U16(1), U16(1)),
	R("answer cut in RDATA", false, 0, -1, false,
	    HDR(0x0002, 0x8180, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    0xc0, 12, RR(28, 60, 16), 0x20, 0x01),
	R("two OPTs", false, 0, -1, true,
	    HDR(0x0002, 0x8180, 1, 0, 0, 2),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0), OPT(1232, 0, 0, 0)),
	R("OPT not owned by the root", false, 0, -1, false,
	    HDR(0x0002, 0x8180, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    1, 'a', 0, U16(41), U16(1232), U32(0), U16(0)),
	R("OPT in the answer", false, 0, -1, false,
	    HDR(0x0002, 0x8180, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 0)),
	R("EDE option runs past OPT RDATA", false, 2, -1, true,
	    HDR(0x0002, 0x8182, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(28), U16(1),
	    OPT(1232, 0, 0, 6),
	    U16(15), U16(4), U16(6)),
};

ParameterizedTestParameters(msg_response, table)
{
	static size_t	idx[NELEM(rcases)];
	size_t		i;

	for (i = 0; i < NELEM(rcases); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NELEM(rcases));
}

ParameterizedTest(size_t *ip, msg_response, table)
{
	const struct rcase	*c = &rcases[*ip];
	struct msg_info		 mi;
	bool			 ok;

	ok = msg_parse_response(c->p, c->len, &mi);
	cr_assert_eq(ok, c->ok, "%s", c->what);
	if (c->len >= DNS_HDR_LEN)
		cr_assert_eq(msg_rcode(&mi), c->rcode, "%s: rcode", c->what);
	cr_assert_eq(mi.edns, c->edns, "%s: edns", c->what);
	if (ok)
		cr_assert_eq(mi.ede, c->ede, "%s: ede %d", c->what, mi.ede);
}

Test(msg_response, rcode_and_question_equal)
{
	struct msg_info		mi;
	struct msg_question	a, b;

	memset(&mi, 0, sizeof(mi));
	mi.flags = 0x8183;
	cr_assert_eq(msg_rcode(&mi), 3);
	mi.flags = 0x800f;
	cr_assert_eq(msg_rcode(&mi), 15);
	mi.flags = 0xfff0;
	cr_assert_eq(msg_rcode(&mi), 0);

	memset(&a, 0, sizeof(a));
	a.name_len = wire_name_from_text("WwW.Example.COM", a.name,
	    sizeof(a.name));
	a.qtype = 28;
	a.qclass = 1;
	b = a;
	b.name_len = wire_name_from_text("www.example.com.", b.name,
	    sizeof(b.name));
	cr_assert(msg_question_equal(&a, &b));
	cr_assert(msg_question_equal(&b, &a));
	b.qtype = 1;
	cr_assert_not(msg_question_equal(&a, &b));
	b.qtype = 28;
	b.qclass = 3;
	cr_assert_not(msg_question_equal(&a, &b));
	b.qclass = 1;
	b.name_len = wire_name_from_text("www.example.org", b.name,
	    sizeof(b.name));
	cr_assert_not(msg_question_equal(&a, &b));
	b.name_len = wire_name_from_text("example.com", b.name,
	    sizeof(b.name));
	cr_assert_not(msg_question_equal(&a, &b));
}

/* ---------------------------------------------------------------- */
/* Iterating                                                         */
/* ---------------------------------------------------------------- */

Test(msg_iter, sections)
{
	static const struct {
		int		section;
		const uint8_t	*name;
		size_t		 name_len;
		uint16_t	 type;
		uint32_t	 ttl;
		uint16_t	 rdlen;
		size_t		 rdata_off;
	} want[] = {
		{ 0, www_ex_com, 17, 5, 300, 2, 45 },
		{ 0, ex_com, 13, 28, 60, 16, 59 },
		{ 1, ex_com, 13, 6, 3600, 39, 87 },
		{ 2, (const uint8_t *)"", 1, 41, 0x8000, 6, 137 },
	};
	struct msg_info	mi;
	struct msg_iter	it;
	struct msg_rr	rr;
	size_t		i;

	cr_assert(msg_parse_response(resp1, sizeof(resp1), &mi));
	msg_iter_init(&it, resp1, sizeof(resp1), &mi);
	for (i = 0; i < NELEM(want); i++) {
		cr_assert_eq(msg_iter_next(&it, &rr), 1, "rr %zu", i);
		cr_assert_eq(rr.section, want[i].section, "rr %zu", i);
		cr_assert_eq(rr.name_len, want[i].name_len, "rr %zu", i);
		cr_assert_arr_eq(rr.name, want[i].name, rr.name_len);
		cr_assert_eq(rr.type, want[i].type, "rr %zu", i);
		cr_assert_eq(rr.ttl, want[i].ttl, "rr %zu", i);
		cr_assert_eq(rr.rdlen, want[i].rdlen, "rr %zu", i);
		cr_assert_eq(rr.rdata_off, want[i].rdata_off, "rr %zu", i);
	}
	cr_assert_eq(rr.rclass, 1232);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);
}

Test(msg_iter, empty_sections_skipped)
{
	static const uint8_t p[] = {
		HDR(0x0003, 0x8180, 1, 0, 0, 1),	/* only additional */
		0x00, U16(2), U16(1),			/* 12: . NS IN */
		0x00, RR(1, 5, 4), 127, 0, 0, 1,	/* 17 */
	};
	struct msg_info	mi;
	struct msg_iter	it;
	struct msg_rr	rr;

	cr_assert(msg_parse_response(p, sizeof(p), &mi));
	msg_iter_init(&it, p, sizeof(p), &mi);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.section, DNS_SECTION_ADDITIONAL);
	cr_assert_eq(rr.rdata_off, 28);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);

	/* no RRs at all */
	mi.arcount = 0;
	msg_iter_init(&it, p, sizeof(p), &mi);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);
}

Test(msg_iter, malformed_rr_in_authority)
{
	/* resp1 with the SOA's RDLENGTH one too large: it runs into the
	 * OPT, which then cannot parse; cut the packet so it runs out. */
	uint8_t		p[sizeof(resp1)];
	struct msg_info	mi;
	struct msg_iter	it;
	struct msg_rr	rr;

	memcpy(p, resp1, sizeof(p));
	wire_set_u16(p + 85, 39 + 40);
	cr_assert_not(msg_parse_response(p, sizeof(p), &mi));

	/* iterate by hand with the counts of the good packet */
	cr_assert(msg_parse_response(resp1, sizeof(resp1), &mi));
	msg_iter_init(&it, p, sizeof(p), &mi);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(msg_iter_next(&it, &rr), -1);
	cr_assert_eq(msg_iter_next(&it, &rr), -1, "errors are sticky");

	/* a bad owner name in the answer */
	memcpy(p, resp1, sizeof(p));
	p[47] = 0xc0;
	p[48] = 50;			/* forward pointer */
	msg_iter_init(&it, p, sizeof(p), &mi);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(msg_iter_next(&it, &rr), -1);
	cr_assert_eq(msg_iter_next(&it, &rr), -1);
}

Test(msg_iter, limit_stops_before_later_sections)
{
	/* resp1 whose SOA RDATA runs past the end: a walk limited to the
	 * answer section ends cleanly and never reads the SOA. */
	struct msg_info	mi;
	struct msg_iter	it;
	struct msg_rr	rr;
	int		s, n;

	cr_assert(msg_parse_response(resp1, sizeof(resp1), &mi));
	msg_iter_init(&it, resp1, 90, &mi);
	msg_iter_limit(&it, DNS_SECTION_ANSWER);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.type, DNS_TYPE_CNAME);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.type, DNS_TYPE_AAAA);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);

	msg_iter_init(&it, resp1, 90, &mi);
	msg_iter_limit(&it, DNS_SECTION_AUTHORITY);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(msg_iter_next(&it, &rr), -1, "the cut SOA is read");

	/* on a whole packet: the records of sections up to the limit */
	for (s = DNS_SECTION_ANSWER - 1; s <= DNS_SECTION_ADDITIONAL; s++) {
		msg_iter_init(&it, resp1, sizeof(resp1), &mi);
		msg_iter_limit(&it, s);
		n = 0;
		while (msg_iter_next(&it, &rr) == 1) {
			cr_assert_leq(rr.section, s < 0 ? 0 : s);
			n++;
		}
		cr_assert_eq(n, s < DNS_SECTION_ANSWER ? 0 :
		    s == DNS_SECTION_ANSWER ? 2 :
		    s == DNS_SECTION_AUTHORITY ? 3 : 4, "limit %d: %d", s, n);
	}
}

Test(msg_iter, every_cut_of_resp1)
{
	struct msg_info	mi, good;
	struct msg_iter	it;
	struct msg_rr	rr;
	size_t		len;
	int		r, n;

	cr_assert(msg_parse_response(resp1, sizeof(resp1), &good));
	for (len = 0; len < sizeof(resp1); len++) {
		cr_assert_not(msg_parse_response(resp1, len, &mi),
		    "cut at %zu accepted", len);
		msg_iter_init(&it, resp1, len, &good);
		n = 0;
		while ((r = msg_iter_next(&it, &rr)) == 1) {
			cr_assert_leq(rr.rdata_off + rr.rdlen, len);
			n++;
		}
		cr_assert_eq(r, -1, "cut at %zu: %d", len, r);
		cr_assert_lt(n, 4);
	}
}

/* ---------------------------------------------------------------- */
/* Building                                                          */
/* ---------------------------------------------------------------- */

static const uint8_t aaaa_rdata[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42
};
static const uint8_t soa_rdata[] = {
	0x00, 0x00, U32(1), U32(2), U32(3), U32(4), U32(5)
};

/*
 * The response used by the round-trip tests: question WwW.Example.COM
 * AAAA; answer www.example.com AAAA (owner compressed), other.test A;
 * authority example.com SOA; OPT with DO and EDE 29.
 */
/* The sample's question, WwW.Example.COM AAAA IN, and its other owner,
 * other.test (length in *olen). */
static void
sample_names(struct msg_question *q, uint8_t *other, size_t *olen)
{
	memset(q, 0, sizeof(*q));
	q->name_len = wire_name_from_text("WwW.Example.COM", q->name,
	    sizeof(q->name));
	q->qtype = DNS_TYPE_AAAA;
	q->qclass = DNS_CLASS_IN;
	*olen = wire_name_from_text("other.test", other, DNS_MAX_NAME);
}

static size_t
build_sample_with(uint8_t *out, size_t cap, bool qowner)
{
	struct msg_builder	mb;
	struct msg_question	q;
	uint8_t			other[DNS_MAX_NAME];
	size_t			olen;

	sample_names(&q, other, &olen);

	msg_build_init(&mb, out, cap, 0x4242,
	    DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_RA);
	msg_build_question(&mb, &q);
	if (qowner)	/* the owner the question's, said by the caller */
		msg_build_rr_qowner(&mb, DNS_SECTION_ANSWER, DNS_TYPE_AAAA,
		    DNS_CLASS_IN, 300, aaaa_rdata, 16);
	else
		msg_build_rr(&mb, DNS_SECTION_ANSWER, www_ex_com,
		    sizeof(www_ex_com), DNS_TYPE_AAAA, DNS_CLASS_IN, 300,
		    aaaa_rdata, 16);
	msg_build_rr(&mb, DNS_SECTION_ANSWER, other, olen, DNS_TYPE_A,
	    DNS_CLASS_IN, 60, BYTES(192, 0, 2, 7), 4);
	msg_build_rr(&mb, DNS_SECTION_AUTHORITY, ex_com, sizeof(ex_com),
	    DNS_TYPE_SOA, DNS_CLASS_IN, 900, soa_rdata, sizeof(soa_rdata));
	msg_build_opt(&mb, DNS_EDNS_OUR_SIZE, EDNS_FLAG_DO, EDE_SYNTHESIZED);
	return msg_build_finish(&mb);
}

static size_t
build_sample(uint8_t *out, size_t cap)
{
	return build_sample_with(out, cap, false);
}

/* Expected bytes of build_sample(). */
static const uint8_t sample[] = {
	HDR(0x4242, 0x8180, 1, 2, 1, 1),
	3, 'W', 'w', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'C', 'O', 'M', 0,			/* 12 */
	U16(28), U16(1),			/* 29 */
	0xc0, 0x0c, RR(28, 300, 16),		/* 33: owner -> question */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42,
	5, 'o', 't', 'h', 'e', 'r', 4, 't', 'e', 's', 't', 0,	/* 61 */
	RR(1, 60, 4), 192, 0, 2, 7,		/* 73 */
	N_EXAMPLE_COM, RR(6, 900, 22),		/* 87: not the qname */
	0x00, 0x00, U32(1), U32(2), U32(3), U32(4), U32(5),
	OPT(1232, 0, 0x8000, 6),		/* 132 */
	U16(15), U16(2), U16(29),		/* 143 */
};						/* 149 bytes */

Test(msg_build, exact_bytes)
{
	uint8_t	out[512];
	size_t	n;

	n = build_sample(out, sizeof(out));
	cr_assert_eq(n, sizeof(sample), "length %zu", n);
	cr_assert_arr_eq(out, sample, sizeof(sample));
}

Test(msg_build, rr_with_question_owner)
{
	/* the sample with its first record written by msg_build_rr_qowner():
	 * the same bytes */
	struct msg_builder	mb;
	struct msg_question	q;
	uint8_t			out[512], other[DNS_MAX_NAME];
	size_t			olen, n;

	n = build_sample_with(out, sizeof(out), true);
	cr_assert_eq(n, sizeof(sample), "length %zu", n);
	cr_assert_arr_eq(out, sample, sizeof(sample));

	/* the question as the sample has it: its name, case aside, and
	 * nothing else */
	sample_names(&q, other, &olen);
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	cr_assert(msg_build_is_qname(&mb, www_ex_com, sizeof(www_ex_com)));
	cr_assert_not(msg_build_is_qname(&mb, other, olen));
	cr_assert_not(msg_build_is_qname(&mb, ex_com, sizeof(ex_com)));

	/* a root question is never pointed at: its owner stays one byte */
	memset(&q, 0, sizeof(q));
	q.name_len = 1;
	q.qtype = DNS_TYPE_AAAA;
	q.qclass = DNS_CLASS_IN;
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	cr_assert_not(msg_build_is_qname(&mb, (const uint8_t *)"", 1));
	msg_build_rr(&mb, DNS_SECTION_ANSWER, (const uint8_t *)"", 1,
	    DNS_TYPE_AAAA, DNS_CLASS_IN, 300, aaaa_rdata, 16);
	n = msg_build_finish(&mb);
	cr_assert_eq(n, DNS_HDR_LEN + 5 + 11 + 16);
	cr_assert_eq(out[DNS_HDR_LEN + 5], 0, "root owner as its byte");

	/* no question to point at: nothing is built */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	cr_assert_not(msg_build_is_qname(&mb, www_ex_com,
	    sizeof(www_ex_com)));
	msg_build_rr_qowner(&mb, DNS_SECTION_ANSWER, DNS_TYPE_AAAA,
	    DNS_CLASS_IN, 300, aaaa_rdata, 16);
	cr_assert_eq(msg_build_finish(&mb), 0);
}

Test(msg_build, round_trip)
{
	uint8_t		out[512];
	size_t		n;
	struct msg_info	mi;
	struct msg_iter	it;
	struct msg_rr	rr;

	n = build_sample(out, sizeof(out));
	cr_assert_gt(n, 0);
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert_eq(mi.id, 0x4242);
	cr_assert_eq(mi.flags, 0x8180);
	cr_assert_eq(mi.ancount, 2);
	cr_assert_eq(mi.nscount, 1);
	cr_assert_eq(mi.arcount, 1);
	cr_assert_eq(mi.q.qtype, 28);
	cr_assert(wire_name_equal(mi.q.name, mi.q.name_len, www_ex_com,
	    sizeof(www_ex_com)));
	cr_assert_arr_eq(mi.q.name, "\3WwW\7Example\3COM", 17,
	    "question case kept");
	cr_assert(mi.edns);
	cr_assert_eq(mi.edns_udp, DNS_EDNS_OUR_SIZE);
	cr_assert_eq(mi.edns_flags, EDNS_FLAG_DO);
	cr_assert_eq(mi.ede, EDE_SYNTHESIZED);

	msg_iter_init(&it, out, n, &mi);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.type, DNS_TYPE_AAAA);
	cr_assert_eq(rr.ttl, 300);
	/* the compressed owner reads back as the question's spelling */
	cr_assert_arr_eq(rr.name, "\3WwW\7Example\3COM", 17);
	cr_assert_arr_eq(out + rr.rdata_off, aaaa_rdata, 16);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.type, DNS_TYPE_A);
	cr_assert_arr_eq(rr.name, "\5other\4test", 12);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.section, DNS_SECTION_AUTHORITY);
	cr_assert_eq(rr.type, DNS_TYPE_SOA);
	cr_assert_eq(rr.rdlen, sizeof(soa_rdata));
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	cr_assert_eq(rr.type, DNS_TYPE_OPT);
	cr_assert_eq(msg_iter_next(&it, &rr), 0);
}

/*
 * Every cap short of the full length makes finish() return 0 and writes
 * nothing past cap; the exact length works.
 */
Test(msg_build, every_short_cap_overflows)
{
	uint8_t	out[sizeof(sample) + 16];
	size_t	cap, n, i;

	for (cap = 0; cap < sizeof(sample); cap++) {
		memset(out, 0xa5, sizeof(out));
		n = build_sample(out, cap);
		cr_assert_eq(n, 0, "cap %zu gave %zu", cap, n);
		for (i = cap; i < sizeof(out); i++)
			cr_assert_eq(out[i], 0xa5, "cap %zu: wrote at %zu",
			    cap, i);
	}
	memset(out, 0xa5, sizeof(out));
	cr_assert_eq(build_sample(out, sizeof(sample)), sizeof(sample));
	cr_assert_eq(out[sizeof(sample)], 0xa5);
}

Test(msg_build, misuse_gives_zero)
{
	struct msg_builder	mb;
	struct msg_question	q;
	uint8_t			out[512];

	memset(&q, 0, sizeof(q));
	q.name_len = wire_name_from_text("example.com", q.name,
	    sizeof(q.name));
	q.qtype = 1;
	q.qclass = 1;

	/* answer after additional */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	msg_build_opt(&mb, 1232, 0, -1);
	msg_build_rr(&mb, DNS_SECTION_ANSWER, q.name, q.name_len, 1, 1, 5,
	    BYTES(1, 2, 3, 4), 4);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* question after an RR */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, DNS_SECTION_ANSWER, q.name, q.name_len, 1, 1, 5,
	    BYTES(1, 2, 3, 4), 4);
	msg_build_question(&mb, &q);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* two questions */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	msg_build_question(&mb, &q);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* no such section */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, 3, q.name, q.name_len, 1, 1, 5, NULL, 0);
	cr_assert_eq(msg_build_finish(&mb), 0);
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, -1, q.name, q.name_len, 1, 1, 5, NULL, 0);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* a compressed or cut owner name */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, 0, BYTES(1, 'a', 0xc0, 0x0c), 4, 1, 1, 5, NULL, 0);
	cr_assert_eq(msg_build_finish(&mb), 0);
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, 0, q.name, q.name_len - 1, 1, 1, 5, NULL, 0);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* a bad question name */
	q.name[0] = 0x40;
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* sections in order, some skipped: fine */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_rr(&mb, DNS_SECTION_AUTHORITY, BYTES(0), 1, 2, 1, 5,
	    BYTES(0), 1);
	msg_build_rr(&mb, DNS_SECTION_AUTHORITY, BYTES(0), 1, 2, 1, 5,
	    BYTES(0), 1);
	msg_build_opt(&mb, 512, 0, -1);
	cr_assert_eq(msg_build_finish(&mb), DNS_HDR_LEN + 2 * 12 + 11);
	cr_assert_arr_eq(out, BYTES(HDR(1, 0x8000, 0, 0, 2, 1)), 12);
}

Test(msg_build, header_only_and_tiny_cap)
{
	struct msg_builder	mb;
	uint8_t			out[12];

	msg_build_init(&mb, out, sizeof(out), 0xfeed, 0x8183);
	cr_assert_eq(msg_build_finish(&mb), 12);
	cr_assert_arr_eq(out, BYTES(HDR(0xfeed, 0x8183, 0, 0, 0, 0)), 12);

	msg_build_init(&mb, out, 11, 0xfeed, 0x8183);
	cr_assert(mb.overflow);
	cr_assert_eq(msg_build_finish(&mb), 0);
	msg_build_init(&mb, NULL, 0, 0xfeed, 0x8183);
	cr_assert_eq(msg_build_finish(&mb), 0);
}

Test(msg_build, root_question_owner_not_compressed)
{
	struct msg_builder	mb;
	struct msg_question	q;
	uint8_t			out[64];
	static const uint8_t	want[] = {
		HDR(9, 0x8000, 1, 1, 0, 0),
		0x00, U16(2), U16(1),			/* 12: . NS IN */
		0x00, RR(2, 10, 1), 0x00,		/* 17: root owner */
	};

	memset(&q, 0, sizeof(q));
	q.name[0] = 0;
	q.name_len = 1;
	q.qtype = 2;
	q.qclass = 1;
	msg_build_init(&mb, out, sizeof(out), 9, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	cr_assert_eq(mb.qname_off, 12);
	msg_build_rr(&mb, 0, BYTES(0), 1, 2, 1, 10, BYTES(0), 1);
	cr_assert_eq(msg_build_finish(&mb), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
}

Test(msg_build, opt_bytes)
{
	struct msg_builder	mb;
	uint8_t			out[64];

	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt(&mb, 1232, 0, -1);
	cr_assert_eq(msg_build_finish(&mb), 23);
	cr_assert_arr_eq(out + 12, BYTES(0x00, 0x00, 0x29, 0x04, 0xd0,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00), 11);

	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt(&mb, 4096, EDNS_FLAG_DO, 0);
	cr_assert_eq(msg_build_finish(&mb), 29);
	cr_assert_arr_eq(out + 12, BYTES(0x00, 0x00, 0x29, 0x10, 0x00,
	    0x00, 0x00, 0x80, 0x00, 0x00, 0x06,
	    0x00, 0x0f, 0x00, 0x02, 0x00, 0x00), 17);
	cr_assert_eq(wire_get_u16(out + 10), 1);

	/* an INFO-CODE out of range: no option */
	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt(&mb, 512, 0, 70000);	/* no valid INFO-CODE */
	cr_assert_eq(msg_build_finish(&mb), 23);
	cr_assert_eq(wire_get_u16(out + 12 + 9), 0);

	/* no room for the option */
	msg_build_init(&mb, out, 12 + 11 + 5, 1, 0x8000);
	msg_build_opt(&mb, 512, 0, 29);
	cr_assert_eq(msg_build_finish(&mb), 0);
}

/*
 * The options of an upstream answer pass into our OPT: NSID and an EDE
 * of another code as they are, Padding and an EDE of our code not, ours
 * last.
 */
Test(msg_build, opt_from_upstream)
{
	static const uint8_t up[] = {
		HDR(0x0002, 0x8180, 1, 0, 0, 1),
		N_EXAMPLE_COM, U16(28), U16(1),
		OPT(1232, 0, 0, 28),
		U16(3), U16(3), 'u', 'p', '1',		/* NSID */
		U16(12), U16(4), 0, 0, 0, 0,		/* Padding */
		U16(15), U16(3), U16(29), 'x',		/* EDE 29 */
		U16(15), U16(2), U16(22),		/* EDE 22 */
	};
	static const uint8_t want[] = {
		0x00, U16(41), U16(1232), U32(0), U16(19),
		U16(3), U16(3), 'u', 'p', '1',
		U16(15), U16(2), U16(22),
		U16(15), U16(2), U16(29),
	};
	struct msg_builder	mb;
	struct msg_info		mi;
	uint8_t			out[128];

	cr_assert(msg_parse_response(up, sizeof(up), &mi));
	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt_from(&mb, 1232, 0, EDE_SYNTHESIZED, up, &mi);
	cr_assert_eq(msg_build_finish(&mb), 12 + sizeof(want));
	cr_assert_arr_eq(out + 12, want, sizeof(want));

	/* no EDE of ours: both of the upstream's */
	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt_from(&mb, 1232, 0, -1, up, &mi);
	cr_assert_eq(msg_build_finish(&mb), 12 + 11 + 7 + 7 + 6);
	cr_assert_eq(wire_get_u16(out + 12 + 9), 7 + 7 + 6);

	/* no room: overflow, nothing half written counts */
	msg_build_init(&mb, out, 12 + 11 + 10, 1, 0x8000);
	msg_build_opt_from(&mb, 1232, 0, EDE_SYNTHESIZED, up, &mi);
	cr_assert_eq(msg_build_finish(&mb), 0);

	/* a source without EDNS: our OPT alone */
	mi.edns = false;
	msg_build_init(&mb, out, sizeof(out), 1, 0x8000);
	msg_build_opt_from(&mb, 1232, 0, EDE_SYNTHESIZED, up, &mi);
	cr_assert_eq(msg_build_finish(&mb), 12 + 11 + 6);
}

/* ---------------------------------------------------------------- */
/* msg_build_copy_rr                                                 */
/* ---------------------------------------------------------------- */

/*
 * example.com MX: every RDATA with names uses compression pointers,
 * into the question, into other RDATA and into owners.  203 bytes.
 */
static const uint8_t resp2[] = {
	HDR(0x0001, 0x8400, 1, 6, 1, 2),	/* 0: QR AA */
	N_EXAMPLE_COM,				/* 12 */
	U16(15), U16(1),			/* 25: MX IN */
	0xc0, 12, RR(15, 100, 9),		/* 29: MX */
	U16(10), 4, 'm', 'a', 'i', 'l', 0xc0, 12,	/* 41: mail at 43 */
	0xc0, 12, RR(2, 100, 6),		/* 50: NS */
	3, 'n', 's', '1', 0xc0, 12,		/* 62: ns1 at 62 */
	0xc0, 43, RR(5, 100, 6),		/* 68: mail.example.com CNAME */
	3, 'w', 'w', 'w', 0xc0, 12,		/* 80 */
	0xc0, 12, RR(12, 100, 7),		/* 86: PTR */
	4, 'h', 'o', 's', 't', 0xc0, 62,	/* 98: host.ns1.example.com */
	0xc0, 12, RR(39, 100, 2),		/* 105: DNAME */
	0xc0, 62,				/* 117: -> ns1.example.com */
	0xc0, 12, RR(16, 100, 3),		/* 119: TXT: raw */
	2, 0xc0, 12,				/* 131 */
	0xc0, 12, RR(6, 3600, 30),		/* 134: SOA */
	0xc0, 62,				/* 146: ns1.example.com */
	5, 'a', 'd', 'm', 'i', 'n', 0xc0, 12,	/* 148: admin.example.com */
	U32(1), U32(2), U32(3), U32(4), U32(5),	/* 156 */
	0xc0, 62, RR(1, 100, 4),		/* 176: A */
	192, 0, 2, 1,				/* 188 */
	OPT(1232, 0, 0, 0),			/* 192 */
};

/* What msg_build_copy_rr() makes of each RR of resp2, TTL 77. */
static const struct {
	uint16_t	 type;
	const uint8_t	*owner;
	size_t		 owner_len;
	const uint8_t	*rdata;
	size_t		 rdlen;
} resp2_copies[] = {
#define C(type, owner, ...) { type, (const uint8_t *)(owner), sizeof(owner), \
	BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__) }
	C(15, "\7example\3com",
	    U16(10), 4, 'm', 'a', 'i', 'l', N_EXAMPLE_COM),
	C(2, "\7example\3com",
	    3, 'n', 's', '1', N_EXAMPLE_COM),
	C(5, "\4mail\7example\3com",
	    N_WWW_EXAMPLE_COM),
	C(12, "\7example\3com",
	    4, 'h', 'o', 's', 't', 3, 'n', 's', '1', N_EXAMPLE_COM),
	C(39, "\7example\3com",
	    3, 'n', 's', '1', N_EXAMPLE_COM),
	C(16, "\7example\3com",
	    2, 0xc0, 12),
	C(6, "\7example\3com",
	    3, 'n', 's', '1', N_EXAMPLE_COM,
	    5, 'a', 'd', 'm', 'i', 'n', N_EXAMPLE_COM,
	    U32(1), U32(2), U32(3), U32(4), U32(5)),
	C(1, "\3ns1\7example\3com",
	    192, 0, 2, 1),
#undef C
};

/*
 * The RDATA of rr in pkt with its names written out in full (the builder
 * may compress them): what a client reads.  Its length.
 */
static size_t
expanded_rdata(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    uint8_t *out)
{
	struct wire	 w;
	size_t		 n = 0, nl, fixed = 0, rest;
	int		 names = 0;

	switch (rr->type) {
	case 2: case 5: case 12: case 39:
		names = 1;
		break;
	case 15:
		fixed = 2;
		names = 1;
		break;
	case 6:
		names = 2;
		break;
	default:
		memcpy(out, pkt + rr->rdata_off, rr->rdlen);
		return rr->rdlen;
	}
	wire_init(&w, pkt, rr->rdata_off + rr->rdlen);
	w.pos = rr->rdata_off;
	cr_assert(wire_read_bytes(&w, out, fixed));
	n = fixed;
	while (names-- > 0) {
		cr_assert(wire_read_name(&w, out + n, &nl), "RDATA name of "
		    "type %u", rr->type);
		n += nl;
	}
	rest = wire_left(&w);
	cr_assert(wire_read_bytes(&w, out + n, rest));
	(void)len;
	return n + rest;
}

/*
 * Copy every RR of resp2 into a message whose question is qname; parse
 * it back and compare with resp2_copies, names read as a client reads
 * them.
 */
static void
check_copy_all(const char *qname)
{
	struct msg_info		 si, mi;
	struct msg_iter		 it;
	struct msg_rr		 rr;
	struct msg_builder	 mb;
	struct msg_question	 q;
	uint8_t			 out[1024];
	size_t			 n, i;
	int			 r;

	cr_assert(msg_parse_response(resp2, sizeof(resp2), &si));
	memset(&q, 0, sizeof(q));
	q.name_len = wire_name_from_text(qname, q.name, sizeof(q.name));
	q.qtype = 15;
	q.qclass = 1;
	msg_build_init(&mb, out, sizeof(out), 2, DNS_FLAG_QR);
	msg_build_question(&mb, &q);
	msg_iter_init(&it, resp2, sizeof(resp2), &si);
	while ((r = msg_iter_next(&it, &rr)) == 1)
		msg_build_copy_rr(&mb, rr.section, resp2, sizeof(resp2), &rr,
		    77);
	cr_assert_eq(r, 0);
	n = msg_build_finish(&mb);
	cr_assert_gt(n, 0);

	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert_eq(mi.ancount, 6);
	cr_assert_eq(mi.nscount, 1);
	cr_assert_eq(mi.arcount, 1, "the OPT is not copied");
	cr_assert_not(mi.edns);
	msg_iter_init(&it, out, n, &mi);
	for (i = 0; i < NELEM(resp2_copies); i++) {
		cr_assert_eq(msg_iter_next(&it, &rr), 1);
		cr_assert_eq(rr.type, resp2_copies[i].type);
		cr_assert_eq(rr.ttl, 77);
		cr_assert_eq(rr.rclass, 1);
		cr_assert(wire_name_equal(rr.name, rr.name_len,
		    resp2_copies[i].owner, resp2_copies[i].owner_len),
		    "owner of type %u", rr.type);
		{
			uint8_t	 x[1024];
			size_t	 xl = expanded_rdata(out, n, &rr, x);

			cr_assert_eq(xl, resp2_copies[i].rdlen, "type %u: %zu",
			    rr.type, xl);
			cr_assert_arr_eq(x, resp2_copies[i].rdata, xl,
			    "RDATA of type %u", rr.type);
		}
	}
	cr_assert_eq(msg_iter_next(&it, &rr), 0);
}

Test(msg_copy_rr, decompresses_rdata)
{
	check_copy_all("other.test");
}

Test(msg_copy_rr, decompresses_rdata_question_compressed)
{
	check_copy_all("EXAMPLE.com");
}

Test(msg_copy_rr, owner_compressed_to_question)
{
	struct msg_info		 si;
	struct msg_iter		 it;
	struct msg_rr		 rr;
	struct msg_builder	 mb;
	uint8_t			 out[256];
	size_t			 n;
	static const uint8_t	 want[] = {
		HDR(2, 0x8000, 1, 1, 0, 0),
		N_EXAMPLE_COM, U16(15), U16(1),		/* 12 */
		0xc0, 0x0c, RR(15, 77, 20),		/* 29 */
		U16(10), 4, 'm', 'a', 'i', 'l', N_EXAMPLE_COM,	/* 41 */
	};

	cr_assert(msg_parse_response(resp2, sizeof(resp2), &si));
	msg_iter_init(&it, resp2, sizeof(resp2), &si);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	msg_build_init(&mb, out, sizeof(out), 2, DNS_FLAG_QR);
	msg_build_question(&mb, &si.q);
	msg_build_copy_rr(&mb, DNS_SECTION_ANSWER, resp2, sizeof(resp2), &rr,
	    77);
	n = msg_build_finish(&mb);
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
}

/*
 * Copy the single answer of a hand-made packet; return finish()'s value.
 */
static size_t
copy_one(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	struct msg_info		 si;
	struct msg_iter		 it;
	struct msg_rr		 rr;
	struct msg_builder	 mb;

	cr_assert(msg_parse_response(p, len, &si), "source must parse");
	msg_iter_init(&it, p, len, &si);
	cr_assert_eq(msg_iter_next(&it, &rr), 1);
	msg_build_init(&mb, out, cap, 3, DNS_FLAG_QR);
	msg_build_copy_rr(&mb, DNS_SECTION_ANSWER, p, len, &rr, 1);
	return msg_build_finish(&mb);
}

struct copy_bad {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
};

#define CB(what, ...)	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__) }

static const struct copy_bad copy_bads[] = {
	CB("CNAME with a byte after the name",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(5), U16(1),	/* 12 */
	    0xc0, 12, RR(5, 1, 3), 0xc0, 12, 0x00),	/* 29 */
	CB("CNAME name runs past RDLENGTH",
	    HDR(1, 0x8000, 1, 1, 0, 1),
	    N_EXAMPLE_COM, U16(5), U16(1),
	    0xc0, 12, RR(5, 1, 2), 2, 0x01,	/* 29: RDATA at 41 */
	    0x00, RR(1, 1, 0)),			/* 43: label bytes 2 */
	CB("CNAME empty RDATA",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(5), U16(1),
	    0xc0, 12, RR(5, 1, 0)),
	CB("CNAME forward pointer in RDATA",
	    HDR(1, 0x8000, 1, 1, 0, 1),
	    N_EXAMPLE_COM, U16(5), U16(1),
	    0xc0, 12, RR(5, 1, 2), 0xc0, 43,	/* 41: -> 43 */
	    0x00, RR(1, 1, 0)),			/* 43 */
	CB("CNAME pointer to itself",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(5), U16(1),
	    0xc0, 12, RR(5, 1, 2), 0xc0, 41),
	CB("MX with only the preference",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(15), U16(1),
	    0xc0, 12, RR(15, 1, 2), U16(10)),
	CB("MX with one byte",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(15), U16(1),
	    0xc0, 12, RR(15, 1, 1), 0x00),
	CB("SOA with 19 fixed bytes",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(6), U16(1),
	    0xc0, 12, RR(6, 1, 22), 0xc0, 12, 0x00,
	    U32(1), U32(2), U32(3), U32(4), 0, 0, 5),
	CB("SOA with 21 fixed bytes",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(6), U16(1),
	    0xc0, 12, RR(6, 1, 24), 0xc0, 12, 0x00,
	    U32(1), U32(2), U32(3), U32(4), U32(5), 0),
	CB("SOA with a 0x80 label",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(6), U16(1),
	    0xc0, 12, RR(6, 1, 24), 0xc0, 12, 0x80, 0x00,
	    U32(1), U32(2), U32(3), U32(4), U32(5)),
	CB("NS with a 0x40 label",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(2), U16(1),
	    0xc0, 12, RR(2, 1, 2), 0x40, 0x00),
	CB("PTR truncated label",
	    HDR(1, 0x8000, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(12), U16(1),
	    0xc0, 12, RR(12, 1, 3), 5, 'a', 'b'),
};

Test(msg_copy_rr, malformed_rdata)
{
	uint8_t	out[1024];
	size_t	i;

	for (i = 0; i < NELEM(copy_bads); i++)
		cr_assert_eq(copy_one(copy_bads[i].p, copy_bads[i].len, out,
		    sizeof(out)), 0, "%s", copy_bads[i].what);
}

Test(msg_copy_rr, good_single_and_overflow)
{
	static const uint8_t p[] = {
		HDR(1, 0x8000, 1, 1, 0, 0),
		N_EXAMPLE_COM, U16(6), U16(1),		/* 12 */
		0xc0, 12, RR(6, 1, 23),			/* 29: SOA */
		0xc0, 12, 0x00,				/* 41: example.com . */
		U32(1), U32(2), U32(3), U32(4), U32(5),
	};
	static const uint8_t want[] = {
		HDR(3, 0x8000, 0, 1, 0, 0),
		N_EXAMPLE_COM, RR(6, 1, 23),		/* 12: no question */
		0xc0, 12, 0x00,				/* 35: the owner */
		U32(1), U32(2), U32(3), U32(4), U32(5),	/* 38 */
	};
	uint8_t	out[128];
	size_t	cap;

	cr_assert_eq(copy_one(p, sizeof(p), out, sizeof(out)), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	for (cap = 0; cap < sizeof(want); cap++)
		cr_assert_eq(copy_one(p, sizeof(p), out, cap), 0, "cap %zu",
		    cap);
}

Test(msg_copy_rr, rdata_outside_packet)
{
	struct msg_builder	mb;
	struct msg_rr		rr;
	uint8_t			out[256];

	memset(&rr, 0, sizeof(rr));
	rr.section = 0;
	rr.name[0] = 0;
	rr.name_len = 1;
	rr.type = DNS_TYPE_A;
	rr.rclass = 1;
	rr.rdata_off = 40;
	rr.rdlen = 4;
	/* RDATA [40, 44) but the packet is 43 bytes */
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_copy_rr(&mb, 0, resp2, 43, &rr, 1);
	cr_assert_eq(msg_build_finish(&mb), 0);
	/* RDATA offset past the end */
	rr.rdata_off = 1000;
	rr.rdlen = 0;
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_copy_rr(&mb, 0, resp2, sizeof(resp2), &rr, 1);
	cr_assert_eq(msg_build_finish(&mb), 0);
	/* exactly at the end is fine */
	rr.rdata_off = 39;
	rr.rdlen = 4;
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_copy_rr(&mb, 0, resp2, 43, &rr, 1);
	cr_assert_eq(msg_build_finish(&mb), 12 + 11 + 4);
	cr_assert_arr_eq(out + 23, resp2 + 39, 4);
	/* an OPT is skipped, not an error */
	rr.type = DNS_TYPE_OPT;
	msg_build_init(&mb, out, sizeof(out), 1, DNS_FLAG_QR);
	msg_build_copy_rr(&mb, 2, resp2, 43, &rr, 1);
	cr_assert_eq(msg_build_finish(&mb), 12);
}

/* ---------------------------------------------------------------- */
/* Error replies and upstream queries                                */
/* ---------------------------------------------------------------- */

Test(msg_error, with_edns)
{
	static const uint8_t q[] = {
		HDR(0x7777, 0x0530, 1, 0, 0, 1),	/* AA RD AD CD set */
		N_EXAMPLE_COM, U16(28), U16(1),		/* 12 */
		OPT(4096, 0, 0x8000, 0),		/* 29: DO */
	};
	static const uint8_t want[] = {
		HDR(0x7777, 0x8112, 1, 0, 0, 1),	/* QR RD CD SERVFAIL */
		N_EXAMPLE_COM, U16(28), U16(1),
		OPT(1232, 0, 0x8000, 0),
	};
	struct msg_info	qi, mi;
	uint8_t		out[512];
	size_t		n;

	cr_assert_eq(msg_parse_query(q, sizeof(q), &qi), MSG_OK);
	n = msg_build_error(&qi, DNS_RCODE_SERVFAIL, out, sizeof(out));
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert_eq(msg_rcode(&mi), DNS_RCODE_SERVFAIL);
	cr_assert(msg_question_equal(&mi.q, &qi.q));

	/* cap one short, and exact */
	cr_assert_eq(msg_build_error(&qi, 2, out, sizeof(want) - 1), 0);
	cr_assert_eq(msg_build_error(&qi, 2, out, sizeof(want)),
	    sizeof(want));
}

Test(msg_error, without_edns)
{
	static const uint8_t q[] = {
		HDR(0x0102, 0x0100, 1, 0, 0, 0),
		N_EXAMPLE_COM, U16(1), U16(1),
	};
	static const uint8_t want[] = {
		HDR(0x0102, 0x8105, 1, 0, 0, 0),	/* REFUSED */
		N_EXAMPLE_COM, U16(1), U16(1),
	};
	struct msg_info	qi;
	uint8_t		out[512];

	cr_assert_eq(msg_parse_query(q, sizeof(q), &qi), MSG_OK);
	cr_assert_eq(msg_build_error(&qi, DNS_RCODE_REFUSED, out,
	    sizeof(out)), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
}

Test(msg_error, notimp_keeps_opcode)
{
	static const uint8_t q[] = {
		HDR(0x0a0b, 0x2100, 1, 0, 0, 0),	/* NOTIFY, RD */
		N_EXAMPLE_COM, U16(6), U16(1),
	};
	static const uint8_t want[] = {
		HDR(0x0a0b, 0xa104, 1, 0, 0, 0),
		N_EXAMPLE_COM, U16(6), U16(1),
	};
	struct msg_info	qi;
	uint8_t		out[512];

	cr_assert_eq(msg_parse_query(q, sizeof(q), &qi), MSG_NOTIMP);
	cr_assert_eq(msg_build_error(&qi, DNS_RCODE_NOTIMP, out,
	    sizeof(out)), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
}

Test(msg_error, formerr_without_question)
{
	static const uint8_t q1[] = {
		HDR(0x0c0d, 0x0100, 2, 0, 0, 0),	/* qdcount 2 */
		N_EXAMPLE_COM, U16(1), U16(1),
		N_EXAMPLE_COM, U16(1), U16(1),
	};
	static const uint8_t q2[] = {
		HDR(0x0e0f, 0x0000, 0, 0, 0, 1),	/* OPT, no question */
		OPT(1232, 0, 0, 0),
	};
	struct msg_info	qi;
	uint8_t		out[512];

	cr_assert_eq(msg_parse_query(q1, sizeof(q1), &qi), MSG_FORMERR);
	cr_assert_eq(msg_build_error(&qi, DNS_RCODE_FORMERR, out,
	    sizeof(out)), 12);
	cr_assert_arr_eq(out, BYTES(HDR(0x0c0d, 0x8101, 0, 0, 0, 0)), 12);

	cr_assert_eq(msg_parse_query(q2, sizeof(q2), &qi), MSG_FORMERR);
	cr_assert_eq(msg_build_error(&qi, DNS_RCODE_FORMERR, out,
	    sizeof(out)), 23);
	cr_assert_arr_eq(out, BYTES(HDR(0x0e0f, 0x8001, 0, 0, 0, 1),
	    OPT(1232, 0, 0, 0)), 23);
	cr_assert_eq(msg_build_error(&qi, DNS_RCODE_FORMERR, out, 11), 0);
}

Test(msg_query_build, bytes)
{
	static const uint8_t opt[] = { OPT(1232, 0, 0x8000, 0) };
	static const uint8_t want[] = {
		HDR(0x5555, 0x0110, 1, 0, 0, 1),
		N_WWW_EXAMPLE_COM, U16(1), U16(1),
		OPT(1232, 0, 0x8000, 0),
	};
	uint8_t		out[512];
	size_t		n;
	struct msg_info	mi;

	/* QR passed in is cleared */
	n = msg_build_query(out, sizeof(out), 0x5555, 0x8110, www_ex_com,
	    sizeof(www_ex_com), 1, 1, opt, sizeof(opt));
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert_eq(msg_parse_query(out, n, &mi), MSG_OK);
	cr_assert(mi.edns);

	n = msg_build_query(out, sizeof(out), 0x5555, 0x0100, www_ex_com,
	    sizeof(www_ex_com), 28, 1, NULL, 0);
	cr_assert_eq(n, 12 + 17 + 4);
	cr_assert_eq(wire_get_u16(out + 10), 0);
	cr_assert_eq(wire_get_u16(out + 4), 1);

	cr_assert_eq(msg_build_query(out, sizeof(want) - 1, 1, 0, www_ex_com,
	    sizeof(www_ex_com), 1, 1, opt, sizeof(opt)), 0);
	cr_assert_eq(msg_build_query(out, 12 + 17 + 3, 1, 0, www_ex_com,
	    sizeof(www_ex_com), 1, 1, NULL, 0), 0);
	/* a bad name */
	cr_assert_eq(msg_build_query(out, sizeof(out), 1, 0, www_ex_com,
	    sizeof(www_ex_com) - 1, 1, 1, NULL, 0), 0);
	cr_assert_eq(msg_build_query(out, sizeof(out), 1, 0, www_ex_com,
	    300, 1, 1, NULL, 0), 0);
	cr_assert_eq(msg_build_query(out, sizeof(out), 1, 0, NULL, 0, 1, 1,
	    NULL, 0), 0);
}

/* ---------------------------------------------------------------- */
/* Relaying and truncating                                           */
/* ---------------------------------------------------------------- */

/* The client's query for resp1, spelled differently, with EDNS. */
static const uint8_t client_q1[] = {
	HDR(0x1111, 0x0100, 1, 0, 0, 1),
	3, 'W', 'W', 'W', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
	3, 'C', 'o', 'M', 0,
	U16(28), U16(1),
	OPT(1232, 0, 0x8000, 0),
};

Test(msg_relay, id_and_case)
{
	struct msg_info	ri, qi, mi;
	uint8_t		out[1024];
	size_t		n;

	cr_assert(msg_parse_response(resp1, sizeof(resp1), &ri));
	cr_assert_eq(msg_parse_query(client_q1, sizeof(client_q1), &qi),
	    MSG_OK);
	n = msg_relay(resp1, sizeof(resp1), &ri, &qi, msg_client_udp_max(&qi),
	    out, sizeof(out));
	cr_assert_eq(n, sizeof(resp1));
	cr_assert_eq(wire_get_u16(out), 0x1111);
	cr_assert_arr_eq(out + 2, resp1 + 2, 10);
	cr_assert_arr_eq(out + 12, client_q1 + 12, 17, "client's case");
	cr_assert_arr_eq(out + 29, resp1 + 29, sizeof(resp1) - 29);
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert(msg_question_equal(&mi.q, &qi.q));

	/* exact cap, and one byte short */
	cr_assert_eq(msg_relay(resp1, sizeof(resp1), &ri, &qi, 65535, out,
	    sizeof(resp1)), sizeof(resp1));
	cr_assert_eq(msg_relay(resp1, sizeof(resp1), &ri, &qi, 65535, out,
	    sizeof(resp1) - 1), 0);
}

Test(msg_relay, other_name_left_alone)
{
	struct msg_info	ri, qi;
	uint8_t		out[1024];
	uint8_t		q[sizeof(client_q1)];

	/* same length, different name: WWW.Example.CoN */
	memcpy(q, client_q1, sizeof(q));
	q[27] = 'N';
	cr_assert(msg_parse_response(resp1, sizeof(resp1), &ri));
	cr_assert_eq(msg_parse_query(q, sizeof(q), &qi), MSG_OK);
	cr_assert_eq(msg_relay(resp1, sizeof(resp1), &ri, &qi, 4096, out,
	    sizeof(out)), sizeof(resp1));
	cr_assert_eq(wire_get_u16(out), 0x1111);
	cr_assert_arr_eq(out + 2, resp1 + 2, sizeof(resp1) - 2);
}

Test(msg_relay, pointer_into_header_rejected)
{
	/*
	 * The question as a pointer to offset 5, the low byte of QDCOUNT:
	 * 0x01 0x00 0x00 would read as the name "\1\0" plus the root, and
	 * would change when relaying rewrites the counts.  Refused, like
	 * any pointer into the header, in every section.
	 */
	static const uint8_t r[] = {
		HDR(0x0001, 0x8180, 1, 0, 0, 0),
		0xc0, 0x05,				/* 12 */
		U16(1), U16(1),				/* 14 */
	};
	static const uint8_t r2[] = {
		HDR(0x0000, 0x8180, 1, 1, 0, 0),	/* ID 0: a root at 0 */
		N_EXAMPLE_COM, U16(1), U16(1),		/* 12 */
		0xc0, 0x00, RR(1, 1, 4), 1, 2, 3, 4,	/* 29: owner -> 0 */
	};
	static const uint8_t r3[] = {
		HDR(0x0000, 0x8180, 1, 0, 0, 1),
		N_EXAMPLE_COM, U16(1), U16(1),		/* 12 */
		0xc0, 0x00, U16(41), U16(512), U32(0), U16(0),	/* 29: OPT */
	};
	struct msg_info	mi;

	cr_assert_not(msg_parse_response(r, sizeof(r), &mi));
	cr_assert_not(msg_parse_response(r2, sizeof(r2), &mi));
	cr_assert_not(msg_parse_response(r3, sizeof(r3), &mi));
}

Test(msg_response, opt_owner_must_be_literal_root)
{
	/* An OPT owned by a pointer to a root byte (the question's) is the
	 * root by value, but would dangle once truncation moves the OPT. */
	static const uint8_t r[] = {
		HDR(0x0001, 0x8180, 1, 0, 0, 1),
		N_EXAMPLE_COM, U16(1), U16(1),		/* 12; root at 24 */
		0xc0, 24, U16(41), U16(512), U32(0), U16(0),	/* 29 */
	};
	struct msg_info	mi;

	cr_assert_not(msg_parse_response(r, sizeof(r), &mi));
	cr_assert_eq(msg_parse_query(r, sizeof(r), &mi), MSG_DROP);
	{
		uint8_t	q[sizeof(r)];

		memcpy(q, r, sizeof(q));
		q[2] = 0x01;
		cr_assert_eq(msg_parse_query(q, sizeof(q), &mi), MSG_FORMERR);
		cr_assert_not(mi.edns);
	}
}

/*
 * A response to big.example A with nrec A records and, if edns, an OPT
 * with EDE ede; upstream flags as given.  Returns its length.
 */
static size_t
build_big(uint8_t *out, size_t cap, unsigned nrec, bool edns, int ede,
    uint16_t flags)
{
	struct msg_builder	mb;
	struct msg_question	q;
	unsigned		i;
	uint8_t			a[4] = { 198, 51, 100, 0 };

	memset(&q, 0, sizeof(q));
	q.name_len = wire_name_from_text("big.example", q.name,
	    sizeof(q.name));
	q.qtype = DNS_TYPE_A;
	q.qclass = DNS_CLASS_IN;
	msg_build_init(&mb, out, cap, 0xaaaa, flags);
	msg_build_question(&mb, &q);
	for (i = 0; i < nrec; i++) {
		a[3] = (uint8_t)i;
		msg_build_rr(&mb, DNS_SECTION_ANSWER, q.name, q.name_len,
		    DNS_TYPE_A, DNS_CLASS_IN, 30, a, 4);
	}
	msg_build_rr(&mb, DNS_SECTION_AUTHORITY, q.name, q.name_len,
	    DNS_TYPE_NS, DNS_CLASS_IN, 30, BYTES(0), 1);
	if (edns)
		msg_build_opt(&mb, 1232, EDNS_FLAG_DO, ede);
	return msg_build_finish(&mb);
}

/* big.example A from a client, with or without EDNS. */
static void
big_query(struct msg_info *qi, uint16_t id, bool edns, uint16_t udp)
{
	uint8_t	q[128], opt[11] = { OPT(0, 0, 0, 0) };
	uint8_t	name[DNS_MAX_NAME];
	size_t	nl, ql;

	wire_set_u16(opt + 3, udp);
	nl = wire_name_from_text("BIG.example", name, sizeof(name));
	ql = msg_build_query(q, sizeof(q), id, DNS_FLAG_RD, name, nl,
	    DNS_TYPE_A, DNS_CLASS_IN, opt, edns ? sizeof(opt) : 0);
	cr_assert_gt(ql, 0);
	cr_assert_eq(msg_parse_query(q, ql, qi), MSG_OK);
}

Test(msg_relay, truncate_to_512_keeps_opt)
{
	uint8_t		resp[2048], out[2048];
	struct msg_info	ri, qi, mi;
	size_t		len, n;

	len = build_big(resp, sizeof(resp), 40, true, 29, 0x8180);
	cr_assert_gt(len, 512);
	cr_assert(msg_parse_response(resp, len, &ri));
	big_query(&qi, 0x2222, true, 512);
	cr_assert_eq(msg_client_udp_max(&qi), 512);

	n = msg_relay(resp, len, &ri, &qi, msg_client_udp_max(&qi), out,
	    sizeof(out));
	cr_assert_eq(n, ri.question_end + ri.opt_len);
	cr_assert_eq(n, 12 + 13 + 4 + 17);
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert_eq(mi.id, 0x2222);
	cr_assert(mi.flags & DNS_FLAG_TC);
	cr_assert_eq(mi.flags & ~DNS_FLAG_TC, 0x8180);
	cr_assert_eq(mi.qdcount, 1);
	cr_assert_eq(mi.ancount, 0);
	cr_assert_eq(mi.nscount, 0);
	cr_assert_eq(mi.arcount, 1);
	cr_assert(mi.edns);
	cr_assert_eq(mi.ede, 29);
	cr_assert_eq(mi.edns_flags, EDNS_FLAG_DO);
	cr_assert_arr_eq(out + 12, "\3BIG\7example", 13, "client's case");
	cr_assert_arr_eq(out + mi.opt_off, resp + ri.opt_off, ri.opt_len);

	/* the same through an out buffer too small for the whole answer:
	 * only what truncation keeps is copied */
	{
		uint8_t	small[64];

		memset(small, 0xa5, sizeof(small));
		cr_assert_eq(msg_relay(resp, len, &ri, &qi, 512, small, n), n);
		cr_assert_arr_eq(small, out, n);
		cr_assert_eq(small[n], 0xa5);
		cr_assert_eq(msg_relay(resp, len, &ri, &qi, 512, small, n - 1),
		    ri.question_end, "no room for the OPT: dropped");
		cr_assert_eq(msg_relay(resp, len, &ri, &qi, 512, small,
		    ri.question_end - 1), 0);
	}
}

Test(msg_relay, truncate_without_edns)
{
	uint8_t		resp[2048], out[2048];
	struct msg_info	ri, qi, mi;
	size_t		len, n;

	len = build_big(resp, sizeof(resp), 40, false, -1, 0x8180);
	cr_assert(msg_parse_response(resp, len, &ri));
	big_query(&qi, 0x3333, false, 0);
	cr_assert_eq(msg_client_udp_max(&qi), 512);
	n = msg_relay(resp, len, &ri, &qi, msg_client_udp_max(&qi), out,
	    sizeof(out));
	cr_assert_eq(n, ri.question_end);
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert(mi.flags & DNS_FLAG_TC);
	cr_assert_eq(mi.ancount + mi.nscount + mi.arcount, 0);
	cr_assert_not(mi.edns);
}

Test(msg_relay, fits_or_tcp_untouched)
{
	uint8_t		resp[2048], out[2048];
	struct msg_info	ri, qi;
	size_t		len;

	/* 693 bytes: fits a 4096-byte client and TCP */
	len = build_big(resp, sizeof(resp), 40, true, -1, 0x8180);
	cr_assert(msg_parse_response(resp, len, &ri));
	big_query(&qi, 0x4444, true, 4096);
	cr_assert_eq(msg_client_udp_max(&qi), 4096);
	cr_assert_eq(msg_relay(resp, len, &ri, &qi, 4096, out, sizeof(out)),
	    len);
	cr_assert_eq(msg_relay(resp, len, &ri, &qi, 65535, out, sizeof(out)),
	    len);
	cr_assert_eq(msg_relay(resp, len, &ri, &qi, len, out, sizeof(out)),
	    len, "exactly max fits");
	cr_assert_eq(wire_get_u16(out + 2) & DNS_FLAG_TC, 0);
	cr_assert_eq(msg_relay(resp, len, &ri, &qi, len - 1, out,
	    sizeof(out)), ri.question_end + ri.opt_len);
	cr_assert(wire_get_u16(out + 2) & DNS_FLAG_TC);
	/* fits max but not out */
	cr_assert_eq(msg_relay(resp, len, &ri, &qi, 4096, out, len - 1), 0);
}

Test(msg_relay, upstream_tc_kept)
{
	uint8_t		resp[2048], out[2048];
	struct msg_info	ri, qi, mi;
	size_t		len, n;

	len = build_big(resp, sizeof(resp), 2, true, -1,
	    DNS_FLAG_QR | DNS_FLAG_TC | DNS_FLAG_RD);
	cr_assert(msg_parse_response(resp, len, &ri));
	big_query(&qi, 0x5555, true, 1232);
	n = msg_relay(resp, len, &ri, &qi, 1232, out, sizeof(out));
	cr_assert_eq(n, len);
	cr_assert(msg_parse_response(out, n, &mi));
	cr_assert(mi.flags & DNS_FLAG_TC);
	cr_assert_eq(mi.ancount, 2);
}

Test(msg_truncate, cases)
{
	uint8_t		resp[2048], p[2048];
	struct msg_info	ri, mi;
	size_t		len, n;

	len = build_big(resp, sizeof(resp), 40, true, 29, 0x8180);
	cr_assert(msg_parse_response(resp, len, &ri));

	/* fits: untouched */
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, ri.question_end, ri.opt_off,
	    ri.opt_len, len), len);
	cr_assert_arr_eq(p, resp, len);

	/* OPT moved after the question */
	memcpy(p, resp, len);
	n = msg_truncate(p, len, ri.question_end, ri.opt_off, ri.opt_len,
	    512);
	cr_assert_eq(n, ri.question_end + ri.opt_len);
	cr_assert_arr_eq(p + ri.question_end, resp + ri.opt_off, ri.opt_len);
	cr_assert(msg_parse_response(p, n, &mi));
	cr_assert_eq(mi.arcount, 1);
	cr_assert_eq(mi.ede, 29);

	/* max too small for the OPT: dropped */
	memcpy(p, resp, len);
	n = msg_truncate(p, len, ri.question_end, ri.opt_off, ri.opt_len,
	    ri.question_end + ri.opt_len - 1);
	cr_assert_eq(n, ri.question_end);
	cr_assert(msg_parse_response(p, n, &mi));
	cr_assert_eq(mi.arcount, 0);
	cr_assert(mi.flags & DNS_FLAG_TC);

	/* no OPT */
	memcpy(p, resp, len);
	n = msg_truncate(p, len, ri.question_end, 0, 0, 512);
	cr_assert_eq(n, ri.question_end);
	cr_assert_eq(wire_get_u16(p + 10), 0);

	/* OPT offsets that do not describe the packet: dropped */
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, ri.question_end, len - 5, 11, 512),
	    ri.question_end);
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, ri.question_end, 3, 11, 512),
	    ri.question_end);
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, ri.question_end, SIZE_MAX - 3, 11,
	    512), ri.question_end);

	/* question itself over max, or impossible: header only */
	memcpy(p, resp, len);
	n = msg_truncate(p, len, ri.question_end, ri.opt_off, ri.opt_len, 20);
	cr_assert_eq(n, 12);
	cr_assert_arr_eq(p, BYTES(HDR(0xaaaa, 0x8380, 0, 0, 0, 0)), 12);
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, 5, 0, 0, 512), 12);
	memcpy(p, resp, len);
	cr_assert_eq(msg_truncate(p, len, len + 1, 0, 0, 512), 12);

	/* shorter than a header: nothing to do */
	cr_assert_eq(msg_truncate(p, 5, 12, 0, 0, 4), 5);
}

/* The client's OPT without its Padding, for the queries the proxy asks. */
#define PAD	EDNS_OPT_BIT(EDNS_OPT_PADDING)
Test(msg_opt, unpadded)
{
	static const uint8_t opt[] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0,	/* 1232, DO */
		0, 23,					/* RDLENGTH */
		0, 12, 0, 5, 0, 0, 0, 0, 0,		/* Padding */
		0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,	/* COOKIE */
		0, 12, 0, 0,				/* Padding */
	};
	uint8_t		 out[64];
	size_t		 n;

	n = msg_opt_without(opt, sizeof(opt), PAD, out, sizeof(out));
	cr_assert_eq(n, 11 + 12);
	cr_assert_arr_eq(out, opt, 9, "owner, type, class, TTL");
	cr_assert_eq(wire_get_u16(out + 9), 12);
	cr_assert_arr_eq(out + 11, opt + 20, 12, "the COOKIE");
	cr_assert_eq(msg_opt_without(opt, sizeof(opt), PAD, out, 22), 0,
	    "no room");
	cr_assert_eq(msg_opt_without(opt, 10, PAD, out, sizeof(out)), 0);
	/* an option running past the end */
	cr_assert_eq(msg_opt_without(opt, 30, PAD, out, sizeof(out)), 0);
}

Test(msg_client, udp_max)
{
	static const struct {
		bool		edns;
		uint16_t	udp;
		size_t		want;
	} cases[] = {
		{ false, 0, 512 },
		{ false, 4096, 512 },
		{ true, 0, 512 },
		{ true, 511, 512 },
		{ true, 512, 512 },
		{ true, 513, 513 },
		{ true, 1232, 1232 },
		{ true, 4096, 4096 },
		{ true, 65507, 65507 },
		{ true, 65508, 65507 },	/* no IPv4 datagram holds more */
		{ true, 65535, 65507 },
	};
	struct msg_info	mi;
	size_t		i;

	for (i = 0; i < NELEM(cases); i++) {
		memset(&mi, 0, sizeof(mi));
		mi.edns = cases[i].edns;
		mi.edns_udp = cases[i].udp;
		cr_assert_eq(msg_client_udp_max(&mi), cases[i].want,
		    "case %zu", i);
	}
}

/* ---------------------------------------------------------------- */
/* Hostile inputs                                                    */
/* ---------------------------------------------------------------- */

struct hostile {
	const char	*what;
	const uint8_t	*p;
	size_t		 len;
};

#define HOST(what, ...)	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__) }

/*
 * Every one of these must be rejected by msg_parse_response() as it
 * stands (QR set) and by msg_parse_query() with QR cleared, without
 * crashing or reading out of bounds.
 */
static const struct hostile hostiles[] = {
	HOST("1 byte", 0x00),
	HOST("11 bytes", 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0),
	HOST("header only, qd 1", HDR(1, 0x8100, 1, 0, 0, 0)),
	HOST("all counts 0xffff", HDR(1, 0x8100, 0xffff, 0xffff, 0xffff,
	    0xffff)),
	HOST("qdcount 0xffff", HDR(1, 0x8100, 0xffff, 0, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1)),
	HOST("qname self pointer", HDR(1, 0x8100, 1, 0, 0, 0),
	    0xc0, 0x0c, U16(1), U16(1)),
	HOST("qname pointer loop", HDR(1, 0x8100, 1, 0, 0, 0),
	    0xc0, 0x0e, 0xc0, 0x0c, U16(1), U16(1)),
	HOST("qname forward pointer", HDR(1, 0x8100, 1, 0, 0, 0),
	    0xc0, 0x10, U16(1), U16(1), 0x00),
	HOST("qname pointer past end", HDR(1, 0x8100, 1, 0, 0, 0),
	    0xff, 0xff, U16(1), U16(1)),
	HOST("qname 0x40 label", HDR(1, 0x8100, 1, 0, 0, 0),
	    0x40, 0x00, U16(1), U16(1)),
	HOST("qname 0x80 label", HDR(1, 0x8100, 1, 0, 0, 0),
	    0x80, 0x00, U16(1), U16(1)),
	HOST("qname without root", HDR(1, 0x8100, 1, 0, 0, 0),
	    3, 'a', 'b', 'c', 3, 'd', 'e', 'f'),
	HOST("qname label past end", HDR(1, 0x8100, 1, 0, 0, 0),
	    63, 'a', 'b', 'c'),
	HOST("qname 256 bytes", HDR(1, 0x8100, 1, 0, 0, 0),
	    63, 'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    63, 'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    63, 'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    62, 'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    0, U16(1), U16(1)),
	HOST("question without type", HDR(1, 0x8100, 1, 0, 0, 0),
	    N_EXAMPLE_COM),
	HOST("answer cut after owner", HDR(1, 0x8100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1), 0xc0, 0x0c),
	HOST("answer RDLENGTH 0xffff", HDR(1, 0x8100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1), 0xc0, 0x0c, RR(1, 1, 0xffff),
	    1, 2, 3, 4),
	HOST("ancount 0xffff, one RR", HDR(1, 0x8100, 1, 0xffff, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1), 0xc0, 0x0c, RR(1, 1, 4),
	    1, 2, 3, 4),
	HOST("answer owner into its own pointer", HDR(1, 0x8100, 1, 1, 0, 0),
	    N_EXAMPLE_COM, U16(1), U16(1), 1, 'x', 0xc0, 29, RR(1, 1, 0)),
	HOST("two OPTs", HDR(1, 0x8100, 1, 0, 0, 2),
	    N_EXAMPLE_COM, U16(1), U16(1),
	    OPT(1232, 0, 0, 0), OPT(1232, 0, 0, 0)),
	HOST("OPT owned by a.", HDR(1, 0x8100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(1), U16(1),
	    1, 'a', 0, U16(41), U16(512), U32(0), U16(0)),
	HOST("OPT in authority", HDR(1, 0x8100, 1, 0, 1, 0),
	    N_EXAMPLE_COM, U16(1), U16(1), OPT(1232, 0, 0, 0)),
	HOST("OPT option past RDATA", HDR(1, 0x8100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(1), U16(1), OPT(1232, 0, 0, 4),
	    U16(15), U16(0xffff)),
	HOST("OPT RDATA past end", HDR(1, 0x8100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(1), U16(1), OPT(1232, 0, 0, 6),
	    U16(15), U16(2)),
	HOST("OPT option header cut", HDR(1, 0x8100, 1, 0, 0, 1),
	    N_EXAMPLE_COM, U16(1), U16(1), OPT(1232, 0, 0, 1), 0),
};

ParameterizedTestParameters(msg_hostile, rejected)
{
	static size_t	idx[NELEM(hostiles)];
	size_t		i;

	for (i = 0; i < NELEM(hostiles); i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NELEM(hostiles));
}

/*
 * Whatever a parser said, walking and relaying must stay in bounds.
 */
static void
poke(const uint8_t *p, size_t len, const struct msg_info *mi)
{
	struct msg_iter	it;
	struct msg_rr	rr;
	struct msg_info	qi;
	uint8_t		out[1024];
	size_t		n;
	int		r, guard;

	msg_iter_init(&it, p, len, mi);
	guard = 0;
	while ((r = msg_iter_next(&it, &rr)) == 1) {
		cr_assert_leq(rr.rdata_off + rr.rdlen, len);
		cr_assert_lt(++guard, 70000);
	}
	memset(&qi, 0, sizeof(qi));
	qi.id = 0x9999;
	qi.has_question = mi->has_question;
	qi.q = mi->q;
	n = msg_relay(p, len, mi, &qi, 512, out, sizeof(out));
	cr_assert_leq(n, sizeof(out));
	if (n > 0)
		cr_assert_eq(wire_get_u16(out), 0x9999);
	/* truncation paths, into a small buffer */
	n = msg_relay(p, len, mi, &qi, 40, out, 48);
	cr_assert_leq(n, 48);
	if (n > 40)
		cr_assert_eq(n, mi->question_end);
}

ParameterizedTest(size_t *ip, msg_hostile, rejected)
{
	const struct hostile	*h = &hostiles[*ip];
	struct msg_info		 mi;
	uint8_t			 q[1024];
	size_t			 cut;
	enum msg_verdict	 v;

	cr_assert_leq(h->len, sizeof(q));
	cr_assert_not(msg_parse_response(h->p, h->len, &mi), "%s", h->what);
	poke(h->p, h->len, &mi);

	memcpy(q, h->p, h->len);
	if (h->len > 2)
		q[2] &= 0x7f;			/* QR off */
	v = msg_parse_query(q, h->len, &mi);
	cr_assert_neq(v, MSG_OK, "%s: accepted as a query", h->what);
	cr_assert(v == MSG_DROP || v == MSG_FORMERR, "%s: %d", h->what, v);
	poke(q, h->len, &mi);

	/* every prefix: no crash, and never OK */
	for (cut = 0; cut < h->len; cut++) {
		cr_assert_not(msg_parse_response(h->p, cut, &mi));
		poke(h->p, cut, &mi);
		cr_assert_neq(msg_parse_query(q, cut, &mi), MSG_OK);
		poke(q, cut, &mi);
	}
}

/*
 * Mutations of good packets: overwrite each byte with values that tend
 * to matter (pointer marks, label lengths, zero, all ones).  Whatever
 * parses must walk and relay within bounds.
 */
Test(msg_hostile, byte_mutations)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x0c, 0x3f, 0x40, 0x80,
	    0xc0, 0xff };
	const struct { const uint8_t *p; size_t len; } seeds[] = {
		{ resp1, sizeof(resp1) },
		{ resp2, sizeof(resp2) },
		{ client_q1, sizeof(client_q1) },
		{ sample, sizeof(sample) },
	};
	uint8_t		p[256];
	struct msg_info	mi;
	size_t		s, i, v;
	unsigned	accepted = 0;

	for (s = 0; s < NELEM(seeds); s++) {
		for (i = 0; i < seeds[s].len; i++) {
			for (v = 0; v < NELEM(vals); v++) {
				memcpy(p, seeds[s].p, seeds[s].len);
				p[i] = vals[v];
				if (msg_parse_response(p, seeds[s].len, &mi))
					accepted++;
				poke(p, seeds[s].len, &mi);
				if (msg_parse_query(p, seeds[s].len, &mi) ==
				    MSG_OK)
					accepted++;
				poke(p, seeds[s].len, &mi);
			}
		}
	}
	/* plenty of harmless mutations (TTLs, RDATA) still parse */
	cr_assert_gt(accepted, 100);
}
