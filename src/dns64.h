/*
 * dns64.h: DNS64 policy and synthesis (RFC 6147, RFC 6052, RFC 8880) as
 * pure functions of bytes and a section of the configuration.
 *
 * Nothing here does I/O or allocates.  Packets come in as (buffer, length,
 * msg_info parsed by msg_parse_*); answers are written into a caller's
 * buffer of cap bytes and already carry the client's ID and question and
 * fit the client's size limit (max), truncated with TC when they would not.
 */
#ifndef DNS64PROXY_DNS64_H
#define DNS64PROXY_DNS64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "addr.h"
#include "msg.h"

#define DNS64_MAX_PREFIXES	8
#define DNS64_MAX_CIDRS		64
#define DNS64_NAME_MAX		64
#define DNS64_NEG_TTL_DEFAULT	600	/* RFC 6147 5.1.7 */

struct dns64_prefix {
	struct in6_addr	addr;	/* bits past len are zero */
	unsigned	len;	/* 32, 40, 48, 56, 64 or 96 */
};

enum dns64_reverse {
	DNS64_REVERSE_NO,
	DNS64_REVERSE_CNAME,	/* RFC 6147 5.3.1 option 2 */
	DNS64_REVERSE_REWRITE	/* RFC 8880 7.2.1 */
};

/* One [dns64] or [dns64 NAME] section. */
struct dns64_section {
	char		name[DNS64_NAME_MAX];	/* "" for the unnamed one */
	struct dns64_prefix prefixes[DNS64_MAX_PREFIXES];
	size_t		nprefixes;
	struct cidr	exclude[DNS64_MAX_CIDRS];	/* IPv6 */
	size_t		nexclude;
	struct cidr	mapped[DNS64_MAX_CIDRS];	/* IPv4 */
	size_t		nmapped;
	bool		mapped_set;	/* the section set `mapped` itself */
	struct cidr	clients[DNS64_MAX_CIDRS];
	size_t		nclients;
	bool		synthall;
	bool		on_error;
	bool		parallel;
	enum dns64_reverse reverse;
};

/* Defaults of a section: 64:ff9b::/96, exclude ::ffff:0:0/96, on_error
 * yes, reverse cname, clients 0.0.0.0/0 ::/0, the rest off/empty. */
void	dns64_section_defaults(struct dns64_section *s);

/* RFC 6052 2.2: embed v4 in p (u-octet zero, suffix zero).  0, or -1 if
 * the prefix length is not one RFC 6052 allows. */
int	dns64_embed(const struct dns64_prefix *p, struct in_addr v4,
	    struct in6_addr *out);
/* RFC 6052 2.3: the IPv4 address inside a, if a lies within p.  0 / -1. */
int	dns64_extract(const struct dns64_prefix *p, const struct in6_addr *a,
	    struct in_addr *v4);
/* Start-up checks of SPEC.md; 0, or -1 with a message in err. */
int	dns64_prefix_check(const struct dns64_prefix *p, char *err,
	    size_t errlen);
/* "2001:db8::/32" -> prefix (host bits must be zero); 0 / -1. */
int	dns64_prefix_parse(const char *s, struct dns64_prefix *p);
bool	dns64_prefix_is_wkp(const struct dns64_prefix *p);

/* May this A record's address be synthesized with prefix p in section s?
 * `mapped` if set decides alone; otherwise the WKP refuses non-global
 * IPv4 (RFC 6052 3.1) and every other prefix takes all (RFC 8215 5). */
bool	dns64_maps(const struct dns64_section *s, const struct dns64_prefix *p,
	    struct in_addr v4);

/* Does the AAAA address a fall in the section's exclude ranges? */
bool	dns64_excluded(const struct dns64_section *s, const struct in6_addr *a);

enum dns64_action {
	DNS64_PASS,	/* relay the upstream answer as it is */
	DNS64_FILTER,	/* relay it without the excluded AAAA: dns64_filter() */
	DNS64_NEED_A,	/* ask the upstream for A records of *target */
	DNS64_NEED_A_ON_ERROR	/* the same, because the AAAA query failed */
};

