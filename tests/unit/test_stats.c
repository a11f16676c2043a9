/*
 * test_stats.c: the counters (stats.c): query type names, the latency
 * histogram, the sum over workers, the Prometheus text exposition, and
 * the request parser of the /metrics responder.
 *
 * Parameterized cases carry char arrays, never pointers: criterion runs
 * each one in a forked process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "stats.h"

/* ---------------------------------------------------------------- */
/* Query types                                                       */
/* ---------------------------------------------------------------- */

Test(qtype, named)
{
	cr_expect_eq(stats_qtype(1), STATS_QT_A);
	cr_expect_eq(stats_qtype(2), STATS_QT_NS);
	cr_expect_eq(stats_qtype(5), STATS_QT_CNAME);
	cr_expect_eq(stats_qtype(6), STATS_QT_SOA);
	cr_expect_eq(stats_qtype(12), STATS_QT_PTR);
	cr_expect_eq(stats_qtype(15), STATS_QT_MX);
	cr_expect_eq(stats_qtype(16), STATS_QT_TXT);
	cr_expect_eq(stats_qtype(28), STATS_QT_AAAA);
	cr_expect_eq(stats_qtype(33), STATS_QT_SRV);
	cr_expect_eq(stats_qtype(43), STATS_QT_DS);
	cr_expect_eq(stats_qtype(65), STATS_QT_HTTPS);
	cr_expect_eq(stats_qtype(255), STATS_QT_ANY);
}

Test(qtype, other)
{
	static const uint16_t others[] = { 0, 3, 4, 13, 29, 41, 46, 48, 64,
	    99, 252, 254, 256, 283, 0xff00 + 1, 0xffff };
	size_t	 i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		cr_expect_eq(stats_qtype(others[i]), STATS_QT_OTHER,
		    "type %u", others[i]);
}

/* ---------------------------------------------------------------- */
/* Helpers on the exposition                                         */
/* ---------------------------------------------------------------- */

static char	 text[65536];

static size_t
format(const struct stats *s)
{
	size_t	 n = stats_format_prometheus(s, text, sizeof(text));

	cr_assert_gt(n, 0);
	cr_assert_eq(strlen(text), n);
	return n;
}

/* The line is in text, whole. */
static int
has_line(const char *line)
{
	size_t	 l = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			return 1;
		p++;
	}
	return 0;
}

#define expect_line(line) \
	cr_expect(has_line(line), "missing line: %s\n--- text:\n%s", line, text)

/* ---------------------------------------------------------------- */
/* Latency histogram                                                 */
/* ---------------------------------------------------------------- */

struct lat_case {
	char	 name[24];
	double	 seconds;
	int	 bucket;	/* index of the non-cumulative bucket */
	uint64_t us;		/* added to the sum */
};

static struct lat_case lat_cases[] = {
	{ "zero",		0.0,		0,	0 },
	{ "negative",		-1.0,		0,	0 },
	{ "100us",		0.0001,		0,	100 },
	{ "at 0.0005",		0.0005,		0,	500 },
	{ "just above 0.0005",	0.000501,	1,	501 },
	{ "at 0.001",		0.001,		1,	1000 },
	{ "1.5ms",		0.0015,		2,	1500 },
	{ "at 0.005",		0.005,		3,	5000 },
	{ "7ms",		0.007,		4,	7000 },
	{ "at 0.02",		0.02,		5,	20000 },
	{ "30ms",		0.03,		6,	30000 },
	{ "at 0.1",		0.1,		7,	100000 },
	{ "150ms",		0.15,		8,	150000 },
	{ "at 0.5",		0.5,		9,	500000 },
	{ "at 1",		1.0,		10,	1000000 },
	{ "1.2s",		1.2,		11,	1200000 },
	{ "at 2",		2.0,		11,	2000000 },
	{ "2.000001",		2.000001,	12,	2000001 },
	{ "an hour",		3600.0,		12,	3600000000ULL },
	{ "past a day",		1e30,		12,	86400000000ULL },
};

