/*
 * stats.c: the counters of one worker, their sum over workers, their
 * Prometheus text exposition (format 0.0.4), and the request parser of
 * the /metrics responder.  Pure code: no sockets, no clock, no locale
 * (numbers are printed as integers, fractions by hand).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

/* ---------------------------------------------------------------- */
/* Counting                                                          */
/* ---------------------------------------------------------------- */

/* The counted name of a query type. */
enum stats_qtype
stats_qtype(uint16_t qtype)
{
	switch (qtype) {
	case 1:		return STATS_QT_A;
	case 2:		return STATS_QT_NS;
	case 5:		return STATS_QT_CNAME;
	case 6:		return STATS_QT_SOA;
	case 12:	return STATS_QT_PTR;
	case 15:	return STATS_QT_MX;
	case 16:	return STATS_QT_TXT;
	case 28:	return STATS_QT_AAAA;
	case 33:	return STATS_QT_SRV;
	case 43:	return STATS_QT_DS;
	case 65:	return STATS_QT_HTTPS;
	case 255:	return STATS_QT_ANY;
	default:	return STATS_QT_OTHER;
	}
}

static const char *const qtype_names[STATS_QT_N] = {
	"A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "DS",
	"HTTPS", "ANY", "other"
};

/* RFC 6895 section 2.3: the RCODEs a four-bit header field can name. */
static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"
};

/* Bucket bounds in microseconds, and as the le label prints them. */
static const uint64_t latency_bound_us[STATS_LATENCY_BUCKETS] = {
	500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
	1000000, 2000000
};
static const char *const latency_le[STATS_LATENCY_BUCKETS + 1] = {
	"0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1",
	"0.2", "0.5", "1", "2", "+Inf"
};

/*
 * Count one upstream round trip of `seconds` in its bucket (le: the bound
 * is inclusive), the count and the sum.  The time is rounded to whole
 * microseconds; a negative or NaN time counts as 0, and one beyond a day
 * as a day, so the conversion never overflows.
 */
void
stats_observe_latency(struct stats *s, double seconds)
{
	uint64_t	 us;
	size_t		 i;

	if (!(seconds > 0.0))		/* also NaN */
		us = 0;
	else if (seconds > 86400.0)
		us = 86400ULL * 1000000;
	else
		us = (uint64_t)(seconds * 1e6 + 0.5);
	for (i = 0; i < STATS_LATENCY_BUCKETS; i++)
		if (us <= latency_bound_us[i])
			break;
	STATS_INC(s->latency_bucket[i]);
	STATS_INC(s->latency_count);
	STATS_ADD(s->latency_sum_us, us);
}

_Static_assert(sizeof(struct stats) % sizeof(uint64_t) == 0,
    "struct stats holds uint64_t counters only");

void
stats_snapshot(struct stats *dst, const struct stats *src)
{
	const uint64_t	*in = (const uint64_t *)(const void *)src;
	uint64_t	*out = (uint64_t *)(void *)dst;
	size_t		 i;

	for (i = 0; i < sizeof(*src) / sizeof(uint64_t); i++)
		out[i] = __atomic_load_n(&in[i], __ATOMIC_RELAXED);
}

/*
 * out = in[0] + ... + in[n - 1], member by member; the gauge (inflight)
 * is summed too, since each worker holds its own share.  out may not be
 * one of in.  n == 0 gives all zeros.
 */
void
stats_sum(struct stats *out, const struct stats *in, size_t n)
{
	size_t	 i, j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct stats *s = &in[i];

		out->queries_udp += s->queries_udp;
		out->queries_tcp += s->queries_tcp;
		for (j = 0; j < STATS_QT_N; j++)
			out->queries_type[j] += s->queries_type[j];
		for (j = 0; j < 16; j++)
			out->answers_rcode[j] += s->answers_rcode[j];
		out->synth_aaaa += s->synth_aaaa;
		out->synth_ptr += s->synth_ptr;
		out->local_answers += s->local_answers;
		out->cache_hits += s->cache_hits;
		out->cache_misses += s->cache_misses;
		out->upstream_queries += s->upstream_queries;
		out->upstream_timeouts += s->upstream_timeouts;
		out->failovers += s->failovers;
		out->dropped_client += s->dropped_client;
		out->dropped_upstream += s->dropped_upstream;
		out->late_upstream += s->late_upstream;
		out->tcp_wait_expired += s->tcp_wait_expired;
		out->tcp_reused += s->tcp_reused;
		out->refused += s->refused;
		out->overload += s->overload;
		out->inflight += s->inflight;
		for (j = 0; j < STATS_LATENCY_BUCKETS + 1; j++)
			out->latency_bucket[j] += s->latency_bucket[j];
		out->latency_count += s->latency_count;
		out->latency_sum_us += s->latency_sum_us;
	}
}

/* ---------------------------------------------------------------- */
/* The Prometheus text exposition                                    */
/* ---------------------------------------------------------------- */

/* A bounded text writer: once full, it stays full and writes nothing. */
struct text {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	bool	 full;
};

