/*
 * test_wire.c: the bounds-checked cursor, name decompression, name
 * helpers and the bounded writer (wire.c).
 *
 * Packets are annotated byte arrays; name cases are a parameterized table
 * so each one shows up on its own in criterion's summary.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "wire.h"

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...)	sizeof((const uint8_t[]){ __VA_ARGS__ })

/* Wire names used throughout. */
#define N_EXAMPLE_COM	7,'e','x','a','m','p','l','e',3,'c','o','m',0
#define N_WWW_EXAMPLE_COM 3,'w','w','w',N_EXAMPLE_COM

/* ---------------------------------------------------------------- */
/* Integer readers, at and past the end of the buffer                */
/* ---------------------------------------------------------------- */

enum reader { R_U8, R_U16, R_U32, R_BYTES3, R_SKIP3 };

struct read_case {
	const char	*what;
	enum reader	 r;
	size_t		 len;		/* of buf below, from 0 */
	size_t		 pos;		/* where the cursor starts */
	bool		 ok;
	uint32_t	 value;		/* u8/u16/u32, or first 3 bytes */
};

static const uint8_t rbuf[] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc };

static const struct read_case read_cases[] = {
	{ "u8 first",		R_U8,	6, 0, true,  0x12 },
	{ "u8 last byte",	R_U8,	6, 5, true,  0xbc },
	{ "u8 at end",		R_U8,	6, 6, false, 0 },
	{ "u8 past end",	R_U8,	6, 9, false, 0 },
	{ "u8 empty",		R_U8,	0, 0, false, 0 },
	{ "u16",		R_U16,	6, 0, true,  0x1234 },
	{ "u16 last two",	R_U16,	6, 4, true,  0x9abc },
	{ "u16 one left",	R_U16,	6, 5, false, 0 },
	{ "u16 at end",		R_U16,	6, 6, false, 0 },
	{ "u16 high bit",	R_U16,	6, 3, true,  0x789a },
	{ "u32",		R_U32,	6, 0, true,  0x12345678 },
	{ "u32 last four",	R_U32,	6, 2, true,  0x56789abc },
	{ "u32 three left",	R_U32,	6, 3, false, 0 },
	{ "u32 at end",		R_U32,	6, 6, false, 0 },
	{ "bytes3",		R_BYTES3, 6, 1, true, 0x345678 },
	{ "bytes3 exact end",	R_BYTES3, 6, 3, true, 0x789abc },
	{ "bytes3 two left",	R_BYTES3, 6, 4, false, 0 },
	{ "skip3",		R_SKIP3, 6, 3, true,  0 },
	{ "skip3 two left",	R_SKIP3, 6, 4, false, 0 },
	{ "skip3 past end",	R_SKIP3, 6, 7, false, 0 },
};

Test(wire_read, table)
{
	size_t	i;

	for (i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		const struct read_case *c = &read_cases[i];
		struct wire	w;
		uint8_t		u8 = 0xee, b3[3] = { 0xee, 0xee, 0xee };
		uint16_t	u16 = 0xeeee;
		uint32_t	u32 = 0xeeeeeeee, got = 0;
		size_t		adv = 0;
		bool		ok = false;

		wire_init(&w, rbuf, c->len);
		w.pos = c->pos;
		switch (c->r) {
		case R_U8:
			ok = wire_read_u8(&w, &u8);
			got = u8;
			adv = 1;
			break;
		case R_U16:
			ok = wire_read_u16(&w, &u16);
			got = u16;
			adv = 2;
			break;
		case R_U32:
			ok = wire_read_u32(&w, &u32);
			got = u32;
			adv = 4;
			break;
		case R_BYTES3:
			ok = wire_read_bytes(&w, b3, 3);
			got = (uint32_t)b3[0] << 16 | (uint32_t)b3[1] << 8 |
			    b3[2];
			adv = 3;
			break;
		case R_SKIP3:
			ok = wire_skip(&w, 3);
			adv = 3;
			break;
		}
		cr_assert_eq(ok, c->ok, "%s: ok %d", c->what, ok);
		if (ok) {
			if (c->r != R_SKIP3)
				cr_assert_eq(got, c->value, "%s: got %#x",
				    c->what, got);
			cr_assert_eq(w.pos, c->pos + adv, "%s: pos", c->what);
		} else {
			cr_assert_eq(w.pos, c->pos, "%s: cursor moved",
			    c->what);
			/* out untouched on failure */
			cr_assert(u8 == 0xee && u16 == 0xeeee &&
			    u32 == 0xeeeeeeee && b3[0] == 0xee,
			    "%s: output written on failure", c->what);
		}
	}
}

