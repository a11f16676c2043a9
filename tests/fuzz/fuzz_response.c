/*
 * fuzz_response.c: libFuzzer entry point for what an upstream can send.
 *
 * Parses the input as a response, walks every RR, copies each into a new
 * message (decompressing RDATA names), and relays it to a client whose
 * question differs only in letter case, into buffers of several sizes.
 * Stores it in the answer cache and reads it back, as a hit must come
 * out: parsing, with the client's ID and question, none of the options
 * of one client.  Every message built must parse back; broken invariants
 * abort().
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc \
 *	tests/fuzz/fuzz_response.c src/wire.c src/msg.c src/cache.c \
 *	-o fuzz_response
 *   ./fuzz_response tests/fuzz/corpus/response
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "msg.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/*
 * The client's query: the response's question with the letter case of
 * every ASCII letter flipped, and EDNS with the given UDP size (0: none).
 */
static void
client_query(const struct msg_info *ri, uint16_t udp, struct msg_info *qi)
{
	size_t	i;

	memset(qi, 0, sizeof(*qi));
	qi->id = 0x4321;
	qi->has_question = true;
	qi->q = ri->q;
	for (i = 0; i < qi->q.name_len; i++) {
		uint8_t	c = qi->q.name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			qi->q.name[i] = c ^ 0x20;
	}
	qi->edns = udp != 0;
	qi->edns_udp = udp;
	qi->ede = -1;
}

/* An answer of n bytes for qi: fits max, parses, has qi's ID and question. */
static void
check_reply(const uint8_t *out, size_t n, const struct msg_info *qi,
    size_t max, struct msg_info *back)
{
	CHECK(n <= max);
	CHECK(msg_parse_response(out, n, back));
	CHECK(back->id == qi->id);
	CHECK(msg_question_equal(&back->q, &qi->q));
}

/*
 * Relay into cap bytes for a client limit of max; whatever comes out
 * must fit and parse, with the client's ID and question.
 */
static void
relay(const uint8_t *data, size_t size, const struct msg_info *ri,
    const struct msg_info *qi, size_t max, size_t cap)
{
	static uint8_t	out[DNS_MAX_UDP];
	struct msg_info	back;
	size_t		n;

	n = msg_relay(data, size, ri, qi, max, out, cap);
	CHECK(n <= cap);
	if (n == 0)
		return;
	check_reply(out, n, qi, max, &back);
	CHECK(back.edns == ri->edns || n < size);
	if (n < size)
		CHECK((back.flags & DNS_FLAG_TC) && back.ancount == 0 &&
		    back.nscount == 0);
}

/*
 * Store the answer for qi, look it up a second later into max bytes: a
 * hit parses, carries qi's ID and question, and none of the options the
 * cache leaves out.
 */
static void
cached(const uint8_t *data, size_t size, const struct msg_info *qi,
    size_t max)
{
	static struct cache *c;
	static uint8_t	 out[DNS_MAX_UDP];
	struct cache_key k;
	struct msg_info	 back;
	size_t		 n;

	if (c == NULL && (c = cache_new(2)) == NULL)
		abort();
	cache_key_make(&k, qi, 0);
	if (!cache_store(c, &k, data, size, 1000))
		return;
	CHECK(cache_count(c) >= 1 && cache_count(c) <= 2);
	n = cache_lookup(c, &k, qi, 1001, max, out, sizeof(out));
	if (n == 0)
		return;
	check_reply(out, n, qi, max, &back);
	CHECK(!(back.opts & (EDNS_OPT_BIT(EDNS_OPT_COOKIE) |
	    EDNS_OPT_BIT(EDNS_OPT_KEEPALIVE) | EDNS_OPT_BIT(EDNS_OPT_PADDING) |
	    EDNS_OPT_BIT(EDNS_OPT_ECS))));
	if (size > 16 && (data[size - 1] & 1))
		cache_flush(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		out[DNS_MAX_UDP];
	struct msg_info		ri, qi, back;
	struct msg_iter		it;
	struct msg_rr		rr;
	struct msg_builder	mb;
	size_t			n;
	unsigned		count;
	int			r;

	if (!msg_parse_response(data, size, &ri)) {
		/* the iterator must cope with whatever the parser left */
		msg_iter_init(&it, data, size, &ri);
		while (msg_iter_next(&it, &rr) == 1)
			CHECK(rr.rdata_off + rr.rdlen <= size);
		return 0;
	}

	/* copy every RR but the OPT; the result must parse */
	msg_build_init(&mb, out, sizeof(out), ri.id, ri.flags);
	msg_build_question(&mb, &ri.q);
	msg_iter_init(&it, data, size, &ri);
	count = 0;
	while ((r = msg_iter_next(&it, &rr)) == 1) {
		CHECK(rr.rdata_off <= size && size - rr.rdata_off >= rr.rdlen);
		msg_build_copy_rr(&mb, rr.section, data, size, &rr, 42);
		if (rr.type != DNS_TYPE_OPT)
			count++;
	}
	CHECK(r == 0);
	n = msg_build_finish(&mb);
	if (n > 0) {
		CHECK(msg_parse_response(out, n, &back));
		CHECK(back.ancount + back.nscount + back.arcount == count);
		CHECK(!back.edns);
	}

	client_query(&ri, 0, &qi);
	relay(data, size, &ri, &qi, msg_client_udp_max(&qi), sizeof(out));
	relay(data, size, &ri, &qi, 65535, sizeof(out));
	client_query(&ri, 1232, &qi);
	relay(data, size, &ri, &qi, msg_client_udp_max(&qi), sizeof(out));
	relay(data, size, &ri, &qi, DNS_UDP_PLAIN, DNS_UDP_PLAIN);
	relay(data, size, &ri, &qi, DNS_UDP_PLAIN, ri.question_end);
	relay(data, size, &ri, &qi, DNS_UDP_PLAIN, size > 0 ? size - 1 : 0);
	cached(data, size, &qi, DNS_UDP_PLAIN);
	cached(data, size, &qi, 65535);
	return 0;
}
