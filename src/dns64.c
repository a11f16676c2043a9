/*
 * dns64.c: DNS64 policy and synthesis (RFC 6147, RFC 6052, RFC 8880).
 *
 * Pure code: every function takes bytes, a parsed msg_info and a section
 * of the configuration, and writes into a buffer the caller keeps.  No
 * I/O, no allocation, no exit.  Packets are read only through msg_iter and
 * the wire cursor; answers are built with msg_builder.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "dns64.h"
#include "msg.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* Prefixes and RFC 6052 address embedding                            */
/* ------------------------------------------------------------------ */

/*
 * True if the first bits bits of a and b are equal.  bits <= 128.
 */
static bool
prefix_bits_equal(const struct in6_addr *a, const struct in6_addr *b,
    unsigned bits)
{
	unsigned	 full = bits / 8, rest = bits % 8;
	uint8_t		 mask;

	if (memcmp(a->s6_addr, b->s6_addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a->s6_addr[full] & mask) == (b->s6_addr[full] & mask);
}

/*
 * True if no bit of a past the first bits bits is set.
 */
static bool
host_bits_zero(const struct in6_addr *a, unsigned bits)
{
	unsigned	 i;

	for (i = bits; i < 128; i++)
		if (a->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/*
 * RFC 6052 2.2: the lengths a Pref64::/n may have.
 */
static bool
prefix_len_ok(unsigned len)
{
	return len == 32 || len == 40 || len == 48 || len == 56 ||
	    len == 64 || len == 96;
}

/*
 * Fill s with the defaults of SPEC.md: the Well-Known Prefix, exclude
 * ::ffff:0:0/96 (RFC 6147 5.1.4), on_error yes, reverse cname, clients
 * 0.0.0.0/0 and ::/0; everything else off or empty.
 */
void
dns64_section_defaults(struct dns64_section *s)
{
	memset(s, 0, sizeof(*s));

	/* RFC 6147 5.2: the WKP 64:ff9b::/96 when nothing is configured. */
	s->prefixes[0].addr.s6_addr[1] = 0x64;
	s->prefixes[0].addr.s6_addr[2] = 0xff;
	s->prefixes[0].addr.s6_addr[3] = 0x9b;
	s->prefixes[0].len = 96;
	s->nprefixes = 1;

	/* RFC 6147 5.1.4: ::ffff/96 is excluded by default. */
	s->exclude[0].family = AF_INET6;
	s->exclude[0].a.v6.s6_addr[10] = 0xff;
	s->exclude[0].a.v6.s6_addr[11] = 0xff;
	s->exclude[0].len = 96;
	s->nexclude = 1;

	s->clients[0].family = AF_INET;
	s->clients[0].len = 0;
	s->clients[1].family = AF_INET6;
	s->clients[1].len = 0;
	s->nclients = 2;

	s->mapped_set = false;
	s->synthall = false;
	s->on_error = true;
	s->parallel = false;
	s->reverse = DNS64_REVERSE_CNAME;
}

/*
 * RFC 6052 2.2: write into out the IPv4-embedded IPv6 address of v4 under
 * p.  The IPv4 octets follow the prefix, skipping the "u" octet (bits 64
 * to 71), which stays zero, as does the suffix.  Returns 0, or -1 when
 * p's length is not one RFC 6052 allows (out untouched).
 */
int
dns64_embed(const struct dns64_prefix *p, struct in_addr v4,
    struct in6_addr *out)
{
	const uint8_t	*v = (const uint8_t *)&v4.s_addr;
	unsigned	 pos, i;

	if (!prefix_len_ok(p->len))
		return -1;
	*out = p->addr;
	/* Suffix bits SHOULD be zero; the u-octet MUST be. */
	memset(out->s6_addr + p->len / 8, 0, 16 - p->len / 8);
	pos = p->len / 8;
	for (i = 0; i < 4; i++) {
		if (pos == 8)
			pos++;		/* skip the u-octet */
		out->s6_addr[pos++] = v[i];
	}
	return 0;
}

/*
 * RFC 6052 2.3: if a lies inside p, store the IPv4 address it carries in
 * *v4 and return 0.  The u-octet and the suffix are ignored, as the RFC
 * asks of translators.  -1 when a is outside p or p's length is bad.
 */
int
dns64_extract(const struct dns64_prefix *p, const struct in6_addr *a,
    struct in_addr *v4)
{
	uint8_t		 v[4];
	unsigned	 pos, i;

	if (!prefix_len_ok(p->len))
		return -1;
	if (!prefix_bits_equal(&p->addr, a, p->len))
		return -1;
	pos = p->len / 8;
	for (i = 0; i < 4; i++) {
		if (pos == 8)
			pos++;
		v[i] = a->s6_addr[pos++];
	}
	memcpy(&v4->s_addr, v, 4);
	return 0;
}

/* Ranges a Pref64::/n must not overlap (SPEC.md, "Configuration file"). */
static const struct {
	uint8_t		 addr[16];
	unsigned	 len;
	const char	*what;
} forbidden[] = {
	{ { 0xfe, 0x80 }, 10, "link-local fe80::/10" },
	{ { 0xff }, 8, "multicast ff00::/8" },
	{ { 0 }, 96, "::/96 (unspecified, loopback, IPv4-compatible)" },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96,
	    "IPv4-mapped ::ffff:0:0/96" },
};

/*
 * The start-up checks of SPEC.md: a length RFC 6052 2.2 allows, no bits
 * set past the length, bits 64 to 71 zero (RFC 6052 2.2), and no overlap
 * (either range holding the other) with link-local, multicast, ::/96 or
 * ::ffff:0:0/96.  0 if p is fine, else -1 and a message in err.
 */
int
dns64_prefix_check(const struct dns64_prefix *p, char *err, size_t errlen)
{
	struct in6_addr	 f;
	unsigned	 i, bits;

	if (!prefix_len_ok(p->len)) {
		snprintf(err, errlen, "prefix length /%u is not one RFC 6052 "
		    "allows (32, 40, 48, 56, 64 or 96)", p->len);
		return -1;
	}
	if (!host_bits_zero(&p->addr, p->len)) {
		snprintf(err, errlen, "prefix has bits set past /%u", p->len);
		return -1;
	}
	if (p->addr.s6_addr[8] != 0) {
		snprintf(err, errlen, "bits 64 to 71 of the prefix must be "
		    "zero (RFC 6052 section 2.2)");
		return -1;
	}
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		memcpy(f.s6_addr, forbidden[i].addr, 16);
		bits = p->len < forbidden[i].len ? p->len : forbidden[i].len;
		if (prefix_bits_equal(&p->addr, &f, bits)) {
			snprintf(err, errlen, "prefix overlaps %s",
			    forbidden[i].what);
			return -1;
		}
	}
	return 0;
}

/*
 * Parse "ADDRESS/LENGTH" (an IPv6 address, a length 0 to 128, no bits
 * set past it) into p.  Whether the length suits RFC 6052 is for
 * dns64_prefix_check() to say.  0, or -1 if s is malformed.
 */
int
dns64_prefix_parse(const char *s, struct dns64_prefix *p)
{
	char		 buf[INET6_ADDRSTRLEN + 8];
	const char	*slash, *q;
	size_t		 alen;
	unsigned long	 len = 0;
	struct in6_addr	 a;

	if ((slash = strchr(s, '/')) == NULL)
		return -1;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return -1;
	q = slash + 1;
	if (*q == '\0' || strlen(q) > 3)
		return -1;
	for (; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		len = len * 10 + (unsigned long)(*q - '0');
	}
	if (len > 128 || !host_bits_zero(&a, (unsigned)len))
		return -1;
	p->addr = a;
	p->len = (unsigned)len;
	return 0;
}

/*
 * True if p is the Well-Known Prefix 64:ff9b::/96 (RFC 6052 2.1), and
 * only that: 64:ff9b:1::/48 (RFC 8215) is not.
 */
bool
dns64_prefix_is_wkp(const struct dns64_prefix *p)
{
	static const uint8_t wkp[16] = { 0, 0x64, 0xff, 0x9b };

	return p->len == 96 && memcmp(p->addr.s6_addr, wkp, 16) == 0;
}

/*
 * May v4 be synthesized with p in s?  A `mapped` list set by the section
 * decides alone.  Otherwise RFC 6052 3.1: the WKP must not carry
 * non-global IPv4 addresses; RFC 8215 5: other prefixes, 64:ff9b:1::/48
 * included, have no such rule.
 */
bool
dns64_maps(const struct dns64_section *s, const struct dns64_prefix *p,
    struct in_addr v4)
{
	size_t		 i;

	if (s->mapped_set) {
		for (i = 0; i < s->nmapped; i++)
			if (s->mapped[i].family == AF_INET &&
			    addr_cidr_contains_v4(&s->mapped[i], v4))
				return true;
		return false;
	}
	if (dns64_prefix_is_wkp(p))
		return addr_ipv4_is_global(v4);
	return true;
}

/*
 * RFC 6147 5.1.4: does a fall in one of the section's exclude ranges?
 */
bool
dns64_excluded(const struct dns64_section *s, const struct in6_addr *a)
{
	size_t		 i;

	for (i = 0; i < s->nexclude; i++)
		if (s->exclude[i].family == AF_INET6 &&
		    addr_cidr_contains_v6(&s->exclude[i], a))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Reading answers                                                    */
/* ------------------------------------------------------------------ */

#define DNS64_MAX_CHAIN		16	/* CNAME hops followed */
#define DNS64_LOCAL_TTL		86400	/* RFC 7050 4: at least 60 minutes */
#define DNS64_SOA_TTL		3600

/*
 * Read the (possibly compressed) name at offset off of pkt into out
 * (DNS_MAX_NAME bytes).  False if it is malformed.
 */
static bool
read_name_at(const uint8_t *pkt, size_t len, size_t off, uint8_t *out,
    size_t *outlen)
{
	struct wire	 w;

	wire_init(&w, pkt, len);
	if (!wire_skip(&w, off))
		return false;
	return wire_read_name(&w, out, outlen);
}

/*
 * Is rr an AAAA record of class IN with a 16-byte RDATA?  Then store
 * its address in *a.
 */
static bool
rr_aaaa(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    struct in6_addr *a)
{
	struct wire	 w;

	if (rr->type != DNS_TYPE_AAAA || rr->rclass != DNS_CLASS_IN ||
	    rr->rdlen != 16)
		return false;
	wire_init(&w, pkt, len);
	return wire_skip(&w, rr->rdata_off) &&
	    wire_read_bytes(&w, a->s6_addr, 16);
}

/*
 * Is rr an A record of class IN with a 4-byte RDATA?  Then store its
 * address in *a.
 */
static bool
rr_a(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    struct in_addr *a)
{
	struct wire	 w;

	if (rr->type != DNS_TYPE_A || rr->rclass != DNS_CLASS_IN ||
	    rr->rdlen != 4)
		return false;
	wire_init(&w, pkt, len);
	return wire_skip(&w, rr->rdata_off) &&
	    wire_read_bytes(&w, &a->s_addr, 4);
}

/*
 * Is rr an AAAA record in the answer section whose address `exclude`
 * holds (RFC 6147 5.1.4)?
 */
static bool
rr_excluded(const struct dns64_section *s, const uint8_t *pkt, size_t len,
    const struct msg_rr *rr)
{
	struct in6_addr	 a;

	return rr->section == DNS_SECTION_ANSWER &&
	    rr_aaaa(pkt, len, rr, &a) && dns64_excluded(s, &a);
}

/*
 * Is rr, read by msg_iter_next_lazy(), owned (case-insensitively) by
 * name?  Fills rr->name when the lengths agree.
 */
static bool
rr_owned_by(const uint8_t *pkt, size_t len, struct msg_rr *rr,
    const uint8_t *name, size_t nlen)
{
	return rr->name_len == nlen && msg_rr_owner(pkt, len, rr) &&
	    wire_name_equal(rr->name, rr->name_len, name, nlen);
}

/*
 * Follow the CNAME chain in the answer section of pkt from start: at each
 * step, the target of a CNAME owned (case-insensitively) by the current
 * name, at most DNS64_MAX_CHAIN steps.  DNAME records are not followed:
 * the server sends the CNAME it synthesized from them (RFC 6672 3.4).
 * end (DNS_MAX_NAME bytes) gets the last name.  False if pkt is malformed.
 */
static bool
chain_end(const uint8_t *pkt, size_t len, const struct msg_info *mi,
    const uint8_t *start, size_t slen, uint8_t *end, size_t *elen)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	uint8_t		 next[DNS_MAX_NAME];
	size_t		 nlen = 0;
	int		 hop, r;
	bool		 found;

	if (slen > DNS_MAX_NAME)
		return false;
	memcpy(end, start, slen);
	*elen = slen;
	for (hop = 0; hop < DNS64_MAX_CHAIN; hop++) {
		found = false;
		msg_iter_init_answer(&it, pkt, len, mi);
		while ((r = msg_iter_next_lazy(&it, &rr)) == 1) {
			if (rr.type != DNS_TYPE_CNAME ||
			    !rr_owned_by(pkt, len, &rr, end, *elen))
				continue;
			if (!read_name_at(pkt, len, rr.rdata_off, next, &nlen))
				return false;
			found = true;
			break;
		}
		if (r < 0)
			return false;
		if (!found)
			break;
		memcpy(end, next, nlen);
		*elen = nlen;
	}
	return true;
}

/*
 * Count the AAAA records of the answer section of pkt: *excluded those
 * that `exclude` holds (RFC 6147 5.1.4: they count as absent), *usable
 * the others owned by name.  With stop_at_cname, a CNAME owned by name
 * ends the walk and 1 is returned: the AAAA that count are then at the
 * chain's end.  -1 if the section is malformed, else 0.
 */
static int
count_aaaa(const struct dns64_section *s, const uint8_t *pkt, size_t len,
    const struct msg_info *mi, const uint8_t *name, size_t nlen,
    bool stop_at_cname, size_t *usable, size_t *excluded)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct in6_addr	 a;
	int		 r;

	msg_iter_init_answer(&it, pkt, len, mi);
	while ((r = msg_iter_next_lazy(&it, &rr)) == 1) {
		if (rr_aaaa(pkt, len, &rr, &a)) {
			if (dns64_excluded(s, &a))
				(*excluded)++;
			else if (rr_owned_by(pkt, len, &rr, name, nlen))
				(*usable)++;
		} else if (stop_at_cname && rr.type == DNS_TYPE_CNAME &&
		    rr_owned_by(pkt, len, &rr, name, nlen))
			return 1;
	}
	return r < 0 ? -1 : 0;
}

