/*
 * wire.c: bounds-checked cursor over DNS wire data, and a bounded writer.
 *
 * Every read checks the bytes left first and fails without moving the
 * cursor when they run out; integers are assembled from bytes, never read
 * through casts.  Names are decompressed with the rules of RFC 1035 4.1.4,
 * made strict: a pointer must point before the label sequence that holds
 * it, so a chain of pointers always moves backwards and cannot loop, and
 * it may not point into the 12-byte header, where no name can be.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

/* ---------------------------------------------------------------- */
/* Names (the integer readers are inline in wire.h)                  */
/* ---------------------------------------------------------------- */

/*
 * Read a possibly compressed name (see wire.h for the rules).  seq is the
 * offset where the current label sequence began: the name itself at
 * first, then each pointer's target.  A pointer must point strictly before
 * seq, so every hop moves backwards and the walk ends; the hop cap bounds
 * the work on top of that.  Pointers into the header (below offset 12)
 * are refused: relaying rewrites the ID and counts, which would change
 * such a name under the client's feet.  On failure the cursor is left where it was
 * and out holds garbage.
 */
bool
wire_read_name(struct wire *w, uint8_t *out, size_t *outlen)
{
	size_t	 pos, seq, end, n, run, nrun, lim;
	unsigned hops;
	bool	 jumped;
	uint8_t	 c;

	/* Labels are copied a run at a time: the bytes from run up to the
	 * next pointer or the root go to out + nrun. */
	pos = seq = run = w->pos;
	lim = w->len;
	end = 0;
	n = nrun = 0;
	hops = 0;
	jumped = false;
	for (;;) {
		if (pos >= lim)
			return false;
		c = w->buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t	target;

			if (lim - pos < 2)
				return false;
			target = (size_t)(wire_get_u16(w->buf + pos) & 0x3fff);
			/* no name lives in the header, and its bytes change
			 * when a message is relayed (ID, counts, TC) */
			if (target >= seq || target < DNS_HDR_LEN)
				return false;
			if (++hops > DNS_MAX_PTR_HOPS)
				return false;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			if (out != NULL && pos > run)
				memcpy(out + nrun, w->buf + run, pos - run);
			/*
			 * The name pointed at was written before the pointer,
			 * all of it: one that runs on past the pointer reads
			 * other records' fields (a TTL counted down in the
			 * cache would change it).
			 */
			lim = pos;
			pos = seq = run = target;
			nrun = n;
			continue;
		}
		if ((c & 0xc0) != 0)	/* 0x40 and 0x80: RFC 6891 5 */
			return false;
		if (c == 0) {
			if (n + 1 > DNS_MAX_NAME)
				return false;
			n++;
			if (out != NULL)
				memcpy(out + nrun, w->buf + run, n - nrun);
			if (!jumped)
				end = pos + 1;
			break;
		}
		/* c <= 63 here; keep room for this label and the root byte. */
		if (n + 1 + c + 1 > DNS_MAX_NAME)
			return false;
		if (lim - pos - 1 < c)
			return false;
		n += (size_t)c + 1;
		pos += (size_t)c + 1;
	}
	w->pos = end;
	*outlen = n;
	return true;
}

/* ---------------------------------------------------------------- */
/* Uncompressed names                                                */
/* ---------------------------------------------------------------- */

/*
 * Length of the uncompressed wire name at name, looking at no more than
 * max bytes.  0 if it runs past max, holds a pointer or a reserved label
 * type, or exceeds DNS_MAX_NAME.
 */
size_t
wire_name_len(const uint8_t *name, size_t max)
{
	size_t	pos;
	uint8_t	c;

	if (name == NULL)
		return 0;
	pos = 0;
	for (;;) {
		if (pos >= max || pos >= DNS_MAX_NAME)
			return 0;
		c = name[pos];
		if (c > DNS_MAX_LABEL)
			return 0;
		pos += (size_t)c + 1;
		if (c == 0)
			return pos;
	}
}

/* ASCII-only lower case, whatever the locale. */
static uint8_t
lower(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c + ('a' - 'A'));
	return c;
}

/*
 * Compare two uncompressed names ASCII case-insensitively.  Length bytes
 * (0..63) are no letters, so comparing whole byte strings compares label
 * by label: equal strings have their length bytes in the same places.
 */