ParameterizedTestParameters(latency, bucket)
{
	return cr_make_param_array(struct lat_case, lat_cases,
	    sizeof(lat_cases) / sizeof(lat_cases[0]));
}

ParameterizedTest(struct lat_case *t, latency, bucket)
{
	struct stats	 s;
	int		 i;

	memset(&s, 0, sizeof(s));
	stats_observe_latency(&s, t->seconds);
	for (i = 0; i <= STATS_LATENCY_BUCKETS; i++)
		cr_expect_eq(s.latency_bucket[i], i == t->bucket ? 1u : 0u,
		    "%s: bucket %d", t->name, i);
	cr_expect_eq(s.latency_count, 1);
	cr_expect_eq(s.latency_sum_us, t->us, "%s: sum %llu", t->name,
	    (unsigned long long)s.latency_sum_us);
}

Test(latency, nan_counts_as_zero)
{
	struct stats	 s;

	memset(&s, 0, sizeof(s));
	stats_observe_latency(&s, 0.0 / 0.0);
	cr_expect_eq(s.latency_bucket[0], 1);
	cr_expect_eq(s.latency_sum_us, 0);
}

Test(latency, cumulative_in_text)
{
	struct stats	 s;

	memset(&s, 0, sizeof(s));
	stats_observe_latency(&s, 0.0003);	/* 0.0005 */
	stats_observe_latency(&s, 0.0008);	/* 0.001 */
	stats_observe_latency(&s, 0.0009);	/* 0.001 */
	stats_observe_latency(&s, 0.004);	/* 0.005 */
	stats_observe_latency(&s, 0.25);	/* 0.5 */
	stats_observe_latency(&s, 3.0);		/* +Inf */
	format(&s);
	expect_line("# TYPE dns64proxy_upstream_latency_seconds histogram");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.0005\"} 1");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.001\"} 3");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.002\"} 3");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.005\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.01\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.02\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.05\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.1\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.2\"} 4");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.5\"} 5");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"1\"} 5");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"2\"} 5");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"+Inf\"} 6");
	/* 300 + 800 + 900 + 4000 + 250000 + 3000000 us */
	expect_line("dns64proxy_upstream_latency_seconds_sum 3.256000");
	expect_line("dns64proxy_upstream_latency_seconds_count 6");
}

Test(latency, buckets_in_order)
{
	static const char *const le[] = { "0.0005", "0.001", "0.002",
	    "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2",
	    "+Inf" };
	struct stats	 s;
	const char	*p, *prev = NULL;
	char		 want[96];
	size_t		 i;

	memset(&s, 0, sizeof(s));
	format(&s);
	for (i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		snprintf(want, sizeof(want),
		    "dns64proxy_upstream_latency_seconds_bucket{le=\"%s\"} 0\n",
		    le[i]);
		p = strstr(text, want);
		cr_assert_not_null(p, "no bucket %s", le[i]);
		if (prev != NULL)
			cr_expect_gt(p, prev, "bucket %s out of order", le[i]);
		prev = p;
	}
}

/* ---------------------------------------------------------------- */
/* The sum of several workers                                        */
/* ---------------------------------------------------------------- */

#define NSLOTS	(sizeof(struct stats) / sizeof(uint64_t))

/* Every member of struct stats is a uint64_t: set slot k of s. */
static void
set_slot(struct stats *s, size_t k, uint64_t v)
{
	memcpy((char *)s + k * sizeof(uint64_t), &v, sizeof(v));
}

static uint64_t
get_slot(const struct stats *s, size_t k)
{
	uint64_t v;

	memcpy(&v, (const char *)s + k * sizeof(uint64_t), sizeof(v));
	return v;
}

