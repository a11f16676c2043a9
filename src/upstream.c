/*
 * upstream.c: see upstream.h.
 *
 * UDP: a pool of sockets per address family and worker, each on a random
 * port and connected to the upstream it last served (a connected socket
 * spares the kernel a route lookup per datagram and receives from that
 * upstream only).  The exchanges waiting on a socket hang off it in a
 * short list, each with a random ID unique on that socket; an answer is
 * matched by socket, ID, source address and question.  A socket is
 * replaced by a fresh one (a new random port) once it has carried
 * UPSTREAM_ROTATE queries and none is waiting on it.  ICMP errors come
 * back through IP_RECVERR, so a dead upstream fails its attempt at once;
 * so does REFUSED or SERVFAIL while another upstream is left to ask.
 *
 * TCP: one exchange at a time per connection, at most UPSTREAM_TCP_MAX
 * connections per worker; beyond that attempts wait in turn.  A
 * connection whose answer came whole is kept open, idle, for the next
 * attempt to that upstream (RFC 7766 6.2.1): a handshake saved, and no
 * TIME_WAIT left behind per query.  Idle ones are closed after
 * UPSTREAM_TCP_IDLE_TIME (RFC 7766 6.2.3: keep idle time short), when the
 * upstream closes them, or when their slot is needed.
 */