/*
 * Does the answer section of pkt hold a record of this type owned by
 * name?
 */
static bool
has_answer_rr(const uint8_t *pkt, size_t len, const struct msg_info *mi,
    const uint8_t *name, size_t nlen, uint16_t type)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;

	msg_iter_init_answer(&it, pkt, len, mi);
	while (msg_iter_next_lazy(&it, &rr) == 1)
		if (rr.type == type &&
		    rr_owned_by(pkt, len, &rr, name, nlen))
			return true;
	return false;
}

/*
 * Does the answer section of pkt hold an AAAA record that `exclude`
 * holds?
 */
static bool
has_excluded(const struct dns64_section *s, const uint8_t *pkt, size_t len,
    const struct msg_info *mi)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;

	msg_iter_init_answer(&it, pkt, len, mi);
	while (msg_iter_next_lazy(&it, &rr) == 1)
		if (rr_excluded(s, pkt, len, &rr))
			return true;
	return false;
}

/*
 * RFC 6147 5.1.7: the negative TTL of an answer, the smaller of the TTL
 * and the MINIMUM field of the first SOA in its authority section, or
 * DNS64_NEG_TTL_DEFAULT when there is none (or pkt is NULL).
 */
static uint32_t
negative_ttl(const uint8_t *pkt, size_t len, const struct msg_info *mi)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct wire	 w;
	size_t		 nlen;
	uint32_t	 minimum;

	if (pkt == NULL || mi == NULL)
		return DNS64_NEG_TTL_DEFAULT;
	msg_iter_init(&it, pkt, len, mi);
	msg_iter_limit(&it, DNS_SECTION_AUTHORITY);
	while (msg_iter_next_lazy(&it, &rr) == 1) {
		if (rr.section != DNS_SECTION_AUTHORITY ||
		    rr.type != DNS_TYPE_SOA)
			continue;
		/* MNAME, RNAME, then SERIAL, REFRESH, RETRY, EXPIRE and
		 * MINIMUM, which end the RDATA */
		wire_init(&w, pkt, rr.rdata_off + rr.rdlen);
		w.pos = rr.rdata_off;
		if (!wire_read_name(&w, NULL, &nlen) ||
		    !wire_read_name(&w, NULL, &nlen) || wire_left(&w) != 20 ||
		    !wire_skip(&w, 16) || !wire_read_u32(&w, &minimum))
			continue;
		return rr.ttl < minimum ? rr.ttl : minimum;
	}
	return DNS64_NEG_TTL_DEFAULT;
}