Test(sum, every_member)
{
	struct stats	 in[3], out;
	size_t		 k, w;

	cr_assert_eq(sizeof(struct stats) % sizeof(uint64_t), 0);
	for (w = 0; w < 3; w++)
		for (k = 0; k < NSLOTS; k++)
			set_slot(&in[w], k, (w + 1) * 1000 + k);
	memset(&out, 0xa5, sizeof(out));
	stats_sum(&out, in, 3);
	for (k = 0; k < NSLOTS; k++)
		cr_expect_eq(get_slot(&out, k), 6000 + 3 * k,
		    "slot %zu: %llu (a member stats_sum() forgets?)", k,
		    (unsigned long long)get_slot(&out, k));
}

/* The copy the main thread takes of a worker's counters: every member. */
Test(snapshot, every_member)
{
	struct stats	 in, out;
	size_t		 k;

	for (k = 0; k < NSLOTS; k++)
		set_slot(&in, k, 0x0123456789abcdefULL + k);
	memset(&out, 0, sizeof(out));
	stats_snapshot(&out, &in);
	for (k = 0; k < NSLOTS; k++)
		cr_expect_eq(get_slot(&out, k), 0x0123456789abcdefULL + k,
		    "slot %zu not copied", k);
}

/* The write macros: what a worker does to its counters. */
Test(snapshot, write_macros)
{
	struct stats	 s, out;

	memset(&s, 0, sizeof(s));
	STATS_INC(s.cache_hits);
	STATS_INC(s.cache_hits);
	STATS_ADD(s.latency_sum_us, 40);
	STATS_SET(s.inflight, 7);
	stats_snapshot(&out, &s);
	cr_expect_eq(out.cache_hits, 2);
	cr_expect_eq(out.latency_sum_us, 40);
	cr_expect_eq(out.inflight, 7);
}

Test(sum, none_is_zero)
{
	struct stats	 out, zero;

	memset(&out, 0x5a, sizeof(out));
	memset(&zero, 0, sizeof(zero));
	stats_sum(&out, NULL, 0);
	cr_expect_eq(memcmp(&out, &zero, sizeof(out)), 0);
}

Test(sum, workers_in_text)
{
	struct stats	 w[3], sum;

	memset(w, 0, sizeof(w));
	w[0].queries_udp = 1;
	w[1].queries_udp = 2;
	w[2].queries_tcp = 4;
	w[0].queries_type[STATS_QT_AAAA] = 3;
	w[2].queries_type[STATS_QT_AAAA] = 5;
	w[1].answers_rcode[3] = 7;
	w[0].inflight = 2;
	w[1].inflight = 3;
	stats_observe_latency(&w[0], 0.001);
	stats_observe_latency(&w[1], 0.003);
	stats_observe_latency(&w[2], 0.5);
	stats_sum(&sum, w, 3);
	format(&sum);
	expect_line("dns64proxy_queries_total{transport=\"udp\"} 3");
	expect_line("dns64proxy_queries_total{transport=\"tcp\"} 4");
	expect_line("dns64proxy_queries_by_type_total{type=\"AAAA\"} 8");
	expect_line("dns64proxy_answers_total{rcode=\"NXDOMAIN\"} 7");
	expect_line("dns64proxy_queries_in_flight 5");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.001\"} 1");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"0.005\"} 2");
	expect_line("dns64proxy_upstream_latency_seconds_bucket{le=\"+Inf\"} 3");
	expect_line("dns64proxy_upstream_latency_seconds_sum 0.504000");
	expect_line("dns64proxy_upstream_latency_seconds_count 3");
}

/* ---------------------------------------------------------------- */
/* The text for a known struct                                       */
/* ---------------------------------------------------------------- */

static struct stats
known(void)
{
	struct stats	 s;
	size_t		 i;

	memset(&s, 0, sizeof(s));
	s.queries_udp = 3;
	s.queries_tcp = 2;
	for (i = 0; i < STATS_QT_N; i++)
		s.queries_type[i] = 100 + i;
	for (i = 0; i < 16; i++)
		s.answers_rcode[i] = i < 11 ? 200 + i : 0;
	s.answers_rcode[13] = 9;
	s.synth_aaaa = 11;
	s.synth_ptr = 12;
	s.local_answers = 13;
	s.upstream_queries = 14;
	s.upstream_timeouts = 15;
	s.failovers = 16;
	s.dropped_client = 17;
	s.dropped_upstream = 18;
	s.refused = 19;
	s.overload = 20;
	s.inflight = 21;
	s.late_upstream = 22;
	s.tcp_wait_expired = 23;
	s.tcp_reused = 24;
	s.queries_type[STATS_QT_OTHER] = 18446744073709551615ULL;
	return s;
}

