/*
 * stats.h: counters of one worker.  Plain integers written only by the
 * worker's thread; readers sum them.
 */
#ifndef DNS64PROXY_STATS_H
#define DNS64PROXY_STATS_H

#include <stdint.h>

struct stats {
	uint64_t	queries_udp;
	uint64_t	queries_tcp;
	uint64_t	answers_rcode[16];
	uint64_t	synth_aaaa;
	uint64_t	synth_ptr;
	uint64_t	local_answers;
	uint64_t	upstream_timeouts;
	uint64_t	failovers;
	uint64_t	dropped_client;		/* QR set, short, malformed */
	uint64_t	dropped_upstream;	/* spoofed or malformed */
	uint64_t	refused;
	uint64_t	overload;		/* in-flight cap reached */
	uint64_t	inflight;
};

#endif /* DNS64PROXY_STATS_H */
