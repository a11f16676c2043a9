/*
 * cache.c: see cache.h.  A hash table with chaining for look-ups and a
 * doubly linked list in use order for eviction.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define CACHE_BIT_DO	0x01
#define CACHE_BIT_CD	0x02
#define CACHE_BIT_EDNS	0x04
#define CACHE_BIT_RD	0x08
#define CACHE_BIT_AD	0x10

/*
 * EDNS options that belong to one client or one transport, left out of
 * what is kept: COOKIE (RFC 7873: the client's cookie and the server's
 * answer to it), TCP keepalive (RFC 7828: never over UDP) and Padding
 * (RFC 7830: sized for the message it came in).
 */
#define CACHE_STRIP_OPTS	(EDNS_OPT_BIT(EDNS_OPT_COOKIE) | \
	EDNS_OPT_BIT(EDNS_OPT_KEEPALIVE) | EDNS_OPT_BIT(EDNS_OPT_PADDING))
#define CACHE_MAX_SOA	4	/* SOA records in authority rewritten */

struct cache_entry {
	struct cache_entry *hnext;		/* hash chain */
	struct cache_entry *prev, *next;	/* use order, newest first */
	uint32_t	 hash;
	uint32_t	 stored;
	uint32_t	 expires;
	struct cache_key key;
	size_t		 len;
	size_t		 question_end;
	size_t		 opt_off;		/* 0: no OPT */
	size_t		 opt_len;
	uint16_t	 nttl;
	uint16_t	 ttl_off[CACHE_MAX_RRS];	/* TTL fields in pkt */
	uint8_t		 pkt[];
};

struct cache {
	struct cache_entry **buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 count;
	size_t		 max;
	struct cache_entry *newest, *oldest;
};

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void
cache_key_make(struct cache_key *k, const struct msg_info *qi, int section)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	k->name_len = qi->q.name_len;
	for (i = 0; i < k->name_len; i++)
		k->name[i] = lower(qi->q.name[i]);
	k->qtype = qi->q.qtype;
	k->qclass = qi->q.qclass;
	k->section = (uint16_t)(section + 1);
	if (qi->edns) {
		k->bits |= CACHE_BIT_EDNS;
		if (qi->edns_flags & EDNS_FLAG_DO)
			k->bits |= CACHE_BIT_DO;
	}
	if (qi->flags & DNS_FLAG_CD)
		k->bits |= CACHE_BIT_CD;
	/*
	 * RD too: an answer to a query without it may be partial (only what
	 * the resolver had), and RD is copied into the answer (RFC 1035
	 * 4.1.1), so neither may go to a client that set it, nor back.
	 */
	if (qi->flags & DNS_FLAG_RD)
		k->bits |= CACHE_BIT_RD;
	/*
	 * AD too: a client that sets it asks for the AD bit of the answer
	 * (RFC 6840 5.7), one that sets neither AD nor DO must not get it.
	 */
	if (qi->flags & DNS_FLAG_AD)
		k->bits |= CACHE_BIT_AD;
}

/* FNV-1a over everything the key compares. */
static uint32_t
cache_hash(const struct cache_key *k)
{
	uint32_t h = 2166136261u;
	size_t	 i;

	for (i = 0; i < k->name_len; i++)
		h = (h ^ k->name[i]) * 16777619u;
	h = (h ^ (k->qtype & 0xff)) * 16777619u;
	h = (h ^ (k->qtype >> 8)) * 16777619u;
	h = (h ^ (k->qclass & 0xff)) * 16777619u;
	h = (h ^ (k->section & 0xff)) * 16777619u;
	h = (h ^ (k->section >> 8)) * 16777619u;
	h = (h ^ k->bits) * 16777619u;
	return h;
}

static bool
cache_key_equal(const struct cache_key *a, const struct cache_key *b)
{
	return a->name_len == b->name_len && a->qtype == b->qtype &&
	    a->qclass == b->qclass && a->section == b->section &&
	    a->bits == b->bits && memcmp(a->name, b->name, a->name_len) == 0;
}