#include "acconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "mmsg.h"
#include "stats.h"
#include "upstream.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define UPSTREAM_ROTATE	64	/* queries per socket before a new port */
#define UPSTREAM_BATCH	16	/* datagrams per recvmmsg() */
#define ID_TRIES	16	/* random IDs tried before giving up */
#define UPSTREAM_TCP_MAX 256	/* TCP connections to upstreams per worker
				 * (main.c's open-file budget counts them) */
#define UPSTREAM_TCP_IDLE 32	/* of those, kept open idle for reuse */
#define UPSTREAM_TCP_IDLE_TIME 2.0 /* seconds an idle one is kept */
#define UPSTREAM_GONE	4	/* IDs given up remembered per socket */
#define UPSTREAM_LATE	30.0	/* for this long, in seconds */

union peer {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

struct upstream_sock {
	struct upstream_pool *pool;
	int		 fd;		/* -1 until first used */
	int		 family;
	ev_io		 io;
	unsigned	 uses;		/* attempts sent since opened */
	uint32_t	 picked;	/* the pool's pick count when last
					 * picked (0: never) */
	unsigned	 pending;	/* attempts waiting on it */
	struct upstream_xfer *waiting;	/* those attempts */
	union peer	 peer;		/* connected to */
	/*
	 * The last attempts that left this socket without an answer (timed
	 * out, or not needed any more): an answer to one of them is late,
	 * not spoofed.
	 */
	uint16_t	 gone_id[UPSTREAM_GONE];
	ev_tstamp	 gone_until[UPSTREAM_GONE];
	unsigned	 gone_next;
};

/* An upstream TCP connection kept open, with no exchange, for reuse. */
struct upstream_idle {
	struct upstream_pool *pool;
	int		 fd;		/* -1: a free slot */
	ev_io		 io;		/* readable: the upstream closed it,
					 * or sent what nobody asked for */
	ev_timer	 timer;		/* UPSTREAM_TCP_IDLE_TIME */
	union peer	 peer;		/* connected to */
	struct upstream_idle *newer, *older;
};

struct upstream_pool {
	struct ev_loop	*loop;
	struct stats	*stats;
	size_t		 nsock;			/* per family */
	uint32_t	 picks;			/* sockets picked so far */
	unsigned	 ntcp;			/* TCP connections open,
						 * idle ones included */
	/* TCP attempts waiting for one of those to close, oldest first */
	struct upstream_xfer *tcp_wait, **tcp_wait_last;
	struct upstream_sock *socks[2];		/* [0] IPv4, [1] IPv6 */
	/* TCP connections kept open, newest first (last: off the UDP
	 * path's cache lines) */
	struct upstream_idle *idle_newest, *idle_oldest;
	unsigned	 nidle;
	struct upstream_idle idle[UPSTREAM_TCP_IDLE];
};

static void	upstream_attempt(struct upstream_xfer *x);
static void	upstream_tcp_connect(struct upstream_xfer *x);
static bool	tcp_start(struct upstream_xfer *x);
static void	tcp_promote(struct upstream_pool *p);
static void	tcp_dequeue(struct upstream_xfer *x);
static void	upstream_sock_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	upstream_tcp_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	upstream_fail_soon(struct upstream_xfer *x);
static void	upstream_timer_cb(struct ev_loop *loop, ev_timer *w,
		    int revents);

/* Receive buffers; one worker thread runs one loop. */
static __thread uint8_t	rxbufs[UPSTREAM_BATCH][DNS_MAX_UDP];

/* recvmmsg() vectors over rxbufs, set up once per thread. */
static __thread struct mmsghdr rx_mm[UPSTREAM_BATCH];
static __thread struct iovec rx_iov[UPSTREAM_BATCH];
static __thread struct sockaddr_storage rx_from[UPSTREAM_BATCH];
static __thread bool	rx_mm_ready;

/* A random 16-bit value; getrandom() refills a small pool. */
uint16_t
upstream_random16(void)
{
	static __thread uint16_t pool[256];
	static __thread size_t	 left;

	if (left == 0) {
		size_t	 got = 0;

		while (got < sizeof(pool)) {
			ssize_t n = getrandom((char *)pool + got,
			    sizeof(pool) - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				/* Cannot happen on Linux >= 3.17; be safe. */
				return (uint16_t)random();
			}
			got += (size_t)n;
		}
		left = sizeof(pool) / sizeof(pool[0]);
	}
	return pool[--left];
}

uint32_t
upstream_random_below(uint32_t n)
{
	uint32_t v = ((uint32_t)upstream_random16() << 16) |
	    upstream_random16();

	/* The bias for n up to a few thousand is below 2^-20: fine here. */
	return v % n;
}

/* ---------------------------------------------------------------- */
/* The socket pool                                                   */
/* ---------------------------------------------------------------- */

struct upstream_pool *
upstream_pool_new(struct ev_loop *loop, struct stats *stats, size_t nsock)
{
	struct upstream_pool *p;
	size_t		 i;

	if (nsock == 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->stats = stats;
	p->nsock = nsock;
	p->tcp_wait_last = &p->tcp_wait;
	for (i = 0; i < UPSTREAM_TCP_IDLE; i++) {
		p->idle[i].pool = p;
		p->idle[i].fd = -1;
	}
	return p;
}

static void
sock_close(struct upstream_sock *s)
{
	if (s->fd < 0)
		return;
	ev_io_stop(s->pool->loop, &s->io);
	close(s->fd);
	s->fd = -1;
	memset(s->gone_until, 0, sizeof(s->gone_until));
}

/* ---------------------------------------------------------------- */
/* TCP connections kept open                                         */
/* ---------------------------------------------------------------- */

/* Take c off the idle list: its descriptor, still open and counted. */
static int
idle_unlink(struct upstream_idle *c)
{
	struct upstream_pool *p = c->pool;
	int		 fd = c->fd;

	ev_io_stop(p->loop, &c->io);
	ev_timer_stop(p->loop, &c->timer);
	if (c->newer != NULL)
		c->newer->older = c->older;
	else
		p->idle_newest = c->older;
	if (c->older != NULL)
		c->older->newer = c->newer;
	else
		p->idle_oldest = c->newer;
	c->newer = c->older = NULL;
	c->fd = -1;
	p->nidle--;
	return fd;
}

/* Close an idle connection; its slot is free (the caller promotes). */
static void
idle_close(struct upstream_idle *c)
{
	struct upstream_pool *p = c->pool;

	close(idle_unlink(c));
	p->ntcp--;
}

/*
 * Has the upstream closed c's connection, or sent on it unasked, since
 * it was last read?  Either way it cannot carry an exchange: the next
 * one would take those bytes for its answer.
 */
static bool
tcp_unclean(int fd)
{
	uint8_t		 b;

	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK);
}

/*
 * The newest idle connection to dest, taken off the list; -1 if none.
 * Its read watcher may not have run yet this loop pass (libev runs the
 * pending callbacks in turn): one found unclean is closed here instead.
 */
static int
idle_take(struct upstream_pool *p, const struct sockaddr *dest)
{
	struct upstream_idle *c, *older;

	for (c = p->idle_newest; c != NULL; c = older) {
		older = c->older;
		if (!addr_equal(&c->peer.sa, dest))
			continue;
		if (tcp_unclean(c->fd)) {
			idle_close(c);
			continue;
		}
		return idle_unlink(c);
	}
	return -1;
}

/* Readable while idle: closed by the upstream, or unasked-for bytes. */
static void
idle_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream_idle *c = container_of(w, struct upstream_idle, io);
	struct upstream_pool *p = c->pool;
	uint8_t		 buf[64];

	(void)loop;
	(void)revents;
	if (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	log_debug("upstream tcp: a connection kept open was closed or "
	    "spoke unasked");
	idle_close(c);
	tcp_promote(p);
}

static void
idle_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream_idle *c = container_of(w, struct upstream_idle, timer);
	struct upstream_pool *p = c->pool;

	(void)loop;
	(void)revents;
	idle_close(c);
	tcp_promote(p);
}

/*
 * x's answer came whole over TCP: its connection, now without an
 * exchange, is kept open for the next attempt to that upstream, in the
 * same slot.  With UPSTREAM_TCP_IDLE kept already, the oldest goes.  Not
 * one the upstream has closed already, or that holds bytes nobody asked
 * for: the next exchange would take them for its answer.
 */
static void
tcp_park(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;
	struct upstream_idle *c;
	size_t		 i;

	if (tcp_unclean(x->fd))
		return;			/* upstream_close() closes it */
	if (p->nidle == UPSTREAM_TCP_IDLE)
		idle_close(p->idle_oldest);
	for (i = 0; p->idle[i].fd >= 0; i++)
		;
	c = &p->idle[i];
	ev_io_stop(p->loop, &x->io);
	c->fd = x->fd;
	x->fd = -1;
	memcpy(&c->peer, x->dest, addr_len((const struct sockaddr *)x->dest));
	ev_io_init(&c->io, idle_read_cb, c->fd, EV_READ);
	ev_io_start(p->loop, &c->io);
	ev_timer_init(&c->timer, idle_timer_cb, UPSTREAM_TCP_IDLE_TIME, 0.);
	ev_timer_start(p->loop, &c->timer);
	c->newer = NULL;
	if ((c->older = p->idle_newest) != NULL)
		c->older->newer = c;
	else
		p->idle_oldest = c;
	p->idle_newest = c;
	p->nidle++;
}

void
upstream_pool_stop(struct upstream_pool *p)
{
	/* Cancelling only ever takes attempts off: the queue stays empty. */
	while (p->tcp_wait != NULL)
		tcp_dequeue(p->tcp_wait);
	while (p->idle_newest != NULL)
		idle_close(p->idle_newest);
}

void
upstream_pool_free(struct upstream_pool *p)
{
	size_t	 f, i;

	if (p == NULL)
		return;
	while (p->idle_newest != NULL)
		idle_close(p->idle_newest);
	for (f = 0; f < 2; f++) {
		if (p->socks[f] == NULL)
			continue;
		for (i = 0; i < p->nsock; i++)
			sock_close(&p->socks[f][i]);
		free(p->socks[f]);
	}
	free(p);
}

/*
 * (Re)open s connected to dest, on a random port: connect() binds an
 * unbound socket to an ephemeral port, which Linux picks at random.
 * 0 / -1.
 */
static int
sock_open(struct upstream_sock *s, const struct sockaddr *dest)
{
	int		 fd, on = 1;
	socklen_t	 len = addr_len(dest);

	sock_close(s);
	fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (s->family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	} else
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	if (connect(fd, dest, len) < 0) {
		close(fd);
		return -1;
	}
	memcpy(&s->peer, dest, len);
	s->fd = fd;
	s->uses = 0;
	ev_io_init(&s->io, upstream_sock_cb, fd, EV_READ);
	ev_io_start(s->pool->loop, &s->io);
	return 0;
}

/* Point an idle socket at another upstream; its port stays.  0 / -1. */
static int
sock_reconnect(struct upstream_sock *s, const struct sockaddr *dest)
{
	socklen_t	 len = addr_len(dest);

	if (connect(s->fd, dest, len) < 0)
		return -1;
	memcpy(&s->peer, dest, len);
	return 0;
}

/*
 * A warning at most every 10 seconds per worker: a flood of failures
 * (no descriptors left, say) must not flood the log too.
 */
static void
warn_rate(struct upstream_pool *p, const char *fmt, ...)
{
	static __thread ev_tstamp last;
	ev_tstamp now = ev_now(p->loop);
	char	 buf[256];
	va_list	 ap;

	if (last != 0 && now - last < 10.0)
		return;
	last = now;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("%s", buf);
}

#define PICK_TRIES	8	/* random picks before a scan */

/*
 * A socket for dest, at random: opened, renewed or pointed at dest as
 * needed.  A socket busy with another upstream is passed over, and so,
 * while the tries last, is one picked among the last nsock / 2 picks:
 * of a thousand queries over 1024 sockets about 82% leave from distinct
 * ports instead of 64%, the more ports the better for RFC 5452.  NULL
 * when no socket can be had.
 */
static struct upstream_sock *
sock_pick(struct upstream_pool *p, const struct sockaddr *dest)
{
	struct upstream_sock *s = NULL, *arr;
	size_t		 f = dest->sa_family == AF_INET6, i, start;
	int		 try;

	if ((arr = p->socks[f]) == NULL) {
		if ((arr = calloc(p->nsock, sizeof(*s))) == NULL)
			return NULL;
		for (i = 0; i < p->nsock; i++) {
			arr[i].pool = p;
			arr[i].fd = -1;
			arr[i].family = dest->sa_family;
		}
		p->socks[f] = arr;
	}
	for (try = 0; try < PICK_TRIES; try++) {
		struct upstream_sock *c =
		    &arr[upstream_random_below((uint32_t)p->nsock)];

		if (c->fd >= 0 && c->pending > 0 &&
		    !addr_equal(&c->peer.sa, dest))
			continue;		/* busy with another upstream */
		s = c;
		/* unsigned: right across the counter's wrap as well */
		if (c->picked == 0 || p->picks - c->picked > p->nsock / 2)
			break;
	}
	if (s == NULL) {
		/* Nearly all busy with other upstreams: look for any idle. */
		start = upstream_random_below((uint32_t)p->nsock);
		for (i = 0; i < p->nsock; i++) {
			s = &arr[(start + i) % p->nsock];
			if (s->fd < 0 || s->pending == 0)
				break;
		}
		if (i == p->nsock)
			return NULL;
	}
	if (++p->picks == 0)
		p->picks = 1;			/* 0 is "never" */
	s->picked = p->picks;
	if (s->fd < 0 || (s->uses >= UPSTREAM_ROTATE && s->pending == 0)) {
		if (sock_open(s, dest) < 0) {
			warn_rate(p, "upstream socket: %s", strerror(errno));
			return NULL;
		}
	} else if (!addr_equal(&s->peer.sa, dest) && sock_reconnect(s, dest)
	    < 0) {
		/* Keep nothing half-known: the next use opens it afresh. */
		warn_rate(p, "upstream connect: %s", strerror(errno));
		sock_close(s);
		return NULL;
	}
	return s;
}

/* ---------------------------------------------------------------- */
/* Exchanges                                                         */
/* ---------------------------------------------------------------- */

/*
 * Take the attempt off its socket's list.  gone: it got no answer, and
 * one that comes within UPSTREAM_LATE is late, not spoofed.
 */
static void
sock_unlink(struct upstream_xfer *x, bool gone)
{
	struct upstream_sock *s = x->sock;

	if (s == NULL)
		return;
	if ((*x->sprevp = x->snext) != NULL)
		x->snext->sprevp = x->sprevp;
	s->pending--;
	if (gone) {
		s->gone_id[s->gone_next] = x->id;
		s->gone_until[s->gone_next] = ev_now(s->pool->loop) +
		    UPSTREAM_LATE;
		s->gone_next = (s->gone_next + 1) % UPSTREAM_GONE;
	}
	x->sock = NULL;
}

/* Was id given up on s, within UPSTREAM_LATE? */
static bool
sock_gone(const struct upstream_sock *s, uint16_t id)
{
	ev_tstamp now = ev_now(s->pool->loop);
	unsigned i;

	for (i = 0; i < UPSTREAM_GONE; i++)
		if (s->gone_id[i] == id && s->gone_until[i] > now)
			return true;
	return false;
}

/* Does x wait for an upstream TCP connection slot? */
static bool
tcp_queued(const struct upstream_xfer *x)
{
	return x->tprevp != NULL;
}

/* Put x at the end of the pool's queue of attempts waiting for a slot. */
static void
tcp_enqueue(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;

	x->tnext = NULL;
	x->tprevp = p->tcp_wait_last;
	*p->tcp_wait_last = x;
	p->tcp_wait_last = &x->tnext;
}

static void
tcp_dequeue(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;

	if (!tcp_queued(x))
		return;
	if ((*x->tprevp = x->tnext) != NULL)
		x->tnext->tprevp = x->tprevp;
	else
		p->tcp_wait_last = x->tprevp;
	x->tprevp = NULL;
}

/*
 * Free TCP connection slots, and idle connections, go to the attempts
 * that wait, oldest first.  One left with less than a quarter of its
 * timeout is not worth a connection: it fails here, never sent.  One
 * whose connect() fails at once gives its slot to the next.
 */
static void
tcp_promote(struct upstream_pool *p)
{
	struct upstream_xfer *x;

	while ((p->ntcp < UPSTREAM_TCP_MAX || p->nidle > 0) &&
	    (x = p->tcp_wait) != NULL) {
		tcp_dequeue(x);
		if (ev_timer_remaining(p->loop, &x->timer) <
		    x->cfg->timeout_ms / 4000.0) {
			STATS_INC(p->stats->tcp_wait_expired);
			upstream_fail_soon(x);
			continue;
		}
		(void)tcp_start(x);	/* a slot or an idle one: it starts */
	}
}

/* Let go of the current attempt's ID, socket, TCP connection, timer. */
static void
upstream_close(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;

	ev_timer_stop(p->loop, &x->timer);
	sock_unlink(x, true);
	tcp_dequeue(x);
	if (x->fd >= 0) {
		ev_io_stop(p->loop, &x->io);
		close(x->fd);
		x->fd = -1;
		p->ntcp--;
		tcp_promote(p);
	}
	free(x->rbuf);
	x->rbuf = NULL;
	x->rhave = 0;
	x->rneed = 0;
	x->wpos = 0;
}

int
upstream_start(struct upstream_xfer *x, struct upstream_pool *pool,
    const struct config *cfg, bool tcp, const uint8_t *pkt, size_t len,
    upstream_done_fn done)
{
	size_t	 nlen;

	x->active = false;
	if (len < DNS_HDR_LEN + 5 || len > DNS_MAX_UDP ||
	    (nlen = wire_name_len(pkt + DNS_HDR_LEN, len - DNS_HDR_LEN)) == 0
	    || DNS_HDR_LEN + nlen + 4 > len)
		return -1;
	if (len <= sizeof(x->inline_pkt))
		x->pkt = x->inline_pkt;
	else if ((x->pkt = malloc(len)) == NULL)
		return -1;
	memcpy(x->pkt, pkt, len);
	x->len = len;
	x->qname_len = nlen;
	x->pool = pool;
	x->cfg = cfg;
	x->tcp = tcp;
	x->done = done;
	x->active = true;
	x->sock = NULL;
	x->fd = -1;
	x->attempt = 0;
	x->local_fail = false;
	x->rbuf = NULL;
	x->rhave = x->rneed = x->wpos = 0;
	x->reused = false;
	x->tprevp = NULL;		/* not waiting for a TCP slot */
	ev_init(&x->timer, upstream_timer_cb);
	upstream_attempt(x);
	return 0;
}

void
upstream_cancel(struct upstream_xfer *x)
{
	if (!x->active)
		return;
	upstream_close(x);
	if (x->pkt != x->inline_pkt)
		free(x->pkt);
	x->pkt = NULL;
	x->active = false;
}

/* An answer arrived or every attempt failed: report once and clean up. */
static void
upstream_finish(struct upstream_xfer *x, const uint8_t *resp, size_t len,
    const struct msg_info *ri)
{
	upstream_done_fn done = x->done;

	upstream_cancel(x);
	done(x, resp, len, ri);
}

/* The current attempt failed (timeout, refused, reset): try the next. */
static void
upstream_fail_attempt(struct upstream_xfer *x)
{
	upstream_close(x);
	if (x->attempt >= x->cfg->attempts) {
		upstream_finish(x, NULL, 0, NULL);
		return;
	}
	if (x->cfg->nupstream > 1)
		STATS_INC(x->pool->stats->failovers);
	upstream_attempt(x);
}

/* The exchange waiting on s with this ID, or NULL. */
static struct upstream_xfer *
sock_find(const struct upstream_sock *s, uint16_t id)
{
	struct upstream_xfer *x;

	for (x = s->waiting; x != NULL; x = x->snext)
		if (x->id == id)
			return x;
	return NULL;
}

/*
 * Give x a random ID that no other exchange on s holds, and hang it on
 * s.  0 / -1.
 */
static int
upstream_take_id(struct upstream_xfer *x, struct upstream_sock *s)
{
	int		 i;

	for (i = 0; i < ID_TRIES; i++) {
		x->id = upstream_random16();
		if (s->pending == 0 || sock_find(s, x->id) == NULL) {
			x->sock = s;
			if ((x->snext = s->waiting) != NULL)
				x->snext->sprevp = &x->snext;
			x->sprevp = &s->waiting;
			s->waiting = x;
			s->pending++;
			s->uses++;
			return 0;
		}
	}
	return -1;
}

/* Write x's query, length first, on x->fd once it is writable. */
static void
tcp_send_on(struct upstream_xfer *x, int fd)
{
	x->fd = fd;
	x->wpos = 0;
	wire_set_u16(x->lenbuf, (uint16_t)x->len);
	ev_io_init(&x->io, upstream_tcp_cb, fd, EV_WRITE);
	ev_io_start(x->pool->loop, &x->io);
}

/* Open a TCP connection for x's attempt (a slot is free). */
static void
upstream_tcp_connect(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;
	const struct sockaddr *sa = (const struct sockaddr *)x->dest;

	x->reused = false;
	x->fd = socket(sa->sa_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		warn_rate(p, "upstream TCP socket: %s", strerror(errno));
		upstream_fail_soon(x);
		return;
	}
	p->ntcp++;
	if (connect(x->fd, sa, addr_len(sa)) < 0 && errno != EINPROGRESS) {
		log_debug("upstream connect: %s", strerror(errno));
		close(x->fd);
		x->fd = -1;
		p->ntcp--;
		upstream_fail_soon(x);
		return;
	}
	tcp_send_on(x, x->fd);
}

/*
 * Send x's attempt over TCP: on a connection kept open to its upstream,
 * else on a new one, in a free slot or in the slot of the oldest idle
 * connection.  false: no slot (x must wait).
 */
static bool
tcp_start(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;
	const struct sockaddr *sa = (const struct sockaddr *)x->dest;
	int		 fd;

	x->sent = ev_now(p->loop);
	if ((fd = idle_take(p, sa)) >= 0) {
		STATS_INC(p->stats->upstream_queries);
		STATS_INC(p->stats->tcp_reused);
		x->reused = true;
		tcp_send_on(x, fd);
		return true;
	}
	if (p->ntcp >= UPSTREAM_TCP_MAX) {
		if (p->idle_oldest == NULL)
			return false;
		idle_close(p->idle_oldest);
	}
	STATS_INC(p->stats->upstream_queries);
	upstream_tcp_connect(x);
	return true;
}

/*
 * x's TCP connection failed or closed, or its first answer did not
 * match.  One kept open from an earlier exchange may have been closed by
 * the upstream (its idle timeout) just as x was sent on it, or have
 * carried a stray answer: unless some of an answer came (the caller
 * forgets a mismatched one), x goes again, once, on a fresh connection
 * in the same slot, its timer running on.
 */
static void
tcp_failed(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;

	if (!x->reused || x->rhave > 0) {
		upstream_fail_attempt(x);
		return;
	}
	log_debug("upstream tcp: a connection kept open failed: a new one");
	ev_io_stop(p->loop, &x->io);
	close(x->fd);
	x->fd = -1;
	p->ntcp--;
	upstream_tcp_connect(x);
	if (x->fd < 0)		/* not had at once: the slot is free */
		tcp_promote(p);
}

/*
 * Start attempt number x->attempt + 1: upstreams are tried in order,
 * wrapping around.  An attempt that cannot even be sent waits for its
 * timer like a lost one, so the next is never started by recursion.
 */
static void
upstream_attempt(struct upstream_xfer *x)
{
	struct upstream_pool *p = x->pool;
	const struct config *cfg = x->cfg;
	const struct sockaddr *sa;
	struct upstream_sock *s;

	x->dest = &cfg->upstream[x->attempt % cfg->nupstream];
	sa = (const struct sockaddr *)x->dest;
	x->attempt++;
	ev_timer_set(&x->timer, cfg->timeout_ms / 1000.0, 0.);
	ev_timer_start(p->loop, &x->timer);
	x->sent = ev_now(p->loop);

	if (x->tcp) {
		/* Each attempt has a connection of its own: any ID will do. */
		x->id = upstream_random16();
		wire_set_u16(x->pkt, x->id);
		/*
		 * Bounded, so that TCP clients pipelining queries cannot
		 * take the descriptors the UDP pool and the listeners need.
		 * Beyond the bound an attempt waits, its timer running, for
		 * a connection to close; none jumps the queue.
		 */
		if (p->tcp_wait != NULL || !tcp_start(x)) {
			warn_rate(p, "%u TCP connections to upstreams: the "
			    "limit; queries over TCP wait for one to close",
			    p->ntcp);
			tcp_enqueue(x);
		}
		return;
	}
	if ((s = sock_pick(p, sa)) == NULL) {
		upstream_fail_soon(x);
		return;
	}
	if (upstream_take_id(x, s) < 0) {
		log_debug("upstream: no free query ID");
		upstream_fail_soon(x);
		return;
	}
	wire_set_u16(x->pkt, x->id);
	STATS_INC(p->stats->upstream_queries);
	/* EAGAIN: a full send buffer; the retry after timeout covers it */
	if (send(s->fd, x->pkt, x->len, 0) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		log_debug("upstream send: %s", strerror(errno));
		upstream_fail_soon(x);
	}
}

static void
upstream_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream_xfer *x = container_of(w, struct upstream_xfer, timer);

	(void)loop;
	(void)revents;
	if (tcp_queued(x))	/* never sent: not the upstream's doing */
		STATS_INC(x->pool->stats->tcp_wait_expired);
	else if (!x->local_fail)
		STATS_INC(x->pool->stats->upstream_timeouts);
	x->local_fail = false;
	upstream_fail_attempt(x);
}

