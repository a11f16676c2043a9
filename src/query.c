/*
 * query.c: admission of client queries and the DNS64 state machine.
 *
 *   query_handle: parse ─▶ DROP | FORMERR/NOTIMP/REFUSED | local answer
 *                   └─▶ FORWARD: query_new, upstream_start(client packet)
 *   query_done (MAIN):   PASS → relay | FILTER → dns64_filter
 *                        NEED_A → WAIT_A: upstream_start(A of target)
 *   query_done (WAIT_A): dns64_synthesize
 *   query_done (WAIT_PTR): dns64_ptr_answer
 *   query_respond: send, count, log, query_free (always last)
 */
#include "acconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "dns64.h"
#include "log.h"
#include "query.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

enum query_state {
	QUERY_MAIN,	/* waiting for the forwarded query's answer */
	QUERY_WAIT_A,	/* waiting for the follow-up A answer */
	QUERY_WAIT_PTR	/* waiting for the in-addr.arpa answer */
};

#define QUERY_INLINE	128	/* client queries up to this size: no malloc */
#define QUERY_SPARE	1024	/* freed queries kept for reuse, per worker */

/* An upstream answer kept for later: the AAAA answer, the parallel A. */
struct saved {
	struct msg_info	 mi;
	size_t		 len;
	uint8_t		 pkt[];
};

struct query;

/* parallel = yes: the A query sent beside the AAAA query (allocated). */
struct parallel_a {
	struct query	*q;
	enum { PA_PENDING, PA_DONE, PA_FAILED } state;
	struct saved	*ans;		/* its answer, once in */
	struct upstream_xfer x;
};

/*
 * Kept small: thousands may be in flight.  What only some queries need
 * (the AAAA answer waiting for synthesis, the parallel A query) hangs off
 * pointers; the in-addr.arpa name of a mapped PTR is derived again from
 * the question when needed.
 */
struct query {
	struct query	*next, *prev;
	struct proxy	*px;
	struct cfgref	*cfg;		/* held reference */
	const struct dns64_section *sec;	/* NULL: plain forwarding */
	bool		 dns64;		/* synthesis applies to this query */
	enum query_state state;
	struct responder *r;		/* held */
	struct sockaddr_storage client;
	uint8_t		*qpkt;		/* the client's query: qbuf or owned */
	size_t		 qlen;
	struct msg_info	 qi;		/* parsed from qpkt */
	struct saved	*aaaa;		/* AAAA answer kept for synthesis */
	struct parallel_a *pa;		/* NULL unless parallel = yes */
	const char	*action;	/* for the query log */
	uint32_t	 cache_cap;	/* longest life in the cache, seconds */
	bool		 aaaa_failed;	/* synthesis over a failed AAAA query */
	uint8_t		 v4len;		/* mapped PTR: the in-addr.arpa name */
	uint8_t		 v4name[DNS64_INADDR_MAX];
	ev_tstamp	 start;
	struct upstream_xfer x;
	uint8_t		 qbuf[QUERY_INLINE];
};

/* Answers are built here; one worker thread runs one loop. */
static __thread uint8_t	outbuf[DNS_MAX_UDP];

/* Freed queries kept for reuse (no malloc per query once warm). */
static __thread struct query *spare;
static __thread unsigned nspare;

static struct saved *
saved_new(const uint8_t *pkt, size_t len, const struct msg_info *mi)
{
	struct saved	*sv;

	if ((sv = malloc(sizeof(*sv) + len)) == NULL)
		return NULL;
	sv->mi = *mi;
	sv->len = len;
	memcpy(sv->pkt, pkt, len);
	return sv;
}

static void
parallel_free(struct parallel_a *pa)
{
	if (pa == NULL)
		return;
	upstream_cancel(&pa->x);
	free(pa->ans);
	free(pa);
}

/* Drop the spare queries of this thread (at worker exit). */
void
query_spares_free(void)
{
	struct query	*q;

	while ((q = spare) != NULL) {
		spare = q->next;
		free(q);
	}
	nspare = 0;
}

struct cfgref *
cfgref_new(const struct config *c)
{
	struct cfgref	*r;

	if ((r = malloc(sizeof(*r))) == NULL)
		return NULL;
	r->refs = 1;
	r->c = *c;
	return r;
}