/* ------------------------------------------------------------------ */
/* Building answers                                                   */
/* ------------------------------------------------------------------ */

/* The OPT RR an answer ends with, if any. */
struct opt_spec {
	bool		 on;
	uint16_t	 udp;
	uint16_t	 flags;
	int		 ede;
	const uint8_t	*src;		/* whose options pass through, or NULL */
	const struct msg_info *si;
};

/*
 * Our OPT for a client that sent EDNS: our UDP size, its DO bit, the
 * EDNS options of the upstream answer src the records come from (SPEC.md
 * 1: they pass through; NULL for none), then the given EDE code (< 0
 * for none).
 */
static struct opt_spec
our_opt(const struct msg_info *qi, int ede, const uint8_t *src,
    const struct msg_info *si)
{
	struct opt_spec	 o;

	o.on = qi->edns;
	o.udp = DNS_EDNS_OUR_SIZE;
	o.flags = qi->edns_flags & EDNS_FLAG_DO;
	o.ede = ede;
	o.src = src;
	o.si = si;
	return o;
}

/* The smaller of the client's limit and our buffer. */
static size_t
limit(size_t max, size_t cap)
{
	return max < cap ? max : cap;
}

/*
 * Start an answer to the client in out: its ID and question (exact case)
 * under the given header flags.
 */
