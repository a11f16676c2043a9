/*
 * stats_http.c: the [stats] listener, a tiny HTTP/1.1 responder serving
 * the counters at /metrics (Prometheus text format 0.0.4).
 *
 * Each connection goes through three states, advanced by one callback
 * (several in one call when the socket allows):
 *
 *   READ   the request head, at most STATS_HTTP_MAX_HEAD bytes, within
 *          STATS_HTTP_TIMEOUT (then 408); parsed by stats.c
 *   WRITE  the whole answer, within STATS_HTTP_TIMEOUT
 *   DRAIN  our side shut down; read and discard what the client still
 *          sends until it closes (at most HTTP_DRAIN_MAX bytes for
 *          HTTP_LINGER seconds), so that closing with unread data does
 *          not reset the connection under an answer not yet read
 *
 * then the connection is closed.  The accept watcher takes at most
 * STATS_HTTP_MAX_CONN connections; more are closed at once.  All sockets
 * are nonblocking and nothing here waits, so the DNS path on the same loop
 * never stalls behind a slow scraper.
 */
#include "acconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "stats.h"
#include "stats_http.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define HTTP_LINGER		1.0	/* seconds of DRAIN */
#define HTTP_DRAIN_MAX		(64 * 1024)
#define HTTP_ACCEPT_PAUSE	1.0	/* after EMFILE and friends */
#define HTTP_ACCEPT_BATCH	16	/* accept() calls per wakeup */
#define HTTP_BODY_MAX		(1024 * 1024)
#define HTTP_HEAD_ROOM		256	/* the status line and headers */

enum http_state { HTTP_READ, HTTP_WRITE, HTTP_DRAIN };

/* What a step of a state asks for next. */
enum http_step { STEP_NEXT, STEP_WAIT_READ, STEP_WAIT_WRITE, STEP_CLOSE };

struct stats_http;

struct http_conn {
	struct stats_http *h;
	struct http_conn *prev, *next;
	int		 fd;
	enum http_state	 state;
	ev_io		 io;
	ev_timer	 timer;
	char		*out;		/* the answer; out[off..len) unsent */
	size_t		 outoff;
	size_t		 outlen;
	size_t		 drained;
	size_t		 inlen;
	char		 in[STATS_HTTP_MAX_HEAD];
};

struct stats_http {
	struct ev_loop	*loop;
	int		 fd;
	ev_io		 accept_io;
	ev_timer	 accept_pause;
	stats_collect_fn collect;
	void		*arg;
	struct http_conn *conns;
	unsigned	 nconns;
};

/* ---------------------------------------------------------------- */
/* The listening socket                                              */
/* ---------------------------------------------------------------- */

int
stats_http_bind(const struct sockaddr_storage *addr)
{
	int	 fd, on = 1, saved;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	if (addr->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)addr,
	    addr_len((const struct sockaddr *)addr)) < 0)
		goto fail;
	if (listen(fd, STATS_HTTP_MAX_CONN) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* ---------------------------------------------------------------- */
/* Building answers                                                  */
/* ---------------------------------------------------------------- */

static const char *
status_text(int status)
{
	switch (status) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 408:	return "Request Timeout";
	default:	return "Internal Server Error";
	}
}

/*
 * The status line and headers of an answer with a body of blen bytes
 * into head (HTTP_HEAD_ROOM bytes); their length.
 */
