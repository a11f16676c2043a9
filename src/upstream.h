/*
 * upstream.h: one exchange with the upstream resolvers: send a query,
 * wait for the matching answer, retry across upstreams, give up.
 *
 * Each attempt uses a fresh random ID and a fresh socket whose source port
 * the kernel picks at random (RFC 5452).  An answer counts only when it
 * comes from the upstream asked (the socket is connected), carries the ID
 * sent and echoes the question asked; anything else is dropped and the
 * exchange keeps waiting.  The exchange is embedded in its owner (struct
 * query) and calls done() exactly once, unless cancelled first.
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

/*
 * Called once per exchange: resp/len/ri describe the matching answer, or
 * resp is NULL when every attempt failed.  resp points into a buffer that
 * is only valid during the call.
 */
typedef void (*upstream_done_fn)(struct upstream_xfer *x, const uint8_t *resp,
    size_t len, const struct msg_info *ri);

struct upstream_xfer {
	struct ev_loop	*loop;
	const struct config *cfg;	/* caller keeps it alive */
	struct stats	*stats;
	upstream_done_fn done;
	bool		 active;
	bool		 tcp;
	int		 fd;
	ev_io		 io;
	ev_timer	 timer;
	unsigned	 attempt;	/* attempts started so far */
	unsigned	 first;		/* upstream index of the first attempt */
	uint16_t	 id;
	ev_tstamp	 sent;		/* when this attempt went out */
	struct msg_question q;		/* the question asked */
	uint8_t		*pkt;		/* query as sent (owned) */
	size_t		 len;
	/* TCP state */
	size_t		 wpos;		/* bytes of [len][pkt] written */
	uint8_t		 lenbuf[2];
	size_t		 rhave;		/* bytes read of length + body */
	uint8_t		*rbuf;		/* body, rneed bytes (owned) */
	size_t		 rneed;
};

/*
 * Start an exchange for the query pkt[0..len) (its ID is replaced per
 * attempt; the buffer is copied).  Over TCP when tcp.  0 on success, -1
 * when out of memory or the query cannot be parsed (done() is not called).
 */
int	upstream_start(struct upstream_xfer *x, struct ev_loop *loop,
	    const struct config *cfg, struct stats *stats, bool tcp,
	    const uint8_t *pkt, size_t len, upstream_done_fn done);

/* Stop an exchange without calling done(); frees what it holds. */
void	upstream_cancel(struct upstream_xfer *x);

/* A random 16-bit value from the kernel's generator (buffered). */
uint16_t upstream_random16(void);

#endif /* DNS64PROXY_UPSTREAM_H */
