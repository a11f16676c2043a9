/*
 * upstream.c: see upstream.h.
 */
#include "acconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "stats.h"
#include "upstream.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

static void	upstream_attempt(struct upstream_xfer *x);
static void	upstream_udp_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	upstream_tcp_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	upstream_timer_cb(struct ev_loop *loop, ev_timer *w,
		    int revents);

/* Shared receive buffer: the event loop is single-threaded per worker. */
static __thread uint8_t	rxbuf[DNS_MAX_UDP];

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

/* Close the socket of the current attempt and stop its watchers. */
static void
upstream_close(struct upstream_xfer *x)
{
	ev_io_stop(x->loop, &x->io);
	ev_timer_stop(x->loop, &x->timer);
	if (x->fd >= 0) {
		close(x->fd);
		x->fd = -1;
	}
	free(x->rbuf);
	x->rbuf = NULL;
	x->rhave = 0;
	x->rneed = 0;
	x->wpos = 0;
}

int
upstream_start(struct upstream_xfer *x, struct ev_loop *loop,
    const struct config *cfg, struct stats *stats, bool tcp,
    const uint8_t *pkt, size_t len, upstream_done_fn done)
{
	struct msg_info	 mi;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	if (len < DNS_HDR_LEN || msg_parse_query(pkt, len, &mi) != MSG_OK)
		return -1;
	if ((x->pkt = malloc(len)) == NULL)
		return -1;
	memcpy(x->pkt, pkt, len);
	x->len = len;
	x->q = mi.q;
	x->loop = loop;
	x->cfg = cfg;
	x->stats = stats;
	x->tcp = tcp;
	x->done = done;
	x->active = true;
	x->first = cfg->nupstream > 1 ? 0 : 0;
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
	free(x->pkt);
	x->pkt = NULL;
	x->active = false;
}

/* Every attempt failed or an answer arrived: report once and clean up. */
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
	if (x->stats != NULL && x->cfg->nupstream > 1)
		x->stats->failovers++;
	upstream_attempt(x);
}

/*
 * Start attempt number x->attempt + 1: upstreams are tried in order,
 * wrapping around.  A socket that cannot even be opened counts as a
 * failed attempt, but the next one is tried from the timer, never by
 * recursion.
 */
static void
upstream_attempt(struct upstream_xfer *x)
{
	const struct sockaddr_storage *ss;
	const struct config *cfg = x->cfg;
	double		 tmo = cfg->timeout_ms / 1000.0;
	int		 type = x->tcp ? SOCK_STREAM : SOCK_DGRAM;

	ss = &cfg->upstream[(x->first + x->attempt) % cfg->nupstream];
	x->attempt++;
	x->id = upstream_random16();
	wire_set_u16(x->pkt, x->id);
	x->sent = ev_now(x->loop);
	if (x->stats != NULL)
		x->stats->upstream_queries++;

	ev_timer_set(&x->timer, tmo, 0.);
	ev_timer_start(x->loop, &x->timer);

	x->fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		log_warn("upstream socket");
		return;		/* the timer moves on */
	}
	if (connect(x->fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) < 0 &&
	    errno != EINPROGRESS) {
		log_debug("upstream connect: %s", strerror(errno));
		close(x->fd);
		x->fd = -1;
		return;
	}
	if (x->tcp) {
		wire_set_u16(x->lenbuf, (uint16_t)x->len);
		ev_io_init(&x->io, upstream_tcp_cb, x->fd, EV_WRITE);
		ev_io_start(x->loop, &x->io);
		return;
	}
	if (send(x->fd, x->pkt, x->len, 0) < 0) {
		log_debug("upstream send: %s", strerror(errno));
		close(x->fd);
		x->fd = -1;
		return;
	}
	ev_io_init(&x->io, upstream_udp_cb, x->fd, EV_READ);
	ev_io_start(x->loop, &x->io);
}

static void
upstream_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream_xfer *x = container_of(w, struct upstream_xfer, timer);

	(void)loop;
	(void)revents;
	if (x->stats != NULL)
		x->stats->upstream_timeouts++;
	upstream_fail_attempt(x);
}

/*
 * Does resp answer what we asked?  RFC 5452: same ID, same question; the
 * source is checked by the connected socket.
 */
static bool
upstream_match(struct upstream_xfer *x, const uint8_t *resp, size_t len,
    struct msg_info *ri)
{
	if (!msg_parse_response(resp, len, ri))
		return false;
	if (ri->id != x->id || !ri->has_question)
		return false;
	if (!msg_question_equal(&ri->q, &x->q))
		return false;
	if (x->stats != NULL) {
		ev_now_update(x->loop);
		stats_observe_latency(x->stats, ev_now(x->loop) - x->sent);
	}
	return true;
}

static void
upstream_udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream_xfer *x = container_of(w, struct upstream_xfer, io);
	struct msg_info	 ri;
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)revents;
	/* Bounded: a flood of spoofed packets cannot hold the loop. */
	for (i = 0; i < 16; i++) {
		n = recv(x->fd, rxbuf, sizeof(rxbuf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ICMP unreachable and the like: next upstream now. */
			log_debug("upstream recv: %s", strerror(errno));
			upstream_fail_attempt(x);
			return;
		}
		if (upstream_match(x, rxbuf, (size_t)n, &ri)) {
			upstream_finish(x, rxbuf, (size_t)n, &ri);
			return;
		}
		if (x->stats != NULL)
			x->stats->dropped_upstream++;
		log_debug("upstream: dropped a packet that does not match");
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
			upstream_fail_attempt(x);
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

		memcpy(rxbuf, x->rbuf, len);
		upstream_finish(x, rxbuf, len, &ri);
		return;
	}
	if (x->stats != NULL)
		x->stats->dropped_upstream++;
	upstream_fail_attempt(x);
	return;
fail:
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	log_debug("upstream tcp: connection failed or closed");
	upstream_fail_attempt(x);
}