struct line_case {
	char	 line[100];
};

static struct line_case known_lines[] = {
	{ "# HELP dns64proxy_queries_total Queries received, by transport." },
	{ "# TYPE dns64proxy_queries_total counter" },
	{ "dns64proxy_queries_total{transport=\"udp\"} 3" },
	{ "dns64proxy_queries_total{transport=\"tcp\"} 2" },
	{ "# TYPE dns64proxy_queries_by_type_total counter" },
	{ "dns64proxy_queries_by_type_total{type=\"A\"} 100" },
	{ "dns64proxy_queries_by_type_total{type=\"NS\"} 101" },
	{ "dns64proxy_queries_by_type_total{type=\"CNAME\"} 102" },
	{ "dns64proxy_queries_by_type_total{type=\"SOA\"} 103" },
	{ "dns64proxy_queries_by_type_total{type=\"PTR\"} 104" },
	{ "dns64proxy_queries_by_type_total{type=\"MX\"} 105" },
	{ "dns64proxy_queries_by_type_total{type=\"TXT\"} 106" },
	{ "dns64proxy_queries_by_type_total{type=\"AAAA\"} 107" },
	{ "dns64proxy_queries_by_type_total{type=\"SRV\"} 108" },
	{ "dns64proxy_queries_by_type_total{type=\"DS\"} 109" },
	{ "dns64proxy_queries_by_type_total{type=\"HTTPS\"} 110" },
	{ "dns64proxy_queries_by_type_total{type=\"ANY\"} 111" },
	{ "dns64proxy_queries_by_type_total{type=\"other\"} 18446744073709551615" },
	{ "# TYPE dns64proxy_answers_total counter" },
	{ "dns64proxy_answers_total{rcode=\"NOERROR\"} 200" },
	{ "dns64proxy_answers_total{rcode=\"FORMERR\"} 201" },
	{ "dns64proxy_answers_total{rcode=\"SERVFAIL\"} 202" },
	{ "dns64proxy_answers_total{rcode=\"NXDOMAIN\"} 203" },
	{ "dns64proxy_answers_total{rcode=\"NOTIMP\"} 204" },
	{ "dns64proxy_answers_total{rcode=\"REFUSED\"} 205" },
	{ "dns64proxy_answers_total{rcode=\"YXDOMAIN\"} 206" },
	{ "dns64proxy_answers_total{rcode=\"YXRRSET\"} 207" },
	{ "dns64proxy_answers_total{rcode=\"NXRRSET\"} 208" },
	{ "dns64proxy_answers_total{rcode=\"NOTAUTH\"} 209" },
	{ "dns64proxy_answers_total{rcode=\"NOTZONE\"} 210" },
	{ "dns64proxy_answers_total{rcode=\"13\"} 9" },
	{ "# TYPE dns64proxy_synthesized_total counter" },
	{ "dns64proxy_synthesized_total{kind=\"aaaa\"} 11" },
	{ "dns64proxy_synthesized_total{kind=\"ptr\"} 12" },
	{ "# TYPE dns64proxy_local_answers_total counter" },
	{ "dns64proxy_local_answers_total 13" },
	{ "# TYPE dns64proxy_upstream_queries_total counter" },
	{ "dns64proxy_upstream_queries_total 14" },
	{ "# TYPE dns64proxy_upstream_timeouts_total counter" },
	{ "dns64proxy_upstream_timeouts_total 15" },
	{ "# TYPE dns64proxy_upstream_failovers_total counter" },
	{ "dns64proxy_upstream_failovers_total 16" },
	{ "# TYPE dns64proxy_upstream_late_answers_total counter" },
	{ "dns64proxy_upstream_late_answers_total 22" },
	{ "# TYPE dns64proxy_upstream_tcp_wait_expired_total counter" },
	{ "dns64proxy_upstream_tcp_wait_expired_total 23" },
	{ "# TYPE dns64proxy_upstream_tcp_reused_total counter" },
	{ "dns64proxy_upstream_tcp_reused_total 24" },
	{ "# TYPE dns64proxy_dropped_total counter" },
	{ "dns64proxy_dropped_total{source=\"client\"} 17" },
	{ "dns64proxy_dropped_total{source=\"upstream\"} 18" },
	{ "# TYPE dns64proxy_refused_total counter" },
	{ "dns64proxy_refused_total 19" },
	{ "# TYPE dns64proxy_overload_total counter" },
	{ "dns64proxy_overload_total 20" },
	{ "# TYPE dns64proxy_queries_in_flight gauge" },
	{ "dns64proxy_queries_in_flight 21" },
	{ "# TYPE dns64proxy_upstream_latency_seconds histogram" },
	{ "dns64proxy_upstream_latency_seconds_bucket{le=\"+Inf\"} 0" },
	{ "dns64proxy_upstream_latency_seconds_sum 0.000000" },
	{ "dns64proxy_upstream_latency_seconds_count 0" },
};