/*
 * The attempt failed on this host (no socket, a send the kernel refused:
 * an unreachable network, say): it ends at the next loop pass, not after
 * `timeout`.  Not at once: the caller may be starting the exchange.
 */
static void
upstream_fail_soon(struct upstream_xfer *x)
{
	struct ev_loop	*loop = x->pool->loop;

	x->local_fail = true;
	ev_timer_stop(loop, &x->timer);
	ev_timer_set(&x->timer, 0., 0.);
	ev_timer_start(loop, &x->timer);
}

/*
 * Does resp answer what x asked?  The ID was matched by the caller; the
 * question must be the one in x->pkt (name at offset 12, uncompressed).
 */
static bool
upstream_match(struct upstream_xfer *x, const uint8_t *resp, size_t len,
    struct msg_info *ri)
{
	const uint8_t	*qn = x->pkt + DNS_HDR_LEN;
	size_t		 qlen = x->qname_len;	/* checked by upstream_start */

	if (!msg_parse_response(resp, len, ri))
		return false;
	if (ri->id != x->id || !ri->has_question ||
	    ri->q.qtype != wire_get_u16(qn + qlen) ||
	    ri->q.qclass != wire_get_u16(qn + qlen + 2) ||
	    !wire_name_equal(ri->q.name, ri->q.name_len, qn, qlen))
		return false;
	/* Loop time, taken when the poll returned: close enough. */
	stats_observe_latency(x->pool->stats,
	    ev_now(x->pool->loop) - x->sent);
	return true;
}