Test(wire_read, left_and_sequence)
{
	struct wire	w;
	uint8_t		a;
	uint16_t	b;
	uint32_t	c;

	wire_init(&w, rbuf, sizeof(rbuf));
	cr_assert_eq(w.pos, 0);
	cr_assert_eq(wire_left(&w), 6);
	cr_assert(wire_read_u8(&w, &a));
	cr_assert_eq(a, 0x12);
	cr_assert(wire_read_u16(&w, &b));
	cr_assert_eq(b, 0x3456);
	cr_assert_eq(wire_left(&w), 3);
	cr_assert_not(wire_read_u32(&w, &c));
	cr_assert_eq(wire_left(&w), 3);
	cr_assert(wire_skip(&w, 3));
	cr_assert_eq(wire_left(&w), 0);
	cr_assert(wire_skip(&w, 0));
	cr_assert(wire_read_bytes(&w, &a, 0));
	/* a cursor moved past the end by hand has nothing left */
	w.pos = 100;
	cr_assert_eq(wire_left(&w), 0);
	cr_assert_not(wire_read_u8(&w, &a));
}

Test(wire_read, huge_skip_does_not_wrap)
{
	struct wire	w;

	wire_init(&w, rbuf, sizeof(rbuf));
	w.pos = 2;
	cr_assert_not(wire_skip(&w, SIZE_MAX));
	cr_assert_not(wire_skip(&w, SIZE_MAX - 1));
	cr_assert_eq(w.pos, 2);
}

Test(wire_int, get_set_u16)
{
	uint8_t	b[3] = { 0, 0, 0x55 };

	wire_set_u16(b, 0xbeef);
	cr_assert_eq(b[0], 0xbe);
	cr_assert_eq(b[1], 0xef);
	cr_assert_eq(b[2], 0x55);
	cr_assert_eq(wire_get_u16(b), 0xbeef);
	cr_assert_eq(wire_get_u16(BYTES(0x00, 0x01)), 1);
	cr_assert_eq(wire_get_u16(BYTES(0xff, 0xff)), 0xffff);
	/* unaligned */
	cr_assert_eq(wire_get_u16(BYTES(0x00, 0xab, 0xcd) + 1), 0xabcd);
}

/* ---------------------------------------------------------------- */
/* wire_read_name                                                    */
/* ---------------------------------------------------------------- */

struct name_case {
	const char	*what;
	const uint8_t	*buf;
	size_t		 len;
	size_t		 start;
	bool		 ok;
	const uint8_t	*want;		/* decompressed name */
	size_t		 want_len;
	size_t		 end;		/* cursor after the name */
};

#define NAME_OK(what, start, end, want, ...) \
	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), start, true, \
	  (const uint8_t *)(want), sizeof(want) - 1, end }
#define NAME_BAD(what, start, ...) \
	{ what, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), start, false, \
	  NULL, 0, 0 }

/*
 * The harness puts the case bytes after a 12-byte header of zeros, as in
 * a message: offsets in a case are relative to its first byte, and P(x)
 * is a pointer to case offset x.
 */
#define P(x)	0xc0, (DNS_HDR_LEN + (x))

#define WWW_EX_COM "\3www\7example\3com"	/* + the string's NUL = root */
#define EX_COM "\7example\3com"

