#include "util/peer_cred.h"

#include <sys/socket.h>
#include <unistd.h>

bool peer_cred_trusted(int fd, uid_t *uid)
{
	struct ucred c;
	socklen_t len = sizeof(c);
	if (uid)
		*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0 || len != sizeof(c))
		return false;
	if (uid)
		*uid = c.uid;
	return c.uid == geteuid() || c.uid == 0;
}
