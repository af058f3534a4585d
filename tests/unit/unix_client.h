/* A test's client end of an AF_UNIX stream socket (a console.sock). */
#ifndef NESTVM_TESTS_UNIX_CLIENT_H
#define NESTVM_TESTS_UNIX_CLIENT_H

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static inline int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

#endif