static struct name_case name_cases[] = {
	NAME_OK("root", 0, 1, "", 0),
	NAME_OK("plain", 0, 17, WWW_EX_COM, N_WWW_EXAMPLE_COM),
	NAME_OK("plain, bytes after", 0, 17, WWW_EX_COM,
	    N_WWW_EXAMPLE_COM, 0x00, 0x1c),
	NAME_OK("mixed case kept", 0, 5, "\3WwW",
	    3, 'W', 'w', 'W', 0),
	/* 0: example.com (13 bytes); 13: www + pointer to 0 */
	NAME_OK("label then pointer back", 13, 19, WWW_EX_COM,
	    N_EXAMPLE_COM,
	    3, 'w', 'w', 'w', P(0)),
	/* 13: a bare pointer to 0 */
	NAME_OK("bare pointer", 13, 15, EX_COM,
	    N_EXAMPLE_COM,
	    P(0)),
	/* 0: com; 5: example + ptr 0; 15: www + ptr 5 */
	NAME_OK("two hops", 15, 21, WWW_EX_COM,
	    3, 'c', 'o', 'm', 0,
	    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', P(0),
	    3, 'w', 'w', 'w', P(5)),
	/* pointer into the middle of an earlier name */
	NAME_OK("pointer into middle", 17, 23, "\3www\3com",
	    N_WWW_EXAMPLE_COM,
	    3, 'w', 'w', 'w', P(12)),
	/* 63-byte label is the maximum */
	NAME_OK("63-byte label", 0, 65,
	    "\77aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    63, 'a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a', 0),

	NAME_BAD("empty buffer", 0),
	NAME_BAD("start at end", 1, 0),
	NAME_BAD("no root", 0, 3, 'w', 'w', 'w'),
	NAME_BAD("label cut", 0, 7, 'e', 'x', 'a'),
	NAME_BAD("label length only", 0, 3),
	NAME_BAD("pointer cut", 0, 0xc0),
	NAME_BAD("pointer cut after label", 0, 1, 'a', 0xc0),
	NAME_BAD("forward pointer", 0, P(2), 0x00),
	NAME_BAD("self pointer", 0, P(0)),
	NAME_BAD("self pointer later", 1, 0x00, P(1)),
	/* pointer back to the start of its own sequence: a loop */
	NAME_BAD("pointer to own start", 0, 1, 'a', P(0)),
	/* 0: ptr to 2; 2: ptr to 0.  From 2: 0 is back, 2 is not */
	NAME_BAD("two-pointer loop", 2, P(2), P(0)),
	/* 0: a + ptr to 4; 4: ptr to 0: points behind 4 but the
	 * target's sequence points forward again */
	NAME_BAD("loop via labels", 4, 1, 'a', P(4), P(0)),
	/* 0: a + ptr to 4; 4: root; 5: ptr to 0.  From 5: 0 is back,
	 * but 4 lies after the start of the sequence at 0 */
	NAME_BAD("pointer forward within a hop's target", 5,
	    1, 'a', P(4), 0x00, P(0)),
	NAME_OK("the same bytes, read from 4", 4, 5, "",
	    1, 'a', P(4), 0x00, P(0)),
	/* the header before the case bytes is zeros: offset 0 would read
	 * as the root if pointers into the header were allowed */
	NAME_BAD("pointer to offset 0 (header)", 0, 0xc0, 0x00),
	NAME_BAD("pointer to offset 11 (header)", 0, 0xc0, 0x0b),
	NAME_BAD("pointer into header after a label", 0, 1, 'a', 0xc0, 0x05),
	NAME_BAD("pointer far out of range", 2, 0x00, 0x00, 0xff, 0xff),
	NAME_BAD("pointer past end", 2, 0x00, 0x00, P(16)),
	NAME_BAD("label type 0x40", 0, 0x40, 'a', 0),
	NAME_BAD("label type 0x41 (EDNS0 bitstring)", 0, 0x41, 0, 0),
	NAME_BAD("label type 0x80", 0, 0x80, 'a', 0),
	NAME_BAD("label type 0xbf", 0, 0xbf, 0),
	NAME_BAD("0x40 after pointer", 2, 0x40, 0, P(0)),
	/* 64 = 0x40: a label one byte too long */
	NAME_BAD("64-byte label", 0, 64,
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a','a','a','a','a','a','a',
	    'a','a','a','a','a','a','a','a', 0),
};

#define NNAME_CASES (sizeof(name_cases) / sizeof(name_cases[0]))

/*
 * Criterion runs each parameter in a fresh process, where pointers into
 * this one mean nothing: the parameters are indices into name_cases.
 */
ParameterizedTestParameters(wire_name, read)
{
	static size_t	idx[NNAME_CASES];
	size_t		i;

	for (i = 0; i < NNAME_CASES; i++)
		idx[i] = i;
	return cr_make_param_array(size_t, idx, NNAME_CASES);
}

ParameterizedTest(size_t *ip, wire_name, read)
{
	struct wire	w;
	uint8_t		buf[DNS_HDR_LEN + 512], out[DNS_MAX_NAME];
	size_t		olen = 999;
	bool		ok;
	const struct name_case *c = &name_cases[*ip];

	cr_assert_leq(c->len, sizeof(buf) - DNS_HDR_LEN);
	memset(buf, 0, DNS_HDR_LEN);
	memcpy(buf + DNS_HDR_LEN, c->buf, c->len);
	wire_init(&w, buf, DNS_HDR_LEN + c->len);
	w.pos = DNS_HDR_LEN + c->start;
	ok = wire_read_name(&w, out, &olen);
	cr_assert_eq(ok, c->ok, "%s: got %d", c->what, ok);
	if (!c->ok) {
		cr_assert_eq(w.pos, DNS_HDR_LEN + c->start, "%s: cursor moved",
		    c->what);
		cr_assert_eq(olen, 999, "%s: outlen set", c->what);
		return;
	}
	cr_assert_eq(olen, c->want_len + 1, "%s: len %zu", c->what, olen);
	cr_assert_arr_eq(out, c->want, c->want_len + 1, "%s: name", c->what);
	cr_assert_eq(w.pos, DNS_HDR_LEN + c->end, "%s: end %zu", c->what,
	    w.pos);
	cr_assert_eq(wire_name_len(out, olen), olen, "%s: result valid",
	    c->what);
}

/*
 * Fill buf at off with labels of the given lengths ('x' bytes); returns
 * the offset after them (no root byte written).
 */
static size_t
put_labels(uint8_t *buf, size_t off, const unsigned *lens, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		buf[off++] = (uint8_t)lens[i];
		memset(buf + off, 'x', lens[i]);
		off += lens[i];
	}
	return off;
}

