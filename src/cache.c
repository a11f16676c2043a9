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
	uint16_t	 offs[CACHE_MAX_RRS];
	uint32_t	 ttl = CACHE_MAX_TTL, hash;
	size_t		 nttl = 0;
	bool		 negative, have_soa = false;
	int		 rcode, r;

	if (c == NULL || len > CACHE_MAX_ANSWER ||
	    !msg_parse_response(pkt, len, &mi) || (mi.flags & DNS_FLAG_TC))
		return false;
	rcode = msg_rcode(&mi);
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return false;
	negative = rcode == DNS_RCODE_NXDOMAIN || mi.ancount == 0;

	msg_iter_init(&it, pkt, len, &mi);
	while ((r = msg_iter_next(&it, &rr)) == 1) {
		if (rr.type == DNS_TYPE_OPT)
			continue;
		if (nttl == CACHE_MAX_RRS || rr.rdata_off < 6)
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
		 * too.
		 */
		if (rr.section == DNS_SECTION_AUTHORITY &&
		    rr.type == DNS_TYPE_SOA) {
			uint32_t min;

			if (!soa_minimum(pkt, len, &rr, &min))
				return false;
			if (min < ttl)
				ttl = min;
			have_soa = true;
		}
	}
	if (r < 0)
		return false;
	/* RFC 2308 5: no SOA, no negative caching. */
	if (negative && !have_soa)
		return false;
	if (ttl > CACHE_MAX_TTL)
		ttl = CACHE_MAX_TTL;
	if (ttl > max_ttl)
		ttl = max_ttl;
	if (ttl == 0)
		return false;

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