ParameterizedTestParameters(text, known_line)
{
	return cr_make_param_array(struct line_case, known_lines,
	    sizeof(known_lines) / sizeof(known_lines[0]));
}

ParameterizedTest(struct line_case *t, text, known_line)
{
	struct stats	 s = known();

	format(&s);
	expect_line(t->line);
}

/* RCODEs without a name show only when counted; named ones always. */
Test(text, rcodes_unnamed_only_when_counted)
{
	struct stats	 s;

	memset(&s, 0, sizeof(s));
	format(&s);
	expect_line("dns64proxy_answers_total{rcode=\"NOTZONE\"} 0");
	cr_expect_null(strstr(text, "rcode=\"11\""));
	cr_expect_null(strstr(text, "rcode=\"15\""));
	s.answers_rcode[15] = 1;
	format(&s);
	expect_line("dns64proxy_answers_total{rcode=\"15\"} 1");
}

/*
 * The shape of format 0.0.4: every line is "# HELP name text",
 * "# TYPE name type" or "name[{labels}] value"; each family's HELP and
 * TYPE come once, before its samples; names carry the prefix; the text
 * ends with a newline.
 */
Test(text, shape)
{
	struct stats	 s = known();
	char		 family[128] = "", type[32] = "";
	char		*line, *save = NULL, *copy;
	size_t		 n, nfam = 0, nsamples = 0;

	n = format(&s);
	cr_assert_eq(text[n - 1], '\n');
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			cr_assert_eq(sscanf(line, "# HELP %127s", family), 1);
			cr_expect_eq(strncmp(family, "dns64proxy_", 11), 0,
			    "%s", line);
			type[0] = '\0';
			nfam++;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			char	 name[128];

			cr_assert_eq(sscanf(line, "# TYPE %127s %31s", name,
			    type), 2);
			cr_expect_str_eq(name, family, "TYPE after HELP");
			cr_expect(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0, "%s", line);
		} else {
			size_t	 fl = strlen(family);

			cr_expect(type[0] != '\0', "sample before TYPE: %s",
			    line);
			cr_expect_eq(strncmp(line, family, fl), 0,
			    "sample %s outside family %s", line, family);
			cr_expect_neq(strchr(line, ' '), NULL, "%s", line);
			nsamples++;
		}
	}
	free(copy);
	cr_expect_eq(nfam, 17);
	/* queries 2, by type 13, answers 11 named + rcode 13, synthesized
	 * 2, cache hit/miss 2, nine plain counters, dropped 2, in flight 1,
	 * histogram 13 buckets + sum + count */
	cr_expect_eq(nsamples, 2 + 13 + 12 + 2 + 2 + 9 + 2 + 1 + 15);
}

