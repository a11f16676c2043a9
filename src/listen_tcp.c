/*
 * listen_tcp.c: the TCP transport (RFC 7766): accept, read two-byte framed
 * queries (several may be pipelined), write framed answers in any order.
 *
 * Bounded: at most px->max_tcp connections (the accept watchers stop at the
 * cap), TCP_MAX_PENDING queries in flight per connection (reading pauses),
 * TCP_IDLE seconds without a query, a query in flight or answers being
 * read, and TCP_MAX_OUT bytes of answers a client has not read.  A client
 * that closes its side (half-close) still gets the answers to the queries
 * it sent.
 */
#include "acconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "query.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define TCP_IDLE	10.0
#define TCP_STOP_IDLE	1.0	/* stopping: a second without progress */
#define TCP_MAX_PENDING	32
#define TCP_MAX_OUT	(256 * 1024)

struct tcp_conn {
	struct proxy	*px;
	struct tcp_conn	*prev, *next;	/* px->tcp_conns */
	int		 fd;
	ev_io		 rio;
	ev_io		 wio;
	ev_timer	 idle;
	struct responder r;
	unsigned	 pending;	/* queries holding r */
	bool		 closed;	/* fd gone; freed at pending == 0 */
	bool		 eof;		/* the client sends no more */
	bool		 fin;		/* stopping: our side shut down */
	bool		 wrote;		/* answer bytes taken since the last
					 * idle tick */
	struct sockaddr_storage peer;
	uint8_t		 lenbuf[2];
	size_t		 rhave;		/* bytes of length + message read */
	size_t		 need;		/* message length */
	uint8_t		*msg;
	uint8_t		*out;		/* framed answers not yet written */
	size_t		 outlen;
	size_t		 outcap;
};

static void	tcp_close(struct tcp_conn *c);
static void	tcp_linger(struct tcp_conn *c);

static __thread ev_timer accept_pause;	/* after EMFILE */
static __thread bool	 accept_pause_init;
static __thread struct proxy *accept_pause_px;

/* Free a connection whose fd is closed and that no query holds. */
static void
tcp_free(struct tcp_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->px->tcp_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->msg);
	free(c->out);
	free(c);
}

/* Start or stop the accept watchers of every listener. */
static void
tcp_accepting(struct proxy *px, bool on)
{
	size_t	 i;

	for (i = 0; i < px->nlisteners; i++) {
		struct listener *l = px->listeners[i];

		if (l->px == NULL || l->tcp_fd < 0)
			continue;
		if (on)
			ev_io_start(px->loop, &l->tcp_io);
		else
			ev_io_stop(px->loop, &l->tcp_io);
	}
}

void
listen_tcp_resume(struct proxy *px)
{
	if (!px->stopping && px->ntcp < px->max_tcp &&
	    !(accept_pause_init && ev_is_active(&accept_pause)))
		tcp_accepting(px, true);
}

static void
tcp_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_conn	*c = container_of(w, struct tcp_conn, wio);
	ssize_t		 n;

	(void)revents;
	n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		tcp_close(c);
		return;
	}
	memmove(c->out, c->out + n, c->outlen - (size_t)n);
	c->outlen -= (size_t)n;
	if (n > 0)
		c->wrote = true;
	if (c->outlen == 0) {
		ev_io_stop(loop, &c->wio);
		if (c->eof && c->pending == 0)
			tcp_close(c);
		else if (c->px->stopping) {
			if (c->pending == 0)
				tcp_linger(c);
			proxy_stop_if_done(c->px);
		}
	}
}

/* Queue a framed answer; write what the socket takes now. */
static void
tcp_respond(struct responder *r, const struct sockaddr *client,
    const uint8_t *pkt, size_t len)
{
	struct tcp_conn	*c = container_of(r, struct tcp_conn, r);
	size_t		 want;

	(void)client;
	if (c->closed || len > 0xffff)
		return;
	want = c->outlen + 2 + len;
	if (want > TCP_MAX_OUT) {
		log_debug("tcp client does not read its answers: closing");
		tcp_close(c);
		return;
	}
	if (want > c->outcap) {
		size_t	 cap = want < 4096 ? 4096 : want;
		uint8_t	*p = realloc(c->out, cap);

		if (p == NULL)
			return;		/* the client times out and retries */
		c->out = p;
		c->outcap = cap;
	}
	wire_set_u16(c->out + c->outlen, (uint16_t)len);
	memcpy(c->out + c->outlen + 2, pkt, len);
	c->outlen += 2 + len;
	ev_io_start(c->px->loop, &c->wio);
	tcp_write_cb(c->px->loop, &c->wio, EV_WRITE);
}