Test(wire_name, length_limit_uncompressed)
{
	static const unsigned l255[] = { 63, 63, 63, 61 };	/* 254 + root */
	static const unsigned l256[] = { 63, 63, 63, 62 };	/* 255 + root */
	uint8_t		buf[300], out[DNS_MAX_NAME];
	size_t		end, olen;
	struct wire	w;

	end = put_labels(buf, 0, l255, 4);
	buf[end++] = 0;
	cr_assert_eq(end, 255);
	wire_init(&w, buf, end);
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(olen, 255);
	cr_assert_eq(w.pos, 255);
	cr_assert_arr_eq(out, buf, 255);

	end = put_labels(buf, 0, l256, 4);
	buf[end++] = 0;
	cr_assert_eq(end, 256);
	wire_init(&w, buf, end);
	cr_assert_not(wire_read_name(&w, out, &olen));
	cr_assert_eq(w.pos, 0);
}

Test(wire_name, length_limit_through_pointers)
{
	/*
	 * 0:   a header of zeros
	 * 12:  labels 63 63 61 + root = 191 bytes
	 * 203: 63-byte label + pointer to 12 -> 64 + 191 = 255: ok
	 * 269: 62-byte and 1-byte labels + pointer to 12 -> 256: bad
	 */
	static const unsigned base[] = { 63, 63, 61 };
	static const unsigned one63[] = { 63 };
	static const unsigned two[] = { 62, 1 };
	uint8_t		buf[400], out[DNS_MAX_NAME];
	size_t		end, a, b, olen;
	struct wire	w;

	memset(buf, 0, DNS_HDR_LEN);
	end = put_labels(buf, DNS_HDR_LEN, base, 3);
	buf[end++] = 0;
	cr_assert_eq(end, DNS_HDR_LEN + 191);
	a = end;
	end = put_labels(buf, a, one63, 1);
	buf[end++] = 0xc0;
	buf[end++] = DNS_HDR_LEN;
	b = end;
	end = put_labels(buf, b, two, 2);
	buf[end++] = 0xc0;
	buf[end++] = DNS_HDR_LEN;

	wire_init(&w, buf, end);
	w.pos = a;
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(olen, 255);
	cr_assert_eq(w.pos, b);
	cr_assert_arr_eq(out, buf + a, 64);
	cr_assert_arr_eq(out + 64, buf + DNS_HDR_LEN, 191);

	w.pos = b;
	cr_assert_eq(b + 63 + 2 + 2, end);
	cr_assert_not(wire_read_name(&w, out, &olen));
	cr_assert_eq(w.pos, b);
}

/*
 * buf: a header of zeros, the root at 12, then k pointers, each to the
 * one before.  Reading the last one follows k pointers.
 */
static size_t
pointer_chain(uint8_t *buf, unsigned k)
{
	size_t		off = DNS_HDR_LEN + 1;
	unsigned	i;

	memset(buf, 0, DNS_HDR_LEN + 1);
	for (i = 0; i < k; i++) {
		size_t	target = i == 0 ? DNS_HDR_LEN : off - 2;

		buf[off] = (uint8_t)(0xc0 | (target >> 8));
		buf[off + 1] = (uint8_t)target;
		off += 2;
	}
	return off;
}

Test(wire_name, hop_cap)
{
	uint8_t		buf[DNS_HDR_LEN + 1 + 2 * (DNS_MAX_PTR_HOPS + 1)];
	uint8_t		out[DNS_MAX_NAME];
	size_t		end, olen;
	struct wire	w;

	end = pointer_chain(buf, DNS_MAX_PTR_HOPS);
	wire_init(&w, buf, end);
	w.pos = end - 2;
	cr_assert(wire_read_name(&w, out, &olen), "64 hops are allowed");
	cr_assert_eq(olen, 1);
	cr_assert_eq(out[0], 0);
	cr_assert_eq(w.pos, end);

	end = pointer_chain(buf, DNS_MAX_PTR_HOPS + 1);
	cr_assert_eq(end, sizeof(buf));
	wire_init(&w, buf, end);
	w.pos = end - 2;
	cr_assert_not(wire_read_name(&w, out, &olen), "65 hops are not");
	cr_assert_eq(w.pos, end - 2);
}

