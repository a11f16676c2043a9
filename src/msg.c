/*
 * msg.c: DNS messages on top of the wire cursor: parsing queries and
 * responses, walking resource records, building new messages, relaying
 * and truncating.
 *
 * Nothing here allocates or does I/O.  Parsers read only through struct
 * wire; builders write only through struct wbuf or into a caller's buffer
 * after checking its size.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"
#include "wire.h"

#define OPT_FIXED_LEN	11	/* root, type, class, TTL, RDLENGTH */

/* ---------------------------------------------------------------- */
/* Parsing                                                           */
/* ---------------------------------------------------------------- */

/*
 * Empty mi: no question, no EDNS, no EDE.
 */
static void
info_clear(struct msg_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->ede = -1;
}

/*
 * Read the 12-byte header into mi.  False if fewer than 12 bytes.
 */
static bool
parse_header(struct wire *w, struct msg_info *mi)
{
	const uint8_t	*p;

	if (wire_left(w) < DNS_HDR_LEN)
		return false;
	p = w->buf + w->pos;
	mi->id = wire_get_u16(p);
	mi->flags = wire_get_u16(p + 2);
	mi->qdcount = wire_get_u16(p + 4);
	mi->ancount = wire_get_u16(p + 6);
	mi->nscount = wire_get_u16(p + 8);
	mi->arcount = wire_get_u16(p + 10);
	w->pos += DNS_HDR_LEN;
	return true;
}

/*
 * Read the one question at the cursor into mi->q; on success set
 * has_question and question_end.
 */
static bool
parse_question(struct wire *w, struct msg_info *mi)
{
	struct msg_question	q;

	if (!wire_read_name(w, q.name, &q.name_len) ||
	    !wire_read_u16(w, &q.qtype) ||
	    !wire_read_u16(w, &q.qclass))
		return false;
	mi->q = q;
	mi->has_question = true;
	mi->question_end = w->pos;
	return true;
}

/*
 * Take the OPT RR rr, which starts at offset start, into mi (RFC 6891
 * 6.1.1): one at most, in the additional section, its owner the root
 * written as the single byte 0 (a pointer to some root byte elsewhere
 * would dangle once truncation moves the OPT), and its options must tile
 * the RDATA exactly.  The first EDE option (RFC 8914
 * 2) with at least its 2-byte INFO-CODE sets mi->ede.
 */
static bool
take_opt(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    size_t start, struct msg_info *mi)
{
	struct wire	w;
	uint16_t	code, olen, info;

	if (mi->edns || rr->section != DNS_SECTION_ADDITIONAL ||
	    rr->name_len != 1 || pkt[start] != 0)
		return false;
	mi->edns = true;
	mi->edns_udp = rr->rclass;
	mi->edns_version = (uint8_t)(rr->ttl >> 16);
	mi->edns_flags = (uint16_t)(rr->ttl & 0xffff);
	mi->opt_off = start;
	mi->opt_len = rr->rdata_off + rr->rdlen - start;

	/* The iterator checked rdata_off + rdlen <= len. */
	wire_init(&w, pkt, len);
	w.len = rr->rdata_off + rr->rdlen;
	w.pos = rr->rdata_off;
	while (wire_left(&w) > 0) {
		if (!wire_read_u16(&w, &code) || !wire_read_u16(&w, &olen))
			return false;
		if (wire_left(&w) < olen)
			return false;
		if (code < 32)
			mi->opts |= EDNS_OPT_BIT(code);
		/* RFC 8914 allows several: a DNSSEC verdict wins (RFC
		 * 6147 5.5 and failover look for it). */
		if (code == EDNS_OPT_EDE && olen >= 2) {
			info = wire_get_u16(w.buf + w.pos);
			if (mi->ede < 0 || (!EDE_IS_DNSSEC(mi->ede) &&
			    EDE_IS_DNSSEC(info)))
				mi->ede = info;
		}
		(void)wire_skip(&w, olen);
	}
	return true;
}

static int	iter_next(struct msg_iter *it, struct msg_rr *rr, bool copy);

/*
 * Walk every RR after the question; collect the OPT RR.  False on the
 * first malformed RR or OPT.
 */
