/*
 * listen_udp.c: binding the listening sockets, and the UDP transport.
 */
#include "acconfig.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "log.h"
#include "query.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define UDP_BATCH	64	/* datagrams read per wakeup */

static __thread uint8_t	udp_rxbuf[DNS_MAX_UDP];

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

/* UDP answers go straight back with sendto(); nothing to hold. */
static void
udp_respond(struct responder *r, const struct sockaddr *client,
    const uint8_t *pkt, size_t len)
{
	struct listener	*l = container_of(r, struct listener, udp_resp);

	if (sendto(l->udp_fd, pkt, len, 0, client, addr_len(client)) < 0)
		log_debug("udp sendto: %s", strerror(errno));
}

static void
udp_hold(struct responder *r)
{
	(void)r;
}

static void
udp_release(struct responder *r)
{
	(void)r;
}

static void
udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener	*l = container_of(w, struct listener, udp_io);
	struct sockaddr_storage from;
	socklen_t	 fromlen;
	ssize_t		 n;
	int		 i;

	(void)loop;
	(void)revents;
	for (i = 0; i < UDP_BATCH; i++) {
		fromlen = sizeof(from);
		n = recvfrom(l->udp_fd, udp_rxbuf, sizeof(udp_rxbuf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("udp recvfrom: %s", strerror(errno));
			return;
		}
		query_handle(l->px, &l->udp_resp, (struct sockaddr *)&from,
		    udp_rxbuf, (size_t)n);
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
listener_close(struct listener *l)
{
	listener_stop(l);
	if (l->udp_fd >= 0)
		close(l->udp_fd);
	if (l->tcp_fd >= 0)
		close(l->tcp_fd);
	l->udp_fd = l->tcp_fd = -1;
}