Test(wire_name, pointer_with_14_bit_offset)
{
	/* A pointer's offset uses 14 bits: put the target past 255. */
	uint8_t		buf[0x130], out[DNS_MAX_NAME];
	size_t		olen;
	struct wire	w;

	memset(buf, 0xff, sizeof(buf));
	memcpy(buf + 0x110, BYTES(N_EXAMPLE_COM), 13);
	buf[0x120] = 0xc1;
	buf[0x121] = 0x10;
	wire_init(&w, buf, sizeof(buf));
	w.pos = 0x120;
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(olen, 13);
	cr_assert_arr_eq(out, BYTES(N_EXAMPLE_COM), 13);
	cr_assert_eq(w.pos, 0x122);
}

Test(wire_name, read_continues_after_name)
{
	/* name, then TYPE and CLASS: the cursor lands on TYPE */
	static const uint8_t pkt[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0: header */
		N_EXAMPLE_COM,			/* 12 */
		0xc0, 0x0c,			/* 25: pointer */
		0x00, 0x1c, 0x00, 0x01,		/* 27: AAAA IN */
	};
	struct wire	w;
	uint8_t		out[DNS_MAX_NAME];
	size_t		olen;
	uint16_t	t, c;

	wire_init(&w, pkt, sizeof(pkt));
	w.pos = 25;
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(w.pos, 27);
	cr_assert(wire_read_u16(&w, &t));
	cr_assert(wire_read_u16(&w, &c));
	cr_assert_eq(t, 28);
	cr_assert_eq(c, 1);
	cr_assert_eq(wire_left(&w), 0);
}

/*
 * A name reached through a pointer lies wholly before that pointer: one
 * that runs on over it reads the fields of other records (the fuzzer
 * found a pointer into a label whose length byte then came from a TTL,
 * which the cache counts down).
 */
Test(wire_name, pointed_name_ends_before_pointer)
{
	static const uint8_t over[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0: header */
		0x03, 'a', 'b',			/* 12: runs over... */
		0xc0, 0x0c,			/* 15: ...this pointer */
		'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
		0x00,
	};
	static const uint8_t fine[] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0: header */
		0x02, 'a', 'b', 0x00,		/* 12: ab. */
		0xc0, 0x0c,			/* 16 */
		0x01, 'c', 0xc0, 0x10,		/* 18: c. + pointer to 16 */
	};
	struct wire	w;
	uint8_t		out[DNS_MAX_NAME];
	size_t		olen;

	wire_init(&w, over, sizeof(over));
	w.pos = 15;
	cr_assert_not(wire_read_name(&w, out, &olen),
	    "name running over its pointer accepted");
	cr_assert_eq(w.pos, 15);

	wire_init(&w, fine, sizeof(fine));
	w.pos = 16;
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(olen, 4);
	cr_assert_eq(w.pos, 18);
	cr_assert(wire_read_name(&w, out, &olen));
	cr_assert_eq(olen, 6);
	cr_assert(memcmp(out, "\x01" "c" "\x02" "ab", 5) == 0);
	cr_assert_eq(w.pos, sizeof(fine));
}

/* Hostile names: each must be rejected, none may crash. */
static const struct {
	const uint8_t	*p;
	size_t		 len;
} hostile_names[] = {
#define H(...) { BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__) }
	H(0xc0),
	H(0xff, 0xff),
	H(0x3f),
	H(0x3f, 'a'),
	H(0x01),
	H(0x00 | 0x40),
	H(0x80, 0x00),
	H(0x01, 'a', 0x01, 'b', 0xc0, 0x00),
	H(0x01, 'a', 0xc0, 0x02),
	H(0xc0, 0x01, 0xc0, 0x00),
	H(0x05, 'a', 'b', 'c', 'd'),
	H(0x02, 'a', 'b', 0xc0),
	H(0xc0, 0x00, 0x00),
	H(0x01, 0x00, 0xc0, 0x01),
#undef H
};

Test(wire_name, hostile)
{
	size_t	i, start, olen;
	uint8_t	out[DNS_MAX_NAME];

	for (i = 0; i < sizeof(hostile_names) / sizeof(hostile_names[0]);
	    i++) {
		struct wire w;

		/* from the start: every one is bad there */
		wire_init(&w, hostile_names[i].p, hostile_names[i].len);
		cr_assert_not(wire_read_name(&w, out, &olen),
		    "hostile name %zu accepted", i);
		cr_assert_eq(w.pos, 0);
		/* from every other offset: must not crash or overrun */
		for (start = 1; start <= hostile_names[i].len; start++) {
			wire_init(&w, hostile_names[i].p,
			    hostile_names[i].len);
			w.pos = start;
			if (wire_read_name(&w, out, &olen)) {
				cr_assert_leq(w.pos, hostile_names[i].len);
				cr_assert_eq(wire_name_len(out, olen), olen);
			} else
				cr_assert_eq(w.pos, start);
		}
	}
}