/*
 * Is the matching answer ri an error that the next upstream may not
 * give: REFUSED, or SERVFAIL without a DNSSEC verdict (EDE 6 to 12,
 * RFC 8914 4), while some upstream has not been tried yet and attempts
 * remain?  Each upstream is asked once for such an answer; the last
 * error answer is relayed as it stands.
 */
static bool
upstream_error_fails_over(const struct upstream_xfer *x,
    const struct msg_info *ri)
{
	int	 rcode = msg_rcode(ri);

	if (rcode != DNS_RCODE_REFUSED && rcode != DNS_RCODE_SERVFAIL)
		return false;
	if (rcode == DNS_RCODE_SERVFAIL && EDE_IS_DNSSEC(ri->ede))
		return false;
	return x->attempt < x->cfg->nupstream &&
	    x->attempt < x->cfg->attempts;
}

/* One datagram from a pool socket: deliver it or drop it. */
static void
upstream_deliver(struct upstream_sock *s, const uint8_t *pkt, size_t len,
    const struct sockaddr *from)
{
	struct upstream_pool *p = s->pool;
	struct upstream_xfer *x;
	struct msg_info	 ri;

	if (len >= DNS_HDR_LEN &&
	    (x = sock_find(s, wire_get_u16(pkt))) != NULL &&
	    addr_equal(from, (const struct sockaddr *)x->dest) &&
	    upstream_match(x, pkt, len, &ri)) {
		if (upstream_error_fails_over(x, &ri)) {
			log_debug("upstream: error answer: next upstream");
			upstream_fail_attempt(x);
			return;
		}
		sock_unlink(x, false);
		upstream_finish(x, pkt, len, &ri);
		return;
	}
	if (len >= DNS_HDR_LEN && sock_gone(s, wire_get_u16(pkt))) {
		STATS_INC(p->stats->late_upstream);
		log_debug("upstream: late answer to an attempt given up");
		return;
	}
	STATS_INC(p->stats->dropped_upstream);
	log_debug("upstream: dropped a packet that does not match");
}

