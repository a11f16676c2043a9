/*
 * worker.h: event-loop workers.  Worker 0 runs on the main thread's
 * default loop (which also takes the signals); workers 1..N-1 run each on
 * a thread of their own with their own loop, listeners (SO_REUSEPORT
 * sockets on the same addresses), queries and counters.  Nothing on the
 * query path is shared between workers.
 *
 * The main thread talks to a worker only through its mailbox: a new
 * configuration, listeners to start or to close, or the order to stop.
 * The mailbox lock is taken on those rare events, never per query.
 */
#ifndef DNS64PROXY_WORKER_H
#define DNS64PROXY_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <ev.h>

#include "config.h"
#include "listener.h"
#include "query.h"

struct worker {
	struct proxy	 px;
	unsigned	 index;
	bool		 threaded;
	pthread_t	 thread;
	ev_async	 wake;
	pthread_mutex_t	 lock;
	/* The mailbox, under lock. */
	struct cfgref	*mb_cfg;
	struct listener	*mb_add[CONFIG_MAX_LISTEN];
	size_t		 mb_nadd;
	struct sockaddr_storage mb_del[CONFIG_MAX_LISTEN];
	size_t		 mb_ndel;
	bool		 mb_stop;
	bool		 mb_flush;	/* empty the cache */
};

/* Set up worker index with its own copy of c.  0 / -1. */
int	worker_init(struct worker *w, unsigned index, const struct config *c,
	    unsigned max_inflight, unsigned max_tcp, size_t pool_sockets);
/* Start listeners l[0..n) at once (before the loop runs). */
void	worker_add_listeners(struct worker *w, struct listener **l, size_t n);
/* Run a worker > 0 on a thread of its own.  0 / -1. */
int	worker_spawn(struct worker *w);
/*
 * Post to a worker: a new configuration (taken over; NULL for none),
 * listeners to start (taken over), addresses whose listeners to close,
 * and/or the order to stop.  Safe from any thread.
 */
void	worker_post(struct worker *w, struct cfgref *cfg, struct listener **add,
	    size_t nadd, const struct sockaddr_storage *del, size_t ndel,
	    bool stop);
/*
 * Post to a worker the order to empty its cache (a reload does that too).
 * Safe from any thread.
 */
void	worker_flush_cache(struct worker *w);
/* Stop taking queries and break the loop once those in flight are done
 * (bounded by two full query lifetimes).  On the worker's own thread. */
void	worker_stop(struct worker *w);
/* Wait for a threaded worker to end, then free what it holds. */
void	worker_finish(struct worker *w);

#endif /* DNS64PROXY_WORKER_H */
