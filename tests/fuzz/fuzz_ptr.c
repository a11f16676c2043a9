/*
 * fuzz_ptr.c: libFuzzer entry point for reverse mapping and the answers
 * the proxy makes itself: dns64_ptr_map(), dns64_ptr_answer() and
 * dns64_local_answer() (RFC 6147 5.3.1, RFC 8880 7).
 *
 * Input: one option byte, a 2-byte length and a name, and the rest, the
 * upstream's answer for the in-addr.arpa name.  The name is mapped as it
 * stands (raw bytes, whatever they are), converted from and to text, and
 * put as the question of a client query; that query gets the local
 * answer, and when its name maps, the answer built from the upstream's,
 * for every test section and client limit (512, 1232, 65535).  A name
 * that does not map is answered with the upstream answer's own question
 * as the in-addr.arpa name, so that dns64_ptr_answer() sees any answer.
 * Every answer must fit, parse back, and carry the client's ID and
 * question.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc \
 *	tests/fuzz/fuzz_ptr.c src/wire.c src/msg.c src/addr.c \
 *	src/dns64.c src/config.c src/stats.c -linih -o fuzz_ptr
 *   ./fuzz_ptr tests/fuzz/corpus/ptr
 *
 * Option byte: bit 0 client EDNS, bit 1 DO, bit 2 CD, bits 3-5 the query
 * type, bit 6 cut the output buffer to the limit, bit 7 the name part is
 * text ("1.2.0.0.ip6.arpa") rather than wire form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPT_EDNS	0x01
#define OPT_DO		0x02
#define OPT_CD		0x04
#define OPT_CAP_MAX	0x40
#define OPT_TEXT	0x80

static const uint16_t qtypes[8] = { DNS_TYPE_PTR, DNS_TYPE_A, DNS_TYPE_AAAA,
	DNS_TYPE_DS, 16 /* TXT */, DNS_TYPE_SOA, 255 /* ANY */, DNS_TYPE_PTR };

/* "in-addr.arpa." */
static const uint8_t in_addr_arpa[] = "\007in-addr\004arpa";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sections_init();
	return 0;
}

/* Map name (nlen bytes, anything) with every section; what comes out is
 * a name below in-addr.arpa. */
static void
map_raw(const uint8_t *name, size_t nlen)
{
	uint8_t	 v4[DNS_MAX_NAME];
	size_t	 v4len, i;

	for (i = 0; i < fuzz_cfg.nsections; i++) {
		v4len = 0;
		if (!dns64_ptr_map(&fuzz_cfg.sections[i], name, nlen, v4,
		    &v4len))
			continue;
		CHECK(v4len > 0 && wire_name_len(v4, v4len) == v4len);
		CHECK(wire_name_is_subdomain(v4, v4len, in_addr_arpa,
		    sizeof(in_addr_arpa)));
	}
}

/*
 * The name part as a wire name into out (DNS_MAX_NAME bytes): read as
 * text when asked, else taken as it is.  0 when it is no name.
 */
static size_t
name_of(const uint8_t *part, size_t plen, bool text, uint8_t *out)
{
	char	*s, buf[4 * DNS_MAX_NAME + 2];
	size_t	 n;

	if (text) {
		CHECK((s = malloc(plen + 1)) != NULL);
		if (plen > 0)
			memcpy(s, part, plen);
		s[plen] = '\0';
		n = wire_name_from_text(s, out, DNS_MAX_NAME);
		free(s);
		if (n == 0)
			return 0;
		CHECK(n <= DNS_MAX_NAME && wire_name_len(out, n) == n);
	} else {
		if (plen == 0 || plen > DNS_MAX_NAME ||
		    wire_name_len(part, plen) != plen)
			return 0;
		memcpy(out, part, plen);
		n = plen;
	}
	/* every good name has a text form (escaped) */
	CHECK(wire_name_to_text(out, n, buf, sizeof(buf)));
	CHECK(buf[0] != '\0' && strlen(buf) < sizeof(buf));
	return n;
}

/* Local answer and mapped PTR answer of one section for every limit. */
static void
run_section(const struct dns64_section *s, uint8_t opt,
    const struct msg_info *qi, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	static uint8_t	 out[DNS_MAX_UDP];
	uint8_t		 v4[DNS_MAX_NAME];
	size_t		 v4len = 0, i, n, max, cap;
	struct msg_info	 back;
	bool		 mapped;

	mapped = dns64_ptr_map(s, qi->q.name, qi->q.name_len, v4, &v4len);
	if (mapped)
		CHECK(qi->q.name_len > 0 && s->reverse != DNS64_REVERSE_NO);
	else if (resp != NULL) {
		memcpy(v4, ri->q.name, ri->q.name_len);
		v4len = ri->q.name_len;
	}
	for (i = 0; i < NELEM(fuzz_max); i++) {
		max = fuzz_max[i];
		cap = (opt & OPT_CAP_MAX) ? max : sizeof(out);
		n = dns64_local_answer(s, qi, max, out, cap);
		fuzz_check_answer(out, n, max, cap, qi, true, &back);
		if (n > 0) {
			CHECK(back.flags & DNS_FLAG_AA);
			CHECK(msg_rcode(&back) == DNS_RCODE_NOERROR ||
			    msg_rcode(&back) == DNS_RCODE_NXDOMAIN);
			CHECK(back.edns == qi->edns);
		}
		if (resp == NULL)
			continue;
		n = dns64_ptr_answer(s, qi, v4, v4len, resp, len, ri, max,
		    out, cap);
		fuzz_check_answer(out, n, max, cap, qi, true, &back);
		if (n > 0)
			CHECK(!(back.flags & DNS_FLAG_AD));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	struct msg_info	 qi, ri;
	uint8_t		*part, *resp, name[DNS_MAX_NAME], qbuf[DNS_HDR_LEN +
			    DNS_MAX_NAME + 4 + 11];
	size_t		 plen, len, nlen, i;
	uint8_t		 opt;
	bool		 have_r;

	opt = fuzz_u8(&in);
	part = fuzz_part(&in, false, &plen);
	resp = fuzz_part(&in, true, &len);

	map_raw(part, plen);
	nlen = name_of(part, plen, opt & OPT_TEXT, name);
	if (nlen == 0)
		goto done;
	map_raw(name, nlen);
	if (!fuzz_client_query(name, nlen, qtypes[(opt >> 3) & 7],
	    DNS_CLASS_IN, 0xa5a5, opt & OPT_CD, opt & OPT_EDNS,
	    fuzz_udp[(opt >> 3) & 3], opt & OPT_DO, qbuf, sizeof(qbuf), &qi))
		goto done;
	have_r = resp != NULL && msg_parse_response(resp, len, &ri);

	for (i = 0; i < fuzz_cfg.nsections; i++)
		run_section(&fuzz_cfg.sections[i], opt, &qi,
		    have_r ? resp : NULL, len, have_r ? &ri : NULL);
done:
	free(part);
	free(resp);
	return 0;
}