static bool
parse_records(const uint8_t *pkt, size_t len, struct msg_info *mi)
{
	struct msg_iter	it;
	struct msg_rr	rr;
	size_t		start;
	int		r;

	msg_iter_init(&it, pkt, len, mi);
	for (;;) {
		start = it.w.pos;
		/* Owner names are checked, not copied: only OPT's matters. */
		r = iter_next(&it, &rr, false);
		if (r == 0)
			return true;
		if (r < 0)
			return false;
		if (rr.type == DNS_TYPE_OPT &&
		    !take_opt(pkt, len, &rr, start, mi))
			return false;
	}
}

/*
 * Parse a client's query (see msg.h).  The order of the checks is the
 * order of the verdicts' precedence: DROP before NOTIMP before FORMERR.
 * For NOTIMP and FORMERR, mi is filled on a best-effort basis so that the
 * error reply can echo the question and EDNS.  Bytes after the last RR
 * are ignored, as most servers do.
 */
enum msg_verdict
msg_parse_query(const uint8_t *pkt, size_t len, struct msg_info *mi)
{
	struct wire	w;

	info_clear(mi);
	wire_init(&w, pkt, len);
	if (pkt == NULL || !parse_header(&w, mi))
		return MSG_DROP;
	if (mi->flags & DNS_FLAG_QR)
		return MSG_DROP;
	mi->question_end = DNS_HDR_LEN;

	if ((mi->flags & DNS_OPCODE_MASK) != 0) {
		/* RFC 1035 4.1.1: NOTIMP; echo what can be read. */
		if (mi->qdcount == 1 && parse_question(&w, mi))
			(void)parse_records(pkt, len, mi);
		return MSG_NOTIMP;
	}
	if (mi->qdcount == 0) {
		/* Still find the OPT so that FORMERR can carry one. */
		(void)parse_records(pkt, len, mi);
		return MSG_FORMERR;
	}
	if (mi->qdcount != 1)
		return MSG_FORMERR;
	if (!parse_question(&w, mi))
		return MSG_FORMERR;
	if (!parse_records(pkt, len, mi))
		return MSG_FORMERR;
	return MSG_OK;
}

/*
 * Parse an upstream's response (see msg.h).  mi is cleared first and
 * holds partial results when false comes back.
 */
bool
msg_parse_response(const uint8_t *pkt, size_t len, struct msg_info *mi)
{
	struct wire	w;

	info_clear(mi);
	wire_init(&w, pkt, len);
	if (pkt == NULL || !parse_header(&w, mi))
		return false;
	mi->question_end = DNS_HDR_LEN;
	if (!(mi->flags & DNS_FLAG_QR) || mi->qdcount != 1)
		return false;
	if (!parse_question(&w, mi))
		return false;
	return parse_records(pkt, len, mi);
}

/*
 * The 4-bit header RCODE.
 */
int
msg_rcode(const struct msg_info *mi)
{
	return mi->flags & DNS_RCODE_MASK;
}

/*
 * Same question: name case-insensitively, type and class exactly.
 */
bool
msg_question_equal(const struct msg_question *a, const struct msg_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	    wire_name_equal(a->name, a->name_len, b->name, b->name_len);
}

/* ---------------------------------------------------------------- */
/* Iterating over RRs                                                */
/* ---------------------------------------------------------------- */

/*
 * Set it up to walk pkt's answer, authority and additional sections as
 * counted in mi, from mi->question_end on.  pkt must be the packet mi was
 * parsed from, and the caller keeps it while iterating.
 */
void
msg_iter_init(struct msg_iter *it, const uint8_t *pkt, size_t len,
    const struct msg_info *mi)
{
	wire_init(&it->w, pkt, len);
	it->w.pos = mi->question_end < DNS_HDR_LEN ? DNS_HDR_LEN :
	    mi->question_end;
	it->section = DNS_SECTION_ANSWER;
	/* The question name at offset 12 parsed: it has no pointers. */
	it->qname_len = mi->has_question && mi->question_end > DNS_HDR_LEN ?
	    mi->q.name_len : 0;
	it->left[0] = mi->ancount;
	it->left[1] = mi->nscount;
	it->left[2] = mi->arcount;
}