static void
tcp_hold(struct responder *r)
{
	struct tcp_conn	*c = container_of(r, struct tcp_conn, r);

	c->pending++;
	if (c->pending >= TCP_MAX_PENDING)
		ev_io_stop(c->px->loop, &c->rio);
}

static void
tcp_release(struct responder *r)
{
	struct tcp_conn	*c = container_of(r, struct tcp_conn, r);

	c->pending--;
	if (c->closed) {
		if (c->pending == 0)
			tcp_free(c);
		return;
	}
	if (c->eof) {
		if (c->pending == 0 && c->outlen == 0)
			tcp_close(c);
		return;
	}
	if (c->px->stopping) {
		if (c->pending == 0 && c->outlen == 0)
			tcp_linger(c);
		return;
	}
	if (c->pending < TCP_MAX_PENDING)
		ev_io_start(c->px->loop, &c->rio);
	ev_timer_again(c->px->loop, &c->idle);
}

/*
 * Read and drop what the client sent that will not be served (bounded):
 * unread bytes would turn the close into a RST, which can take the last
 * answers with it.  The last recv() result.
 */
static ssize_t
tcp_drain(struct tcp_conn *c)
{
	uint8_t	 junk[4096];
	ssize_t	 n = -1;
	int	 i;

	for (i = 0; i < 16; i++)
		if ((n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT)) <= 0)
			break;
	return n;
}

/* Stop everything that would call back for c. */
static void
tcp_unwatch(struct tcp_conn *c)
{
	struct ev_loop	*loop = c->px->loop;

	ev_io_stop(loop, &c->rio);
	ev_io_stop(loop, &c->wio);
	ev_timer_stop(loop, &c->idle);
}

/* Close the socket; the memory goes when the last query lets go. */
static void
tcp_close(struct tcp_conn *c)
{
	struct proxy	*px = c->px;

	if (c->closed)
		return;
	tcp_unwatch(c);
	if (c->eof)
		(void)tcp_drain(c);
	close(c->fd);
	c->fd = -1;
	c->closed = true;
	px->ntcp--;
	listen_tcp_resume(px);
	if (c->pending == 0)
		tcp_free(c);
	proxy_stop_if_done(px);
}

/*
 * Stopping, and nothing left to answer: send our FIN after the answers,
 * then read and drop what the client still sends until it closes too
 * (or for TCP_STOP_IDLE): closing at once would answer its next bytes
 * with a RST, which can cost it answers it has not read yet.  Holds no
 * drain: the process may exit meanwhile.
 */
static void
tcp_linger(struct tcp_conn *c)
{
	if (c->closed || c->fin)
		return;
	c->fin = true;
	c->eof = true;		/* no more queries; tcp_close() drains */
	(void)shutdown(c->fd, SHUT_WR);
	ev_io_start(c->px->loop, &c->rio);
	c->idle.repeat = TCP_STOP_IDLE;
	ev_timer_again(c->px->loop, &c->idle);
}

static void
tcp_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp_conn	*c = container_of(w, struct tcp_conn, idle);

	(void)loop;
	(void)revents;
	/*
	 * Queries in flight end within the upstream timeouts; answers
	 * waiting must be read, some of them, every TCP_IDLE seconds: a
	 * client that reads nothing is idle and loses its slot.
	 */
	if (c->pending > 0 || (c->outlen > 0 && c->wrote)) {
		c->wrote = false;
		ev_timer_again(loop, &c->idle);
		return;
	}
	if (c->outlen > 0)
		log_debug("tcp client reads none of its answers%s: closing",
		    c->px->stopping ? " while stopping" : "");
	tcp_close(c);
}

