/*
 * stats_http.h: the [stats] listener, a tiny HTTP/1.1 responder on a
 * libev loop that serves the counters at /metrics in the Prometheus text
 * format.
 *
 * One request per connection, always answered with Connection: close:
 * GET or HEAD of /metrics (a query string is ignored) gives 200, any other
 * path 404, any other method 405, a malformed head 400.  Bounded: at most
 * STATS_HTTP_MAX_CONN connections (more are closed at once), a request
 * head of at most STATS_HTTP_MAX_HEAD bytes, STATS_HTTP_TIMEOUT seconds to
 * send it and as many to read the answer.  Nothing blocks the loop.
 */
#ifndef DNS64PROXY_STATS_HTTP_H
#define DNS64PROXY_STATS_HTTP_H

#include <sys/socket.h>
#include <ev.h>

#include "stats.h"

#define STATS_HTTP_MAX_CONN	16
#define STATS_HTTP_MAX_HEAD	4096
#define STATS_HTTP_TIMEOUT	5.0

struct stats_http;

/*
 * A TCP listening socket on addr: nonblocking, close-on-exec,
 * SO_REUSEADDR, IPV6_V6ONLY for IPv6.  The fd, or -1 with errno set (the
 * caller logs).  Call it before dropping privileges.
 */
int	stats_http_bind(const struct sockaddr_storage *addr);

/* Fill *sum with the counters to serve, at the time of each request. */
typedef void (*stats_collect_fn)(void *arg, struct stats *sum);

/*
 * Serve /metrics on the listening socket fd from loop; collect(arg, &sum)
 * is called on that loop once per 200 answer (HEAD included).  The
 * responder owns fd from here on; on allocation failure it returns NULL
 * and the caller keeps fd.
 */
struct stats_http *stats_http_start(struct ev_loop *loop, int fd,
	    stats_collect_fn collect, void *arg);
/* Stop the watchers, close the listener and every connection, free all.
 * NULL is a no-op. */
void	stats_http_stop(struct stats_http *h);

#endif /* DNS64PROXY_STATS_HTTP_H */