/*
 * Next RR: 1 with *rr filled, 0 after the last one, -1 if the RR does not
 * parse or its RDATA runs past the end.  After -1 every call returns -1.
 */
/*
 * The next RR as msg_iter_next() says, but with the owner name copied
 * only when copy is set (otherwise checked, and only its length kept).
 */
static int
iter_next(struct msg_iter *it, struct msg_rr *rr, bool copy)
{
	struct wire	w;

	if (it->section < 0)
		return -1;
	while (it->section <= DNS_SECTION_ADDITIONAL &&
	    it->left[it->section] == 0)
		it->section++;
	if (it->section > DNS_SECTION_ADDITIONAL)
		return 0;

	w = it->w;
	rr->owner_off = w.pos;
	if (it->qname_len != 0 && wire_left(&w) >= 2 &&
	    w.buf[w.pos] == 0xc0 && w.buf[w.pos + 1] == DNS_HDR_LEN) {
		/*
		 * The common owner, a pointer to the question name: that
		 * name was checked when the message was parsed.
		 */
		rr->name_len = it->qname_len;
		rr->owner_q = true;
		if (copy)
			memcpy(rr->name, w.buf + DNS_HDR_LEN, it->qname_len);
		w.pos += 2;
	} else {
		rr->owner_q = false;
		if (!wire_read_name(&w, copy ? rr->name : NULL,
		    &rr->name_len))
			goto bad;
	}
	if (!wire_read_u16(&w, &rr->type) ||
	    !wire_read_u16(&w, &rr->rclass) ||
	    !wire_read_u32(&w, &rr->ttl) ||
	    !wire_read_u16(&w, &rr->rdlen))
		goto bad;
	rr->rdata_off = w.pos;
	if (!wire_skip(&w, rr->rdlen))
		goto bad;
	rr->section = it->section;
	it->left[it->section]--;
	it->w = w;
	return 1;
bad:
	it->section = -1;
	return -1;
}

int
msg_iter_next(struct msg_iter *it, struct msg_rr *rr)
{
	return iter_next(it, rr, true);
}

int
msg_iter_next_lazy(struct msg_iter *it, struct msg_rr *rr)
{
	return iter_next(it, rr, false);
}

bool
msg_rr_owner(const uint8_t *pkt, size_t len, struct msg_rr *rr)
{
	struct wire	w;

	if (rr->owner_off >= len)
		return false;
	if (rr->owner_q) {
		/* name_len bytes at 12, checked by the parse */
		if (DNS_HDR_LEN + rr->name_len > len)
			return false;
		memcpy(rr->name, pkt + DNS_HDR_LEN, rr->name_len);
		return true;
	}
	wire_init(&w, pkt, len);
	w.pos = rr->owner_off;
	return wire_read_name(&w, rr->name, &rr->name_len);
}

/* ---------------------------------------------------------------- */
/* Building                                                          */
/* ---------------------------------------------------------------- */

/*
 * Start a message in out[0..cap): the header with id and flags, counts
 * zero until msg_build_finish().  cap < 12 sets overflow.
 */
void
msg_build_init(struct msg_builder *mb, uint8_t *out, size_t cap, uint16_t id,
    uint16_t flags)
{
	memset(mb, 0, sizeof(*mb));
	wbuf_init(&mb->b, out, cap);
	if (!wbuf_put_u16(&mb->b, id) || !wbuf_put_u16(&mb->b, flags) ||
	    !wbuf_put_u32(&mb->b, 0) || !wbuf_put_u32(&mb->b, 0))
		mb->overflow = true;
}

/*
 * Write the question, name uncompressed, right after the header, and
 * remember its name for owner compression.  Only one question, and only
 * as the first thing after the header: anything else, or a bad name,
 * sets overflow so that the message is never finished wrong.
 */
