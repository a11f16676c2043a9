/*
 * cache.h: an optional cache of final answers ([cache] entries), one per
 * worker, so no lock is ever taken.
 *
 * Keyed on the question (name case-folded, type, class), the client's DO,
 * CD and RD bits, whether it sent EDNS, and the [dns64] section that served
 * it: a synthesized answer is only ever given to clients of the same
 * section.  TTLs count down on the way out; negative answers are kept as
 * RFC 2308 section 5 says (the SOA's TTL and MINIMUM, the smaller); least
 * recently used entries go first.  Pure code: the caller passes the time.
 */
#ifndef DNS64PROXY_CACHE_H
#define DNS64PROXY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define CACHE_MAX_ANSWER	4096	/* larger answers are not kept */
#define CACHE_MAX_RRS		64	/* answers with more RRs are not kept */
#define CACHE_MAX_TTL		86400
#define CACHE_ONERROR_TTL	30	/* answers synthesized over a failure */

struct cache_key {
	uint8_t		name[DNS_MAX_NAME];	/* lower case */
	size_t		name_len;
	uint16_t	qtype;
	uint16_t	qclass;
	uint16_t	section;	/* [dns64] section index + 1; 0: none */
	uint8_t		bits;		/* DO, CD, RD, EDNS present */
};

struct cache;

/* The key of a client's query (qi) served by section index (-1: none). */
void	cache_key_make(struct cache_key *k, const struct msg_info *qi,
	    int section);

/* A cache of at most max_entries answers; NULL when out of memory. */
struct cache	*cache_new(size_t max_entries);
void		 cache_free(struct cache *c);
void		 cache_flush(struct cache *c);
size_t		 cache_count(const struct cache *c);

/*
 * Keep a final answer pkt[0..len) for key k at time now (seconds).  Only
 * NOERROR and NXDOMAIN answers without TC are kept, for the smallest TTL
 * of their answer and authority records, and no longer than the MINIMUM
 * of an SOA in the authority section: a negative answer (NXDOMAIN, or
 * NOERROR without answer records, or either at the end of a CNAME chain)
 * for min(SOA TTL, SOA MINIMUM, the chain's TTLs), and a negative answer
 * without an SOA not at all.  Returns true if it was kept.
 */
bool	cache_store(struct cache *c, const struct cache_key *k,
	    const uint8_t *pkt, size_t len, uint32_t now);
/* The same, kept for max_ttl seconds at most. */
bool	cache_store_capped(struct cache *c, const struct cache_key *k,
	    const uint8_t *pkt, size_t len, uint32_t now, uint32_t max_ttl);

/*
 * On a hit, write the answer for client query qi into out (cap bytes):
 * its ID, its question as it wrote it, every TTL less the time held, fit
 * to max (truncated with TC when larger).  Returns the length; 0 on a miss
 * or an expired entry (which is dropped).
 */
size_t	cache_lookup(struct cache *c, const struct cache_key *k,
	    const struct msg_info *qi, uint32_t now, size_t max, uint8_t *out,
	    size_t cap);

#endif /* DNS64PROXY_CACHE_H */