/* ---------------------------------------------------------------- */
/* Uncompressed names: length, equality, subdomains                  */
/* ---------------------------------------------------------------- */

Test(wire_name, len)
{
	const struct {
		const char	*what;
		const uint8_t	*p;
		size_t		 max;
		size_t		 want;
	} cases[] = {
		{ "root", BYTES(0), 1, 1 },
		{ "root, more room", BYTES(0, 9, 9), 3, 1 },
		{ "example.com", BYTES(N_EXAMPLE_COM), 13, 13 },
		{ "example.com, max short", BYTES(N_EXAMPLE_COM), 12, 0 },
		{ "max 0", BYTES(0), 0, 0 },
		{ "pointer", BYTES(1, 'a', 0xc0, 0), 4, 0 },
		{ "type 0x40", BYTES(0x40, 0), 2, 0 },
		{ "64", BYTES(64, 0), 66, 0 },
		{ "label past max", BYTES(5, 'a', 'b', 0), 4, 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(wire_name_len(cases[i].p, cases[i].max),
		    cases[i].want, "%s", cases[i].what);
	cr_assert_eq(wire_name_len(NULL, 10), 0);
}

Test(wire_name, len_limit)
{
	static const unsigned l255[] = { 63, 63, 63, 61 };
	static const unsigned l256[] = { 63, 63, 63, 62 };
	uint8_t	buf[300];
	size_t	end;

	end = put_labels(buf, 0, l255, 4);
	buf[end++] = 0;
	cr_assert_eq(wire_name_len(buf, sizeof(buf)), 255);
	end = put_labels(buf, 0, l256, 4);
	buf[end++] = 0;
	cr_assert_eq(wire_name_len(buf, sizeof(buf)), 0);
}

Test(wire_name, equal)
{
	static const struct {
		const uint8_t	*a;
		size_t		 alen;
		const uint8_t	*b;
		size_t		 blen;
		bool		 eq;
	} cases[] = {
#define E(a, b, eq) { (const uint8_t *)(a), sizeof(a), \
	(const uint8_t *)(b), sizeof(b), eq }
		E("\7example\3com", "\7example\3com", true),
		E("\7EXAMPLE\3com", "\7example\3CoM", true),
		E("\7ExAmPlE\3cOm", "\7eXaMpLe\3CoM", true),
		E("", "", true),
		E("\7example\3com", "\7example\3org", false),
		E("\7example\3com", "\3www\7example\3com", false),
		E("\1a\1b", "\3a\1b", false),
		/* '@' (0x40) and '`' (0x60) are 'A'-1 and 'a'-1: no letters */
		E("\1@", "\1`", false),
		E("\1[", "\1{", false),
		/* not locale-folded: only ASCII letters fold */
		E("\1\xc4", "\1\xe4", false),
#undef E
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(wire_name_equal(cases[i].a, cases[i].alen,
		    cases[i].b, cases[i].blen), cases[i].eq, "case %zu", i);
		cr_assert_eq(wire_name_equal(cases[i].b, cases[i].blen,
		    cases[i].a, cases[i].alen), cases[i].eq,
		    "case %zu reversed", i);
	}
}

Test(wire_name, subdomain)
{
	static const struct {
		const char	*name;
		const char	*zone;
		bool		 sub;
	} cases[] = {
		{ "www.example.com", "example.com", true },
		{ "example.com", "example.com", true },
		{ "EXAMPLE.com", "example.COM", true },
		{ "a.b.c.example.com", "com", true },
		{ "anything.example", ".", true },
		{ ".", ".", true },
		{ "example.com", "www.example.com", false },
		{ "badexample.com", "example.com", false },
		{ "xexample.com", "example.com", false },
		{ "example.com", "com.example", false },
		{ ".", "com", false },
		{ "ipv4only.arpa", "ipv4only.arpa", true },
		{ "a.ipv4only.arpa", "ipv4only.arpa", true },
		{ "ipv4only.arpa.com", "ipv4only.arpa", false },
	};
	uint8_t	n[DNS_MAX_NAME], z[DNS_MAX_NAME];
	size_t	i, nl, zl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nl = wire_name_from_text(cases[i].name, n, sizeof(n));
		zl = wire_name_from_text(cases[i].zone, z, sizeof(z));
		cr_assert(nl > 0 && zl > 0);
		cr_assert_eq(wire_name_is_subdomain(n, nl, z, zl),
		    cases[i].sub, "%s under %s", cases[i].name,
		    cases[i].zone);
	}
}