void
msg_build_question(struct msg_builder *mb, const struct msg_question *q)
{
	if (mb->overflow)
		return;
	if (mb->b.len != DNS_HDR_LEN || q->name_len > DNS_MAX_NAME ||
	    wire_name_len(q->name, q->name_len) != q->name_len) {
		mb->overflow = true;
		return;
	}
	if (!wbuf_put_bytes(&mb->b, q->name, q->name_len) ||
	    !wbuf_put_u16(&mb->b, q->qtype) ||
	    !wbuf_put_u16(&mb->b, q->qclass)) {
		mb->overflow = true;
		return;
	}
	mb->qname_len = q->name_len;
	mb->qname_off = DNS_HDR_LEN;
	mb->count[0] = 1;
	mb->ans_len = mb->auth_len = mb->b.len;
	memcpy(mb->ans_count, mb->count, sizeof(mb->count));
	memcpy(mb->auth_count, mb->count, sizeof(mb->count));
}

/* A whole record is written: note where msg_build_cut() may go back to. */
static void
rr_done(struct msg_builder *mb)
{
	if (mb->overflow)
		return;
	if (mb->cur_section == DNS_SECTION_ANSWER) {
		mb->ans_len = mb->b.len;
		memcpy(mb->ans_count, mb->count, sizeof(mb->count));
	}
	if (mb->cur_section <= DNS_SECTION_AUTHORITY) {
		mb->auth_len = mb->b.len;
		memcpy(mb->auth_count, mb->count, sizeof(mb->count));
	}
}

bool
msg_build_cut(struct msg_builder *mb, bool *tc)
{
	*tc = false;
	if (!mb->overflow)
		return true;
	if (mb->malformed || mb->ans_len == 0)
		return false;
	switch (mb->cur_section) {
	case DNS_SECTION_ANSWER:
		mb->b.len = mb->ans_len;
		memcpy(mb->count, mb->ans_count, sizeof(mb->count));
		*tc = true;
		break;
	case DNS_SECTION_AUTHORITY:
		mb->b.len = mb->ans_len;
		memcpy(mb->count, mb->ans_count, sizeof(mb->count));
		*tc = mb->count[1] == 0;
		break;
	default:
		mb->b.len = mb->auth_len;
		memcpy(mb->count, mb->auth_count, sizeof(mb->count));
		break;
	}
	mb->overflow = false;
	/* names past the cut are gone: no pointer may aim there */
	while (mb->nnames > 0 &&
	    mb->name_off[mb->nnames - 1] >= mb->b.len)
		mb->nnames--;
	return true;
}

/*
 * Write name (uncompressed wire form): as a pointer to an earlier copy of
 * it, byte for byte (so letter case stays as it was), when compress
 * allows, else in full, remembered for the names after it.  The root
 * stays its one byte.
 */
static bool
put_name(struct msg_builder *mb, const uint8_t *name, size_t len,
    bool compress)
{
	size_t		 off = mb->b.len;
	unsigned	 i;

	if (len > 1 && compress)
		for (i = 0; i < mb->nnames; i++)
			if (mb->name_len[i] == len && memcmp(mb->b.buf +
			    mb->name_off[i], name, len) == 0)
				return wbuf_put_u16(&mb->b,
				    (uint16_t)(0xc000 | mb->name_off[i]));
	if (!wbuf_put_bytes(&mb->b, name, len))
		return false;
	if (len > 1 && off < 0x4000 && mb->nnames < MSG_BUILD_NAMES) {
		mb->name_off[mb->nnames] = (uint16_t)off;
		mb->name_len[mb->nnames++] = (uint8_t)len;
	}
	return true;
}

/*
 * Write an RR's owner, type, class and TTL, after checking that section
 * is valid and comes no earlier than the sections already filled.  The
 * owner is a pointer to offset 12 when it equals the question name (the
 * root is always written as its one byte), and when name is NULL.  False
 * (overflow set) on misuse, a bad name or no room.
 */
