/*
 * addr.h: IP addresses, CIDR ranges and "address:port" endpoints as the
 * configuration writes them.  Pure code.
 */
#ifndef DNS64PROXY_ADDR_H
#define DNS64PROXY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} a;				/* host bits are zero */
	unsigned	len;		/* prefix length */
};

/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host route.
 * Host bits set is an error (so typos are caught).  0 ok, -1 bad. */
int	addr_parse_cidr(const char *s, struct cidr *out);
/* "IP", "IPv4:port" or "[IPv6]:port"; port defaults to defport.
 * Also "[IPv6]" and a bare "::1" (port defport).  Port 1..65535;
 * defport 0: a port must be written.  No names, no "%scope". */
int	addr_parse_endpoint(const char *s, uint16_t defport,
	    struct sockaddr_storage *out);

bool	addr_cidr_contains(const struct cidr *c, const struct sockaddr *sa);
bool	addr_cidr_contains_v4(const struct cidr *c, struct in_addr a);
bool	addr_cidr_contains_v6(const struct cidr *c, const struct in6_addr *a);
bool	addr_cidr_overlap(const struct cidr *a, const struct cidr *b);

/* Same family, address and port (IPv4-mapped IPv6 is not folded). */
bool	addr_equal(const struct sockaddr *a, const struct sockaddr *b);
socklen_t addr_len(const struct sockaddr *sa);
/* IPv4 or IPv4-mapped IPv6 (::ffff:a.b.c.d) sa as IPv4, same port, in
 * *out: true.  Any other address: false, out untouched. */
bool	addr_unmap_v4(const struct sockaddr *sa, struct sockaddr_in *out);
/* A range inside ::ffff:0:0/96 as the IPv4 range it holds (in place). */
void	addr_cidr_unmap_v4(struct cidr *c);

/* "192.0.2.1:53" / "[::1]:53" into out (cap >= 64 is enough). */
void	addr_format(const struct sockaddr *sa, char *out, size_t cap);
/* "192.0.2.0/24" */
void	addr_format_cidr(const struct cidr *c, char *out, size_t cap);

/* RFC 6890 / RFC 5735 special-purpose ranges: false for those not global. */
bool	addr_ipv4_is_global(struct in_addr a);

#endif /* DNS64PROXY_ADDR_H */