Test(text, stable)
{
	struct stats	 s = known();
	static char	 again[sizeof(text)];
	size_t		 n;

	n = format(&s);
	cr_assert_eq(stats_format_prometheus(&s, again, sizeof(again)), n);
	cr_expect_eq(memcmp(text, again, n + 1), 0);
}

/* Every cap up to the length (the NUL needs a byte) gives 0. */
Test(text, buffer_too_small)
{
	struct stats	 s = known();
	static char	 small[sizeof(text)];
	size_t		 n, cap;

	n = format(&s);
	for (cap = 0; cap <= n; cap++)
		cr_expect_eq(stats_format_prometheus(&s, small, cap), 0,
		    "cap %zu of %zu", cap, n);
	cr_expect_eq(stats_format_prometheus(&s, small, n + 1), n);
	cr_expect_str_eq(small, text);
}

/* ---------------------------------------------------------------- */
/* The request head of the /metrics responder                        */
/* ---------------------------------------------------------------- */

struct req_case {
	char	 name[40];
	char	 req[400];
	size_t	 len;		/* 0: strlen(req) */
	int	 want;		/* enum stats_http_req */
	char	 path[64];	/* for GET, HEAD, METHOD */
	int	 status;	/* stats_http_status() */
};

#define CRLF	"\r\n"