/*
 * ICMP errors (IP_RECVERR): the error queue holds the datagram that
 * failed and where it went; the attempt that sent it fails now.
 */
static void
upstream_errqueue(struct upstream_sock *s)
{
	struct sockaddr_storage dst;
	struct msghdr	 mh;
	struct iovec	 iov;
	uint8_t		 buf[64], ctl[512];
	struct upstream_xfer *x;
	int		 i;

	for (i = 0; i < UPSTREAM_BATCH; i++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		mh.msg_name = &dst;
		mh.msg_namelen = sizeof(dst);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		if (iov.iov_len < 2 || mh.msg_namelen == 0)
			continue;
		x = sock_find(s, wire_get_u16(buf));
		if (x != NULL && addr_equal(
		    (struct sockaddr *)&dst, (const struct sockaddr *)x->dest)) {
			log_debug("upstream: ICMP error: next attempt");
			upstream_fail_attempt(x);
		}
	}
}

static void
upstream_sock_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream_sock *s = container_of(w, struct upstream_sock, io);
	struct mmsghdr	*mm = rx_mm;
	int		 n, i, round;

	(void)loop;
	(void)revents;
	if (!rx_mm_ready) {
		mmsg_setup(rx_mm, rx_iov, rx_from, &rxbufs[0][0],
		    sizeof(rxbufs[0]), UPSTREAM_BATCH);
		rx_mm_ready = true;
	}
	/* Bounded: a flood cannot hold the loop. */
	for (round = 0; round < 4; round++) {
		n = recvmmsg(s->fd, mm, UPSTREAM_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ECONNREFUSED and the like: read the error queue. */
			upstream_errqueue(s);
			continue;
		}
		/*
		 * Delivering may start new exchanges, which may renew this
		 * very socket once nobody waits on it: the datagrams still in
		 * the batch then match no exchange and are dropped, and the
		 * next round reads the new socket.
		 */
		for (i = 0; i < n; i++)
			upstream_deliver(s, rxbufs[i], mm[i].msg_len,
			    (struct sockaddr *)&rx_from[i]);
		mmsg_rearm(mm, (unsigned)n);
		if (n < UPSTREAM_BATCH)
			return;
	}
}

