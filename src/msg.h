/*
 * msg.h: DNS messages on top of the wire cursor: parsing queries and
 * responses, walking resource records, and building new messages.
 *
 * Pure code: no allocation, no I/O.  The caller keeps every packet buffer;
 * struct msg_info and struct msg_rr hold offsets into the packet they were
 * parsed from and copies of names, never pointers.
 */
#ifndef DNS64PROXY_MSG_H
#define DNS64PROXY_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define DNS_TYPE_A	1
#define DNS_TYPE_NS	2
#define DNS_TYPE_CNAME	5
#define DNS_TYPE_SOA	6
#define DNS_TYPE_PTR	12
#define DNS_TYPE_MX	15
#define DNS_TYPE_AAAA	28
#define DNS_TYPE_DNAME	39
#define DNS_TYPE_OPT	41
#define DNS_TYPE_DS	43
#define DNS_CLASS_IN	1

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_FORMERR	1
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_RCODE_NOTIMP	4
#define DNS_RCODE_REFUSED	5

/* Header flag bits (second 16-bit word). */
#define DNS_FLAG_QR	0x8000
#define DNS_OPCODE_MASK	0x7800
#define DNS_FLAG_AA	0x0400
#define DNS_FLAG_TC	0x0200
#define DNS_FLAG_RD	0x0100
#define DNS_FLAG_RA	0x0080
#define DNS_FLAG_AD	0x0020
#define DNS_FLAG_CD	0x0010
#define DNS_RCODE_MASK	0x000f

#define EDNS_FLAG_DO	0x8000
#define EDNS_OPT_ECS	8	/* RFC 7871 Client Subnet */
#define EDNS_OPT_COOKIE	10	/* RFC 7873 */
#define EDNS_OPT_KEEPALIVE	11	/* RFC 7828 */
#define EDNS_OPT_PADDING	12	/* RFC 7830 */
#define EDNS_OPT_BIT(code)	((uint32_t)1 << (code))	/* msg_info.opts */
#define EDNS_OPT_EDE	15	/* RFC 8914 */
#define EDE_SYNTHESIZED	29
#define EDE_IS_DNSSEC(c)	((c) >= 6 && (c) <= 12)	/* RFC 8914 4.7-4.13 */
#define DNS_UDP_PLAIN	512	/* client max without EDNS */
#define DNS_UDP_MAX_PAYLOAD 65507	/* the most one IPv4 datagram holds */
#define DNS_EDNS_OUR_SIZE 1232	/* UDP size we advertise */

#define DNS_SECTION_ANSWER	0
#define DNS_SECTION_AUTHORITY	1
#define DNS_SECTION_ADDITIONAL	2

struct msg_question {
	uint8_t		name[DNS_MAX_NAME];	/* wire form, case as sent */
	size_t		name_len;
	uint16_t	qtype;
	uint16_t	qclass;
};

/* What parsing a query or a response learns. */
struct msg_info {
	uint16_t	id;
	uint16_t	flags;
	uint16_t	qdcount, ancount, nscount, arcount;
	bool		has_question;	/* qdcount == 1 and it parsed */
	struct msg_question q;
	size_t		question_end;	/* offset just past the question */
	bool		edns;		/* an OPT RR is present */
	uint16_t	edns_udp;	/* its UDP payload size (class) */
	uint16_t	edns_flags;	/* DO etc. (low 16 bits of the TTL) */
	uint8_t		edns_version;
	size_t		opt_off;	/* whole OPT RR: offset and length */
	size_t		opt_len;
	uint32_t	opts;		/* EDNS_OPT_BIT() of each option
					 * code below 32 present */
	int		ede;		/* Extended DNS Error code: the first
					 * DNSSEC one (6 to 12) if any, else
					 * the first; -1 if none */
};

enum msg_verdict {
	MSG_DROP,	/* not even a header, or QR set: ignore silently */
	MSG_FORMERR,	/* header readable, rest malformed */
	MSG_NOTIMP,	/* opcode other than QUERY */
	MSG_OK
};

/*
 * Parse a query from a client.  Header shorter than 12 bytes or QR set:
 * MSG_DROP.  Opcode not QUERY: MSG_NOTIMP.  qdcount != 1, a bad question,
 * any malformed RR, more than one OPT or an OPT not owned by the root:
 * MSG_FORMERR.  mi is filled as far as parsing got (id and flags whenever
 * the header was read, the question when has_question).
 */
enum msg_verdict msg_parse_query(const uint8_t *pkt, size_t len,
	    struct msg_info *mi);

/*
 * Parse a response from an upstream: QR must be set, qdcount 1, and every
 * RR of every section must parse.  Fills mi including OPT and the first
 * EDE code.  False if anything is malformed.
 */
