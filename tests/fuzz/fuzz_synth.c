/*
 * fuzz_synth.c: libFuzzer entry point for DNS64 synthesis: what an
 * upstream's AAAA and A answers make of a client's AAAA query.
 *
 * Input: one option byte, then three parts: a 2-byte length and the
 * client's query, a 2-byte length and the AAAA answer, and the rest, the
 * A answer.  An empty or unparsable query part means "the client asked
 * the AAAA answer's question", built as the proxy would see it (letter
 * case flipped, EDNS, DO and CD as the option byte says).  An answer that
 * does not parse counts as a timeout (NULL), as in the proxy.
 *
 * For every test section and client limit (512, 1232, 65535), runs
 * dns64_classify(), dns64_filter() and dns64_synthesize(); every answer
 * must fit the limit and the buffer, parse back as a response, and carry
 * the client's ID (and question, when the answers were to it); what is
 * filtered or relayed holds no AAAA record that `exclude` holds.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc \
 *	tests/fuzz/fuzz_synth.c src/wire.c src/msg.c src/addr.c \
 *	src/dns64.c src/config.c src/stats.c -linih -o fuzz_synth
 *   ./fuzz_synth tests/fuzz/corpus/synth
 *
 * Option byte: bit 0 client EDNS, bit 1 DO, bit 2 CD, bit 3 flip the
 * case of the derived question, bit 4 AAAA answer timed out, bit 5 cut
 * the output buffer to the limit, bits 6-7 the client's UDP size.
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
#define OPT_FLIP	0x08
#define OPT_AAAA_NULL	0x10
#define OPT_CAP_MAX	0x20

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_sections_init();
	return 0;
}

/* The client's question: the AAAA answer's, letter case flipped. */
static bool
derive_query(const struct msg_info *ai, uint8_t opt, uint8_t *pkt,
    size_t cap, struct msg_info *qi)
{
	uint8_t	 name[DNS_MAX_NAME];
	size_t	 i;

	memcpy(name, ai->q.name, ai->q.name_len);
	if (opt & OPT_FLIP)
		for (i = 0; i < ai->q.name_len; i++)
			if ((name[i] >= 'a' && name[i] <= 'z') ||
			    (name[i] >= 'A' && name[i] <= 'Z'))
				name[i] ^= 0x20;
	return fuzz_client_query(name, ai->q.name_len, ai->q.qtype,
	    ai->q.qclass, 0x5a5a, opt & OPT_CD, opt & OPT_EDNS,
	    fuzz_udp[opt >> 6], opt & OPT_DO, pkt, cap, qi);
}

/*
 * RFC 6147 5.1.4: no AAAA record that `exclude` holds in the answer
 * section of out (n bytes, parsed into back).
 */
static void
check_no_excluded(const struct dns64_section *s, const uint8_t *out,
    size_t n, const struct msg_info *back)
{
	struct msg_iter	 it;
	struct msg_rr	 rr;
	struct in6_addr	 a;

	msg_iter_init(&it, out, n, back);
	while (msg_iter_next(&it, &rr) == 1 &&
	    rr.section == DNS_SECTION_ANSWER) {
		if (rr.type != DNS_TYPE_AAAA || rr.rclass != DNS_CLASS_IN ||
		    rr.rdlen != 16)
			continue;
		memcpy(a.s6_addr, out + rr.rdata_off, 16);
		CHECK(!dns64_excluded(s, &a));
	}
}

/*
 * One section: classify the AAAA answer, then filter and synthesize for
 * every client limit.
 */