static size_t
http_head(char *head, int status, const char *ctype, size_t blen)
{
	int	 n;

	n = snprintf(head, HTTP_HEAD_ROOM,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n", status, status_text(status), ctype, blen,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || n >= HTTP_HEAD_ROOM)
		return 0;		/* cannot happen: the texts are ours */
	return (size_t)n;
}

/*
 * Put the answer to a request with this status into c->out: the counters
 * for 200, a one-line text otherwise; the body left out for HEAD.  false
 * on allocation failure.
 */
static bool
http_answer(struct http_conn *c, int status, bool head_only)
{
	struct stats	 sum;
	char		 head[HTTP_HEAD_ROOM];
	const char	*ctype = "text/plain; charset=utf-8";
	char		*out = NULL;
	size_t		 cap, blen = 0, hlen;

	if (status == 200) {
		memset(&sum, 0, sizeof(sum));
		c->h->collect(c->h->arg, &sum);
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		/* The body goes after HTTP_HEAD_ROOM, the head before it. */
		for (cap = 8192; blen == 0 && cap <= HTTP_BODY_MAX; cap *= 2) {
			free(out);
			if ((out = malloc(HTTP_HEAD_ROOM + cap)) == NULL)
				return false;
			blen = stats_format_prometheus(&sum,
			    out + HTTP_HEAD_ROOM, cap);
		}
		if (blen == 0)
			status = 500;	/* cannot happen: the text is bounded */
	}
	if (status != 200) {
		char	 text[64];

		free(out);
		snprintf(text, sizeof(text), "%d %s\n", status,
		    status_text(status));
		blen = strlen(text);
		if ((out = malloc(HTTP_HEAD_ROOM + blen)) == NULL)
			return false;
		memcpy(out + HTTP_HEAD_ROOM, text, blen);
	}
	hlen = http_head(head, status, ctype, blen);
	memcpy(out + HTTP_HEAD_ROOM - hlen, head, hlen);
	c->out = out;
	c->outoff = HTTP_HEAD_ROOM - hlen;
	c->outlen = HTTP_HEAD_ROOM + (head_only ? 0 : blen);
	return true;
}

/* ---------------------------------------------------------------- */
/* Connections                                                       */
/* ---------------------------------------------------------------- */

static void	http_io_cb(struct ev_loop *, ev_io *, int);
static void	http_timer_cb(struct ev_loop *, ev_timer *, int);

/* (Re)arm the connection's timer to fire `after` seconds from now. */
static void
http_timer(struct http_conn *c, double after)
{
	ev_timer_stop(c->h->loop, &c->timer);
	ev_timer_set(&c->timer, after, 0.);
	ev_timer_start(c->h->loop, &c->timer);
}

/* Wait for the socket to become readable or writable. */
static void
http_watch(struct http_conn *c, int events)
{
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) ==
	    events)
		return;
	ev_io_stop(c->h->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->h->loop, &c->io);
}

/* Close the connection and free it; c is gone afterwards. */
static void
http_close(struct http_conn *c)
{
	struct stats_http *h = c->h;

	ev_io_stop(h->loop, &c->io);
	ev_timer_stop(h->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	free(c->out);
	free(c);
}

/* READ: take what the socket has; answer once the head is complete. */
static enum http_step
http_read(struct http_conn *c)
{
	enum stats_http_req req;
	char		 path[1024];
	ssize_t		 n;
	int		 status;

	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? STEP_WAIT_READ : STEP_CLOSE;
	if (n == 0)
		return STEP_CLOSE;	/* gone before asking */
	c->inlen += (size_t)n;
	req = stats_http_parse_request(c->in, c->inlen, path, sizeof(path));
	if (req == STATS_HTTP_INCOMPLETE) {
		if (c->inlen < sizeof(c->in))
			return STEP_NEXT;	/* read until EAGAIN */
		req = STATS_HTTP_MALFORMED;	/* head too large */
	}
	status = stats_http_status(req, path);
	if (status != 200)
		log_debug("stats: %d for a request of %zu bytes", status,
		    c->inlen);
	if (!http_answer(c, status, req == STATS_HTTP_HEAD))
		return STEP_CLOSE;
	c->state = HTTP_WRITE;
	http_timer(c, STATS_HTTP_TIMEOUT);
	return STEP_NEXT;
}

/* WRITE: send what the socket takes; then shut our side down. */
static enum http_step
http_write(struct http_conn *c)
{
	ssize_t	 n;

	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EINTR)
			return STEP_NEXT;
		return errno == EAGAIN || errno == EWOULDBLOCK ?
		    STEP_WAIT_WRITE : STEP_CLOSE;
	}
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return STEP_NEXT;
	free(c->out);
	c->out = NULL;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return STEP_CLOSE;
	c->state = HTTP_DRAIN;
	http_timer(c, HTTP_LINGER);
	return STEP_NEXT;
}