void
cfgref_put(struct cfgref *r)
{
	if (r != NULL && --r->refs == 0)
		free(r);
}

double
query_life(const struct config *c)
{
	return 3.0 * c->attempts * c->timeout_ms / 1000.0 + 1.0;
}

double
query_drain_time(const struct proxy *px)
{
	const struct query *q;
	double		 t = query_life(&px->cfg->c), u;

	for (q = px->queries; q != NULL; q = q->next)
		if (q->cfg != px->cfg && (u = query_life(&q->cfg->c)) > t)
			t = u;
	return t;
}

unsigned
query_inflight(const struct proxy *px)
{
	return px->ninflight;
}

/* Largest answer this client takes. */
static size_t
query_max(const struct query *q)
{
	if (q->r->tcp)
		return DNS_MAX_UDP;
	return msg_client_udp_max(&q->qi);
}

static const char *
query_type_name(uint16_t t)
{
	static __thread char buf[16];

	switch (t) {
	case DNS_TYPE_A:	return "A";
	case DNS_TYPE_NS:	return "NS";
	case DNS_TYPE_CNAME:	return "CNAME";
	case DNS_TYPE_SOA:	return "SOA";
	case DNS_TYPE_PTR:	return "PTR";
	case DNS_TYPE_MX:	return "MX";
	case DNS_TYPE_AAAA:	return "AAAA";
	case DNS_TYPE_DS:	return "DS";
	default:
		snprintf(buf, sizeof(buf), "TYPE%u", t);
		return buf;
	}
}

/* One line per query with [log] queries = yes. */
static void
query_log(struct proxy *px, const struct sockaddr *client,
    const struct msg_info *qi, const char *action, int rcode, double ms)
{
	char	 who[64], name[DNS_MAX_NAME * 4 + 2];

	if (!px->cfg->c.log_queries)
		return;
	addr_format(client, who, sizeof(who));
	if (!qi->has_question ||
	    !wire_name_to_text(qi->q.name, qi->q.name_len, name, sizeof(name)))
		strcpy(name, "-");
	log_info("query %s %s %s %s rcode=%d %.1fms", who, name,
	    qi->has_question ? query_type_name(qi->q.qtype) : "-", action,
	    rcode, ms);
}

/* Unlink and free; the responder and configuration are released. */
static void
query_free(struct query *q)
{
	struct proxy	*px = q->px;

	upstream_cancel(&q->x);
	parallel_free(q->pa);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		px->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	px->ninflight--;
	STATS_SET(px->stats.inflight, px->ninflight);
	q->r->release(q->r);
	cfgref_put(q->cfg);
	free(q->aaaa);
	if (q->qpkt != q->qbuf)
		free(q->qpkt);
	if (nspare < QUERY_SPARE) {
		q->next = spare;
		spare = q;
		nspare++;
	} else
		free(q);
	proxy_stop_if_done(px);
}

void
query_free_all(struct proxy *px)
{
	upstream_pool_stop(px->pool);
	while (px->queries != NULL)
		query_free(px->queries);
}

void
proxy_stop_if_done(struct proxy *px)
{
	if (px->stopping && px->ninflight == 0 && listen_tcp_unsent(px) == 0)
		ev_break(px->loop, EVBREAK_ALL);
}

/* The cache key's section: the index of the client's [dns64] section. */
static int
query_section_index(const struct config *c, const struct dns64_section *sec)
{
	return sec == NULL ? -1 : (int)(sec - c->sections);
}

/* Send the answer, count and log it, free the query: always the end. */
static void
query_respond(struct query *q, const uint8_t *pkt, size_t len)
{
	int	 rcode = len >= DNS_HDR_LEN ? (pkt[3] & 0x0f) : -1;

	/* Only under the configuration the cache was filled with. */
	if (q->px->cache != NULL && q->cfg == q->px->cfg &&
	    (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN)) {
		struct cache_key k;

		cache_key_make(&k, &q->qi, query_section_index(&q->cfg->c,
		    q->sec));
		cache_store_capped(q->px->cache, &k, pkt, len,
		    (uint32_t)ev_now(q->px->loop), q->cache_cap);
	}

	q->r->respond(q->r, (const struct sockaddr *)&q->client, pkt, len);
	if (rcode >= 0)
		STATS_INC(q->px->stats.answers_rcode[rcode]);
	query_log(q->px, (const struct sockaddr *)&q->client, &q->qi,
	    q->action, rcode,
	    (ev_now(q->px->loop) - q->start) * 1000.0);
	query_free(q);
}

