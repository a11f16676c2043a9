/*
 * mmsg.h: receive vectors for recvmmsg(), shared by the listeners and
 * the upstream sockets.
 */
#ifndef DNS64PROXY_MMSG_H
#define DNS64PROXY_MMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * Point n message headers at n buffers of size bytes each (bufs holds
 * them back to back) and at n source-address slots.  Done once per
 * thread; after each recvmmsg(), mmsg_rearm() the headers it filled.
 */
void	mmsg_setup(struct mmsghdr *mm, struct iovec *iov,
	    struct sockaddr_storage *from, uint8_t *bufs, size_t size,
	    unsigned n);

/* Make the first n headers ready for the next recvmmsg(). */
static inline void
mmsg_rearm(struct mmsghdr *mm, unsigned n)
{
	unsigned	 i;

	for (i = 0; i < n; i++)
		mm[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
}

#endif /* DNS64PROXY_MMSG_H */