static struct req_case req_cases[] = {
	{ "get metrics", "GET /metrics HTTP/1.1" CRLF "Host: x" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "get no headers", "GET /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "http/1.0", "GET /metrics HTTP/1.0" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "query string", "GET /metrics?name[]=x&y=1 HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "bare lf", "GET /metrics HTTP/1.1\nHost: x\n\n", 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "leading empty line", CRLF "GET /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "prometheus headers", "GET /metrics HTTP/1.1" CRLF
	    "Host: 127.0.0.1:9153" CRLF "User-Agent: Prometheus/2.45.0" CRLF
	    "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
	    "version=0.0.4;q=0.5,*/*;q=0.1" CRLF "Accept-Encoding: gzip" CRLF
	    "X-Prometheus-Scrape-Timeout-Seconds: 10" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "body after head", "GET /metrics HTTP/1.1" CRLF CRLF "junk\x01", 0,
	    STATS_HTTP_GET, "/metrics", 200 },
	{ "head", "HEAD /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_HEAD, "/metrics", 200 },
	{ "root", "GET / HTTP/1.1" CRLF CRLF, 0, STATS_HTTP_GET, "/", 404 },
	{ "other path", "GET /other HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/other", 404 },
	{ "metrics/", "GET /metrics/ HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metrics/", 404 },
	{ "metricsx", "GET /metricsx HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_GET, "/metricsx", 404 },
	{ "head other", "HEAD /x?y HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_HEAD, "/x", 404 },
	{ "post", "POST /metrics HTTP/1.1" CRLF "Content-Length: 0" CRLF CRLF,
	    0, STATS_HTTP_METHOD, "/metrics", 405 },
	{ "put", "PUT /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_METHOD, "/metrics", 405 },
	{ "lower-case get", "get /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_METHOD, "/metrics", 405 },
	{ "incomplete empty", "", 0, STATS_HTTP_INCOMPLETE, "", 400 },
	{ "incomplete method", "GE", 0, STATS_HTTP_INCOMPLETE, "", 400 },
	{ "incomplete line", "GET /metr", 0, STATS_HTTP_INCOMPLETE, "", 400 },
	{ "incomplete cr", "GET /metrics HTTP/1.1\r", 0,
	    STATS_HTTP_INCOMPLETE, "", 400 },
	{ "incomplete headers", "GET /metrics HTTP/1.1" CRLF "Host: x" CRLF,
	    0, STATS_HTTP_INCOMPLETE, "", 400 },
	{ "incomplete last cr", "GET /metrics HTTP/1.1" CRLF "Host: x" CRLF
	    "\r", 0, STATS_HTTP_INCOMPLETE, "", 400 },
	{ "garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "garbage braces", "{\"jsonrpc\":", 0, STATS_HTTP_MALFORMED, "", 400 },
	{ "nul in line", "GET /me\0trics HTTP/1.1\r\n\r\n", 26,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "no version", "GET /metrics" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "http/2.0", "GET /metrics HTTP/2.0" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "version junk", "GET /metrics HTTP/1.1x" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "two spaces", "GET  /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "absolute form", "GET http://h/metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "asterisk", "OPTIONS * HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "no method", " /metrics HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "bad header", "GET /metrics HTTP/1.1" CRLF "no colon" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "obs-fold", "GET /metrics HTTP/1.1" CRLF "A: b" CRLF " c" CRLF CRLF,
	    0, STATS_HTTP_MALFORMED, "", 400 },
	{ "space before colon", "GET /metrics HTTP/1.1" CRLF "Host : x" CRLF
	    CRLF, 0, STATS_HTTP_MALFORMED, "", 400 },
	{ "cr inside line", "GET /metrics\rHTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
	{ "two empty lines first", CRLF CRLF "GET / HTTP/1.1" CRLF CRLF, 0,
	    STATS_HTTP_MALFORMED, "", 400 },
};

ParameterizedTestParameters(http, parse)
{
	return cr_make_param_array(struct req_case, req_cases,
	    sizeof(req_cases) / sizeof(req_cases[0]));
}

ParameterizedTest(struct req_case *t, http, parse)
{
	char	 path[64];
	size_t	 len = t->len != 0 ? t->len : strlen(t->req);
	enum stats_http_req got;

	memset(path, 'X', sizeof(path));
	got = stats_http_parse_request(t->req, len, path, sizeof(path));
	cr_expect_eq(got, t->want, "%s: got %d, want %d", t->name, got,
	    t->want);
	if (t->want == STATS_HTTP_GET || t->want == STATS_HTTP_HEAD ||
	    t->want == STATS_HTTP_METHOD)
		cr_expect_str_eq(path, t->path, "%s", t->name);
	cr_expect_eq(stats_http_status(got, path), t->status, "%s", t->name);
}

/* Fed one byte more at a time, a request is incomplete until its end. */
Test(http, byte_by_byte)
{
	static const char req[] = "GET /metrics?a=b HTTP/1.1\r\n"
	    "Host: localhost\r\nAccept: */*\r\n\r\n";
	char	 path[64];
	size_t	 n, len = sizeof(req) - 1;

	for (n = 0; n < len; n++)
		cr_expect_eq(stats_http_parse_request(req, n, path,
		    sizeof(path)), STATS_HTTP_INCOMPLETE, "at %zu", n);
	cr_expect_eq(stats_http_parse_request(req, len, path, sizeof(path)),
	    STATS_HTTP_GET);
	cr_expect_str_eq(path, "/metrics");
}

Test(http, path_too_long)
{
	static const char req[] = "GET /0123456789 HTTP/1.1\r\n\r\n";
	char	 path[16];

	/* "/0123456789" is 11 bytes, and the NUL: 12 fits, 11 does not. */
	cr_expect_eq(stats_http_parse_request(req, sizeof(req) - 1, path, 12),
	    STATS_HTTP_GET);
	cr_expect_str_eq(path, "/0123456789");
	cr_expect_eq(stats_http_parse_request(req, sizeof(req) - 1, path, 11),
	    STATS_HTTP_MALFORMED);
}

Test(http, status)
{
	cr_expect_eq(stats_http_status(STATS_HTTP_GET, "/metrics"), 200);
	cr_expect_eq(stats_http_status(STATS_HTTP_HEAD, "/metrics"), 200);
	cr_expect_eq(stats_http_status(STATS_HTTP_GET, "/"), 404);
	cr_expect_eq(stats_http_status(STATS_HTTP_METHOD, "/metrics"), 405);
	cr_expect_eq(stats_http_status(STATS_HTTP_MALFORMED, ""), 400);
}
