/*
 * wire.h: bounds-checked cursor over DNS wire data, and a bounded writer.
 *
 * Pure code: no allocation, no I/O.  Every read checks the bytes left and
 * returns false when they run out; every write checks the room left and
 * returns false when the buffer is full.  The caller keeps all buffers.
 */
#ifndef DNS64PROXY_WIRE_H
#define DNS64PROXY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNS_HDR_LEN	12
#define DNS_MAX_NAME	255	/* RFC 1035 2.3.4, wire form incl. root */
#define DNS_MAX_LABEL	63
#define DNS_MAX_UDP	65535
#define DNS_MAX_PTR_HOPS 64	/* compression pointers followed per name */

/* Reader: buf[0..len) is the whole message (pointers are relative to it). */
struct wire {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 pos;
};

/*
 * The small readers are inline: they run for every field of every
 * record.  Each returns false, cursor unmoved, when the bytes run out.
 */

/* Big-endian u16 at p; the caller guarantees two readable bytes. */
static inline uint16_t
wire_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Store v big-endian at p; the caller guarantees two writable bytes. */
static inline void
wire_set_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)(v & 0xff);
}

/* A cursor at the start of buf[0..len); the caller keeps buf. */
static inline void
wire_init(struct wire *w, const uint8_t *buf, size_t len)
{
	w->buf = buf;
	w->len = len;
	w->pos = 0;
}

/* Bytes left after the cursor (0 if it was moved past the end). */
static inline size_t
wire_left(const struct wire *w)
{
	return w->pos >= w->len ? 0 : w->len - w->pos;
}

static inline bool
wire_read_u8(struct wire *w, uint8_t *out)
{
	if (wire_left(w) < 1)
		return false;
	*out = w->buf[w->pos++];
	return true;
}

static inline bool
wire_read_u16(struct wire *w, uint16_t *out)
{
	if (wire_left(w) < 2)
		return false;
	*out = wire_get_u16(w->buf + w->pos);
	w->pos += 2;
	return true;
}

static inline bool
wire_read_u32(struct wire *w, uint32_t *out)
{
	const uint8_t	*p;

	if (wire_left(w) < 4)
		return false;
	p = w->buf + w->pos;
	*out = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3];
	w->pos += 4;
	return true;
}

/* Copy n bytes to out. */
static inline bool
wire_read_bytes(struct wire *w, void *out, size_t n)
{
	if (wire_left(w) < n)
		return false;
	if (n > 0)
		memcpy(out, w->buf + w->pos, n);
	w->pos += n;
	return true;
}

/* Move the cursor n bytes on. */
static inline bool
wire_skip(struct wire *w, size_t n)
{
	if (wire_left(w) < n)
		return false;
	w->pos += n;
	return true;
}

/*
 * Read a possibly compressed name at w->pos into out (uncompressed wire
 * form, letter case kept, ending in the root label) and advance w past the
 * name as it stands in the message.  Rejects: labels over 63 bytes, names
 * over 255 bytes, the reserved label types 0x40/0x80, pointers that do not
 * point strictly before the start of the label sequence holding them
 * (which rules out loops), pointers into the 12-byte message header, a
 * name reached through a pointer that runs on to or past that pointer,
 * more than DNS_MAX_PTR_HOPS pointers, running out of bytes.  out must hold
 * DNS_MAX_NAME bytes, or be NULL to check the name without copying it;
 * *outlen gets the length.
 */
bool	wire_read_name(struct wire *w, uint8_t *out, size_t *outlen);

/* Length of an uncompressed wire name in buf (at most max bytes), 0 if bad. */
size_t	wire_name_len(const uint8_t *name, size_t max);

/* Compare two uncompressed wire names, ASCII case-insensitively. */
bool	wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);

/* True if name equals zone or lies below it (both uncompressed wire form). */
bool	wire_name_is_subdomain(const uint8_t *name, size_t nlen,
	    const uint8_t *zone, size_t zlen);

/*
 * Convert a presentation name ("www.example.org" or "www.example.org.")
 * to wire form.  Returns the wire length, 0 if it does not fit or is bad.
 * No escapes are supported; "." is the root.
 */
size_t	wire_name_from_text(const char *text, uint8_t *out, size_t cap);

/* Wire name to text with a trailing dot; out gets at most cap bytes incl. NUL. */
bool	wire_name_to_text(const uint8_t *name, size_t nlen, char *out,
	    size_t cap);

/* Writer: fills buf[0..cap). */
struct wbuf {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
};

void	wbuf_init(struct wbuf *b, uint8_t *buf, size_t cap);
bool	wbuf_put_u8(struct wbuf *b, uint8_t v);
bool	wbuf_put_u16(struct wbuf *b, uint16_t v);
bool	wbuf_put_u32(struct wbuf *b, uint32_t v);
bool	wbuf_put_bytes(struct wbuf *b, const void *p, size_t n);
/* Overwrite a u16 already written at offset off (off + 2 <= b->len). */
void	wbuf_set_u16(struct wbuf *b, size_t off, uint16_t v);

/* Assemble / store integers from / to bytes (no unaligned casts). */

#endif /* DNS64PROXY_WIRE_H */