static void	query_servfail(struct query *q);

/* No upstream answered in time: SERVFAIL (SPEC.md 8). */
static void
query_timeout(struct query *q)
{
	q->action = "timeout";
	query_servfail(q);
}

/* SERVFAIL to the client, then free. */
static void
query_servfail(struct query *q)
{
	size_t	 n;

	n = msg_build_error(&q->qi, DNS_RCODE_SERVFAIL, outbuf,
	    sizeof(outbuf));
	if (n == 0) {
		query_free(q);
		return;
	}
	query_respond(q, outbuf, n);
}

static void	query_done(struct upstream_xfer *x, const uint8_t *resp,
		    size_t len, const struct msg_info *ri);

/*
 * Ask the upstream for name/qtype on the query's behalf, with the client's
 * RD and CD bits and its OPT RR (so DO and the EDNS options go along).
 * Over TCP when the client came over TCP or when tcp is set.
 */
static int
query_ask_on(struct query *q, struct upstream_xfer *x, upstream_done_fn done,
    const uint8_t *name, size_t name_len, uint16_t qtype, bool tcp)
{
	uint8_t	 pkt[DNS_HDR_LEN + DNS_MAX_NAME + 4 + 1024], unpadded[1024];
	const uint8_t *opt = q->qi.edns ? q->qpkt + q->qi.opt_off : NULL;
	size_t	 n, optlen = q->qi.edns ? q->qi.opt_len : 0;

	/*
	 * A large OPT is Padding, as a rule, which is for the message it
	 * came in: ask with the rest (DO, the size, the other options).
	 */
	if (optlen > sizeof(unpadded)) {
		optlen = msg_opt_without(opt, optlen,
		    EDNS_OPT_BIT(EDNS_OPT_PADDING), unpadded, sizeof(unpadded));
		opt = optlen > 0 ? unpadded : NULL;	/* absurd: without */
	}
	n = msg_build_query(pkt, sizeof(pkt), 0,
	    q->qi.flags & (DNS_FLAG_RD | DNS_FLAG_CD), name, name_len, qtype,
	    DNS_CLASS_IN, opt, optlen);
	if (n == 0)
		return -1;
	return upstream_start(x, q->px->pool, &q->cfg->c, tcp || q->r->tcp,
	    pkt, n, done);
}

static int
query_ask(struct query *q, const uint8_t *name, size_t name_len,
    uint16_t qtype, bool tcp)
{
	return query_ask_on(q, &q->x, query_done, name, name_len, qtype, tcp);
}

/* Relay an upstream answer unchanged but for ID, question case and size. */
static void
query_relay(struct query *q, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	size_t	 n;

	n = msg_relay(resp, len, ri, &q->qi, query_max(q), outbuf,
	    sizeof(outbuf));
	if (n == 0) {
		query_servfail(q);
		return;
	}
	query_respond(q, outbuf, n);
}

static void	query_a_done(struct query *q, const uint8_t *resp, size_t len,
		    const struct msg_info *ri);

/* Send the follow-up A query for the end of the chain (RFC 6147 5.1.6). */
static void
query_need_a(struct query *q, const uint8_t *resp, size_t len,
    const struct msg_info *ri, const uint8_t *target, size_t target_len)
{
	if (resp != NULL && (q->aaaa = saved_new(resp, len, ri)) == NULL) {
		query_servfail(q);
		return;
	}
	q->state = QUERY_WAIT_A;
	/*
	 * RFC 6147 5.1.8, parallel = yes: the A query for the question name
	 * is already out.  It serves when no CNAME chain moved the target.
	 */
	if (q->pa != NULL && q->pa->state != PA_FAILED &&
	    wire_name_equal(target, target_len, q->qi.q.name,
	    q->qi.q.name_len)) {
		if (q->pa->state == PA_DONE)
			query_a_done(q, q->pa->ans->pkt, q->pa->ans->len,
			    &q->pa->ans->mi);
		return;		/* PA_PENDING: query_pa_done goes on */
	}
	parallel_free(q->pa);
	q->pa = NULL;
	if (query_ask(q, target, target_len, DNS_TYPE_A, false) < 0)
		query_servfail(q);
}