static bool
put_rr_head(struct msg_builder *mb, int section, const uint8_t *name,
    size_t name_len, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	int	s;
	bool	ok;

	if (mb->overflow)
		return false;
	mb->cur_section = section;
	if (section < DNS_SECTION_ANSWER || section > DNS_SECTION_ADDITIONAL)
		goto bad;
	for (s = section + 1; s <= DNS_SECTION_ADDITIONAL; s++)
		if (mb->count[1 + s] != 0)
			goto bad;
	if (mb->count[1 + section] == UINT16_MAX)
		goto bad;
	if (name == NULL) {
		/* the question's name, known to be there */
		if (mb->qname_len == 0)
			goto bad;
		ok = wbuf_put_u16(&mb->b, (uint16_t)(0xc000 | mb->qname_off));
	} else if (name_len > DNS_MAX_NAME ||
	    wire_name_len(name, name_len) != name_len)
		goto bad;
	else if (msg_build_is_qname(mb, name, name_len))
		ok = wbuf_put_u16(&mb->b, (uint16_t)(0xc000 | mb->qname_off));
	else
		ok = put_name(mb, name, name_len, true);
	if (!ok || !wbuf_put_u16(&mb->b, type) ||
	    !wbuf_put_u16(&mb->b, rclass) || !wbuf_put_u32(&mb->b, ttl))
		goto bad;
	mb->count[1 + section]++;
	return true;
bad:
	mb->overflow = true;
	return false;
}

bool
msg_build_is_qname(const struct msg_builder *mb, const uint8_t *name,
    size_t name_len)
{
	/* the root stays its one byte: a pointer would be no shorter */
	return mb->qname_len > 1 && wire_name_equal(name, name_len,
	    mb->b.buf + mb->qname_off, mb->qname_len);
}

/*
 * Append an RR with RDATA copied as given.
 */
void
msg_build_rr(struct msg_builder *mb, int section, const uint8_t *name,
    size_t name_len, uint16_t type, uint16_t rclass, uint32_t ttl,
    const void *rdata, uint16_t rdlen)
{
	if (!put_rr_head(mb, section, name, name_len, type, rclass, ttl))
		return;
	if (!wbuf_put_u16(&mb->b, rdlen) ||
	    !wbuf_put_bytes(&mb->b, rdata, rdlen))
		mb->overflow = true;
	rr_done(mb);
}

void
msg_build_rr_qowner(struct msg_builder *mb, int section, uint16_t type,
    uint16_t rclass, uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	if (!put_rr_head(mb, section, NULL, 0, type, rclass, ttl))
		return;
	if (!wbuf_put_u16(&mb->b, rdlen) ||
	    !wbuf_put_bytes(&mb->b, rdata, rdlen))
		mb->overflow = true;
	rr_done(mb);
}

/*
 * Copy one (possibly compressed) name from the source RDATA at the
 * cursor into the builder, uncompressed.
 */
static bool
copy_name(struct msg_builder *mb, struct wire *w, bool compress)
{
	uint8_t	name[DNS_MAX_NAME];
	size_t	nlen;

	if (!wire_read_name(w, name, &nlen)) {
		mb->malformed = true;
		return false;
	}
	return put_name(mb, name, nlen, compress);
}

/*
 * Copy an RR from pkt with a new TTL (see msg.h).  The source RDATA is
 * checked against rr->rdlen and the packet's length; the cursor used to
 * read names inside it ends where the RDATA ends, which still reaches
 * every earlier name a pointer may lead to, since pointers only go back.
 * A malformed RDATA (a name that does not parse or does not end exactly
 * at the end of RDATA, an SOA without its 20 bytes) sets malformed and
 * overflow: the message cannot be built faithfully.
 */
