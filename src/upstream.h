/*
 * upstream.h: one exchange with the upstream resolvers: send a query,
 * wait for the matching answer, retry across upstreams, give up.
 *
 * UDP goes through a per-worker pool of sockets, each bound to a port the
 * kernel picks at random; every attempt takes a socket from the pool at
 * random and a fresh random ID no other exchange of the worker holds
 * (RFC 5452), and sockets are replaced by fresh ones as they are used, so
 * ports keep changing.  An answer counts only when it arrives on that
 * socket, from the upstream asked, with the ID sent, echoing the question
 * asked; anything else is dropped and the exchange keeps waiting.  TCP
 * carries one exchange at a time per connection; a connection whose
 * answer came whole is kept open for a while and reused (RFC 7766 6.2.1).
 * An exchange is embedded in its owner (struct query) and calls done()
 * exactly once, unless cancelled first.
 */
#ifndef DNS64PROXY_UPSTREAM_H
#define DNS64PROXY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ev.h>

#include "config.h"
#include "msg.h"

struct stats;
struct upstream_xfer;
struct upstream_pool;

/*
 * Called once per exchange: resp/len/ri describe the matching answer, or
 * resp is NULL when every attempt failed.  resp points into a buffer that
 * is only valid during the call.
 */
typedef void (*upstream_done_fn)(struct upstream_xfer *x, const uint8_t *resp,
    size_t len, const struct msg_info *ri);

#define UPSTREAM_INLINE_PKT	96	/* queries up to this size need no malloc */

struct upstream_xfer {
	struct upstream_pool *pool;
	const struct config *cfg;	/* caller keeps it alive */
	upstream_done_fn done;
	bool		 active;
	bool		 tcp;
	bool		 local_fail;	/* the attempt failed here: timer at 0 */
	struct upstream_sock *sock;	/* UDP: the current attempt's socket */
	struct upstream_xfer *snext;	/* others waiting on that socket */
	struct upstream_xfer **sprevp;
	const struct sockaddr_storage *dest;	/* the current attempt's upstream */
	ev_timer	 timer;
	unsigned	 attempt;	/* attempts started so far */
	uint16_t	 id;
	ev_tstamp	 sent;		/* when this attempt went out */
	uint8_t		*pkt;		/* the query as sent */
	size_t		 len;
	size_t		 qname_len;	/* the question name's, in pkt */
	uint8_t		 inline_pkt[UPSTREAM_INLINE_PKT];
	/* TCP state */
	int		 fd;
	bool		 reused;	/* fd was kept open from an earlier
					 * exchange: if it fails before any of
					 * the answer came, a fresh one is
					 * tried, once */
	ev_io		 io;
	size_t		 wpos;		/* bytes of [len][pkt] written */
	uint8_t		 lenbuf[2];
	size_t		 rhave;		/* bytes read of length + body */
	uint8_t		*rbuf;		/* body, rneed bytes (owned) */
	size_t		 rneed;
	/* in the pool's queue of attempts waiting for a TCP slot (tprevp
	 * NULL when not) */
	struct upstream_xfer *tnext;
	struct upstream_xfer **tprevp;
};

/*
 * The UDP sockets of one worker: nsock per address family.  0, or -1 when
 * not even one socket could be opened.
 */
struct upstream_pool *upstream_pool_new(struct ev_loop *loop,
	    struct stats *stats, size_t nsock);
void	upstream_pool_free(struct upstream_pool *p);
/*
 * The loop has stopped and the exchanges are about to be cancelled: no
 * attempt waiting for a TCP connection is started any more, and the
 * upstream TCP connections kept open for reuse are closed.
 */
void	upstream_pool_stop(struct upstream_pool *p);

/*
 * Start an exchange for the query pkt[0..len) (its ID is replaced per
 * attempt; the buffer is copied).  Over TCP when tcp.  0 on success, -1
 * when out of memory or the query cannot be parsed (done() is not called).
 */
int	upstream_start(struct upstream_xfer *x, struct upstream_pool *pool,
	    const struct config *cfg, bool tcp, const uint8_t *pkt,
	    size_t len, upstream_done_fn done);

/* Stop an exchange without calling done(); frees what it holds. */
void	upstream_cancel(struct upstream_xfer *x);

/* A random 16-bit value from the kernel's generator (buffered). */
uint16_t upstream_random16(void);
/* A random value below n (n > 0). */
uint32_t upstream_random_below(uint32_t n);

#endif /* DNS64PROXY_UPSTREAM_H */