/*
 * Decide what an AAAA answer calls for (RFC 6147 5.1.1 to 5.1.5):
 * NXDOMAIN -> PASS; other errors -> NEED_A_ON_ERROR with on_error, PASS
 * without, but PASS for a SERVFAIL carrying EDE 6..12 (DNSSEC); TC set ->
 * PASS;
 * NOERROR: follow the CNAME chain from the question name, count the AAAA
 * records at its end; none usable after `exclude` (or synthall) -> NEED_A,
 * some usable and some excluded -> FILTER, else PASS.  For NEED_A, target
 * (DNS_MAX_NAME bytes) gets the end of the chain; for NEED_A_ON_ERROR,
 * the question name.  resp == NULL means the
 * AAAA query timed out: NEED_A_ON_ERROR with on_error (target = qname),
 * else PASS (the caller answers SERVFAIL).
 */
enum dns64_action dns64_classify(const struct dns64_section *s,
	    const struct msg_info *qi, const uint8_t *resp, size_t len,
	    const struct msg_info *ri, uint8_t *target, size_t *target_len);

/* The AAAA answer without the AAAA records that `exclude` holds (RFC 6147
 * 5.1.4).  Returns the length written to out, 0 if it does not fit cap. */
size_t	dns64_filter(const struct dns64_section *s, const struct msg_info *qi,
	    const uint8_t *resp, size_t len, const struct msg_info *ri,
	    size_t max, uint8_t *out, size_t cap);

/*
 * The final answer after the A query (RFC 6147 5.1.6 to 5.4, SPEC.md 3):
 * aaaa/ai is the AAAA answer (NULL if it timed out), a/ani the A answer.
 * Usable A records (after dns64_maps) give one AAAA per record and prefix:
 * header and CNAME/DNAME chain of the AAAA answer, synthesized AAAA records,
 * authority and additional sections of the A answer; AD cleared; TTL
 * min(A TTL, AAAA negative TTL or 600); an OPT with EDE 29 when the client
 * sent EDNS.  No usable A: the AAAA answer relayed, or the A answer's
 * error under the client's question, or NOERROR/NODATA when the AAAA query
 * timed out.  Returns the length, 0 if out cannot hold it.  *synthesized
 * says whether AAAA records were made.
 */
size_t	dns64_synthesize(const struct dns64_section *s,
	    const struct msg_info *qi, const uint8_t *aaaa, size_t aaaa_len,
	    const struct msg_info *ai, const uint8_t *a, size_t a_len,
	    const struct msg_info *ani, size_t max, uint8_t *out, size_t cap,
	    bool *synthesized);

/* The longest in-addr.arpa name of an address, in wire form. */
#define DNS64_INADDR_MAX	(4 * 4 + 14)

/*
 * RFC 6147 5.3.1: if qname is the ip6.arpa name of a full address inside
 * one of the section's prefixes, write the matching in-addr.arpa name to
 * v4name (DNS64_INADDR_MAX bytes) and return true.
 */
bool	dns64_ptr_map(const struct dns64_section *s, const uint8_t *qname,
	    size_t qlen, uint8_t *v4name, size_t *v4len);

/*
 * The answer to a mapped PTR query from the upstream's answer (resp/ri)
 * for the in-addr.arpa name: `cname` mode, a CNAME from the client's name
 * to v4name then the upstream's records; `rewrite`, the upstream's PTR
 * records owned by the client's name.  When the upstream has no PTR
 * record, its RCODE and authority section without a CNAME (so NXDOMAIN
 * stays NXDOMAIN).  Returns the length, 0 if it does not fit.
 */
size_t	dns64_ptr_answer(const struct dns64_section *s,
	    const struct msg_info *qi, const uint8_t *v4name, size_t v4len,
	    const uint8_t *resp, size_t len, const struct msg_info *ri,
	    size_t max, uint8_t *out, size_t cap);

/*
 * RFC 8880 7.1 and 7.2: answer locally for ipv4only.arpa and below it (DS
 * excepted), and for PTR of 170/171.0.0.192.in-addr.arpa and of the
 * section's prefix forms of those addresses.  Returns the answer's length,
 * or 0 when the query is not one of these (forward it).
 */
size_t	dns64_local_answer(const struct dns64_section *s,
	    const struct msg_info *qi, size_t max, uint8_t *out, size_t cap);

#endif /* DNS64PROXY_DNS64_H */