void
msg_build_copy_rr(struct msg_builder *mb, int section, const uint8_t *pkt,
    size_t len, const struct msg_rr *rr, uint32_t ttl)
{
	struct wire	w;
	size_t		rdstart, end;
	uint16_t	pref;
	uint8_t		fixed[20];

	if (mb->overflow || rr->type == DNS_TYPE_OPT)
		return;
	if (rr->rdata_off > len || len - rr->rdata_off < rr->rdlen)
		goto bad_src;
	end = rr->rdata_off + rr->rdlen;
	if (!put_rr_head(mb, section, rr->name, rr->name_len, rr->type,
	    rr->rclass, ttl))
		return;
	rdstart = mb->b.len;
	if (!wbuf_put_u16(&mb->b, 0))
		goto bad;

	wire_init(&w, pkt, end);
	w.pos = rr->rdata_off;
	switch (rr->type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		/* RFC 6672 2.5: a DNAME's target goes uncompressed */
		if (!copy_name(mb, &w, rr->type != DNS_TYPE_DNAME))
			goto bad;
		break;
	case DNS_TYPE_MX:
		if (!wire_read_u16(&w, &pref))
			goto bad_src;
		if (!wbuf_put_u16(&mb->b, pref) || !copy_name(mb, &w, true))
			goto bad;
		break;
	case DNS_TYPE_SOA:
		if (!copy_name(mb, &w, true) || !copy_name(mb, &w, true))
			goto bad;
		if (!wire_read_bytes(&w, fixed, sizeof(fixed)))
			goto bad_src;
		if (!wbuf_put_bytes(&mb->b, fixed, sizeof(fixed)))
			goto bad;
		break;
	default:
		if (!wbuf_put_bytes(&mb->b, pkt + rr->rdata_off, rr->rdlen))
			goto bad;
		w.pos = end;
		break;
	}
	if (w.pos != end)
		goto bad_src;
	if (mb->b.len - rdstart - 2 > UINT16_MAX)
		goto bad;
	wbuf_set_u16(&mb->b, rdstart, (uint16_t)(mb->b.len - rdstart - 2));
	rr_done(mb);
	return;
bad_src:
	mb->malformed = true;
bad:
	mb->overflow = true;
}

/*
 * Append our OPT RR (RFC 6891 6.1.2): root owner, class = UDP size, TTL
 * = extended RCODE 0, version 0, flags; RDATA one EDE option (RFC 8914 2)
 * with the INFO-CODE and no EXTRA-TEXT when 0 <= ede <= 65535.
 */
void
msg_build_opt(struct msg_builder *mb, uint16_t udp_size, uint16_t edns_flags,
    int ede)
{
	msg_build_opt_from(mb, udp_size, edns_flags, ede, NULL, NULL);
}

/*
 * Write the EDNS options from p to end (their framing checked by
 * take_opt()) that msg_build_opt_from() copies: all but Padding and an
 * EDE of code ede.  False when a write did not fit.
 */
static bool
copy_opts(struct msg_builder *mb, const uint8_t *p, const uint8_t *end,
    int ede, size_t *size)
{
	const uint8_t	*o;
	uint16_t	 code, olen;

	for (o = p; o != NULL && end - o >= 4; o += 4 + olen) {
		code = wire_get_u16(o);
		olen = wire_get_u16(o + 2);
		if ((size_t)(end - o - 4) < olen)
			break;
		if (code == EDNS_OPT_PADDING || (code == EDNS_OPT_EDE &&
		    ede >= 0 && olen >= 2 && wire_get_u16(o + 4) == ede))
			continue;
		if (size != NULL)
			*size += 4 + (size_t)olen;
		else if (!wbuf_put_bytes(&mb->b, o, 4 + (size_t)olen))
			return false;
	}
	return true;
}

size_t
msg_opt_without(const uint8_t *opt, size_t len, uint32_t drop, uint8_t *out,
    size_t cap)
{
	size_t		 n = 11, p;
	uint16_t	 code, olen = 0;

	if (len < 11 || cap < 11)
		return 0;
	memcpy(out, opt, 11);
	for (p = 11; len - p >= 4; p += 4 + (size_t)olen) {
		olen = wire_get_u16(opt + p + 2);
		if (len - p - 4 < olen)
			return 0;
		code = wire_get_u16(opt + p);
		if (code < 32 && (EDNS_OPT_BIT(code) & drop))
			continue;
		if (cap - n < 4 + (size_t)olen)
			return 0;
		memcpy(out + n, opt + p, 4 + (size_t)olen);
		n += 4 + (size_t)olen;
	}
	wire_set_u16(out + 9, (uint16_t)(n - 11));
	return n;
}

size_t
msg_opt_size(int ede, const uint8_t *src, const struct msg_info *si)
{
	size_t	 n = 11;

	if (ede >= 0 && ede <= UINT16_MAX)
		n += 6;
	else
		ede = -1;
	if (src != NULL && si != NULL && si->edns && si->opt_len >= 11)
		(void)copy_opts(NULL, src + si->opt_off + 11,
		    src + si->opt_off + si->opt_len, ede, &n);
	return n;
}