/* DRAIN: discard the client's bytes until it closes. */
static enum http_step
http_drain(struct http_conn *c)
{
	char	 buf[1024];
	ssize_t	 n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR ? STEP_WAIT_READ : STEP_CLOSE;
	if (n == 0)
		return STEP_CLOSE;	/* the client has closed: done */
	c->drained += (size_t)n;
	return c->drained > HTTP_DRAIN_MAX ? STEP_CLOSE : STEP_NEXT;
}

/* Advance the connection as far as the socket allows. */
static void
http_advance(struct http_conn *c)
{
	enum http_step	 step;

	for (;;) {
		switch (c->state) {
		case HTTP_READ:
			step = http_read(c);
			break;
		case HTTP_WRITE:
			step = http_write(c);
			break;
		case HTTP_DRAIN:
		default:
			step = http_drain(c);
			break;
		}
		switch (step) {
		case STEP_NEXT:
			continue;
		case STEP_WAIT_READ:
			http_watch(c, EV_READ);
			return;
		case STEP_WAIT_WRITE:
			http_watch(c, EV_WRITE);
			return;
		case STEP_CLOSE:
		default:
			http_close(c);
			return;
		}
	}
}

static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	http_advance(container_of(w, struct http_conn, io));
}

/* Too slow: a 408 if the head never came (one try), then close. */
static void
http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn *c = container_of(w, struct http_conn, timer);
	char		 head[HTTP_HEAD_ROOM];
	size_t		 n;
	ssize_t		 sent;

	(void)loop;
	(void)revents;
	if (c->state == HTTP_READ) {
		n = http_head(head, 408, "text/plain; charset=utf-8", 0);
		sent = send(c->fd, head, n, MSG_NOSIGNAL);
		(void)sent;		/* best effort */
	}
	http_close(c);
}

/* ---------------------------------------------------------------- */
/* Accepting                                                         */
/* ---------------------------------------------------------------- */

/* Start serving a new connection; fd is closed when that fails. */
static void
http_conn_new(struct stats_http *h, int fd)
{
	struct http_conn *c;

	if (h->nconns >= STATS_HTTP_MAX_CONN ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->h = h;
	c->fd = fd;
	c->state = HTTP_READ;
	ev_io_init(&c->io, http_io_cb, fd, EV_READ);
	ev_timer_init(&c->timer, http_timer_cb, STATS_HTTP_TIMEOUT, 0.);
	ev_io_start(h->loop, &c->io);
	ev_timer_start(h->loop, &c->timer);
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
}

static void
http_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stats_http *h = container_of(w, struct stats_http, accept_io);
	int		 i, fd;

	(void)revents;
	for (i = 0; i < HTTP_ACCEPT_BATCH; i++) {
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			http_conn_new(h, fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* libev: accept()ing when you can't.  Try later. */
			log_warn("stats: accept");
			ev_io_stop(loop, &h->accept_io);
			ev_timer_start(loop, &h->accept_pause);
			return;
		default:
			/* ECONNABORTED, EINTR, and network errors that
			 * Linux reports on the new socket: the next one. */
			continue;
		}
	}
}

static void
http_accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stats_http *h = container_of(w, struct stats_http,
	    accept_pause);

	(void)revents;
	ev_io_start(loop, &h->accept_io);
}

struct stats_http *
stats_http_start(struct ev_loop *loop, int fd, stats_collect_fn collect,
    void *arg)
{
	struct stats_http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->loop = loop;
	h->fd = fd;
	h->collect = collect;
	h->arg = arg;
	ev_io_init(&h->accept_io, http_accept_cb, fd, EV_READ);
	ev_timer_init(&h->accept_pause, http_accept_pause_cb,
	    HTTP_ACCEPT_PAUSE, 0.);
	ev_io_start(loop, &h->accept_io);
	return h;
}

void
stats_http_stop(struct stats_http *h)
{
	if (h == NULL)
		return;
	ev_io_stop(h->loop, &h->accept_io);
	ev_timer_stop(h->loop, &h->accept_pause);
	while (h->conns != NULL)
		http_close(h->conns);
	close(h->fd);
	free(h);
}
