/*
 * worker.c: see worker.h.
 */
#include "acconfig.h"

#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "log.h"
#include "worker.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

static void	worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents);

/* Before the loop blocks: the UDP answers of this pass leave together. */
static void
worker_flush_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct proxy	*px = container_of(p, struct proxy, flush);
	size_t		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < px->nlisteners; i++)
		listen_udp_flush(px->listeners[i]);
}

int
worker_init(struct worker *w, unsigned index, const struct config *c,
    unsigned max_inflight, unsigned max_tcp, size_t pool_sockets)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	if (index == 0)
		w->px.loop = ev_default_loop(EVFLAG_AUTO);
	else
		w->px.loop = ev_loop_new(EVFLAG_AUTO);
	if (w->px.loop == NULL)
		return -1;
	if ((w->px.cfg = cfgref_new(c)) == NULL)
		return -1;
	if ((w->px.pool = upstream_pool_new(w->px.loop, &w->px.stats,
	    pool_sockets)) == NULL)
		return -1;
	if (c->cache_entries > 0 &&
	    (w->px.cache = cache_new(c->cache_entries)) == NULL)
		return -1;
	w->px.max_inflight = max_inflight;
	w->px.max_tcp = max_tcp;
	pthread_mutex_init(&w->lock, NULL);
	ev_async_init(&w->wake, worker_wake_cb);
	ev_async_start(w->px.loop, &w->wake);
	ev_prepare_init(&w->px.flush, worker_flush_cb);
	ev_prepare_start(w->px.loop, &w->px.flush);
	ev_unref(w->px.loop);	/* the flush alone keeps no loop alive */
	return 0;
}

void
worker_add_listeners(struct worker *w, struct listener **l, size_t n)
{
	struct proxy	*px = &w->px;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (px->nlisteners >= CONFIG_MAX_LISTEN) {
			listener_close(l[i]);
			free(l[i]);
			continue;
		}
		px->listeners[px->nlisteners++] = l[i];
		listen_udp_start(l[i], px);
		listen_tcp_start(l[i], px);
		if (px->stopping)
			listener_stop(l[i]);
	}
}

/* Close and forget the listener on ss, if this worker has one. */
static void
worker_del_listener(struct worker *w, const struct sockaddr_storage *ss)
{
	struct proxy	*px = &w->px;
	size_t		 i;

	for (i = 0; i < px->nlisteners; i++) {
		if (!addr_equal((const struct sockaddr *)&px->listeners[i]->addr,
		    (const struct sockaddr *)ss))
			continue;
		listener_drop(px->listeners[i]);
		px->listeners[i] = px->listeners[--px->nlisteners];
		return;
	}
}

static void
worker_stop_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct proxy	*px = container_of(t, struct proxy, stop_timer);

	(void)revents;
	log_warnx("drain deadline: %u queries still in flight, %u TCP "
	    "clients with answers unwritten", px->ninflight,
	    listen_tcp_unsent(px));
	ev_break(loop, EVBREAK_ALL);
}

void
worker_stop(struct worker *w)
{
	struct proxy	*px = &w->px;
	size_t		 i;

	if (px->stopping)
		return;
	px->stopping = true;
	for (i = 0; i < px->nlisteners; i++)
		listener_stop(px->listeners[i]);
	listen_tcp_stop(px);
	if (px->ninflight == 0 && listen_tcp_unsent(px) == 0) {
		ev_break(px->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&px->stop_timer, worker_stop_timer_cb,
	    query_drain_time(px), 0.);
	ev_timer_start(px->loop, &px->stop_timer);
}

/* Take what the mailbox holds and act on it, on the worker's thread. */
static void
worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker	*w = container_of(a, struct worker, wake);
	struct listener	*add[CONFIG_MAX_LISTEN];
	struct sockaddr_storage del[CONFIG_MAX_LISTEN];
	struct cfgref	*cfg;
	size_t		 nadd, ndel, i;
	bool		 stop, flush;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&w->lock);
	cfg = w->mb_cfg;
	w->mb_cfg = NULL;
	nadd = w->mb_nadd;
	memcpy(add, w->mb_add, nadd * sizeof(add[0]));
	w->mb_nadd = 0;
	ndel = w->mb_ndel;
	memcpy(del, w->mb_del, ndel * sizeof(del[0]));
	w->mb_ndel = 0;
	stop = w->mb_stop;
	flush = w->mb_flush;
	w->mb_flush = false;
	pthread_mutex_unlock(&w->lock);

	if (cfg != NULL) {
		/* Sections may have moved: the cache starts afresh. */
		if (cfg->c.cache_entries != w->px.cfg->c.cache_entries) {
			cache_free(w->px.cache);
			w->px.cache = cfg->c.cache_entries > 0 ?
			    cache_new(cfg->c.cache_entries) : NULL;
			if (cfg->c.cache_entries > 0 && w->px.cache == NULL)
				log_warnx("reload: no memory for the cache");
		} else
			cache_flush(w->px.cache);
		cfgref_put(w->px.cfg);
		w->px.cfg = cfg;
	} else if (flush)
		cache_flush(w->px.cache);
	for (i = 0; i < ndel; i++)
		worker_del_listener(w, &del[i]);
	worker_add_listeners(w, add, nadd);
	if (stop)
		worker_stop(w);
}

void
worker_post(struct worker *w, struct cfgref *cfg, struct listener **add,
    size_t nadd, const struct sockaddr_storage *del, size_t ndel, bool stop)
{
	size_t	 i;

	pthread_mutex_lock(&w->lock);
	if (cfg != NULL) {
		cfgref_put(w->mb_cfg);
		w->mb_cfg = cfg;
	}
	for (i = 0; i < nadd && w->mb_nadd < CONFIG_MAX_LISTEN; i++)
		w->mb_add[w->mb_nadd++] = add[i];
	for (i = 0; i < ndel && w->mb_ndel < CONFIG_MAX_LISTEN; i++)
		w->mb_del[w->mb_ndel++] = del[i];
	w->mb_stop = w->mb_stop || stop;
	pthread_mutex_unlock(&w->lock);
	ev_async_send(w->px.loop, &w->wake);
}

void
worker_flush_cache(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->mb_flush = true;
	pthread_mutex_unlock(&w->lock);
	ev_async_send(w->px.loop, &w->wake);
}

/* On the worker's thread, its loop returned: free its queries. */
static void
worker_queries_free(struct worker *w)
{
	query_free_all(&w->px);
	query_spares_free();
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	ev_run(w->px.loop, 0);
	worker_queries_free(w);
	return NULL;
}

int
worker_spawn(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->threaded = true;
	return 0;
}

void
worker_finish(struct worker *w)
{
	size_t	 i;

	if (w->threaded)
		pthread_join(w->thread, NULL);
	else
		worker_queries_free(w);
	listen_tcp_free_all(&w->px);
	for (i = 0; i < w->px.nlisteners; i++) {
		listener_close(w->px.listeners[i]);
		free(w->px.listeners[i]);
	}
	w->px.nlisteners = 0;
	for (i = 0; i < w->mb_nadd; i++) {
		listener_close(w->mb_add[i]);
		free(w->mb_add[i]);
	}
	cfgref_put(w->mb_cfg);
	cfgref_put(w->px.cfg);
	cache_free(w->px.cache);
	upstream_pool_free(w->px.pool);
	ev_ref(w->px.loop);
	ev_prepare_stop(w->px.loop, &w->px.flush);
	ev_async_stop(w->px.loop, &w->wake);
	if (w->index != 0)
		ev_loop_destroy(w->px.loop);
	pthread_mutex_destroy(&w->lock);
}