static void
tcp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_conn	*c = container_of(w, struct tcp_conn, rio);
	ssize_t		 n;

	(void)revents;
	/*
	 * Stopping (SIGTERM): no new queries, those in flight are answered,
	 * as if the client had closed its side.
	 */
	if (c->px->stopping) {
		n = tcp_drain(c);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* the client is done too: no more to wait for */
			ev_io_stop(loop, &c->rio);
			c->eof = true;
			if (c->pending == 0 && c->outlen == 0)
				tcp_close(c);
			return;
		}
		if (c->pending == 0 && c->outlen == 0)
			tcp_linger(c);
		return;
	}
	if (c->rhave < 2) {
		n = recv(c->fd, c->lenbuf + c->rhave, 2 - c->rhave, 0);
		if (n <= 0)
			goto eof;
		c->rhave += (size_t)n;
		if (c->rhave < 2)
			return;
		c->need = wire_get_u16(c->lenbuf);
		if (c->need < DNS_HDR_LEN) {
			log_debug("tcp: message of %zu bytes: closing", c->need);
			tcp_close(c);
			return;
		}
		if ((c->msg = malloc(c->need)) == NULL) {
			tcp_close(c);
			return;
		}
	}
	n = recv(c->fd, c->msg + (c->rhave - 2), c->need - (c->rhave - 2), 0);
	if (n <= 0)
		goto eof;
	c->rhave += (size_t)n;
	if (c->rhave - 2 < c->need)
		return;
	ev_timer_again(loop, &c->idle);
	{
		uint8_t	*msg = c->msg;
		size_t	 len = c->need;

		c->msg = NULL;
		c->rhave = 0;
		c->need = 0;
		/* The connection may be closed while handling: hold it. */
		c->pending++;
		query_handle(c->px, &c->r, (struct sockaddr *)&c->peer, msg,
		    len);
		free(msg);
		tcp_release(&c->r);
	}
	return;
eof:
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/*
	 * The client closed its side: it sends no more, but the queries it
	 * sent are answered, and then the connection is closed.  A query
	 * cut short is dropped.
	 */
	if (n == 0 && (c->pending > 0 || c->outlen > 0)) {
		c->eof = true;
		ev_io_stop(loop, &c->rio);
		return;
	}
	tcp_close(c);
}

static void
accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	listen_tcp_resume(accept_pause_px);
}

static void
tcp_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener	*l = container_of(w, struct listener, tcp_io);
	struct proxy	*px = l->px;
	struct tcp_conn	*c;
	struct sockaddr_storage peer;
	socklen_t	 plen;
	int		 fd, i;

	(void)revents;
	for (i = 0; i < 16; i++) {
		if (px->ntcp >= px->max_tcp) {
			log_warnx("%u TCP connections: the limit; not "
			    "accepting until one closes", px->ntcp);
			tcp_accepting(px, false);
			return;
		}
		plen = sizeof(peer);
		fd = accept4(l->tcp_fd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* libev: accept()ing when you can't. */
				log_warn("accept");
				if (!accept_pause_init) {
					ev_timer_init(&accept_pause,
					    accept_pause_cb, 1.0, 0.);
					accept_pause_init = true;
				}
				accept_pause_px = px;
				tcp_accepting(px, false);
				ev_timer_set(&accept_pause, 1.0, 0.);
				ev_timer_start(loop, &accept_pause);
			}
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		c->px = px;
		c->fd = fd;
		c->next = px->tcp_conns;
		if (c->next != NULL)
			c->next->prev = c;
		px->tcp_conns = c;
		c->peer = peer;
		c->r.respond = tcp_respond;
		c->r.hold = tcp_hold;
		c->r.release = tcp_release;
		c->r.tcp = true;
		px->ntcp++;
		ev_io_init(&c->rio, tcp_read_cb, fd, EV_READ);
		ev_io_init(&c->wio, tcp_write_cb, fd, EV_WRITE);
		ev_init(&c->idle, tcp_idle_cb);
		c->idle.repeat = TCP_IDLE;
		ev_timer_again(loop, &c->idle);
		ev_io_start(loop, &c->rio);
	}
}

void
listen_tcp_stop(struct proxy *px)
{
	struct tcp_conn	*c, *next;

	for (c = px->tcp_conns; c != NULL; c = next) {
		next = c->next;
		if (c->closed)
			continue;
		if (c->pending == 0 && c->outlen == 0) {
			tcp_linger(c);
			continue;
		}
		/* the drain waits for a client that reads, not for one that
		 * does not: see tcp_idle_cb */
		c->idle.repeat = TCP_STOP_IDLE;
		ev_timer_again(px->loop, &c->idle);
	}
}

unsigned
listen_tcp_unsent(const struct proxy *px)
{
	const struct tcp_conn *c;
	unsigned n = 0;

	for (c = px->tcp_conns; c != NULL; c = c->next)
		if (!c->closed && c->outlen > 0)
			n++;
	return n;
}

void
listen_tcp_free_all(struct proxy *px)
{
	while (px->tcp_conns != NULL) {
		struct tcp_conn	*c = px->tcp_conns;

		if (!c->closed) {
			tcp_unwatch(c);
			close(c->fd);
			px->ntcp--;
		}
		tcp_free(c);
	}
}

void
listen_tcp_start(struct listener *l, struct proxy *px)
{
	l->px = px;
	ev_io_init(&l->tcp_io, tcp_accept_cb, l->tcp_fd, EV_READ);
	ev_io_start(px->loop, &l->tcp_io);
}