void
msg_build_opt_from(struct msg_builder *mb, uint16_t udp_size,
    uint16_t edns_flags, int ede, const uint8_t *src,
    const struct msg_info *si)
{
	static const uint8_t	root[1] = { 0 };
	const uint8_t		*p = NULL, *end = NULL;
	size_t			 rdlen_off, rdlen;
	bool			 with_ede;

	with_ede = ede >= 0 && ede <= UINT16_MAX;
	if (!with_ede)
		ede = -1;
	/* The options: the OPT RR's RDATA, after name (1), type, class,
	 * TTL and RDLENGTH. */
	if (src != NULL && si != NULL && si->edns && si->opt_len >= 11) {
		p = src + si->opt_off + 11;
		end = src + si->opt_off + si->opt_len;
	}
	if (!put_rr_head(mb, DNS_SECTION_ADDITIONAL, root, sizeof(root),
	    DNS_TYPE_OPT, udp_size, (uint32_t)edns_flags))
		return;
	/* RDLENGTH is filled in once the options are written */
	rdlen_off = mb->b.len;
	if (!wbuf_put_u16(&mb->b, 0) || !copy_opts(mb, p, end, ede, NULL))
		goto bad;
	if (with_ede && (!wbuf_put_u16(&mb->b, EDNS_OPT_EDE) ||
	    !wbuf_put_u16(&mb->b, 2) || !wbuf_put_u16(&mb->b, (uint16_t)ede)))
		goto bad;
	rdlen = mb->b.len - rdlen_off - 2;
	if (rdlen > UINT16_MAX)
		goto bad;
	wbuf_set_u16(&mb->b, rdlen_off, (uint16_t)rdlen);
	rr_done(mb);
	return;
bad:
	mb->overflow = true;
}

/*
 * Store the four counts in the header; the message length, or 0 if any
 * step overflowed (or was misused).
 */
size_t
msg_build_finish(struct msg_builder *mb)
{
	int	i;

	if (mb->overflow || mb->b.len < DNS_HDR_LEN)
		return 0;
	for (i = 0; i < 4; i++)
		wbuf_set_u16(&mb->b, 4 + 2 * (size_t)i, mb->count[i]);
	return mb->b.len;
}

/*
 * Error reply to the query qi (see msg.h).  The OPT RR advertises our
 * own UDP size and echoes DO (RFC 3225 3).
 */
size_t
msg_build_error(const struct msg_info *qi, int rcode, uint8_t *out,
    size_t cap)
{
	struct msg_builder	mb;
	uint16_t		flags;

	flags = DNS_FLAG_QR | (qi->flags & (DNS_OPCODE_MASK | DNS_FLAG_RD |
	    DNS_FLAG_CD)) | (uint16_t)(rcode & DNS_RCODE_MASK);
	msg_build_init(&mb, out, cap, qi->id, flags);
	if (qi->has_question)
		msg_build_question(&mb, &qi->q);
	if (qi->edns)
		msg_build_opt(&mb, DNS_EDNS_OUR_SIZE,
		    qi->edns_flags & EDNS_FLAG_DO, -1);
	return msg_build_finish(&mb);
}

/*
 * Query to an upstream (see msg.h).  The OPT bytes are copied unchecked:
 * they come from a query that msg_parse_query() accepted.
 */
size_t
msg_build_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
    const uint8_t *name, size_t name_len, uint16_t qtype, uint16_t qclass,
    const uint8_t *opt, size_t opt_len)
{
	struct msg_builder	mb;
	struct msg_question	q;

	if (name == NULL || name_len > DNS_MAX_NAME)
		return 0;
	memcpy(q.name, name, name_len);
	q.name_len = name_len;
	q.qtype = qtype;
	q.qclass = qclass;
	msg_build_init(&mb, out, cap, id, (uint16_t)(flags & 0x7fff));
	msg_build_question(&mb, &q);
	if (opt_len > 0 && !mb.overflow) {
		if (!wbuf_put_bytes(&mb.b, opt, opt_len))
			mb.overflow = true;
		mb.count[3] = 1;
	}
	return msg_build_finish(&mb);
}

/* ---------------------------------------------------------------- */
/* Relaying and truncating                                           */
/* ---------------------------------------------------------------- */