bool	msg_parse_response(const uint8_t *pkt, size_t len, struct msg_info *mi);

/* RCODE of a parsed message (header RCODE; extended bits ignored). */
int	msg_rcode(const struct msg_info *mi);

/* Same name (case-insensitive), type and class. */
bool	msg_question_equal(const struct msg_question *a,
	    const struct msg_question *b);

/* One resource record as found in a packet. */
struct msg_rr {
	int		section;	/* DNS_SECTION_* */
	uint8_t		name[DNS_MAX_NAME];	/* owner, decompressed */
	size_t		name_len;
	size_t		owner_off;	/* offset of the owner in the packet */
	bool		owner_q;	/* owner is a pointer to the question */
	uint16_t	type;
	uint16_t	rclass;
	uint32_t	ttl;
	uint16_t	rdlen;
	size_t		rdata_off;	/* offset of RDATA in the packet */
};

/* Walks the answer, authority and additional sections in order. */
struct msg_iter {
	struct wire	w;
	int		section;
	unsigned	left[3];
	size_t		qname_len;	/* the question's name, 0: none */
};

/* Start after the question of a message parsed into mi. */
void	msg_iter_init(struct msg_iter *it, const uint8_t *pkt, size_t len,
	    const struct msg_info *mi);
/*
 * End the walk after section last (DNS_SECTION_ANSWER to _ADDITIONAL):
 * a walk of the answer section then stops at its last record without
 * reading the next one.
 */
static inline void
msg_iter_limit(struct msg_iter *it, int last)
{
	int	s = last < DNS_SECTION_ANSWER ? DNS_SECTION_ANSWER : last + 1;

	for (; s <= DNS_SECTION_ADDITIONAL; s++)
		it->left[s] = 0;
}
/* The same as msg_iter_init() then msg_iter_limit(it, ANSWER). */
static inline void
msg_iter_init_answer(struct msg_iter *it, const uint8_t *pkt, size_t len,
    const struct msg_info *mi)
{
	msg_iter_init(it, pkt, len, mi);
	msg_iter_limit(it, DNS_SECTION_ANSWER);
}
/* 1: *rr holds the next RR; 0: no more; -1: malformed. */
int	msg_iter_next(struct msg_iter *it, struct msg_rr *rr);
/*
 * The same, but the owner name is only checked: rr->name is left unset
 * (name_len is set) until msg_rr_owner() fills it.  For walks that look
 * at the names of few records.
 */
int	msg_iter_next_lazy(struct msg_iter *it, struct msg_rr *rr);
/* Fill rr->name from the packet rr was read from.  False if malformed. */
bool	msg_rr_owner(const uint8_t *pkt, size_t len, struct msg_rr *rr);

/*
 * Builder of a new message.  Names are written uncompressed except that an
 * owner name equal (case-insensitively) to the question name is written as
 * a pointer to offset 12.  Sections must be filled in order: question,
 * answer, authority, additional.  Any write that does not fit sets
 * overflow; msg_build_finish() then returns 0.
 */
#define MSG_BUILD_NAMES	16	/* names remembered for compression */

struct msg_builder {
	struct wbuf	b;
	uint16_t	count[4];	/* qd, an, ns, ar */
	size_t		qname_off;	/* 12 once a question is written */
	size_t		qname_len;	/* its name, at qname_off in b */
	bool		overflow;
	bool		malformed;	/* a copied RR did not parse */
	/*
	 * Where msg_build_cut() may go back to: the message after its last
	 * whole answer record, and after its last whole answer or authority
	 * record; the section of the record being written.
	 */
	size_t		ans_len, auth_len;
	uint16_t	ans_count[4], auth_count[4];
	int		cur_section;
	/*
	 * Names written in full, for compression (RFC 1035 4.1.4): a name
	 * written again becomes a pointer to its first copy.
	 */
	uint16_t	name_off[MSG_BUILD_NAMES];
	uint8_t		name_len[MSG_BUILD_NAMES];
	unsigned	nnames;
};

void	msg_build_init(struct msg_builder *mb, uint8_t *out, size_t cap,
	    uint16_t id, uint16_t flags);
/*
 * After an overflow for want of room, go back to a message of whole
 * records (RFC 2181 9): when an additional record did not fit, without
 * the additional section; an authority record, without authority and
 * additional; an answer record, with the answer records that fit.  *tc
 * says whether what was left out calls for TC: part of the answer, or
 * the authority of an answer without answer records.  True when nothing
 * overflowed too; false when the overflow was no want of room (a
 * malformed source record) or came before the first record.
 */
bool	msg_build_cut(struct msg_builder *mb, bool *tc);
/*
 * Bytes msg_build_opt_from() writes for these arguments: what to keep
 * free for the OPT record behind the others.
 */