Test(wire_name, subdomain_tricky_bytes)
{
	/*
	 * "\3com" as the tail of a label's bytes is no label boundary:
	 * name = [7]"xx\3com" + root... here the label holds the bytes
	 * 'x','x',3,'c','o','m' so its last 5 bytes look like "\3com\0".
	 */
	static const uint8_t name[] = { 6, 'x', 'x', 3, 'c', 'o', 'm', 0 };
	static const uint8_t com[] = { 3, 'c', 'o', 'm', 0 };
	static const uint8_t bad[] = { 3, 'c', 'o' };

	cr_assert_not(wire_name_is_subdomain(name, sizeof(name), com,
	    sizeof(com)));
	cr_assert_not(wire_name_is_subdomain(bad, sizeof(bad), com,
	    sizeof(com)));
	cr_assert_not(wire_name_is_subdomain(com, sizeof(com), bad,
	    sizeof(bad)));
	/* a length that is not the name's exact length */
	cr_assert_not(wire_name_is_subdomain(com, sizeof(com) + 0, com,
	    sizeof(com) - 1));
}

/* ---------------------------------------------------------------- */
/* Text conversions                                                  */
/* ---------------------------------------------------------------- */

Test(wire_text, from_text)
{
	static const struct {
		const char	*text;
		const char	*wire;	/* + the string's NUL = root */
		size_t		 len;	/* 0: must fail */
	} cases[] = {
		{ "www.example.org", "\3www\7example\3org", 17 },
		{ "www.example.org.", "\3www\7example\3org", 17 },
		{ "Example.COM", "\7Example\3COM", 13 },
		{ ".", "", 1 },
		{ "a", "\1a", 3 },
		{ "", NULL, 0 },
		{ "..", NULL, 0 },
		{ "a..b", NULL, 0 },
		{ ".a", NULL, 0 },
		{ "a.b..", NULL, 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
		    NULL, 0 },	/* 64-byte label */
	};
	uint8_t	out[DNS_MAX_NAME];
	size_t	i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0xee, sizeof(out));
		n = wire_name_from_text(cases[i].text, out, sizeof(out));
		cr_assert_eq(n, cases[i].len, "\"%s\": %zu", cases[i].text, n);
		if (n > 0)
			cr_assert_arr_eq(out, cases[i].wire, n, "\"%s\"",
			    cases[i].text);
	}
	cr_assert_eq(wire_name_from_text(NULL, out, sizeof(out)), 0);
}

Test(wire_text, from_text_limits)
{
	char	text[400];
	uint8_t	out[DNS_MAX_NAME + 10];

	/* 63 label: fits */
	memset(text, 'a', 63);
	text[63] = '\0';
	cr_assert_eq(wire_name_from_text(text, out, sizeof(out)), 65);

	/* 4 labels 63.63.63.61 = 255 wire bytes: the most there is */
	memset(text, 'b', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	text[253] = '\0';
	cr_assert_eq(wire_name_from_text(text, out, sizeof(out)), 255);
	/* trailing dot changes nothing */
	text[253] = '.';
	text[254] = '\0';
	cr_assert_eq(wire_name_from_text(text, out, sizeof(out)), 255);
	/* one more byte: 256 */
	text[253] = 'b';
	text[254] = '\0';
	cr_assert_eq(wire_name_from_text(text, out, sizeof(out)), 0);

	/* cap: "a.b" needs 5 bytes */
	cr_assert_eq(wire_name_from_text("a.b", out, 5), 5);
	cr_assert_eq(wire_name_from_text("a.b", out, 4), 0);
	cr_assert_eq(wire_name_from_text("a.b", out, 2), 0);
	cr_assert_eq(wire_name_from_text(".", out, 1), 1);
	cr_assert_eq(wire_name_from_text(".", out, 0), 0);

}

Test(wire_text, to_text)
{
	const struct {
		const uint8_t	*wire;
		size_t		 len;
		const char	*text;	/* NULL: must fail */
	} cases[] = {
#define T(w, t) { (const uint8_t *)(w), sizeof(w), t }
		T("\3www\7example\3org", "www.example.org."),
		T("", "."),
		T("\7ExAmPlE", "ExAmPlE."),
		T("\3a.b\1c", "a\\.b.c."),
		T("\2a\\", "a\\\\."),
		T("\3a b\1\x01", "a\\032b.\\001."),
		T("\1\xff", "\\255."),
#undef T
		{ BYTES(1, 'a', 0xc0, 0), 4, NULL },
		{ BYTES(1, 'a'), 2, NULL },
		{ BYTES(1, 'a', 0, 0), 4, NULL },	/* len not exact */
	};
	char	out[1100];
	size_t	i;
	bool	ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok = wire_name_to_text(cases[i].wire, cases[i].len, out,
		    sizeof(out));
		cr_assert_eq(ok, cases[i].text != NULL, "case %zu", i);
		if (ok)
			cr_assert_str_eq(out, cases[i].text, "case %zu", i);
		else
			cr_assert_str_eq(out, "", "case %zu", i);
	}
}