/*
 * Make pkt[0..question_end) + the opt_len bytes at question_end a
 * truncated message: counts an/ns zero, ar 1 or 0, TC set.
 */
static void
mark_truncated(uint8_t *pkt, size_t opt_len)
{
	uint16_t	flags;

	flags = wire_get_u16(pkt + 2) | DNS_FLAG_TC;
	wire_set_u16(pkt + 2, flags);
	wire_set_u16(pkt + 6, 0);
	wire_set_u16(pkt + 8, 0);
	wire_set_u16(pkt + 10, opt_len > 0 ? 1 : 0);
}

/*
 * Truncate in place (see msg.h).  A message that fits is left alone.
 * RFC 6891 7: the OPT RR stays, moved right after the question, unless
 * even that would not fit max; a question that does not fit max (or an
 * impossible question_end) goes too, leaving the bare header.  Offsets
 * that do not describe pkt are not trusted: a bad OPT is dropped.
 */
size_t
msg_truncate(uint8_t *pkt, size_t len, size_t question_end, size_t opt_off,
    size_t opt_len, size_t max)
{
	if (len <= max || len < DNS_HDR_LEN)
		return len;
	if (question_end < DNS_HDR_LEN || question_end > len ||
	    question_end > max) {
		question_end = DNS_HDR_LEN;
		wire_set_u16(pkt + 4, 0);
		opt_len = 0;
	}
	if (opt_len > 0 && (opt_off < question_end || opt_off > len ||
	    len - opt_off < opt_len || max - question_end < opt_len))
		opt_len = 0;
	if (opt_len > 0)
		memmove(pkt + question_end, pkt + opt_off, opt_len);
	mark_truncated(pkt, opt_len);
	return question_end + opt_len;
}

/*
 * Relay resp to the client (see msg.h).  When resp does not fit out but
 * will be truncated anyway, only the header, question and OPT RR are
 * copied.  The echoed question name is overwritten only when it stands
 * uncompressed at offset 12 with the client's length and matches it
 * case-insensitively.
 */
size_t
msg_relay(const uint8_t *resp, size_t len, const struct msg_info *ri,
    const struct msg_info *qi, size_t max, uint8_t *out, size_t cap)
{
	size_t	n, qend, opt_off, opt_len;

	qend = ri->question_end;
	if (len < DNS_HDR_LEN || qend < DNS_HDR_LEN || qend > len)
		return 0;
	opt_off = ri->opt_off;
	opt_len = ri->opt_len;
	if (len <= cap) {
		memcpy(out, resp, len);
		n = len;
	} else if (len > max) {
		/* Truncated anyway: copy what msg_truncate() would keep. */
		if (qend > cap)
			return 0;
		if (opt_len > 0 && (opt_off < qend || opt_off > len ||
		    len - opt_off < opt_len || opt_len > cap - qend))
			opt_len = 0;
		memcpy(out, resp, qend);
		if (opt_len > 0)
			memcpy(out + qend, resp + opt_off, opt_len);
		opt_off = qend;
		n = qend + opt_len;
		mark_truncated(out, opt_len);
		/* n > max still when the OPT does not fit: cut below */
	} else
		return 0;

	wire_set_u16(out, qi->id);
	if (ri->has_question && qi->has_question &&
	    qend - DNS_HDR_LEN == ri->q.name_len + 4 &&
	    ri->q.name_len == qi->q.name_len &&
	    wire_name_equal(ri->q.name, ri->q.name_len, qi->q.name,
	    qi->q.name_len))
		memcpy(out + DNS_HDR_LEN, qi->q.name, qi->q.name_len);

	if (n > max)
		n = msg_truncate(out, n, qend, opt_off, opt_len, max);
	return n;
}

/*
 * RFC 6891 6.2.3/6.2.5: 512 without EDNS, and a smaller advertised size
 * counts as 512.
 */
size_t
msg_client_udp_max(const struct msg_info *qi)
{
	if (!qi->edns || qi->edns_udp < DNS_UDP_PLAIN)
		return DNS_UDP_PLAIN;
	if (qi->edns_udp > DNS_UDP_MAX_PAYLOAD)
		return DNS_UDP_MAX_PAYLOAD;
	return qi->edns_udp;
}
