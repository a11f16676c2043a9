/*
 * mmsg.c: see mmsg.h.
 */
#include "acconfig.h"

#include <string.h>

#include "mmsg.h"

void
mmsg_setup(struct mmsghdr *mm, struct iovec *iov,
    struct sockaddr_storage *from, uint8_t *bufs, size_t size, unsigned n)
{
	unsigned	 i;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = bufs + (size_t)i * size;
		iov[i].iov_len = size;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
}