bool
wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t	i;

	if (alen != blen)
		return false;
	if (memcmp(a, b, alen) == 0)	/* the usual case: same spelling */
		return true;
	for (i = 0; i < alen; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/*
 * True if name is zone or below it: walk name's labels and compare each
 * suffix that has zone's length with zone.  Bad names are never below
 * anything.
 */
bool
wire_name_is_subdomain(const uint8_t *name, size_t nlen, const uint8_t *zone,
    size_t zlen)
{
	size_t	off;

	if (zlen > nlen || zlen == 0)
		return false;
	/* Cheap rejection first: the last zlen bytes must spell the zone. */
	if (!wire_name_equal(name + nlen - zlen, zlen, zone, zlen))
		return false;
	if (wire_name_len(name, nlen) != nlen || wire_name_len(zone, zlen) != zlen)
		return false;
	off = 0;
	for (;;) {
		if (nlen - off == zlen)
			return wire_name_equal(name + off, zlen, zone, zlen);
		if (nlen - off < zlen || name[off] == 0)
			return false;
		off += (size_t)name[off] + 1;
	}
}

/*
 * Presentation to wire form: labels separated by dots, an optional final
 * dot, "." alone for the root.  Empty labels, labels over 63 bytes, names
 * over 255 bytes or over cap give 0.  Bytes are taken as they are (no
 * escapes).
 */
size_t
wire_name_from_text(const char *text, uint8_t *out, size_t cap)
{
	size_t	n, lab, i;

	if (text == NULL || out == NULL || text[0] == '\0')
		return 0;
	if (strcmp(text, ".") == 0) {
		if (cap < 1)
			return 0;
		out[0] = 0;
		return 1;
	}
	n = 0;
	i = 0;
	for (;;) {
		lab = 0;
		while (text[i + lab] != '\0' && text[i + lab] != '.')
			lab++;
		if (lab == 0 || lab > DNS_MAX_LABEL)
			return 0;
		/* label, its length byte and the root byte still to come */
		if (n + 1 + lab + 1 > DNS_MAX_NAME || n + 1 + lab + 1 > cap)
			return 0;
		out[n] = (uint8_t)lab;
		memcpy(out + n + 1, text + i, lab);
		n += lab + 1;
		i += lab;
		if (text[i] == '\0' || text[i + 1] == '\0')
			break;		/* end, or a single final dot */
		i++;
	}
	out[n++] = 0;
	return n;
}

/*
 * Wire to presentation form with a trailing dot ("." for the root).  For
 * safe logging, bytes outside 0x21..0x7e come out as \DDD and '.' and '\'
 * inside a label as \. and \\.  False, with out holding "" when cap > 0,
 * if the name is bad (nlen must be its exact length) or does not fit.
 */
bool
wire_name_to_text(const uint8_t *name, size_t nlen, char *out, size_t cap)
{
	size_t	pos, o, i;
	uint8_t	c, lab;

	if (out == NULL || cap == 0)
		return false;
	out[0] = '\0';
	if (wire_name_len(name, nlen) != nlen)
		return false;
	if (nlen == 1) {
		if (cap < 2)
			return false;
		out[0] = '.';
		out[1] = '\0';
		return true;
	}
	o = 0;
	pos = 0;
	while ((lab = name[pos]) != 0) {
		for (i = 1; i <= lab; i++) {
			c = name[pos + i];
			if (c == '.' || c == '\\') {
				if (o + 2 >= cap)
					goto full;
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c < 0x21 || c > 0x7e) {
				if (o + 4 >= cap)
					goto full;
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			} else {
				if (o + 1 >= cap)
					goto full;
				out[o++] = (char)c;
			}
		}
		if (o + 1 >= cap)
			goto full;
		out[o++] = '.';
		pos += (size_t)lab + 1;
	}
	out[o] = '\0';
	return true;
full:
	out[0] = '\0';
	return false;
}

/* ---------------------------------------------------------------- */
/* Writer                                                            */
/* ---------------------------------------------------------------- */

/*
 * Start an empty writer over buf[0..cap).  The caller keeps buf.
 */
void
wbuf_init(struct wbuf *b, uint8_t *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
}

/*
 * Append one byte.  False, nothing written, when full.
 */
bool
wbuf_put_u8(struct wbuf *b, uint8_t v)
{
	if (b->len >= b->cap)
		return false;
	b->buf[b->len++] = v;
	return true;
}

/*
 * Append a big-endian u16.  False, nothing written, without room for it.
 */
bool
wbuf_put_u16(struct wbuf *b, uint16_t v)
{
	if (b->len > b->cap || b->cap - b->len < 2)
		return false;
	wire_set_u16(b->buf + b->len, v);
	b->len += 2;
	return true;
}

/*
 * Append a big-endian u32.  False, nothing written, without room for it.
 */
bool
wbuf_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t	*p;

	if (b->len > b->cap || b->cap - b->len < 4)
		return false;
	p = b->buf + b->len;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	b->len += 4;
	return true;
}

/*
 * Append n bytes from p.  False, nothing written, without room for all.
 */
bool
wbuf_put_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (b->len > b->cap || b->cap - b->len < n)
		return false;
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	return true;
}

/*
 * Overwrite two bytes already written at off.  An offset outside what was
 * written is ignored rather than written past the data.
 */
void
wbuf_set_u16(struct wbuf *b, size_t off, uint16_t v)
{
	if (off > b->len || b->len - off < 2)
		return;
	wire_set_u16(b->buf + off, v);
}