/* The answer to the forwarded query itself. */
static void
query_main_done(struct query *q, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	enum dns64_action act = DNS64_PASS;
	uint8_t		 target[DNS_MAX_NAME];
	size_t		 target_len = 0, n;

	if (q->dns64 && q->qi.q.qtype == DNS_TYPE_AAAA)
		act = dns64_classify(q->sec, &q->qi, resp, len, ri, target,
		    &target_len);
	switch (act) {
	case DNS64_PASS:
		if (resp == NULL)
			query_timeout(q);
		else
			query_relay(q, resp, len, ri);
		return;
	case DNS64_FILTER:
		q->action = "filtered";
		n = dns64_filter(q->sec, &q->qi, resp, len, ri, query_max(q),
		    outbuf, sizeof(outbuf));
		if (n == 0)
			query_servfail(q);
		else
			query_respond(q, outbuf, n);
		return;
	case DNS64_NEED_A_ON_ERROR:
		q->aaaa_failed = true;
		/* FALLTHROUGH */
	case DNS64_NEED_A:
		query_need_a(q, resp, len, ri, target, target_len);
		return;
	}
}

/* The answer to the follow-up A query. */
static void
query_a_done(struct query *q, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	bool	 synthesized = false;
	size_t	 n;

	if (resp == NULL) {
		query_timeout(q);
		return;
	}
	n = dns64_synthesize(q->sec, &q->qi, q->aaaa ? q->aaaa->pkt : NULL,
	    q->aaaa ? q->aaaa->len : 0, q->aaaa ? &q->aaaa->mi : NULL, resp,
	    len, ri, query_max(q),
	    outbuf, sizeof(outbuf), &synthesized);
	if (n == 0) {
		query_servfail(q);
		return;
	}
	if (synthesized) {
		STATS_INC(q->px->stats.synth_aaaa);
		q->action = "synthesized";
	} else
		q->action = "no-a";
	/*
	 * Made because the AAAA query failed (on_error), synthesized or the
	 * A answer's NODATA: the failure may pass, and RFC 2308 7.1 keeps
	 * server failures for minutes at most, so such an answer is cached
	 * briefly, or real AAAA records would stay hidden.
	 */
	if (q->aaaa_failed && q->cache_cap > CACHE_ONERROR_TTL)
		q->cache_cap = CACHE_ONERROR_TTL;
	query_respond(q, outbuf, n);
}

/* The answer for the in-addr.arpa name of a mapped PTR query. */
static void
query_ptr_done(struct query *q, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	size_t	 n;

	if (resp == NULL) {
		query_timeout(q);
		return;
	}
	n = dns64_ptr_answer(q->sec, &q->qi, q->v4name, q->v4len, resp, len,
	    ri, query_max(q), outbuf, sizeof(outbuf));
	if (n == 0) {
		query_servfail(q);
		return;
	}
	STATS_INC(q->px->stats.synth_ptr);
	query_respond(q, outbuf, n);
}

/*
 * The upstream exchange ended: resp is the matching answer, or NULL when
 * every attempt failed.  A truncated answer to one of our own follow-up
 * queries is asked again over TCP; a truncated answer to the client's own
 * query goes back to it with TC set (RFC 1035 4.2.1: it retries on TCP).
 */
static void
query_done(struct upstream_xfer *x, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	struct query	*q = container_of(x, struct query, x);

	if (resp != NULL && (ri->flags & DNS_FLAG_TC) && !x->tcp &&
	    q->state != QUERY_MAIN) {
		uint8_t		 copy[DNS_MAX_NAME];
		size_t		 nlen = ri->q.name_len;

		/* The name asked: ri is gone once query_ask() starts. */
		memcpy(copy, ri->q.name, nlen);
		if (query_ask(q, copy, nlen, ri->q.qtype, true) < 0)
			query_servfail(q);
		return;
	}
	switch (q->state) {
	case QUERY_MAIN:
		query_main_done(q, resp, len, ri);
		break;
	case QUERY_WAIT_A:
		query_a_done(q, resp, len, ri);
		break;
	case QUERY_WAIT_PTR:
		query_ptr_done(q, resp, len, ri);
		break;
	}
}

