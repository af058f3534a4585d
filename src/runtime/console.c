#include "runtime/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fd_send.h"

static int connect_unix(const char *path, struct nv_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return nv_err_input(err, "--console-socket %s: path too long for a socket", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(s);
		return nv_err_input(err, "--console-socket %s: %s", path, strerror(e));
	}
	return s;
}

int console_make(const char *socket_path, struct nv_err *err)
{
	int sock = connect_unix(socket_path, err);
	if (sock < 0)
		return -1;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[64];
	int slave = -1;
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name))) {
		nv_err_host(err, "a pseudo-terminal: %s", strerror(errno));
	} else if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		nv_err_host(err, "%s: %s", name, strerror(errno));
	} else if (fd_send(sock, name, strlen(name), &master, 1) < 0) {
		nv_err_host(err, "--console-socket %s: sending the terminal: %s", socket_path, strerror(errno));
		close(slave);
		slave = -1;
	}
	if (master >= 0)
		close(master);
	close(sock);
	return slave;
}
