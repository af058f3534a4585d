/* One message on a Unix socket with file descriptors attached
 * (SCM_RIGHTS): the VMM's control answers and the vhost-user requests. */
#ifndef NESTVM_UTIL_FD_SEND_H
#define NESTVM_UTIL_FD_SEND_H

#include <stddef.h>
#include <sys/types.h>

#define FD_SEND_MAX 4

/* sendmsg of buf with fds[0..nfds) (nfds 0 to FD_SEND_MAX), MSG_NOSIGNAL (a
 * peer gone is an error, not a SIGPIPE), again after EINTR. What sendmsg
 * returns: the bytes sent, or -1 with errno. */
ssize_t fd_send(int sock, const void *buf, size_t len, const int *fds, unsigned nfds);

#endif