/*
 * The parallel A query ended.  Before the AAAA answer decided anything,
 * keep the result; once the query waits for it, go on with synthesis.
 */
static void
query_pa_done(struct upstream_xfer *x, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	struct parallel_a *pa = container_of(x, struct parallel_a, x);
	struct query	*q = pa->q;

	if (resp != NULL && (ri->flags & DNS_FLAG_TC) && !x->tcp) {
		/* Truncated: the sequential path asks again over TCP. */
		parallel_free(pa);
		q->pa = NULL;
		if (q->state == QUERY_WAIT_A &&
		    query_ask(q, q->qi.q.name, q->qi.q.name_len, DNS_TYPE_A,
		    true) < 0)
			query_servfail(q);
		return;
	}
	if (q->state == QUERY_WAIT_A) {
		if (resp == NULL)
			query_timeout(q);
		else
			query_a_done(q, resp, len, ri);
		return;
	}
	/* Before the AAAA answer: keep the result; failing, go sequential. */
	if (resp == NULL || (pa->ans = saved_new(resp, len, ri)) == NULL) {
		pa->state = PA_FAILED;
		return;
	}
	pa->state = PA_DONE;
}

/* Answer at once without a query object (errors, REFUSED, local data). */
static void
query_answer_now(struct proxy *px, struct responder *r,
    const struct sockaddr *client, const struct msg_info *qi,
    const uint8_t *pkt, size_t len, const char *action)
{
	r->respond(r, client, pkt, len);
	STATS_INC(px->stats.answers_rcode[pkt[3] & 0x0f]);
	query_log(px, client, qi, action, pkt[3] & 0x0f, 0.0);
}

/* An error answer at once. */
static void
query_error_now(struct proxy *px, struct responder *r,
    const struct sockaddr *client, const struct msg_info *qi, int rcode,
    const char *action)
{
	size_t	 n;

	n = msg_build_error(qi, rcode, outbuf, sizeof(outbuf));
	if (n > 0)
		query_answer_now(px, r, client, qi, outbuf, n, action);
}

/*
 * Admission: the validation ladder.  Every exit is a drop, an immediate
 * answer, or a query handed to the upstream.
 */
