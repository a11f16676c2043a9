/*
 * addr.c: IP addresses, CIDR ranges and "address:port" endpoints as the
 * configuration writes them.
 *
 * Pure code: inet_pton/inet_ntop and byte arithmetic, nothing else.  No
 * name resolution: an address is always numeric.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/*
 * Parse a decimal number of 1 to maxdigits digits, nothing else (no
 * sign, no blanks), into *out.  true if s is such a number.
 */
static bool
parse_decimal(const char *s, size_t maxdigits, unsigned long *out)
{
	unsigned long	 v = 0;
	size_t		 n = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++, n++) {
		if (*s < '0' || *s > '9' || n >= maxdigits)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

/*
 * True if the first bits bits of the byte strings a and b (len bytes
 * long, bits <= 8 * len) are equal.
 */
static bool
bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned	 full = bits / 8, rest = bits % 8;
	uint8_t		 mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* True if no bit past the first bits bits of a (len bytes) is set. */
static bool
host_bits_zero(const uint8_t *a, size_t len, unsigned bits)
{
	unsigned	 i;

	for (i = bits; i < len * 8; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* The bytes of a CIDR's address and their number. */
static const uint8_t *
cidr_bytes(const struct cidr *c, size_t *len)
{
	if (c->family == AF_INET) {
		*len = 4;
		return (const uint8_t *)&c->a.v4.s_addr;
	}
	*len = 16;
	return c->a.v6.s6_addr;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

/*
 * "192.0.2.0/24", "2001:db8::/32", or a bare address (a host route: /32
 * or /128).  The family follows from the text: a ':' means IPv6.  Host
 * bits set are an error, so that "10.1.0.0/8" is caught as a typo.
 * Returns 0 with *out filled, or -1 (out untouched).
 */
int
addr_parse_cidr(const char *s, struct cidr *out)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash;
	size_t		 alen, blen;
	unsigned long	 len;
	struct cidr	 c;

	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	if (strchr(buf, ':') != NULL) {
		c.family = AF_INET6;
		if (inet_pton(AF_INET6, buf, &c.a.v6) != 1)
			return -1;
		blen = 16;
	} else {
		c.family = AF_INET;
		if (inet_pton(AF_INET, buf, &c.a.v4) != 1)
			return -1;
		blen = 4;
	}
	if (slash == NULL)
		len = blen * 8;
	else if (!parse_decimal(slash + 1, 3, &len) || len > blen * 8)
		return -1;
	c.len = (unsigned)len;
	if (!host_bits_zero(c.family == AF_INET ?
	    (const uint8_t *)&c.a.v4.s_addr : c.a.v6.s6_addr, blen, c.len))
		return -1;
	*out = c;
	return 0;
}

/*
 * "IP" (port defport), "IPv4:port", "[IPv6]:port", "[IPv6]" or a bare
 * IPv6 address such as "::1" (port defport).  The port is 1 to 65535.
 * defport 0 means a port must be written.  No scope ("%eth0"), no names.
 * Returns 0 with *out filled (zeroed first), or -1 (out untouched).
 */
int
addr_parse_endpoint(const char *s, uint16_t defport,
    struct sockaddr_storage *out)
{
	char			 buf[INET6_ADDRSTRLEN];
	const char		*port = NULL, *end;
	size_t			 alen;
	unsigned long		 p;
	bool			 v6;
	struct sockaddr_storage	 ss;

	if (s[0] == '[') {
		/* "[IPv6]" or "[IPv6]:port" */
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		s++;
		alen = (size_t)(end - s);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		v6 = true;
	} else {
		const char *colon = strchr(s, ':');

		alen = strlen(s);
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* exactly one colon: "IPv4:port" */
			alen = (size_t)(colon - s);
			port = colon + 1;
			v6 = false;
		} else
			v6 = colon != NULL;	/* bare IPv6, no port */
	}
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	if (port != NULL) {
		if (!parse_decimal(port, 5, &p) || p < 1 || p > 65535)
			return -1;
	} else {
		if (defport == 0)
			return -1;
		p = defport;
	}

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1)
			return -1;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
			return -1;
	}
	*out = ss;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Matching                                                           */
/* ------------------------------------------------------------------ */

bool
addr_cidr_contains_v4(const struct cidr *c, struct in_addr a)
{
	if (c->family != AF_INET || c->len > 32)
		return false;
	return bits_equal((const uint8_t *)&c->a.v4.s_addr,
	    (const uint8_t *)&a.s_addr, c->len);
}

bool
addr_cidr_contains_v6(const struct cidr *c, const struct in6_addr *a)
{
	if (c->family != AF_INET6 || c->len > 128)
		return false;
	return bits_equal(c->a.v6.s6_addr, a->s6_addr, c->len);
}

/*
 * Does c hold the address of sa?  The families must match: an
 * IPv4-mapped IPv6 address is not an IPv4 address here (see
 * addr_unmap_v4() for that).
 */
bool
addr_cidr_contains(const struct cidr *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return addr_cidr_contains_v4(c,
		    ((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return addr_cidr_contains_v6(c,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* Do a and b share an address (one holds the other)? */
bool
addr_cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	const uint8_t	*pa, *pb;
	size_t		 la, lb;

	if (a->family != b->family)
		return false;
	pa = cidr_bytes(a, &la);
	pb = cidr_bytes(b, &lb);
	if (a->len > la * 8 || b->len > lb * 8)
		return false;
	return bits_equal(pa, pb, a->len < b->len ? a->len : b->len);
}

/*
 * Same family, address and port (and scope, for IPv6).  An IPv4-mapped
 * IPv6 address is not folded.
 */
bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		    x->sin6_scope_id == y->sin6_scope_id &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

/*
 * If sa is an IPv4-mapped IPv6 address (::ffff:a.b.c.d), write its IPv4
 * form, same port, to *out and return true.  A plain IPv4 sa is copied
 * and true returned too.  Anything else: false, out untouched.
 */
/* The first 96 bits of an IPv4-mapped address, ::ffff:0:0/96. */
static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };

bool
addr_unmap_v4(const struct sockaddr *sa, struct sockaddr_in *out)
{
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		*out = *(const struct sockaddr_in *)sa;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (memcmp(sin6->sin6_addr.s6_addr, v4mapped, 12) != 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = sin6->sin6_port;
	memcpy(&out->sin_addr.s_addr, sin6->sin6_addr.s6_addr + 12, 4);
	return true;
}

/*
 * If c lies inside ::ffff:0:0/96, make it the IPv4 range it holds:
 * ::ffff:a.b.c.d/(96+n) is a.b.c.d/n.  Anything else stays as it is.
 */
void
addr_cidr_unmap_v4(struct cidr *c)
{
	struct cidr	 v4;

	if (c->family != AF_INET6 || c->len < 96 ||
	    memcmp(c->a.v6.s6_addr, v4mapped, sizeof(v4mapped)) != 0)
		return;
	memset(&v4, 0, sizeof(v4));
	v4.family = AF_INET;
	memcpy(&v4.a.v4.s_addr, c->a.v6.s6_addr + 12, 4);
	v4.len = c->len - 96;
	*c = v4;
}

/* ------------------------------------------------------------------ */
/* Formatting                                                         */
/* ------------------------------------------------------------------ */

/*
 * "192.0.2.1:53", "[2001:db8::1]:53", "[fe80::1%2]:53" (numeric scope).
 * Truncated to cap (always terminated when cap > 0); "?" for a family
 * that is neither.
 */
void
addr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char	 ip[INET6_ADDRSTRLEN];

	if (cap == 0)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		if (sin6->sin6_scope_id != 0)
			snprintf(out, cap, "[%s%%%u]:%u", ip,
			    (unsigned)sin6->sin6_scope_id,
			    (unsigned)ntohs(sin6->sin6_port));
		else
			snprintf(out, cap, "[%s]:%u", ip,
			    (unsigned)ntohs(sin6->sin6_port));
	} else
		snprintf(out, cap, "?");
}

/* "192.0.2.0/24", "2001:db8::/32"; "?" for an unknown family. */
void
addr_format_cidr(const struct cidr *c, char *out, size_t cap)
{
	char	 ip[INET6_ADDRSTRLEN];

	if (cap == 0)
		return;
	if (c->family == AF_INET)
		inet_ntop(AF_INET, &c->a.v4, ip, sizeof(ip));
	else if (c->family == AF_INET6)
		inet_ntop(AF_INET6, &c->a.v6, ip, sizeof(ip));
	else {
		snprintf(out, cap, "?");
		return;
	}
	snprintf(out, cap, "%s/%u", ip, c->len);
}

/* ------------------------------------------------------------------ */
/* Special-purpose IPv4                                               */
/* ------------------------------------------------------------------ */

/*
 * The IPv4 Special-Purpose Address Registry (RFC 6890, RFC 5735 and
 * what came later) ranges that are not "globally reachable", plus
 * multicast and the limited broadcast.  RFC 7723 (192.0.0.9) and RFC
 * 8155 (192.0.0.10) carve out two global anycast addresses inside
 * 192.0.0.0/24; they are global here too.
 */
#define V4(a, b, c, d)	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | \
			    ((uint32_t)(c) << 8) | (uint32_t)(d))
#define V4MASK(len)	((uint32_t)(0xffffffffu << (32 - (len))))

static const struct {
	uint32_t	 net;		/* host byte order */
	uint32_t	 mask;
} ipv4_not_global[] = {
	{ V4(0, 0, 0, 0), V4MASK(8) },		/* "this network", RFC 791 */
	{ V4(10, 0, 0, 0), V4MASK(8) },		/* private, RFC 1918 */
	{ V4(100, 64, 0, 0), V4MASK(10) },	/* shared space, RFC 6598 */
	{ V4(127, 0, 0, 0), V4MASK(8) },	/* loopback, RFC 1122 */
	{ V4(169, 254, 0, 0), V4MASK(16) },	/* link local, RFC 3927 */
	{ V4(172, 16, 0, 0), V4MASK(12) },	/* private, RFC 1918 */
	{ V4(192, 0, 0, 0), V4MASK(24) },	/* IETF assignments, RFC 6890 */
	{ V4(192, 0, 2, 0), V4MASK(24) },	/* TEST-NET-1, RFC 5737 */
	{ V4(192, 88, 99, 0), V4MASK(24) },	/* 6to4 relay, RFC 7526 */
	{ V4(192, 168, 0, 0), V4MASK(16) },	/* private, RFC 1918 */
	{ V4(198, 18, 0, 0), V4MASK(15) },	/* benchmarking, RFC 2544 */
	{ V4(198, 51, 100, 0), V4MASK(24) },	/* TEST-NET-2, RFC 5737 */
	{ V4(203, 0, 113, 0), V4MASK(24) },	/* TEST-NET-3, RFC 5737 */
	{ V4(224, 0, 0, 0), V4MASK(4) },	/* multicast, RFC 5771 */
	{ V4(240, 0, 0, 0), V4MASK(4) },	/* reserved, broadcast, RFC 1112 */
};

bool
addr_ipv4_is_global(struct in_addr a)
{
	uint32_t	 v = ntohl(a.s_addr);
	size_t		 i;

	/* RFC 7723 PCP anycast and RFC 8155 TURN anycast are global. */
	if (v == V4(192, 0, 0, 9) || v == V4(192, 0, 0, 10))
		return true;
	for (i = 0; i < sizeof(ipv4_not_global) / sizeof(ipv4_not_global[0]);
	    i++)
		if ((v & ipv4_not_global[i].mask) == ipv4_not_global[i].net)
			return false;
	return true;
}
