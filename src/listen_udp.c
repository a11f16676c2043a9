/*
 * listen_udp.c: binding the listening sockets, and the UDP transport.
 */
#include "acconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "mmsg.h"
#include "query.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define UDP_BATCH	32	/* datagrams per recvmmsg() */
#define UDP_QUERY_MAX	4096	/* larger datagrams are dropped */
#define UDP_RCVBUF	(4 * 1024 * 1024)	/* listen socket buffer */

static __thread uint8_t	udp_rxbuf[UDP_BATCH][UDP_QUERY_MAX];

/* recvmmsg() vectors over udp_rxbuf, set up once per thread. */
static __thread struct mmsghdr udp_mm[UDP_BATCH];
static __thread struct iovec udp_iov[UDP_BATCH];
static __thread struct sockaddr_storage udp_from[UDP_BATCH];
static __thread bool	udp_mm_ready;

/* Open, set up and bind one socket of the given type on ss. */
static int
listener_socket(const struct sockaddr_storage *ss, int type, bool reuseport)
{
	int	 fd, on = 1;

	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if (type == SOCK_DGRAM) {
		/*
		 * Room for bursts: the default (about 200 KiB) overflows when
		 * the loop is off the CPU for a moment under load.  As root
		 * the system's rmem_max does not apply.
		 */
		int	 size = UDP_RCVBUF;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
		    sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
			    sizeof(size));
	}
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 128) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
listener_probe(const struct sockaddr_storage *ss)
{
	static const int types[2] = { SOCK_DGRAM, SOCK_STREAM };
	char	 name[64];
	int	 fd, i, on = 1, saved;

	for (i = 0; i < 2; i++) {
		if ((fd = socket(ss->ss_family, types[i] | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (types[i] == SOCK_STREAM)	/* past TIME_WAIT */
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
		if (ss->ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		if (bind(fd, (const struct sockaddr *)ss,
		    addr_len((const struct sockaddr *)ss)) < 0) {
			saved = errno;
			close(fd);
			addr_format((const struct sockaddr *)ss, name,
			    sizeof(name));
			errno = saved;
			log_warn("cannot listen on %s (%s)", name,
			    i == 0 ? "UDP" : "TCP");
			return -1;
		}
		close(fd);
	}
	return 0;
}

int
listener_bind(struct listener *l, const struct sockaddr_storage *ss,
    bool reuseport)
{
	char	 name[64];

	memset(l, 0, sizeof(*l));
	l->addr = *ss;
	l->udp_fd = l->tcp_fd = -1;
	addr_format((const struct sockaddr *)ss, name, sizeof(name));
	if ((l->udp_fd = listener_socket(ss, SOCK_DGRAM, reuseport)) < 0) {
		log_warn("cannot listen on %s (UDP)", name);
		return -1;
	}
	if ((l->tcp_fd = listener_socket(ss, SOCK_STREAM, reuseport)) < 0) {
		log_warn("cannot listen on %s (TCP)", name);
		close(l->udp_fd);
		l->udp_fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Send what is queued with as few sendmmsg() calls as the kernel takes.
 * UDP is best effort: what the socket refuses now is dropped (the client
 * retries), never kept to block later answers.
 */
void
listen_udp_flush(struct listener *l)
{
	struct udp_out	*o = &l->out;
	struct mmsghdr	 mm[UDP_OUT_MAX];
	struct iovec	 iov[UDP_OUT_MAX];
	size_t		 i, done = 0;
	int		 n;

	if (o->n == 0)
		return;
	for (i = 0; i < o->n; i++) {
		iov[i].iov_base = o->slab + o->ent[i].off;
		iov[i].iov_len = o->ent[i].len;
		memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
		mm[i].msg_hdr.msg_name = &o->ent[i].to;
		mm[i].msg_hdr.msg_namelen =
		    addr_len((struct sockaddr *)&o->ent[i].to);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < o->n) {
		n = sendmmsg(l->udp_fd, mm + done, (unsigned)(o->n - done), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* This one cannot go (EAGAIN, unreachable): skip it. */
			log_debug("udp sendmmsg: %s", strerror(errno));
			done++;
			continue;
		}
		done += (size_t)n;
	}
	o->n = 0;
	o->used = 0;
}

/* Queue a UDP answer; it leaves at the end of this loop pass. */
static void
udp_respond(struct responder *r, const struct sockaddr *client,
    const uint8_t *pkt, size_t len)
{
	struct listener	*l = container_of(r, struct listener, udp_resp);
	struct udp_out	*o = &l->out;

	if (o->slab == NULL || len > UDP_OUT_SLAB) {
		if (sendto(l->udp_fd, pkt, len, 0, client,
		    addr_len(client)) < 0)
			log_debug("udp sendto: %s", strerror(errno));
		return;
	}
	if (o->n == UDP_OUT_MAX || o->used + len > UDP_OUT_SLAB)
		listen_udp_flush(l);
	memcpy(o->slab + o->used, pkt, len);
	o->ent[o->n].off = o->used;
	o->ent[o->n].len = len;
	memcpy(&o->ent[o->n].to, client, addr_len(client));
	o->n++;
	o->used += len;
}

static void
udp_hold(struct responder *r)
{
	struct listener	*l = container_of(r, struct listener, udp_resp);

	l->refs++;
}

static void
udp_release(struct responder *r)
{
	struct listener	*l = container_of(r, struct listener, udp_resp);

	if (--l->refs == 0 && l->dropped) {
		listener_close(l);
		free(l);
	}
}

static void
udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener	*l = container_of(w, struct listener, udp_io);
	struct mmsghdr	*mm = udp_mm;
	int		 n, i, round;

	(void)loop;
	(void)revents;
	if (!udp_mm_ready) {
		mmsg_setup(udp_mm, udp_iov, udp_from, &udp_rxbuf[0][0],
		    sizeof(udp_rxbuf[0]), UDP_BATCH);
		udp_mm_ready = true;
	}
	/* Bounded: a flood cannot hold the loop. */
	for (round = 0; round < 4; round++) {
		n = recvmmsg(l->udp_fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("udp recvmmsg: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			/* Larger than any sane query: not worth an answer. */
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				STATS_INC(l->px->stats.dropped_client);
				continue;
			}
			query_handle(l->px, &l->udp_resp,
			    (struct sockaddr *)&udp_from[i], udp_rxbuf[i],
			    mm[i].msg_len);
		}
		mmsg_rearm(mm, (unsigned)n);
		if (n < UDP_BATCH)
			return;
	}
}

void
listen_udp_start(struct listener *l, struct proxy *px)
{
	l->px = px;
	l->udp_resp.respond = udp_respond;
	l->udp_resp.hold = udp_hold;
	l->udp_resp.release = udp_release;
	l->udp_resp.tcp = false;
	if (l->out.slab == NULL)
		l->out.slab = malloc(UDP_OUT_SLAB);	/* NULL: sendto() */
	ev_io_init(&l->udp_io, udp_read_cb, l->udp_fd, EV_READ);
	ev_io_start(px->loop, &l->udp_io);
}

void
listener_stop(struct listener *l)
{
	if (l->px == NULL)
		return;
	ev_io_stop(l->px->loop, &l->udp_io);
	ev_io_stop(l->px->loop, &l->tcp_io);
}

void
listener_drop(struct listener *l)
{
	listener_stop(l);
	if (l->tcp_fd >= 0)
		close(l->tcp_fd);
	l->tcp_fd = -1;
	if (l->refs == 0) {
		listener_close(l);
		free(l);
		return;
	}
	/* the answers still to come leave at once, not from the queue */
	if (l->udp_fd >= 0)
		listen_udp_flush(l);
	free(l->out.slab);
	l->out.slab = NULL;
	l->dropped = true;
}

void
listener_close(struct listener *l)
{
	if (l->udp_fd >= 0)
		listen_udp_flush(l);
	free(l->out.slab);
	l->out.slab = NULL;
	listener_stop(l);
	if (l->udp_fd >= 0)
		close(l->udp_fd);
	if (l->tcp_fd >= 0)
		close(l->tcp_fd);
	l->udp_fd = l->tcp_fd = -1;
}
