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

void	wire_init(struct wire *w, const uint8_t *buf, size_t len);
bool	wire_read_u8(struct wire *w, uint8_t *out);
bool	wire_read_u16(struct wire *w, uint16_t *out);
bool	wire_read_u32(struct wire *w, uint32_t *out);
bool	wire_read_bytes(struct wire *w, void *out, size_t n);
bool	wire_skip(struct wire *w, size_t n);
size_t	wire_left(const struct wire *w);

/*
 * Read a possibly compressed name at w->pos into out (uncompressed wire
 * form, letter case kept, ending in the root label) and advance w past the
 * name as it stands in the message.  Rejects: labels over 63 bytes, names
 * over 255 bytes, the reserved label types 0x40/0x80, pointers that do not
 * point strictly before the start of the label sequence holding them
 * (which rules out loops), pointers into the 12-byte message header, more
 * than DNS_MAX_PTR_HOPS pointers, running out of bytes.  out must hold
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
uint16_t wire_get_u16(const uint8_t *p);
void	 wire_set_u16(uint8_t *p, uint16_t v);

#endif /* DNS64PROXY_WIRE_H */