void
query_handle(struct proxy *px, struct responder *r,
    const struct sockaddr *client, const uint8_t *pkt, size_t len)
{
	const struct config *cfg = &px->cfg->c;
	const struct dns64_section *sec;
	struct msg_info	 qi;
	struct query	*q;
	size_t		 n;
	bool		 dns64, cacheable;
	enum stats_qtype qt;

	if (r->tcp)
		STATS_INC(px->stats.queries_tcp);
	else
		STATS_INC(px->stats.queries_udp);

	switch (msg_parse_query(pkt, len, &qi)) {
	case MSG_DROP:
		STATS_INC(px->stats.dropped_client);
		return;
	case MSG_FORMERR:
		STATS_INC(px->stats.dropped_client);
		query_error_now(px, r, client, &qi, DNS_RCODE_FORMERR,
		    "formerr");
		return;
	case MSG_NOTIMP:
		query_error_now(px, r, client, &qi, DNS_RCODE_NOTIMP,
		    "notimp");
		return;
	case MSG_OK:
		break;
	}
	qt = stats_qtype(qi.q.qtype);
	STATS_INC(px->stats.queries_type[qt]);
	if (!config_client_allowed(cfg, client)) {
		STATS_INC(px->stats.refused);
		query_error_now(px, r, client, &qi, DNS_RCODE_REFUSED,
		    "refused");
		return;
	}

	/*
	 * RFC 6147 5.1: classes other than IN are not touched.  5.5: a
	 * query with DO and CD both set is never synthesized.
	 */
	sec = config_section_for(cfg, client);
	dns64 = sec != NULL && qi.q.qclass == DNS_CLASS_IN;

	/* RFC 8880 7.1: ipv4only.arpa is ours whatever DO and CD say. */
	if (dns64) {
		n = dns64_local_answer(sec, &qi, r->tcp ? DNS_MAX_UDP :
		    msg_client_udp_max(&qi), outbuf, sizeof(outbuf));
		if (n > 0) {
			STATS_INC(px->stats.local_answers);
			query_answer_now(px, r, client, &qi, outbuf, n,
			    "local");
			return;
		}
	}

	if (qi.edns && (qi.edns_flags & EDNS_FLAG_DO) &&
	    (qi.flags & DNS_FLAG_CD))
		dns64 = false;

	/*
	 * The cache is not for a query with a Client Subnet option (RFC 7871
	 * 7.3.1: the upstream may tailor the answer to the subnet) nor for
	 * one of an EDNS version other than 0 (RFC 6891 6.1.3: the upstream
	 * says BADVERS or answers in that version).
	 */
	cacheable = qi.edns_version == 0 &&
	    !(qi.opts & EDNS_OPT_BIT(EDNS_OPT_ECS));
	if (px->cache != NULL && cacheable) {
		struct cache_key k;

		cache_key_make(&k, &qi, query_section_index(cfg, sec));
		n = cache_lookup(px->cache, &k, &qi,
		    (uint32_t)ev_now(px->loop), r->tcp ? DNS_MAX_UDP :
		    msg_client_udp_max(&qi), outbuf, sizeof(outbuf));
		if (n > 0) {
			STATS_INC(px->stats.cache_hits);
			query_answer_now(px, r, client, &qi, outbuf, n,
			    "cached");
			return;
		}
		STATS_INC(px->stats.cache_misses);
	}

	if (px->ninflight >= px->max_inflight) {
		static __thread ev_tstamp last;

		STATS_INC(px->stats.overload);
		if (ev_now(px->loop) - last > 10.0) {
			log_warnx("%u queries in flight: the limit; answering "
			    "SERVFAIL", px->ninflight);
			last = ev_now(px->loop);
		}
		query_error_now(px, r, client, &qi, DNS_RCODE_SERVFAIL,
		    "overload");
		return;
	}

	if ((q = spare) != NULL) {
		spare = q->next;
		nspare--;
	} else if ((q = malloc(sizeof(*q))) == NULL) {
		STATS_INC(px->stats.overload);
		return;
	}
	q->aaaa = NULL;
	q->pa = NULL;
	q->prev = NULL;
	q->x.active = false;
	q->qpkt = len <= sizeof(q->qbuf) ? q->qbuf : malloc(len);
	if (q->qpkt == NULL) {
		free(q);
		STATS_INC(px->stats.overload);
		return;
	}
	memcpy(q->qpkt, pkt, len);
	q->qlen = len;
	q->qi = qi;
	q->px = px;
	q->cfg = px->cfg;
	q->cfg->refs++;
	q->sec = sec;
	q->dns64 = dns64;
	q->r = r;
	r->hold(r);
	memcpy(&q->client, client, addr_len(client));
	q->state = QUERY_MAIN;
	q->action = "forwarded";
	q->cache_cap = cacheable ? CACHE_MAX_TTL : 0;
	q->aaaa_failed = false;
	q->start = ev_now(px->loop);
	q->next = px->queries;
	if (px->queries != NULL)
		px->queries->prev = q;
	px->queries = q;
	px->ninflight++;
	STATS_SET(px->stats.inflight, px->ninflight);

	/* RFC 6147 5.3.1: PTR inside a Pref64 asks for the in-addr.arpa. */
	if (dns64 && qi.q.qtype == DNS_TYPE_PTR && dns64_ptr_map(sec,
	    qi.q.name, qi.q.name_len, q->v4name, &n)) {
		q->v4len = (uint8_t)n;
		q->state = QUERY_WAIT_PTR;
		q->action = "ptr-mapped";
		if (query_ask(q, q->v4name, n, DNS_TYPE_PTR, false) < 0)
			query_servfail(q);
		return;
	}
	if (upstream_start(&q->x, px->pool, &q->cfg->c, r->tcp, q->qpkt,
	    q->qlen, query_done) < 0) {
		query_servfail(q);
		return;
	}
	/* RFC 6147 5.1.8: the A query may go out with the AAAA query. */
	if (dns64 && qi.q.qtype == DNS_TYPE_AAAA && sec->parallel &&
	    (q->pa = calloc(1, sizeof(*q->pa))) != NULL) {
		q->pa->q = q;
		q->pa->state = PA_PENDING;
		if (query_ask_on(q, &q->pa->x, query_pa_done, q->qi.q.name,
		    q->qi.q.name_len, DNS_TYPE_A, false) < 0) {
			free(q->pa);
			q->pa = NULL;
		}
	}
}
