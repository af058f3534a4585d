/* Who is at the other end of a Unix socket (SO_PEERCRED). A VMM's or a
 * switch's sockets serve only their own user and root: the state
 * directory's modes keep others out, and this check stays if they slip. */
#ifndef NESTVM_UTIL_PEER_CRED_H
#define NESTVM_UTIL_PEER_CRED_H

#include <stdbool.h>
#include <sys/types.h>

/* true if the peer of the connected Unix socket fd runs as this process's
 * effective user or as root; *uid (if not NULL) gets its uid (-1 unknown). */
bool peer_cred_trusted(int fd, uid_t *uid);

#endif