static void
answer_start(struct msg_builder *mb, const struct msg_info *qi,
    uint16_t flags, uint8_t *out, size_t lim, const struct opt_spec *opt)
{
	size_t	 reserve = 0;

	/* Room for the OPT behind the records, whatever they take. */
	if (opt != NULL && opt->on)
		reserve = msg_opt_size(opt->ede, opt->src, opt->si);
	msg_build_init(mb, out, reserve < lim ? lim - reserve : lim, qi->id,
	    flags);
	msg_build_question(mb, &qi->q);
}

/*
 * Add the OPT and finish.  When the records did not fit lim (the smaller
 * of the client's size and the buffer) less the OPT's room, whole records
 * are left out as RFC 2181 9 says (msg_build_cut()): the additional
 * section, then the authority section, without TC; then answer records,
 * with TC (RFC 1035 4.2.1, RFC 6147 5.4).  Over TCP that is the most a
 * client can get.  Returns the length, 0 if even header, question and
 * OPT do not fit or if a record to copy from the upstream's answer was
 * malformed (the caller answers SERVFAIL: a retry would not help).
 */
static size_t
answer_finish(struct msg_builder *mb, const struct msg_info *qi,
    uint16_t flags, const struct opt_spec *opt, uint8_t *out, size_t lim)
{
	size_t		 n;
	bool		 tc;

	if (mb->malformed)
		return 0;
	if (msg_build_cut(mb, &tc)) {
		if (tc)
			wbuf_set_u16(&mb->b, 2, (uint16_t)(flags | DNS_FLAG_TC));
		mb->b.cap = lim;	/* the OPT's room */
		if (opt->on)
			msg_build_opt_from(mb, opt->udp, opt->flags, opt->ede,
			    opt->src, opt->si);
		if ((n = msg_build_finish(mb)) != 0)
			return n;
		if (mb->malformed)
			return 0;
	}
	/* without the upstream's options, which may be what did not fit */
	answer_start(mb, qi, flags | DNS_FLAG_TC, out, lim, NULL);
	if (opt->on)
		msg_build_opt(mb, opt->udp, opt->flags, opt->ede);
	return msg_build_finish(mb);
}

/*
 * Copy the records of pkt in sections first to last, OPT excepted, with
 * their TTLs.  Skips AAAA records that `exclude` holds when s is not
 * NULL.
 */
static void
copy_section(struct msg_builder *mb, const struct dns64_section *s,
    const uint8_t *pkt, size_t len, const struct msg_info *mi, int first,
    int last)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;

	msg_iter_init(&it, pkt, len, mi);
	msg_iter_limit(&it, last);
	while (msg_iter_next_lazy(&it, &rr) == 1) {
		if (rr.section < first || rr.type == DNS_TYPE_OPT)
			continue;
		if (s != NULL && rr_excluded(s, pkt, len, &rr))
			continue;
		if (!msg_rr_owner(pkt, len, &rr)) {
			mb->malformed = mb->overflow = true;
			return;
		}
		msg_build_copy_rr(mb, rr.section, pkt, len, &rr, rr.ttl);
	}
}

/* ------------------------------------------------------------------ */
/* AAAA answers                                                       */
/* ------------------------------------------------------------------ */

/*
 * RFC 6147 5.1.1 to 5.1.5: what the AAAA answer calls for.  See dns64.h.
 * An error RCODE counts as an empty answer (5.1.2), a timeout as SERVFAIL
 * (5.1.3); both lead to the A query for the question name.
 */
enum dns64_action
dns64_classify(const struct dns64_section *s, const struct msg_info *qi,
    const uint8_t *resp, size_t len, const struct msg_info *ri,
    uint8_t *target, size_t *target_len)
{
	size_t		 usable = 0, excluded = 0;
	int		 rcode, r;

	/* RFC 6147 5.1.3: a timeout is a SERVFAIL. */
	if (resp == NULL || ri == NULL)
		goto error;
	/* A truncated answer goes back as it is; the client retries. */
	if (ri->flags & DNS_FLAG_TC)
		return DNS64_PASS;
	rcode = msg_rcode(ri);
	/* RFC 6147 5.1.2: NXDOMAIN is handled as normal. */
	if (rcode == DNS_RCODE_NXDOMAIN)
		return DNS64_PASS;
	if (rcode != DNS_RCODE_NOERROR) {
		/* RFC 6147 5.5, RFC 8914 4: no synthesis over a DNSSEC
		 * failure (EDE 6 to 12). */
		if (rcode == DNS_RCODE_SERVFAIL && EDE_IS_DNSSEC(ri->ede))
			return DNS64_PASS;
		goto error;
	}

	/*
	 * RFC 6147 5.1.5: follow the chain; count the AAAA at its end.  Most
	 * answers have no CNAME: one walk counts the question's AAAA, and
	 * only a CNAME owned by the question name sends it to chain_end().
	 */
	memcpy(target, qi->q.name, qi->q.name_len);
	*target_len = qi->q.name_len;
	r = count_aaaa(s, resp, len, ri, target, *target_len, true, &usable,
	    &excluded);
	if (r < 0)
		return DNS64_PASS;
	if (r > 0) {
		if (!chain_end(resp, len, ri, qi->q.name, qi->q.name_len,
		    target, target_len))
			return DNS64_PASS;
		usable = excluded = 0;
		(void)count_aaaa(s, resp, len, ri, target, *target_len, false,
		    &usable, &excluded);
	}
	/* RFC 6147 5.1.1: only synthall synthesizes over real AAAA. */
	if (usable == 0 || s->synthall)
		return DNS64_NEED_A;
	return excluded > 0 ? DNS64_FILTER : DNS64_PASS;

error:
	if (!s->on_error)
		return DNS64_PASS;
	memcpy(target, qi->q.name, qi->q.name_len);
	*target_len = qi->q.name_len;
	return DNS64_NEED_A_ON_ERROR;
}