size_t	msg_opt_size(int ede, const uint8_t *src, const struct msg_info *si);
/*
 * Copy the OPT RR at opt (len bytes) into out without the options whose
 * EDNS_OPT_BIT() is in drop (Padding, say: RFC 7830 sizes it for the
 * message it came in).  The length, or 0 when it does not fit cap or an
 * option runs past len.
 */
size_t	msg_opt_without(const uint8_t *opt, size_t len, uint32_t drop,
	    uint8_t *out, size_t cap);
void	msg_build_question(struct msg_builder *mb,
	    const struct msg_question *q);
/* A record with the given owner and RDATA (RDATA copied as is). */
void	msg_build_rr(struct msg_builder *mb, int section, const uint8_t *name,
	    size_t name_len, uint16_t type, uint16_t rclass, uint32_t ttl,
	    const void *rdata, uint16_t rdlen);
/*
 * The same with the question's name as owner, written as a pointer to
 * it; overflow when there is no question.  For records whose owner the
 * caller has compared with the question once for many.
 */
void	msg_build_rr_qowner(struct msg_builder *mb, int section,
	    uint16_t type, uint16_t rclass, uint32_t ttl, const void *rdata,
	    uint16_t rdlen);
/*
 * Is name (valid, uncompressed) the question's name, case aside, and not
 * the root?  Then records it owns can be written with a pointer to it.
 */
bool	msg_build_is_qname(const struct msg_builder *mb, const uint8_t *name,
	    size_t name_len);
/*
 * Copy an RR found in pkt (by msg_iter) into section, with a new TTL.
 * Names inside the RDATA of NS, CNAME, SOA, PTR, MX and DNAME are
 * decompressed so the copy does not point into the old message.  An OPT
 * RR is never copied by this call.
 */
void	msg_build_copy_rr(struct msg_builder *mb, int section,
	    const uint8_t *pkt, size_t len, const struct msg_rr *rr,
	    uint32_t ttl);
/* Our own OPT RR in the additional section; ede < 0 for no EDE option. */
void	msg_build_opt(struct msg_builder *mb, uint16_t udp_size,
	    uint16_t edns_flags, int ede);
/*
 * The same carrying the EDNS options of the OPT RR of src (an upstream
 * answer, parsed into si), Padding excepted (RFC 7830: it fits the
 * message it came in), before our EDE option; an EDE option of src with
 * the same code as ede is not written twice.  src NULL or without EDNS:
 * msg_build_opt().
 */
void	msg_build_opt_from(struct msg_builder *mb, uint16_t udp_size,
	    uint16_t edns_flags, int ede, const uint8_t *src,
	    const struct msg_info *si);
/* Write the counts; returns the message length, 0 on overflow. */
size_t	msg_build_finish(struct msg_builder *mb);

/*
 * An error answer to a query: the query's ID, opcode, RD and CD, QR set,
 * the given RCODE, the question when the query had one that parsed, and an
 * OPT RR when the query had one.  Returns the length, 0 if cap is too small.
 */
size_t	msg_build_error(const struct msg_info *qi, int rcode, uint8_t *out,
	    size_t cap);

/*
 * A query to an upstream: header with id and flags (QR clear), one
 * question, and opt_len bytes of a raw OPT RR (the client's, copied) when
 * opt_len > 0.  Returns the length, 0 if it does not fit.
 */
size_t	msg_build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
	    const uint8_t *name, size_t name_len, uint16_t qtype,
	    uint16_t qclass, const uint8_t *opt, size_t opt_len);

/*
 * Relay an upstream answer to the client: copy resp into out, put the
 * client's ID in, and write the client's question name bytes over the
 * echoed question (same length, so the client sees its own letter case).
 * If the result is longer than max (the client's UDP limit, or 65535 for
 * TCP) it is truncated: header, question and the OPT RR if any, counts
 * adjusted, TC set; never cut inside a record.  ri describes resp, qi the
 * client's query.  Returns the length, 0 if out (cap bytes) is too small.
 */
size_t	msg_relay(const uint8_t *resp, size_t len, const struct msg_info *ri,
	    const struct msg_info *qi, size_t max, uint8_t *out, size_t cap);

/*
 * Truncate a finished message of len bytes in place to fit max: keep the
 * header and question (and OPT RR: pass its offset/len, opt_len 0 if none),
 * zero the other counts, set TC.  Returns the new length.
 */
size_t	msg_truncate(uint8_t *pkt, size_t len, size_t question_end,
	    size_t opt_off, size_t opt_len, size_t max);

/*
 * Largest answer the client accepts over UDP: 512, or its EDNS size (>=
 * 512), at most DNS_UDP_MAX_PAYLOAD: a larger one could not be sent.
 */
size_t	msg_client_udp_max(const struct msg_info *qi);

#endif /* DNS64PROXY_MSG_H */