static void	text_printf(struct text *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len) {
		t->full = true;
		return;
	}
	t->len += (size_t)n;
}

/* The # HELP and # TYPE lines of one metric family. */
static void
family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP dns64proxy_%s %s\n# TYPE dns64proxy_%s %s\n",
	    name, help, name, type);
}

/* One sample: name, optional {label="value"}, an integer. */
static void
sample(struct text *t, const char *name, const char *label,
    const char *value, uint64_t v)
{
	if (label != NULL)
		text_printf(t, "dns64proxy_%s{%s=\"%s\"} %llu\n", name, label,
		    value, (unsigned long long)v);
	else
		text_printf(t, "dns64proxy_%s %llu\n", name,
		    (unsigned long long)v);
}

/* A counter family without labels. */
static void
counter(struct text *t, const char *name, const char *help, uint64_t v)
{
	family(t, name, "counter", help);
	sample(t, name, NULL, NULL, v);
}

/*
 * Write the exposition of s into buf (cap bytes, NUL-terminated when it
 * fits); the length without the NUL, or 0 when cap is too small.  Every
 * family and label always appears, in a fixed order, except that RCODEs
 * 11 to 15, which have no name, appear only when not zero.
 */
size_t
stats_format_prometheus(const struct stats *s, char *buf, size_t cap)
{
	struct text	 t = { buf, cap, 0, cap == 0 };
	uint64_t	 cum;
	size_t		 i;
	char		 num[4];

	family(&t, "queries_total", "counter",
	    "Queries received, by transport.");
	sample(&t, "queries_total", "transport", "udp", s->queries_udp);
	sample(&t, "queries_total", "transport", "tcp", s->queries_tcp);

	family(&t, "queries_by_type_total", "counter",
	    "Well-formed queries received, by query type.");
	for (i = 0; i < STATS_QT_N; i++)
		sample(&t, "queries_by_type_total", "type", qtype_names[i],
		    s->queries_type[i]);

	family(&t, "answers_total", "counter",
	    "Answers sent to clients, by response code.");
	for (i = 0; i < 16; i++) {
		if (rcode_names[i] != NULL)
			sample(&t, "answers_total", "rcode", rcode_names[i],
			    s->answers_rcode[i]);
		else if (s->answers_rcode[i] != 0) {
			snprintf(num, sizeof(num), "%zu", i);
			sample(&t, "answers_total", "rcode", num,
			    s->answers_rcode[i]);
		}
	}

	family(&t, "synthesized_total", "counter",
	    "Answers synthesized by DNS64 (RFC 6147), by kind.");
	sample(&t, "synthesized_total", "kind", "aaaa", s->synth_aaaa);
	sample(&t, "synthesized_total", "kind", "ptr", s->synth_ptr);

	counter(&t, "local_answers_total",
	    "Answers given locally (ipv4only.arpa, RFC 8880).",
	    s->local_answers);
	family(&t, "cache_lookups_total", "counter",
	    "Look-ups in the answer cache ([cache] entries), by result.");
	sample(&t, "cache_lookups_total", "result", "hit", s->cache_hits);
	sample(&t, "cache_lookups_total", "result", "miss", s->cache_misses);
	counter(&t, "upstream_queries_total",
	    "Query attempts sent to upstream resolvers.",
	    s->upstream_queries);
	counter(&t, "upstream_timeouts_total",
	    "Upstream attempts that got no answer in time.",
	    s->upstream_timeouts);
	counter(&t, "upstream_failovers_total",
	    "Retries moved to another upstream resolver.", s->failovers);
	counter(&t, "upstream_late_answers_total",
	    "Upstream answers to attempts already given up: timed out, or "
	    "no longer needed (the parallel A query of an AAAA query "
	    "answered without it, a client gone).", s->late_upstream);
	counter(&t, "upstream_tcp_wait_expired_total",
	    "Attempts over TCP whose time ran out while they waited for a "
	    "free upstream TCP connection: never sent.", s->tcp_wait_expired);
	counter(&t, "upstream_tcp_reused_total",
	    "Attempts over TCP sent on an upstream connection kept open from "
	    "an earlier exchange.", s->tcp_reused);

	family(&t, "dropped_total", "counter",
	    "Packets dropped: malformed queries, spoofed or malformed "
	    "upstream answers.");
	sample(&t, "dropped_total", "source", "client", s->dropped_client);
	sample(&t, "dropped_total", "source", "upstream", s->dropped_upstream);

	counter(&t, "refused_total",
	    "Queries refused because the client is not allowed.", s->refused);
	counter(&t, "overload_total",
	    "Queries turned away at the in-flight limit.", s->overload);

	family(&t, "queries_in_flight", "gauge",
	    "Queries waiting for an upstream answer.");
	sample(&t, "queries_in_flight", NULL, NULL, s->inflight);

	family(&t, "upstream_latency_seconds", "histogram",
	    "Round-trip time of answered upstream attempts.");
	cum = 0;
	for (i = 0; i < STATS_LATENCY_BUCKETS + 1; i++) {
		cum += s->latency_bucket[i];
		sample(&t, "upstream_latency_seconds_bucket", "le",
		    latency_le[i], cum);
	}
	text_printf(&t, "dns64proxy_upstream_latency_seconds_sum %llu.%06llu\n",
	    (unsigned long long)(s->latency_sum_us / 1000000),
	    (unsigned long long)(s->latency_sum_us % 1000000));
	sample(&t, "upstream_latency_seconds_count", NULL, NULL,
	    s->latency_count);

	return t.full ? 0 : t.len;
}