Test(wire_text, to_text_cap)
{
	static const uint8_t n[] = { 1, 'a', 1, 'b', 0 };	/* "a.b." */
	char	out[8];

	cr_assert(wire_name_to_text(n, sizeof(n), out, 5));
	cr_assert_str_eq(out, "a.b.");
	cr_assert_not(wire_name_to_text(n, sizeof(n), out, 4));
	cr_assert_str_eq(out, "");
	cr_assert_not(wire_name_to_text(n, sizeof(n), out, 1));
	cr_assert_not(wire_name_to_text(n, sizeof(n), out, 0));
	cr_assert(wire_name_to_text(BYTES(0), 1, out, 2));
	cr_assert_str_eq(out, ".");
	cr_assert_not(wire_name_to_text(BYTES(0), 1, out, 1));
	/* an escape that does not fit */
	cr_assert_not(wire_name_to_text(BYTES(1, 0x01, 0), 3, out, 5));
	cr_assert(wire_name_to_text(BYTES(1, 0x01, 0), 3, out, 6));
	cr_assert_str_eq(out, "\\001.");
}

Test(wire_text, round_trip_longest)
{
	char	text[300], back[300];
	uint8_t	w[DNS_MAX_NAME];
	size_t	n;

	memset(text, 'z', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	text[253] = '.';
	text[254] = '\0';
	n = wire_name_from_text(text, w, sizeof(w));
	cr_assert_eq(n, 255);
	cr_assert(wire_name_to_text(w, n, back, sizeof(back)));
	cr_assert_str_eq(back, text);
	cr_assert_not(wire_name_to_text(w, n, back, 254));
	cr_assert(wire_name_to_text(w, n, back, 255));
}

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

Test(wbuf, put_and_full)
{
	uint8_t		buf[16];
	struct wbuf	b;

	memset(buf, 0xee, sizeof(buf));
	wbuf_init(&b, buf, 9);
	cr_assert_eq(b.len, 0);
	cr_assert(wbuf_put_u8(&b, 0x01));
	cr_assert(wbuf_put_u16(&b, 0x0203));
	cr_assert(wbuf_put_u32(&b, 0x04050607));
	cr_assert_eq(b.len, 7);
	cr_assert_not(wbuf_put_u32(&b, 0xffffffff));
	cr_assert_not(wbuf_put_bytes(&b, "abc", 3));
	cr_assert_eq(b.len, 7);
	cr_assert(wbuf_put_bytes(&b, "xy", 2));
	cr_assert_eq(b.len, 9);
	cr_assert_not(wbuf_put_u8(&b, 0));
	cr_assert_not(wbuf_put_u16(&b, 0));
	cr_assert(wbuf_put_bytes(&b, NULL, 0));
	cr_assert_eq(b.len, 9);
	cr_assert_arr_eq(buf, BYTES(1, 2, 3, 4, 5, 6, 7, 'x', 'y', 0xee), 10,
	    "wrote past cap");
}

Test(wbuf, boundaries)
{
	uint8_t		buf[8];
	struct wbuf	b;

	wbuf_init(&b, buf, 1);
	cr_assert_not(wbuf_put_u16(&b, 1));
	cr_assert(wbuf_put_u8(&b, 1));
	cr_assert_not(wbuf_put_u8(&b, 1));

	wbuf_init(&b, buf, 3);
	cr_assert_not(wbuf_put_u32(&b, 1));
	cr_assert_eq(b.len, 0);
	cr_assert(wbuf_put_u16(&b, 1));
	cr_assert_not(wbuf_put_u16(&b, 1));

	wbuf_init(&b, buf, 0);
	cr_assert_not(wbuf_put_u8(&b, 1));
	cr_assert_not(wbuf_put_bytes(&b, "a", 1));
	cr_assert(wbuf_put_bytes(&b, "a", 0));

	wbuf_init(&b, buf, 4);
	cr_assert_not(wbuf_put_bytes(&b, "abcde", SIZE_MAX));
	cr_assert_eq(b.len, 0);
}

Test(wbuf, set_u16)
{
	uint8_t		buf[8];
	struct wbuf	b;

	memset(buf, 0, sizeof(buf));
	wbuf_init(&b, buf, sizeof(buf));
	cr_assert(wbuf_put_u32(&b, 0));
	wbuf_set_u16(&b, 2, 0xabcd);
	cr_assert_arr_eq(buf, BYTES(0, 0, 0xab, 0xcd), 4);
	/* outside what was written: ignored */
	wbuf_set_u16(&b, 3, 0x1111);
	wbuf_set_u16(&b, 4, 0x1111);
	wbuf_set_u16(&b, SIZE_MAX, 0x1111);
	cr_assert_arr_eq(buf, BYTES(0, 0, 0xab, 0xcd, 0, 0), 6);
	cr_assert_eq(b.len, 4);
}
