/*
 * common.h: what the DNS64 fuzz targets share: a set of [dns64]
 * sections loaded once from a configuration text, a splitter that cuts
 * the input into parts (each copied into a heap buffer of its exact size,
 * so that AddressSanitizer sees a read past any part), and the checks
 * every answer must pass.  Header-only: each target is one translation
 * unit built from the core sources.
 */
#ifndef DNS64PROXY_FUZZ_COMMON_H
#define DNS64PROXY_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns64.h"
#include "msg.h"
#include "wire.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Sections that cover the policy: the defaults (Well-Known Prefix), one
 * /32 NSP without on_error and with reverse rewrite, a /64 NSP that
 * excludes its own /32, one section with every prefix length (those of
 * the RFC 6052 2.4 table, overlapping) and `mapped` and synthall, and a
 * WKP section that maps private space and excludes the WKP itself.  The upstream is set, so no resolv.conf is
 * read.
 */
static const char fuzz_sections_conf[] =
	"[server]\n"
	"upstream = 192.0.2.53\n"
	"[dns64]\n"
	"[dns64 nsp32]\n"
	"prefix = 2001:db8::/32\n"
	"on_error = no\n"
	"reverse = rewrite\n"
	"clients = 10.1.0.0/16\n"
	"[dns64 nsp64]\n"
	"prefix = 2001:db8:122:344::/64\n"
	"exclude = ::ffff:0:0/96 2001:db8::/32\n"
	"clients = 10.2.0.0/16\n"
	"[dns64 multi]\n"
	"prefix = 2001:db8:122:344::/96 2001:db8:100::/40 2001:db8:122::/48\n"
	"    2001:db8:122:300::/56 2001:db8:122:344::/64 64:ff9b::/96\n"
	"    64:ff9b:1::/48 2001:db8::/32\n"
	"mapped = 192.0.2.0/24 198.51.100.0/24 10.0.0.0/8\n"
	"exclude = ::ffff:0:0/96 fe80::/10\n"
	"synthall = yes\n"
	"clients = 10.3.0.0/16\n"
	"[dns64 wkpmapped]\n"
	"prefix = 64:ff9b::/96\n"
	"mapped = 10.0.0.0/8 192.168.0.0/16 192.0.0.0/24\n"
	"exclude = 64:ff9b::/96 ::ffff:0:0/96\n"
	"reverse = no\n"
	"clients = 10.4.0.0/16\n";

static struct config fuzz_cfg;

/* Load the sections once; a configuration that no longer loads is a
 * bug of its own. */
static void
fuzz_sections_init(void)
{
	struct config_errors	errs;

	CHECK(config_load_string(&fuzz_cfg, fuzz_sections_conf, "fuzz",
	    NULL, &errs) == 0);
	CHECK(fuzz_cfg.nsections == 5);
}

/* Client limits to answer for: plain UDP, our EDNS size, TCP. */
static const size_t fuzz_max[] = { DNS_UDP_PLAIN, DNS_EDNS_OUR_SIZE,
	DNS_MAX_UDP };

/* The input, cut into parts. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

/* One byte, 0 when the input is used up. */
static uint8_t
fuzz_u8(struct fuzz_in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

/*
 * The next part: a 2-byte big-endian length, then that many bytes (as
 * many as there are); rest: everything left.  Copied into a heap buffer
 * of exactly its size (NULL for an empty part); the caller frees it.
 */
static uint8_t *
fuzz_part(struct fuzz_in *in, bool rest, size_t *len)
{
	size_t	 n;
	uint8_t	*b;

	if (rest)
		n = in->left;
	else {
		n = (size_t)fuzz_u8(in) << 8;
		n |= fuzz_u8(in);
		if (n > in->left)
			n = in->left;
	}
	*len = n;
	if (n == 0)
		return NULL;
	CHECK((b = malloc(n)) != NULL);
	memcpy(b, in->p, n);
	in->p += n;
	in->left -= n;
	return b;
}

/*
 * An answer of n bytes built for the client qi into a buffer of cap
 * bytes with the limit max: 0 (no answer), or it fits both, parses as a
 * response, and carries the client's ID and, when same_q, its question
 * exactly as the client wrote it.  Every RR lies inside it.  back gets
 * the parse.
 */
static void
fuzz_check_answer(const uint8_t *out, size_t n, size_t max, size_t cap,
    const struct msg_info *qi, bool same_q, struct msg_info *back)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	int		 r;

	CHECK(n <= cap);
	if (n == 0)
		return;
	CHECK(n <= max);
	CHECK(msg_parse_response(out, n, back));
	CHECK(back->id == qi->id);
	if (same_q) {
		CHECK(back->q.qtype == qi->q.qtype);
		CHECK(back->q.qclass == qi->q.qclass);
		CHECK(back->q.name_len == qi->q.name_len);
		CHECK(memcmp(back->q.name, qi->q.name, qi->q.name_len) == 0);
	}
	msg_iter_init(&it, out, n, back);
	while ((r = msg_iter_next(&it, &rr)) == 1)
		CHECK(rr.rdata_off <= n && n - rr.rdata_off >= rr.rdlen);
	CHECK(r == 0);
}

/*
 * A client query for name/qtype built and parsed as the proxy would see
 * it: flags RD, and CD when cd; an OPT RR with the given UDP size and
 * DO when edns.  False if the name does not make a query.
 */
static bool
fuzz_client_query(const uint8_t *name, size_t nlen, uint16_t qtype,
    uint16_t qclass, uint16_t id, bool cd, bool edns, uint16_t udp, bool dof,
    uint8_t *pkt, size_t cap, struct msg_info *qi)
{
	uint8_t	 opt[11];
	size_t	 n;

	if (name == NULL || nlen == 0 || nlen > DNS_MAX_NAME ||
	    wire_name_len(name, nlen) != nlen)
		return false;
	opt[0] = 0;
	wire_set_u16(opt + 1, DNS_TYPE_OPT);
	wire_set_u16(opt + 3, udp);
	opt[5] = 0;
	opt[6] = 0;
	wire_set_u16(opt + 7, dof ? EDNS_FLAG_DO : 0);
	wire_set_u16(opt + 9, 0);
	n = msg_build_query(pkt, cap, id, (uint16_t)(DNS_FLAG_RD |
	    (cd ? DNS_FLAG_CD : 0)), name, nlen, qtype, qclass,
	    edns ? opt : NULL, edns ? sizeof(opt) : 0);
	CHECK(n > 0);
	CHECK(msg_parse_query(pkt, n, qi) == MSG_OK);
	return true;
}

/* EDNS UDP sizes a client may advertise (below 512 counts as 512). */
static const uint16_t fuzz_udp[] = { 512, 1232, 4096, 100 };

#endif /* DNS64PROXY_FUZZ_COMMON_H */