/* ---------------------------------------------------------------- */
/* The request head of the /metrics responder                        */
/* ---------------------------------------------------------------- */

/* RFC 9110 section 5.6.2: tchar. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte that may appear in a header line: visible, SP, HTAB, obs-text. */
static bool
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * The request line in line[0..len) (without its line end): method,
 * origin-form target, HTTP/1.x.  Fills path; the request kind.
 */
static enum stats_http_req
parse_request_line(const char *line, size_t len, char *path, size_t pathcap)
{
	const char	*sp1, *sp2, *q;
	size_t		 mlen, tlen, plen, i;

	if ((sp1 = memchr(line, ' ', len)) == NULL)
		return STATS_HTTP_MALFORMED;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0)
		return STATS_HTTP_MALFORMED;
	for (i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)line[i]))
			return STATS_HTTP_MALFORMED;
	sp2 = memchr(sp1 + 1, ' ', len - mlen - 1);
	if (sp2 == NULL)
		return STATS_HTTP_MALFORMED;		/* HTTP/0.9 */
	tlen = (size_t)(sp2 - sp1 - 1);
	/* origin-form only (RFC 9112 3.2.1): a path, maybe a query. */
	if (tlen == 0 || sp1[1] != '/')
		return STATS_HTTP_MALFORMED;
	for (i = 1; i <= tlen; i++)
		if ((unsigned char)sp1[i] <= 0x20 ||
		    (unsigned char)sp1[i] >= 0x7f)
			return STATS_HTTP_MALFORMED;
	/* "HTTP/1.0", "HTTP/1.1": the exact length, a digit at the end. */
	if ((size_t)(line + len - sp2 - 1) != 8 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    sp2[8] < '0' || sp2[8] > '9')
		return STATS_HTTP_MALFORMED;

	q = memchr(sp1 + 1, '?', tlen);
	plen = q != NULL ? (size_t)(q - sp1 - 1) : tlen;
	if (plen >= pathcap)
		return STATS_HTTP_MALFORMED;
	memcpy(path, sp1 + 1, plen);
	path[plen] = '\0';

	if (mlen == 3 && memcmp(line, "GET", 3) == 0)
		return STATS_HTTP_GET;
	if (mlen == 4 && memcmp(line, "HEAD", 4) == 0)
		return STATS_HTTP_HEAD;
	return STATS_HTTP_METHOD;
}

enum stats_http_req
stats_http_parse_request(const char *buf, size_t len, char *path,
    size_t pathcap)
{
	enum stats_http_req req = STATS_HTTP_INCOMPLETE;
	const char	*p = buf, *end = buf + len, *nl;
	size_t		 llen, i;
	bool		 first = true;

	if (pathcap > 0)
		path[0] = '\0';
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = (size_t)((nl != NULL ? nl : end) - p);
		/* CRLF; a CR that ends the input may still become one. */
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		for (i = 0; i < llen; i++)
			if (!is_field_char((unsigned char)p[i]))
				return STATS_HTTP_MALFORMED;
		if (nl == NULL) {
			/* Part of the request line: is the method a token? */
			for (i = 0; first && i < llen && p[i] != ' '; i++)
				if (!is_tchar((unsigned char)p[i]))
					return STATS_HTTP_MALFORMED;
			return STATS_HTTP_INCOMPLETE;
		}
		if (first) {
			/* RFC 9112 2.2: an empty line before it is ignored. */
			if (llen == 0 && p == buf) {
				p = nl + 1;
				continue;
			}
			req = parse_request_line(p, llen, path, pathcap);
			if (req == STATS_HTTP_MALFORMED)
				return req;
			first = false;
		} else if (llen == 0) {
			return req;		/* the end of the head */
		} else {
			/* field-name ":" ...; no obs-fold (RFC 9112 5.2). */
			const char *colon = memchr(p, ':', llen);

			if (colon == NULL || colon == p)
				return STATS_HTTP_MALFORMED;
			for (i = 0; i < (size_t)(colon - p); i++)
				if (!is_tchar((unsigned char)p[i]))
					return STATS_HTTP_MALFORMED;
		}
		p = nl + 1;
	}
	return STATS_HTTP_INCOMPLETE;
}

int
stats_http_status(enum stats_http_req req, const char *path)
{
	switch (req) {
	case STATS_HTTP_GET:
	case STATS_HTTP_HEAD:
		return strcmp(path, "/metrics") == 0 ? 200 : 404;
	case STATS_HTTP_METHOD:
		return 405;
	case STATS_HTTP_INCOMPLETE:
	case STATS_HTTP_MALFORMED:
	default:
		return 400;
	}
}
