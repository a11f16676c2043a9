/*
 * fuzz_query.c: libFuzzer entry point for what a client can send.
 *
 * Parses the input as a query, walks every RR, builds the error reply
 * and the upstream query the proxy would build, and relays the input
 * into buffers of several sizes.  Invariants that must hold for any
 * input abort() when broken, so the fuzzer reports them.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc \
 *	tests/fuzz/fuzz_query.c src/wire.c src/msg.c -o fuzz_query
 *   ./fuzz_query tests/fuzz/corpus/query
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/*
 * Walk every RR; each must lie inside the packet.  Returns the
 * iterator's last result.
 */
static int
walk(const uint8_t *data, size_t size, const struct msg_info *mi)
{
	struct msg_iter	it;
	struct msg_rr	rr;
	int		r;

	msg_iter_init(&it, data, size, mi);
	while ((r = msg_iter_next(&it, &rr)) == 1) {
		CHECK(rr.rdata_off <= size && size - rr.rdata_off >= rr.rdlen);
		CHECK(rr.section >= 0 && rr.section <= 2);
		CHECK(wire_name_len(rr.name, rr.name_len) == rr.name_len);
	}
	return r;
}

/*
 * Relay data to itself, as if it were its own answer, into out of cap
 * bytes with the client limit max.
 */
static void
relay(const uint8_t *data, size_t size, const struct msg_info *mi,
    size_t max, size_t cap)
{
	static uint8_t	out[DNS_MAX_UDP];
	size_t		n;

	n = msg_relay(data, size, mi, mi, max, out, cap);
	CHECK(n <= cap);
	if (n > 0 && size >= DNS_HDR_LEN && mi->question_end <= max)
		CHECK(n <= max);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		out[DNS_MAX_UDP];
	struct msg_info		mi, back;
	enum msg_verdict	v;
	size_t			n;
	int			r;

	v = msg_parse_query(data, size, &mi);
	if (v == MSG_DROP)
		return 0;
	CHECK(size >= DNS_HDR_LEN);
	r = walk(data, size, &mi);
	if (v == MSG_OK) {
		CHECK(r == 0);
		CHECK(mi.has_question);
	}

	if (v != MSG_OK) {
		n = msg_build_error(&mi, v == MSG_NOTIMP ? DNS_RCODE_NOTIMP :
		    DNS_RCODE_FORMERR, out, sizeof(out));
		CHECK(n >= DNS_HDR_LEN);
		if (mi.has_question) {
			CHECK(msg_parse_response(out, n, &back));
			CHECK(msg_question_equal(&back.q, &mi.q));
			CHECK(back.edns == mi.edns);
		}
		CHECK(msg_build_error(&mi, 1, out, DNS_HDR_LEN - 1) == 0);
		return 0;
	}

	/* what the proxy sends upstream must parse back the same */
	n = msg_build_query(out, sizeof(out), 0x1234, mi.flags, mi.q.name,
	    mi.q.name_len, mi.q.qtype, mi.q.qclass,
	    mi.edns ? data + mi.opt_off : NULL, mi.edns ? mi.opt_len : 0);
	CHECK(n > 0);
	CHECK(msg_parse_query(out, n, &back) == MSG_OK);
	CHECK(msg_question_equal(&back.q, &mi.q));
	CHECK(back.edns == mi.edns && back.edns_udp == mi.edns_udp);
	CHECK(back.ede == mi.ede);

	/* error replies round-trip too */
	n = msg_build_error(&mi, DNS_RCODE_SERVFAIL, out, sizeof(out));
	CHECK(n > 0);
	CHECK(msg_parse_response(out, n, &back));
	CHECK(msg_rcode(&back) == DNS_RCODE_SERVFAIL);
	CHECK(back.id == mi.id);

	relay(data, size, &mi, msg_client_udp_max(&mi), sizeof(out));
	relay(data, size, &mi, DNS_UDP_PLAIN, sizeof(out));
	relay(data, size, &mi, 65535, sizeof(out));
	relay(data, size, &mi, 64, 64);
	relay(data, size, &mi, DNS_UDP_PLAIN, mi.question_end);
	return 0;
}