static void
run_section(const struct dns64_section *s, uint8_t opt,
    const struct msg_info *qi, const uint8_t *aaaa, size_t aaaa_len,
    const struct msg_info *ai, const uint8_t *a, size_t a_len,
    const struct msg_info *ani)
{
	static uint8_t		 out[DNS_MAX_UDP];
	uint8_t			 target[DNS_MAX_NAME];
	size_t			 tlen = 0, i, n, cap, max;
	struct msg_info		 back;
	enum dns64_action	 act;
	bool			 synth, same_q;

	act = dns64_classify(s, qi, aaaa, aaaa_len, ai, target, &tlen);
	CHECK(act == DNS64_PASS || act == DNS64_FILTER ||
	    act == DNS64_NEED_A || act == DNS64_NEED_A_ON_ERROR);
	if (act == DNS64_NEED_A || act == DNS64_NEED_A_ON_ERROR)
		CHECK(tlen > 0 && wire_name_len(target, tlen) == tlen);
	/* on_error: a timeout or an error RCODE, never a NOERROR answer */
	if (act == DNS64_NEED_A_ON_ERROR)
		CHECK(s->on_error && (aaaa == NULL ||
		    msg_rcode(ai) != DNS_RCODE_NOERROR));
	if (act == DNS64_NEED_A)
		CHECK(aaaa != NULL && msg_rcode(ai) == DNS_RCODE_NOERROR);
	if (aaaa == NULL)
		CHECK(act == (s->on_error ? DNS64_NEED_A_ON_ERROR :
		    DNS64_PASS));

	/* the answers are to the client's question when the AAAA answer's
	 * is the same (the proxy drops those that differ) */
	same_q = aaaa == NULL || msg_question_equal(&ai->q, &qi->q);
	for (i = 0; i < NELEM(fuzz_max); i++) {
		max = fuzz_max[i];
		cap = (opt & OPT_CAP_MAX) ? max : sizeof(out);
		if (aaaa != NULL) {
			n = dns64_filter(s, qi, aaaa, aaaa_len, ai, max, out,
			    cap);
			fuzz_check_answer(out, n, max, cap, qi, true, &back);
			if (n > 0)
				check_no_excluded(s, out, n, &back);
		}
		n = dns64_synthesize(s, qi, aaaa, aaaa_len, ai, a, a_len,
		    ani, max, out, cap, &synth);
		fuzz_check_answer(out, n, max, cap, qi, same_q, &back);
		/* what is not synthesized is relayed without excluded AAAA */
		if (n > 0 && !synth)
			check_no_excluded(s, out, n, &back);
		if (n > 0 && synth) {
			CHECK(a != NULL);
			/* AD is never set on what we made (RFC 6147 5.5) */
			CHECK(!(back.flags & DNS_FLAG_AD));
			CHECK(msg_rcode(&back) == DNS_RCODE_NOERROR);
			CHECK(back.edns == qi->edns);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct msg_info		 qi, ai, ani;
	uint8_t			*qpkt, *aaaa, *a, qbuf[DNS_HDR_LEN +
				    DNS_MAX_NAME + 4 + 11];
	size_t			 qlen, aaaa_len, a_len, i;
	uint8_t			 opt;
	bool			 have_q, have_aaaa, have_a;

	opt = fuzz_u8(&in);
	qpkt = fuzz_part(&in, false, &qlen);
	aaaa = fuzz_part(&in, false, &aaaa_len);
	a = fuzz_part(&in, true, &a_len);

	have_aaaa = aaaa != NULL && msg_parse_response(aaaa, aaaa_len, &ai);
	have_a = a != NULL && msg_parse_response(a, a_len, &ani);
	have_q = qpkt != NULL && msg_parse_query(qpkt, qlen, &qi) == MSG_OK;
	if (!have_q && have_aaaa)
		have_q = derive_query(&ai, opt, qbuf, sizeof(qbuf), &qi);
	if (!have_q)
		goto done;
	if (opt & OPT_AAAA_NULL)
		have_aaaa = false;

	for (i = 0; i < fuzz_cfg.nsections; i++)
		run_section(&fuzz_cfg.sections[i], opt, &qi,
		    have_aaaa ? aaaa : NULL, aaaa_len, have_aaaa ? &ai : NULL,
		    have_a ? a : NULL, a_len, have_a ? &ani : NULL);
done:
	free(qpkt);
	free(aaaa);
	free(a);
	return 0;
}
