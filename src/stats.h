/*
 * stats.h: the counters of one worker, and their Prometheus text form.
 *
 * Each worker owns one struct stats and is the only writer of it (no
 * locks on the query path); a reader sums all workers' copies with
 * stats_sum().  The formatting is pure code; the HTTP responder that
 * serves it lives in stats_http.c.
 */
#ifndef DNS64PROXY_STATS_H
#define DNS64PROXY_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Query types counted by name; everything else is "other". */
enum stats_qtype {
	STATS_QT_A, STATS_QT_NS, STATS_QT_CNAME, STATS_QT_SOA, STATS_QT_PTR,
	STATS_QT_MX, STATS_QT_TXT, STATS_QT_AAAA, STATS_QT_SRV, STATS_QT_DS,
	STATS_QT_HTTPS, STATS_QT_ANY, STATS_QT_OTHER, STATS_QT_N
};

/*
 * Upper bounds (seconds) of the upstream latency histogram buckets:
 * 0.0005 0.001 0.002 0.005 0.01 0.02 0.05 0.1 0.2 0.5 1 2, then +Inf.
 * latency_bucket[i] counts the round trips that fell in bucket i alone
 * (one increment per observation); the exposition makes them cumulative.
 */
#define STATS_LATENCY_BUCKETS	12	/* plus +Inf */

struct stats {
	uint64_t	queries_udp;
	uint64_t	queries_tcp;
	uint64_t	queries_type[STATS_QT_N];
	uint64_t	answers_rcode[16];
	uint64_t	synth_aaaa;
	uint64_t	synth_ptr;
	uint64_t	local_answers;
	uint64_t	cache_hits;
	uint64_t	cache_misses;
	uint64_t	upstream_queries;	/* attempts sent */
	uint64_t	upstream_timeouts;
	uint64_t	failovers;
	uint64_t	dropped_client;		/* QR set, short, malformed */
	uint64_t	dropped_upstream;	/* spoofed or malformed */
	uint64_t	late_upstream;		/* for attempts given up */
	uint64_t	tcp_wait_expired;	/* TCP attempts whose time ran
						 * out waiting for a connection */
	uint64_t	tcp_reused;		/* TCP attempts sent on an
						 * upstream connection kept open */
	uint64_t	refused;
	uint64_t	overload;		/* in-flight cap reached */
	uint64_t	inflight;		/* a gauge */
	uint64_t	latency_bucket[STATS_LATENCY_BUCKETS + 1];
	uint64_t	latency_count;
	uint64_t	latency_sum_us;
};

/*
 * A worker writes its counters and only it; the main thread reads them
 * (/metrics, SIGUSR1).  Writes are relaxed atomic stores and reads
 * relaxed atomic loads: plain moves and adds on the machines we run on,
 * no lock, and no data race in the C memory model.
 */
#define STATS_INC(f)	 __atomic_store_n(&(f), (f) + 1, __ATOMIC_RELAXED)
#define STATS_ADD(f, v)	 __atomic_store_n(&(f), (f) + (v), __ATOMIC_RELAXED)
#define STATS_SET(f, v)	 __atomic_store_n(&(f), (v), __ATOMIC_RELAXED)

/* Copy a worker's counters from another thread. */
void	stats_snapshot(struct stats *dst, const struct stats *src);

enum stats_qtype stats_qtype(uint16_t qtype);
/* Record one upstream round trip of `seconds`. */
void	stats_observe_latency(struct stats *s, double seconds);
/* out = the sum of in[0..n) (gauges summed too). */
void	stats_sum(struct stats *out, const struct stats *in, size_t n);
/* The Prometheus text exposition (version 0.0.4) of s into buf; returns
 * the length written, or 0 if cap is too small. */
size_t	stats_format_prometheus(const struct stats *s, char *buf, size_t cap);

/*
 * The request head of the /metrics responder (stats_http.c), parsed here
 * so that it stays pure and testable.
 */
enum stats_http_req {
	STATS_HTTP_INCOMPLETE,	/* no blank line yet: read more */
	STATS_HTTP_GET,
	STATS_HTTP_HEAD,
	STATS_HTTP_METHOD,	/* a well-formed request, other method: 405 */
	STATS_HTTP_MALFORMED	/* 400 */
};
/*
 * Parse the request head in buf[0..len) (RFC 9112 section 3: method SP
 * origin-form SP HTTP/1.x, then header fields up to an empty line; bare LF
 * is accepted for CRLF).  On GET, HEAD and METHOD, path receives the path
 * of the request target without its query string, NUL-terminated; a path
 * that does not fit pathcap is MALFORMED.  A request line that is already
 * wrong is MALFORMED before the head is complete.  Caller keeps buf.
 */
enum stats_http_req stats_http_parse_request(const char *buf, size_t len,
	    char *path, size_t pathcap);
/* The status of the answer to a parsed request: 200 for GET or HEAD of
 * /metrics, 404 for any other path, 405, 400. */
int	stats_http_status(enum stats_http_req req, const char *path);

#endif /* DNS64PROXY_STATS_H */