/* TCP: write the length-prefixed query, then read the framed answer. */
static void
upstream_tcp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream_xfer *x = container_of(w, struct upstream_xfer, io);
	struct msg_info	 ri;
	ssize_t		 n;

	if (revents & EV_WRITE) {
		struct iovec	 iov[2];
		struct msghdr	 mh;
		size_t		 total = x->len + 2;

		memset(&mh, 0, sizeof(mh));
		if (x->wpos < 2) {
			iov[0].iov_base = x->lenbuf + x->wpos;
			iov[0].iov_len = 2 - x->wpos;
			iov[1].iov_base = x->pkt;
			iov[1].iov_len = x->len;
			mh.msg_iovlen = 2;
		} else {
			iov[0].iov_base = x->pkt + (x->wpos - 2);
			iov[0].iov_len = total - x->wpos;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		n = sendmsg(x->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			log_debug("upstream tcp send: %s", strerror(errno));
			tcp_failed(x);
			return;
		}
		x->wpos += (size_t)n;
		if (x->wpos < total)
			return;
		ev_io_stop(loop, &x->io);
		ev_io_set(&x->io, x->fd, EV_READ);
		ev_io_start(loop, &x->io);
		return;
	}

	if (x->rhave < 2) {
		n = recv(x->fd, x->lenbuf + x->rhave, 2 - x->rhave, 0);
		if (n <= 0)
			goto fail;
		x->rhave += (size_t)n;
		if (x->rhave < 2)
			return;
		x->rneed = wire_get_u16(x->lenbuf);
		if (x->rneed < DNS_HDR_LEN ||
		    (x->rbuf = malloc(x->rneed)) == NULL)
			goto fail;
	}
	n = recv(x->fd, x->rbuf + (x->rhave - 2), x->rneed - (x->rhave - 2),
	    0);
	if (n <= 0)
		goto fail;
	x->rhave += (size_t)n;
	if (x->rhave - 2 < x->rneed)
		return;
	if (upstream_match(x, x->rbuf, x->rneed, &ri)) {
		/* Copy out: finishing frees rbuf. */
		size_t	 len = x->rneed;

		/* Whole: the connection serves a next exchange. */
		tcp_park(x);
		tcp_promote(x->pool);
		if (upstream_error_fails_over(x, &ri)) {
			log_debug("upstream tcp: error answer: next upstream");
			upstream_fail_attempt(x);
			return;
		}
		memcpy(rxbufs[0], x->rbuf, len);
		upstream_finish(x, rxbufs[0], len, &ri);
		return;
	}
	STATS_INC(x->pool->stats->dropped_upstream);
	free(x->rbuf);
	x->rbuf = NULL;
	x->rhave = x->rneed = 0;
	tcp_failed(x);
	return;
fail:
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	log_debug("upstream tcp: connection failed or closed");
	tcp_failed(x);
}
