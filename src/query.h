/*
 * query.h: the life of one client query, from admission to answer.
 *
 * A query is a small state machine: it waits for the forwarded answer
 * (MAIN), then possibly for the follow-up A query (WAIT_A) or, for a
 * mapped PTR, for the in-addr.arpa answer (WAIT_PTR).  It owns copies of
 * everything it needs, holds a reference on the configuration it was
 * admitted under, and is freed as the last step of answering.
 */
#ifndef DNS64PROXY_QUERY_H
#define DNS64PROXY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <ev.h>

#include "config.h"
#include "listener.h"
#include "msg.h"
#include "stats.h"
#include "upstream.h"

/* A configuration shared by the queries admitted under it. */
struct cfgref {
	unsigned	refs;
	struct config	c;
};

struct cfgref	*cfgref_new(const struct config *c);
void		 cfgref_put(struct cfgref *r);

struct query;
struct tcp_conn;

/* One worker: an event loop, its listeners and its queries. */
struct proxy {
	struct ev_loop	*loop;
	struct cfgref	*cfg;		/* current configuration */
	struct listener	*listeners[CONFIG_MAX_LISTEN];
	size_t		 nlisteners;
	struct query	*queries;	/* in flight, doubly linked */
	unsigned	 ninflight;
	unsigned	 max_inflight;
	unsigned	 ntcp;		/* open TCP client connections */
	struct tcp_conn	*tcp_conns;	/* all not yet freed, doubly linked */
	unsigned	 max_tcp;
	bool		 stopping;
	struct stats	 stats;
	struct cache	*cache;		/* NULL: [cache] entries = 0 */
	struct upstream_pool *pool;	/* UDP sockets to the upstreams */
	ev_timer	 stop_timer;	/* bounds the drain on shutdown */
	ev_prepare	 flush;		/* sends queued UDP answers */
};

/*
 * Take a packet from a client (UDP datagram or one TCP message).  Answers
 * at once (FORMERR, NOTIMP, REFUSED, local answers) or starts a query;
 * drops what deserves no answer.  The caller keeps pkt.
 */
void	query_handle(struct proxy *px, struct responder *r,
	    const struct sockaddr *client, const uint8_t *pkt, size_t len);

/*
 * Stopping, is there nothing left to do: no query in flight, no answer
 * still to be written to a TCP client?  Then the loop is broken.
 */
void	proxy_stop_if_done(struct proxy *px);

/*
 * The longest a query can live under c: three exchanges with the
 * upstream (AAAA, then A, then A again over TCP when that answer came
 * truncated), each of attempts times timeout, and a second of slack.
 */
double	query_life(const struct config *c);

/*
 * How long the drain after SIGTERM may take: query_life() of the running
 * configuration or of the older one a query in flight started under,
 * whichever is longest.
 */
double	query_drain_time(const struct proxy *px);

/*
 * Free the queries still in flight, past the drain's bound: on the
 * worker's thread, once its loop has returned.
 */
void	query_free_all(struct proxy *px);

/* Queries in flight on px. */
unsigned query_inflight(const struct proxy *px);
/* Free the spare query objects kept by this thread (at worker exit). */
void	query_spares_free(void);

#endif /* DNS64PROXY_QUERY_H */