struct cache *
cache_new(size_t max_entries)
{
	struct cache	*c;
	size_t		 n = 16;

	if (max_entries == 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	while (n < max_entries && n < ((size_t)1 << 24))
		n <<= 1;
	if ((c->buckets = calloc(n, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	c->nbuckets = n;
	c->max = max_entries;
	return c;
}

/* Unlink e from its chain and the use list, and free it. */
static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->newest = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->oldest = e->prev;
	c->count--;
	free(e);
}

void
cache_flush(struct cache *c)
{
	if (c == NULL)
		return;
	while (c->oldest != NULL)
		cache_remove(c, c->oldest);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	cache_flush(c);
	free(c->buckets);
	free(c);
}

size_t
cache_count(const struct cache *c)
{
	return c == NULL ? 0 : c->count;
}

static struct cache_entry *
cache_find(struct cache *c, const struct cache_key *k, uint32_t hash)
{
	struct cache_entry *e;

	for (e = c->buckets[hash & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == hash && cache_key_equal(&e->key, k))
			return e;
	return NULL;
}

/* Move e to the front of the use list. */
static void
cache_touch(struct cache *c, struct cache_entry *e)
{
	if (c->newest == e)
		return;
	e->prev->next = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->oldest = e->prev;
	e->prev = NULL;
	e->next = c->newest;
	c->newest->prev = e;
	c->newest = e;
}

/* SOA MINIMUM: the last 4 bytes of the SOA RDATA (RFC 1035 3.3.13). */
static bool
soa_minimum(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    uint32_t *min)
{
	struct wire	 w;

	if (rr->rdlen < 22 || rr->rdata_off + rr->rdlen > len)
		return false;
	wire_init(&w, pkt, rr->rdata_off + rr->rdlen);
	w.pos = rr->rdata_off + rr->rdlen - 4;
	return wire_read_u32(&w, min);
}

/* Does [off, off + n) miss every TTL field (4 bytes at each of ttl)? */
static bool
span_clear(size_t off, size_t n, const uint16_t *ttl, size_t nttl)
{
	size_t	 i;

	for (i = 0; i < nttl; i++)
		if (off < (size_t)ttl[i] + 4 && ttl[i] < off + n)
			return false;
	return true;
}

/*
 * Does the name at *off, compressed or not, read no byte of a TTL field?
 * *off is moved past the name as it stands.  A pointer may aim anywhere
 * before it, even into another record's TTL, which the countdown would
 * then change under the client.
 */
static bool
name_clear(const uint8_t *pkt, size_t len, size_t *off,
    const uint16_t *ttl, size_t nttl)
{
	size_t	 pos = *off, span;
	unsigned hops = 0;
	bool	 jumped = false;
	uint8_t	 c;

	for (;;) {
		if (pos >= len)
			return false;
		c = pkt[pos];
		if ((c & 0xc0) != 0 && (c & 0xc0) != 0xc0)
			return false;
		span = (c & 0xc0) == 0xc0 ? 2 : (size_t)c + 1;
		if (len - pos < span || !span_clear(pos, span, ttl, nttl))
			return false;
		if ((c & 0xc0) == 0xc0) {
			if (++hops > DNS_MAX_PTR_HOPS)
				return false;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = wire_get_u16(pkt + pos) & 0x3fff;
			continue;
		}
		if (c == 0) {
			if (!jumped)
				*off = pos + 1;
			return true;
		}
		pos += span;
	}
}

/*
 * Are the names of rr clear of the TTL fields: its owner, and the names
 * in its RDATA that clients decompress (RFC 1035 types and those RFC
 * 3597 4 lists)?  An answer with a NAPTR is not kept, rather than
 * walking its RDATA.
 */
static bool
rr_names_clear(const uint8_t *pkt, size_t len, const struct msg_rr *rr,
    const uint16_t *ttl, size_t nttl)
{
	size_t	 off = rr->owner_off, skip = 0;
	int	 names = 1;

	if (!name_clear(pkt, len, &off, ttl, nttl))
		return false;
	switch (rr->type) {
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:
	case 39:			/* NS ... PTR, DNAME */
		break;
	case 6: case 14: case 17:	/* SOA, MINFO, RP */
		names = 2;
		break;
	case 15: case 18: case 21: case 36:	/* MX, AFSDB, RT, KX */
		skip = 2;
		break;
	case 26:			/* PX */
		skip = 2;
		names = 2;
		break;
	case 33:			/* SRV */
		skip = 6;
		break;
	case 35:			/* NAPTR */
		return false;
	default:
		return true;
	}
	if (rr->rdlen < skip)
		return false;
	off = rr->rdata_off + skip;
	while (names-- > 0)
		if (!name_clear(pkt, len, &off, ttl, nttl) ||
		    off > rr->rdata_off + rr->rdlen)
			return false;
	return true;
}

bool
cache_store(struct cache *c, const struct cache_key *k, const uint8_t *pkt,
    size_t len, uint32_t now)
{
	return cache_store_capped(c, k, pkt, len, now, CACHE_MAX_TTL);
}

bool
cache_store_capped(struct cache *c, const struct cache_key *k,
    const uint8_t *pkt, size_t len, uint32_t now, uint32_t max_ttl)
{
	struct cache_entry *e;
	struct msg_info	 mi;
	struct msg_iter	 it;
	struct msg_rr	 rr;
	uint8_t		 stripped[CACHE_MAX_ANSWER];
	uint16_t	 offs[CACHE_MAX_RRS], soa_off[CACHE_MAX_SOA];
	uint32_t	 ttl = CACHE_MAX_TTL, hash, soa_ttl[CACHE_MAX_SOA];
	size_t		 nttl = 0, nsoa = 0, i;
	bool		 negative;
	int		 rcode, r;

	if (c == NULL || len > CACHE_MAX_ANSWER ||
	    !msg_parse_response(pkt, len, &mi) || (mi.flags & DNS_FLAG_TC))
		return false;
	rcode = msg_rcode(&mi);
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return false;
	/* RFC 7871 7.3.1: an answer for one client subnet is for it only. */
	if (mi.opts & EDNS_OPT_BIT(EDNS_OPT_ECS))
		return false;
	if (mi.opts & CACHE_STRIP_OPTS) {
		/*
		 * Records after the OPT would move, and pointers into them
		 * would no longer hit: such (rare) answers are not kept.
		 */
		if (mi.opt_off + mi.opt_len != len)
			return false;
		memcpy(stripped, pkt, mi.opt_off);
		if ((len = msg_opt_without(pkt + mi.opt_off, mi.opt_len,
		    CACHE_STRIP_OPTS, stripped + mi.opt_off,
		    sizeof(stripped) - mi.opt_off)) == 0)
			return false;
		len += mi.opt_off;
		if (!msg_parse_response(stripped, len, &mi))
			return false;
		pkt = stripped;
	}
	negative = rcode == DNS_RCODE_NXDOMAIN || mi.ancount == 0;

	msg_iter_init(&it, pkt, len, &mi);
	while ((r = msg_iter_next(&it, &rr)) == 1) {
		if (rr.type == DNS_TYPE_OPT)
			continue;
		/* RFC 2181 8: a TTL with the top bit set means zero. */
		if (nttl == CACHE_MAX_RRS || rr.rdata_off < 6 ||
		    rr.ttl > INT32_MAX)
			return false;
		offs[nttl++] = (uint16_t)(rr.rdata_off - 6);
		if (rr.section == DNS_SECTION_ADDITIONAL)
			continue;
		if (rr.ttl < ttl)
			ttl = rr.ttl;
		/*
		 * RFC 2308 5: a negative answer lives min(SOA TTL, MINIMUM)
		 * (the SOA's TTL is taken above), and so does one at the end
		 * of a CNAME chain (section 2.2: NOERROR or NXDOMAIN with the
		 * chain in the answer section), where the chain's TTLs count
		 * too.  The SOA is served with that TTL, counted down
		 * (section 5), so that no cache after this one keeps the
		 * answer longer.
		 */
		if (rr.section == DNS_SECTION_AUTHORITY &&
		    rr.type == DNS_TYPE_SOA) {
			uint32_t min;

			if (nsoa == CACHE_MAX_SOA ||
			    !soa_minimum(pkt, len, &rr, &min))
				return false;
			if (min < ttl)
				ttl = min;
			soa_off[nsoa] = offs[nttl - 1];
			soa_ttl[nsoa++] = min < rr.ttl ? min : rr.ttl;
		}
	}
	if (r < 0)
		return false;
	/* The countdown must change TTLs only, never a name. */
	msg_iter_init(&it, pkt, len, &mi);
	while (msg_iter_next_lazy(&it, &rr) == 1)
		if (rr.type != DNS_TYPE_OPT &&
		    !rr_names_clear(pkt, len, &rr, offs, nttl))
			return false;
	/* RFC 2308 5: no SOA, no negative caching. */
	if (negative && nsoa == 0)
		return false;
	if (ttl > CACHE_MAX_TTL)
		ttl = CACHE_MAX_TTL;
	if (ttl > max_ttl)
		ttl = max_ttl;
	if (ttl == 0)
		return false;
	for (i = 0; i < nsoa; i++)
		if (soa_ttl[i] > ttl)
			soa_ttl[i] = ttl;

	hash = cache_hash(k);
	if ((e = cache_find(c, k, hash)) != NULL)
		cache_remove(c, e);
	while (c->count >= c->max && c->oldest != NULL)
		cache_remove(c, c->oldest);
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		return false;
	e->hash = hash;
	e->stored = now;
	e->expires = now + ttl;
	e->key = *k;
	e->len = len;
	e->question_end = mi.question_end;
	e->opt_off = mi.edns ? mi.opt_off : 0;
	e->opt_len = mi.edns ? mi.opt_len : 0;
	e->nttl = (uint16_t)nttl;
	memcpy(e->ttl_off, offs, nttl * sizeof(offs[0]));
	memcpy(e->pkt, pkt, len);
	for (i = 0; i < nsoa; i++) {
		e->pkt[soa_off[i]] = (uint8_t)(soa_ttl[i] >> 24);
		e->pkt[soa_off[i] + 1] = (uint8_t)(soa_ttl[i] >> 16);
		e->pkt[soa_off[i] + 2] = (uint8_t)(soa_ttl[i] >> 8);
		e->pkt[soa_off[i] + 3] = (uint8_t)soa_ttl[i];
	}

	e->hnext = c->buckets[hash & (c->nbuckets - 1)];
	c->buckets[hash & (c->nbuckets - 1)] = e;
	e->prev = NULL;
	e->next = c->newest;
	if (c->newest != NULL)
		c->newest->prev = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
	c->count++;
	return true;
}

size_t
cache_lookup(struct cache *c, const struct cache_key *k,
    const struct msg_info *qi, uint32_t now, size_t max, uint8_t *out,
    size_t cap)
{
	struct cache_entry *e;
	uint32_t	 age, t;
	size_t		 i;

	if (c == NULL || (e = cache_find(c, k, cache_hash(k))) == NULL)
		return 0;
	if ((int32_t)(now - e->expires) >= 0) {
		cache_remove(c, e);
		return 0;
	}
	if (e->len > cap || qi->q.name_len != e->key.name_len)
		return 0;
	cache_touch(c, e);
	memcpy(out, e->pkt, e->len);
	wire_set_u16(out, qi->id);
	memcpy(out + DNS_HDR_LEN, qi->q.name, qi->q.name_len);
	age = now - e->stored;
	for (i = 0; i < e->nttl; i++) {
		uint8_t	*p = out + e->ttl_off[i];

		t = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		    ((uint32_t)p[2] << 8) | p[3];
		t = t > age ? t - age : 0;
		p[0] = (uint8_t)(t >> 24);
		p[1] = (uint8_t)(t >> 16);
		p[2] = (uint8_t)(t >> 8);
		p[3] = (uint8_t)t;
	}
	return msg_truncate(out, e->len, e->question_end, e->opt_off,
	    e->opt_len, max);
}