/*
 * RFC 6147 5.1.4: rebuild the AAAA answer without the AAAA records that
 * `exclude` holds ("It MUST NOT return the offending AAAA records").  The
 * header flags come from the response, ID and question from the client;
 * the upstream's OPT is rebuilt from its size, flags and EDE code when
 * the client sent EDNS too.
 */
size_t
dns64_filter(const struct dns64_section *s, const struct msg_info *qi,
    const uint8_t *resp, size_t len, const struct msg_info *ri,
    size_t max, uint8_t *out, size_t cap)
{
	struct msg_builder mb;
	struct opt_spec	 opt;
	size_t		 lim = limit(max, cap);

	opt.on = qi->edns && ri->edns;
	opt.udp = ri->edns_udp;
	opt.flags = ri->edns_flags;
	opt.ede = -1;			/* its own EDE options pass */
	opt.src = resp;
	opt.si = ri;
	answer_start(&mb, qi, ri->flags, out, lim, &opt);
	copy_section(&mb, s, resp, len, ri, DNS_SECTION_ANSWER,
	    DNS_SECTION_ADDITIONAL);
	return answer_finish(&mb, qi, ri->flags, &opt, out, lim);
}

/*
 * Relay the AAAA answer to the client as it stands, or without its
 * excluded AAAA records if it has any (RFC 6147 5.1.4).
 */
static size_t
relay_aaaa(const struct dns64_section *s, const struct msg_info *qi,
    const uint8_t *resp, size_t len, const struct msg_info *ri,
    size_t max, uint8_t *out, size_t cap)
{
	if (has_excluded(s, resp, len, ri))
		return dns64_filter(s, qi, resp, len, ri, max, out, cap);
	return msg_relay(resp, len, ri, qi, max, out, cap);
}

/*
 * Walk the A records at the end of the A answer's chain (end) and the
 * section's prefixes: one AAAA per A record and prefix that dns64_maps()
 * allows, with TTL min(A TTL, negttl) (RFC 6147 5.1.7), in record order
 * then prefix order.  Adds them to mb; returns how many there are (the
 * count, even when mb has run out of room).
 */
static size_t
synth_records(struct msg_builder *mb, const struct dns64_section *s,
    const uint8_t *a, size_t a_len, const struct msg_info *ani,
    const uint8_t *end, size_t elen, uint32_t negttl)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct in_addr	 v4;
	struct in6_addr	 v6;
	size_t		 i, n = 0;
	uint32_t	 ttl;
	bool		 end_is_aq, end_is_q;

	/*
	 * Most A records are owned by a pointer to the A answer's question,
	 * and most ends are the client's question: compare those once.
	 */
	end_is_aq = wire_name_equal(end, elen, ani->q.name, ani->q.name_len);
	end_is_q = msg_build_is_qname(mb, end, elen);
	msg_iter_init_answer(&it, a, a_len, ani);
	while (msg_iter_next_lazy(&it, &rr) == 1) {
		if (!rr_a(a, a_len, &rr, &v4))
			continue;
		if (rr.owner_q) {
			if (!end_is_aq)
				continue;
		} else if (!rr_owned_by(a, a_len, &rr, end, elen))
			continue;
		for (i = 0; i < s->nprefixes; i++) {
			if (!dns64_maps(s, &s->prefixes[i], v4) ||
			    dns64_embed(&s->prefixes[i], v4, &v6) != 0)
				continue;
			n++;
			ttl = rr.ttl < negttl ? rr.ttl : negttl;
			if (end_is_q)
				msg_build_rr_qowner(mb, DNS_SECTION_ANSWER,
				    DNS_TYPE_AAAA, DNS_CLASS_IN, ttl,
				    v6.s6_addr, 16);
			else if (rr.owner_q && !msg_rr_owner(a, a_len, &rr))
				mb->malformed = mb->overflow = true;
			else
				msg_build_rr(mb, DNS_SECTION_ANSWER, rr.name,
				    rr.name_len, DNS_TYPE_AAAA, DNS_CLASS_IN,
				    ttl, v6.s6_addr, 16);
		}
	}
	return n;
}

/*
 * The answer when the A query gives nothing to synthesize and there is
 * no AAAA answer to relay (RFC 6147 5.1.6): the A answer's header (AD
 * cleared) and RCODE, the client's question, the A answer's authority.
 */
static size_t
a_answer_empty(const struct msg_info *qi, const uint8_t *a, size_t a_len,
    const struct msg_info *ani, size_t lim, uint8_t *out)
{
	struct msg_builder mb;
	struct opt_spec	 opt = our_opt(qi, -1, a, ani);
	uint16_t	 flags = ani->flags & ~DNS_FLAG_AD;

	answer_start(&mb, qi, flags, out, lim, &opt);
	copy_section(&mb, NULL, a, a_len, ani, DNS_SECTION_AUTHORITY,
	    DNS_SECTION_AUTHORITY);
	return answer_finish(&mb, qi, flags, &opt, out, lim);
}

/*
 * RFC 6147 5.1.6 to 5.4: the final answer from the AAAA answer (may be
 * NULL) and the A answer.  See dns64.h.  The header is the AAAA answer's
 * (the A answer's without one) with AD cleared (RFC 6147 5.5: we do not
 * validate) and RCODE NOERROR; TC of the A answer is kept so the client
 * retries over TCP.  The answer section holds the CNAME/DNAME records of
 * the AAAA answer, those of the A answer that it does not already hold
 * (of the first 2 * DNS64_MAX_CHAIN in the A answer), then the
 * synthesized AAAA (5.1.5, 5.1.7); authority and additional are the A
 * answer's (5.3.2, 5.4).
 */
