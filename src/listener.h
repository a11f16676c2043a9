/*
 * listener.h: the transports clients come in by, behind one small
 * interface so that query.c never branches on UDP or TCP.
 */
#ifndef DNS64PROXY_LISTENER_H
#define DNS64PROXY_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <ev.h>

struct proxy;

/*
 * Where answers go.  respond() sends pkt[0..len) to client (copied or sent
 * at once; the caller keeps pkt).  hold()/release() bracket a query's use
 * of the responder, so a TCP connection outlives the queries it carries.
 */
struct responder {
	void	(*respond)(struct responder *r,
		    const struct sockaddr *client, const uint8_t *pkt,
		    size_t len);
	void	(*hold)(struct responder *r);
	void	(*release)(struct responder *r);
	bool	  tcp;
};

#define UDP_OUT_MAX	64		/* answers queued per listener */
#define UDP_OUT_SLAB	(128 * 1024)	/* bytes queued per listener */

/* UDP answers waiting for one sendmmsg() at the end of a loop pass. */
struct udp_out {
	uint8_t		*slab;		/* UDP_OUT_SLAB bytes (owned) */
	size_t		 used;
	size_t		 n;
	struct {
		size_t			off;
		size_t			len;
		struct sockaddr_storage	to;
	}		 ent[UDP_OUT_MAX];
};

/* One listening socket pair (UDP and TCP) on one address. */
struct listener {
	struct proxy	*px;
	struct sockaddr_storage addr;
	int		 udp_fd;
	int		 tcp_fd;
	ev_io		 udp_io;
	ev_io		 tcp_io;
	struct responder udp_resp;
	struct udp_out	 out;
	unsigned	 refs;		/* UDP queries in flight from it */
	bool		 dropped;	/* by a reload: freed at refs == 0 */
};

/* Bind the UDP and TCP sockets (before dropping privileges), with
 * SO_REUSEPORT when several workers share the address.  0 / -1 with
 * errno and a message logged. */
int	listener_bind(struct listener *l, const struct sockaddr_storage *ss,
	    bool reuseport);
/*
 * Is ss free, for UDP and TCP alike, to a socket without SO_REUSEPORT?
 * 0, or -1 with errno and a message logged.
 */
int	listener_probe(const struct sockaddr_storage *ss);
void	listen_udp_start(struct listener *l, struct proxy *px);
void	listen_tcp_start(struct listener *l, struct proxy *px);
/* Stop taking new queries (shutdown); open TCP connections finish. */
void	listener_stop(struct listener *l);
void	listener_close(struct listener *l);
/*
 * A reload dropped l's address: stop taking queries and close the TCP
 * socket at once; the UDP socket stays for the answers to the queries in
 * flight (sent from the address they were asked on), and l is closed and
 * freed when the last of them lets go.
 */
void	listener_drop(struct listener *l);
/* Send the UDP answers queued on l (called before the loop blocks). */
void	listen_udp_flush(struct listener *l);
/* Called when a TCP connection closes, to resume accepting. */
void	listen_tcp_resume(struct proxy *px);
/*
 * Stopping: close the TCP connections that wait for nothing (no query in
 * flight, no answer unwritten); the others close when they are done.
 */
void	listen_tcp_stop(struct proxy *px);
/* How many open TCP connections have answers not yet written? */
unsigned listen_tcp_unsent(const struct proxy *px);
/* At worker exit: close and free every TCP connection left. */
void	listen_tcp_free_all(struct proxy *px);

#endif /* DNS64PROXY_LISTENER_H */