size_t
dns64_synthesize(const struct dns64_section *s,
    const struct msg_info *qi, const uint8_t *aaaa, size_t aaaa_len,
    const struct msg_info *ai, const uint8_t *a, size_t a_len,
    const struct msg_info *ani, size_t max, uint8_t *out, size_t cap,
    bool *synthesized)
{
	struct msg_builder mb;
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct opt_spec	 opt = our_opt(qi, EDE_SYNTHESIZED, a, ani);
	uint8_t		 end[DNS_MAX_NAME];
	size_t		 elen, lim = limit(max, cap), nchain;
	uint32_t	 negttl;
	uint16_t	 flags;

	*synthesized = false;
	if (aaaa == NULL || ai == NULL) {
		aaaa = NULL;
		ai = NULL;
	}
	if (a == NULL || ani == NULL) {
		if (aaaa != NULL)
			return relay_aaaa(s, qi, aaaa, aaaa_len, ai, max,
			    out, cap);
		return msg_build_error(qi, DNS_RCODE_SERVFAIL, out, lim);
	}

	/* The A query asked for the end of the AAAA chain; its own CNAMEs
	 * may carry the chain further. */
	if (!chain_end(a, a_len, ani, ani->q.name, ani->q.name_len, end,
	    &elen))
		elen = 0;
	negttl = negative_ttl(aaaa, aaaa_len, ai);
	if (elen == 0 || msg_rcode(ani) != DNS_RCODE_NOERROR ||
	    ani->ancount == 0)
		goto nothing;

	flags = aaaa != NULL ? ai->flags : ani->flags;
	flags &= ~(DNS_FLAG_AD | DNS_FLAG_TC | DNS_RCODE_MASK);
	flags |= ani->flags & DNS_FLAG_TC;
	answer_start(&mb, qi, flags, out, lim, &opt);

	/* RFC 6147 5.1.5: the CNAME/DNAME chain goes with the answer. */
	if (aaaa != NULL) {
		msg_iter_init_answer(&it, aaaa, aaaa_len, ai);
		while (msg_iter_next_lazy(&it, &rr) == 1)
			if ((rr.type == DNS_TYPE_CNAME ||
			    rr.type == DNS_TYPE_DNAME) &&
			    msg_rr_owner(aaaa, aaaa_len, &rr))
				msg_build_copy_rr(&mb, DNS_SECTION_ANSWER,
				    aaaa, aaaa_len, &rr, rr.ttl);
	}
	/* Of the A answer's, the first 2 * DNS64_MAX_CHAIN (a DNAME and
	 * its CNAME per hop chain_end() follows): each costs a walk of the
	 * AAAA answer, and thousands of them would stall the worker. */
	nchain = 0;
	msg_iter_init_answer(&it, a, a_len, ani);
	while (msg_iter_next_lazy(&it, &rr) == 1) {
		if (rr.type != DNS_TYPE_CNAME && rr.type != DNS_TYPE_DNAME)
			continue;
		if (++nchain > 2 * DNS64_MAX_CHAIN)
			break;
		if (!msg_rr_owner(a, a_len, &rr))
			break;
		if (aaaa != NULL && has_answer_rr(aaaa, aaaa_len, ai,
		    rr.name, rr.name_len, rr.type))
			continue;
		msg_build_copy_rr(&mb, DNS_SECTION_ANSWER, a, a_len, &rr,
		    rr.ttl);
	}

	if (synth_records(&mb, s, a, a_len, ani, end, elen, negttl) == 0)
		goto nothing;	/* what was built so far is dropped */

	/* RFC 6147 5.3.2, 5.4: authority and additional of the A answer. */
	copy_section(&mb, NULL, a, a_len, ani, DNS_SECTION_AUTHORITY,
	    DNS_SECTION_ADDITIONAL);

	*synthesized = true;
	return answer_finish(&mb, qi, flags, &opt, out, lim);

nothing:
	/* RFC 6147 5.1.6: the A answer's error or empty result. */
	if (msg_rcode(ani) == DNS_RCODE_NOERROR && aaaa != NULL)
		return relay_aaaa(s, qi, aaaa, aaaa_len, ai, max, out, cap);
	return a_answer_empty(qi, a, a_len, ani, lim, out);
}

/* ------------------------------------------------------------------ */
/* Reverse mapping                                                    */
/* ------------------------------------------------------------------ */

/* "ip6.arpa." and "in-addr.arpa." in wire form */
static const uint8_t ip6_arpa[] = "\003ip6\004arpa";		/* + NUL */
static const uint8_t in_addr_arpa[] = "\007in-addr\004arpa";	/* + NUL */

/* One more than the value of a hexadecimal digit; 0 for any other byte. */
static const uint8_t hexval1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * RFC 3596 2.5: if name is the ip6.arpa name of a full address (32
 * labels of one hex digit, lowest nibble first, then "ip6.arpa"), store
 * the address in *a.
 */
static bool
ip6arpa_addr(const uint8_t *name, size_t nlen, struct in6_addr *a)
{
	const uint8_t	*p;
	unsigned	 i, lo, hi;

	/* 32 one-byte labels then "ip6.arpa": the loop and the suffix
	 * comparison check every length byte. */
	if (nlen != 64 + sizeof(ip6_arpa))
		return false;
	for (i = 0, p = name; i < 16; i++, p += 4) {
		/* byte 15 - i: its low nibble first */
		lo = hexval1[p[1]];
		hi = hexval1[p[3]];
		if (p[0] != 1 || p[2] != 1 || lo == 0 || hi == 0)
			return false;
		a->s6_addr[15 - i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return wire_name_equal(name + 64, nlen - 64, ip6_arpa,
	    sizeof(ip6_arpa));
}

/*
 * Write the in-addr.arpa name of v4 ("d.c.b.a.in-addr.arpa.") in wire
 * form into out (DNS64_INADDR_MAX bytes); returns its length.
 */
static size_t
inaddr_name(struct in_addr v4, uint8_t *out)
{
	const uint8_t	*v = (const uint8_t *)&v4.s_addr;
	size_t		 n = 0;
	int		 i, l;

	for (i = 3; i >= 0; i--) {
		uint8_t	*p = out + n + 1;

		l = 0;
		if (v[i] >= 100)
			p[l++] = (uint8_t)('0' + v[i] / 100);
		if (v[i] >= 10)
			p[l++] = (uint8_t)('0' + v[i] / 10 % 10);
		p[l++] = (uint8_t)('0' + v[i] % 10);
		out[n] = (uint8_t)l;
		n += 1 + (size_t)l;
	}
	memcpy(out + n, in_addr_arpa, sizeof(in_addr_arpa));
	return n + sizeof(in_addr_arpa);
}

/*
 * RFC 6147 5.3.1: "strip the IP6.ARPA labels" of qname and, if the
 * address lies in one of the section's prefixes, write the in-addr.arpa
 * name of the IPv4 address inside it to v4name.  Of prefixes that nest
 * (2001:db8::/32 and 2001:db8:64::/96), the longest holding the address
 * is the one that made it.  False for names of anything but a full
 * address, outside every prefix, or when the section does no reverse
 * mapping.
 */
bool
dns64_ptr_map(const struct dns64_section *s, const uint8_t *qname,
    size_t qlen, uint8_t *v4name, size_t *v4len)
{
	struct in6_addr	 a;
	struct in_addr	 v4, got;
	size_t		 i;
	unsigned	 best = 0;

	if (s->reverse == DNS64_REVERSE_NO || !ip6arpa_addr(qname, qlen, &a))
		return false;
	for (i = 0; i < s->nprefixes; i++)
		if (s->prefixes[i].len > best &&
		    dns64_extract(&s->prefixes[i], &a, &v4) == 0) {
			best = s->prefixes[i].len;
			got = v4;
		}
	if (best == 0)
		return false;
	*v4len = inaddr_name(got, v4name);
	return true;
}

/*
 * The answer to a PTR query mapped by dns64_ptr_map(), from the upstream
 * answer for v4name.  The PTR records are those owned by the end of the
 * CNAME chain from v4name (RFC 2317 classless delegation).
 * cname (RFC 6147 5.3.1 option 2): a CNAME from the client's name to
 * v4name with the smallest PTR TTL, then the upstream's sections.
 * rewrite (RFC 8880 7.2.1): the PTR RDATA under the client's name, and
 * nothing else.  No PTR: the upstream's RCODE and authority only, so
 * NXDOMAIN stays NXDOMAIN and no CNAME dangles (SPEC.md 4).  Header flags
 * from the upstream with AD cleared; EDE 29 on synthesized records.
 */
size_t
dns64_ptr_answer(const struct dns64_section *s,
    const struct msg_info *qi, const uint8_t *v4name, size_t v4len,
    const uint8_t *resp, size_t len, const struct msg_info *ri,
    size_t max, uint8_t *out, size_t cap)
{
	struct msg_builder mb;
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct opt_spec	 opt;
	uint8_t		 end[DNS_MAX_NAME], target[DNS_MAX_NAME];
	size_t		 elen, tlen, nptr = 0, lim = limit(max, cap);
	uint32_t	 minttl = DNS64_NEG_TTL_DEFAULT;
	uint16_t	 flags = ri->flags & ~DNS_FLAG_AD;

	if (chain_end(resp, len, ri, v4name, v4len, end, &elen)) {
		msg_iter_init_answer(&it, resp, len, ri);
		while (msg_iter_next_lazy(&it, &rr) == 1) {
			if (rr.type != DNS_TYPE_PTR ||
			    rr.rclass != DNS_CLASS_IN ||
			    !rr_owned_by(resp, len, &rr, end, elen))
				continue;
			if (nptr == 0 || rr.ttl < minttl)
				minttl = rr.ttl;
			nptr++;
		}
	}

	if (nptr == 0) {
		opt = our_opt(qi, -1, resp, ri);
		answer_start(&mb, qi, flags, out, lim, &opt);
		copy_section(&mb, NULL, resp, len, ri,
		    DNS_SECTION_AUTHORITY, DNS_SECTION_AUTHORITY);
		return answer_finish(&mb, qi, flags, &opt, out, lim);
	}

	opt = our_opt(qi, EDE_SYNTHESIZED, resp, ri);
	answer_start(&mb, qi, flags, out, lim, &opt);
	if (s->reverse == DNS64_REVERSE_REWRITE) {
		msg_iter_init_answer(&it, resp, len, ri);
		while (msg_iter_next_lazy(&it, &rr) == 1) {
			if (rr.type != DNS_TYPE_PTR ||
			    rr.rclass != DNS_CLASS_IN ||
			    !rr_owned_by(resp, len, &rr, end, elen) ||
			    !read_name_at(resp, len, rr.rdata_off, target,
			    &tlen))
				continue;
			msg_build_rr_qowner(&mb, DNS_SECTION_ANSWER,
			    DNS_TYPE_PTR, DNS_CLASS_IN, rr.ttl, target,
			    (uint16_t)tlen);
		}
	} else {
		msg_build_rr_qowner(&mb, DNS_SECTION_ANSWER, DNS_TYPE_CNAME,
		    DNS_CLASS_IN, minttl, v4name, (uint16_t)v4len);
		copy_section(&mb, NULL, resp, len, ri, DNS_SECTION_ANSWER,
		    DNS_SECTION_ADDITIONAL);
	}
	return answer_finish(&mb, qi, flags, &opt, out, lim);
}

/* ------------------------------------------------------------------ */
/* ipv4only.arpa (RFC 8880)                                           */
/* ------------------------------------------------------------------ */

static const uint8_t wkn[] = "\010ipv4only\004arpa";	/* + NUL */
static const uint8_t wka170_ptr[] =
    "\003170\0010\0010\003192\007in-addr\004arpa";	/* + NUL */
static const uint8_t wka171_ptr[] =
    "\003171\0010\0010\003192\007in-addr\004arpa";

/* RFC 7050 2.2: the well-known IPv4 addresses 192.0.0.170 and .171. */
static const uint8_t wka[2][4] = { { 192, 0, 0, 170 }, { 192, 0, 0, 171 } };

/* Our SOA for ipv4only.arpa: localhost. nobody.invalid. 1 3600 1200
 * 604800 3600. */
static const uint8_t wkn_soa[] =
    "\011localhost\000"
    "\006nobody\007invalid\000"
    "\000\000\000\001"		/* serial 1 */
    "\000\000\016\020"		/* refresh 3600 */
    "\000\000\004\260"		/* retry 1200 */
    "\000\011\072\200"		/* expire 604800 */
    "\000\000\016\020";		/* minimum 3600 */

/*
 * Is name the ip6.arpa name of 192.0.0.170 or .171 embedded in one of
 * the section's prefixes (RFC 8880 7.2.1)?
 */
static bool
is_wka_ip6_ptr(const struct dns64_section *s, const uint8_t *name,
    size_t nlen)
{
	struct in6_addr	 a, e;
	struct in_addr	 v4;
	size_t		 i, j;

	if (!ip6arpa_addr(name, nlen, &a))
		return false;
	for (i = 0; i < s->nprefixes; i++)
		for (j = 0; j < 2; j++) {
			memcpy(&v4.s_addr, wka[j], 4);
			if (dns64_embed(&s->prefixes[i], v4, &e) == 0 &&
			    memcmp(&a, &e, 16) == 0)
				return true;
		}
	return false;
}

/*
 * RFC 8880 7.1 and 7.2: the answers a DNS64 gives itself, as the
 * authority for ipv4only.arpa (DS excepted: that lives in the parent) and
 * for the reverse names of its two addresses.  A: 192.0.0.170 and .171;
 * AAAA: those embedded in every prefix, whatever `mapped` and the WKP
 * rule say; other types: NOERROR with our SOA; names below: NXDOMAIN
 * with our SOA; PTR of 170/171.0.0.192.in-addr.arpa and of their prefix
 * forms: "ipv4only.arpa".  AA, RA and QR set, RD and CD copied.  0 when
 * the query is none of these.
 */
size_t
dns64_local_answer(const struct dns64_section *s,
    const struct msg_info *qi, size_t max, uint8_t *out, size_t cap)
{
	struct msg_builder mb;
	struct opt_spec	 opt = our_opt(qi, -1, NULL, NULL);
	struct in_addr	 v4;
	struct in6_addr	 v6;
	const uint8_t	*name = qi->q.name;
	size_t		 nlen = qi->q.name_len, i, j, lim = limit(max, cap);
	uint16_t	 flags, qtype = qi->q.qtype;
	int		 rcode = DNS_RCODE_NOERROR;
	bool		 soa = false;

	if (s == NULL || !qi->has_question || qi->q.qclass != DNS_CLASS_IN)
		return 0;
	flags = DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RA |
	    (qi->flags & (DNS_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD));

	if (wire_name_equal(name, nlen, wkn, sizeof(wkn))) {
		if (qtype == DNS_TYPE_DS)
			return 0;
		if (qtype != DNS_TYPE_A && qtype != DNS_TYPE_AAAA)
			soa = true;
	} else if (wire_name_is_subdomain(name, nlen, wkn, sizeof(wkn))) {
		rcode = DNS_RCODE_NXDOMAIN;
		soa = true;
	} else if (qtype == DNS_TYPE_PTR &&
	    (wire_name_equal(name, nlen, wka170_ptr, sizeof(wka170_ptr)) ||
	    wire_name_equal(name, nlen, wka171_ptr, sizeof(wka171_ptr)) ||
	    is_wka_ip6_ptr(s, name, nlen))) {
		/* RFC 8880 7.2, 7.2.1 */
	} else
		return 0;

	flags |= (uint16_t)rcode;
	answer_start(&mb, qi, flags, out, lim, &opt);
	if (soa)
		msg_build_rr(&mb, DNS_SECTION_AUTHORITY, wkn, sizeof(wkn),
		    DNS_TYPE_SOA, DNS_CLASS_IN, DNS64_SOA_TTL, wkn_soa,
		    sizeof(wkn_soa) - 1);
	else if (qtype == DNS_TYPE_PTR)
		msg_build_rr(&mb, DNS_SECTION_ANSWER, name, nlen,
		    DNS_TYPE_PTR, DNS_CLASS_IN, DNS64_LOCAL_TTL, wkn,
		    sizeof(wkn));
	else if (qtype == DNS_TYPE_A)
		for (j = 0; j < 2; j++)
			msg_build_rr(&mb, DNS_SECTION_ANSWER, name, nlen,
			    DNS_TYPE_A, DNS_CLASS_IN, DNS64_LOCAL_TTL,
			    wka[j], 4);
	else {
		/* RFC 8880 7.1: synthesized with every prefix; no SOA is
		 * needed when there are none, an empty answer says it. */
		for (j = 0; j < 2; j++)
			for (i = 0; i < s->nprefixes; i++) {
				memcpy(&v4.s_addr, wka[j], 4);
				if (dns64_embed(&s->prefixes[i], v4, &v6) != 0)
					continue;
				msg_build_rr(&mb, DNS_SECTION_ANSWER, name,
				    nlen, DNS_TYPE_AAAA, DNS_CLASS_IN,
				    DNS64_LOCAL_TTL, v6.s6_addr, 16);
			}
		/* synthesized like any other (SPEC.md 3) */
		if (mb.count[1] > 0)
			opt.ede = EDE_SYNTHESIZED;
	}
	return answer_finish(&mb, qi, flags, &opt, out, lim);
}
