#include "state/migration_channel.h"
#include "util/mono_clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

int mig_addr_parse(const char *s, struct mig_addr *a, struct nv_err *err)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->text, sizeof(a->text), "%s", s);
	if (!strncmp(s, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&a->sa;
		const char *path = s + 5;
		if (!path[0] || strlen(path) >= sizeof(un->sun_path))
			return nv_err_input(err, "migration address '%s': a Unix socket path of 1 to %zu bytes", s,
					    sizeof(un->sun_path) - 1);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		a->len = sizeof(*un);
		a->family = AF_UNIX;
		return 0;
	}
	if (!strncmp(s, "tcp:", 4)) {
		const char *host = s + 4;
		const char *colon = strrchr(host, ':');
		char ip[64];
		if (!colon || (size_t)(colon - host) >= sizeof(ip) || colon == host)
			return nv_err_input(err, "migration address '%s': expected tcp:ADDR:PORT", s);
		memcpy(ip, host, (size_t)(colon - host));
		ip[colon - host] = '\0';
		char *end;
		errno = 0;
		unsigned long port = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || port == 0 || port > 65535)
			return nv_err_input(err, "migration address '%s': port must be 1 to 65535", s);
		struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip, &in->sin_addr) != 1)
			return nv_err_input(err, "migration address '%s': '%s' is not a numeric IPv4 address", s, ip);
		a->len = sizeof(*in);
		a->family = AF_INET;
		return 0;
	}
	return nv_err_input(err, "migration address '%s': expected unix:PATH or tcp:ADDR:PORT", s);
}

static int new_socket(const struct mig_addr *a, struct nv_err *err)
{
	int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nv_err_host(err, "migration socket: %s", strerror(errno));
	if (a->family == AF_INET) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

int mig_connect(const struct mig_addr *a, struct nv_err *err)
{
	int fd = new_socket(a, err);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) < 0) {
		int e = errno;
		close(fd);
		return nv_err_input(err, "cannot reach the target at %s: %s", a->text, strerror(e));
	}
	return fd;
}

int mig_listen(const struct mig_addr *a, struct nv_err *err)
{
	int fd = new_socket(a, err);
	if (fd < 0)
		return -1;
	if (a->family == AF_UNIX)
		unlink(((const struct sockaddr_un *)&a->sa)->sun_path);
	else {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	/* A Unix socket is only its user's to connect to (mode 0600 from the
	 * start); TCP has no such check: see the README's "Live migration". */
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)&a->sa, a->len);
	umask(old);
	if (rc < 0 || listen(fd, 1) < 0) {
		int e = errno;
		close(fd);
		return nv_err_input(err, "cannot listen at %s: %s", a->text, strerror(e));
	}
	return fd;
}

int mig_accept(int lfd, int timeout_ms, struct nv_err *err)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return nv_err_input(err, "no source connected within %d s", timeout_ms / 1000);
	int fd = r < 0 ? -1 : accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return nv_err_host(err, "migration accept: %s", strerror(errno));
	return fd;
}

int mig_send(int fd, enum mig_type type, const void *a, size_t alen, const void *b, size_t blen,
	     struct nv_err *err)
{
	uint8_t hdr[MIG_HEADER_BYTES];
	mig_header_put(hdr, type, (uint32_t)(alen + blen));
	struct iovec iov[3] = { { hdr, sizeof(hdr) }, { (void *)a, alen }, { (void *)b, blen } };
	int i = 0;
	size_t left = sizeof(hdr) + alen + blen;
	while (left > 0) {
		ssize_t n = sendmsg(fd, &(struct msghdr){ .msg_iov = iov + i, .msg_iovlen = (size_t)(3 - i) },
				    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nv_err_input(err, "migration stream: sending %s: %s", mig_type_name(type),
					    strerror(errno));
		left -= (size_t)n;
		while (i < 3 && (size_t)n >= iov[i].iov_len) {
			n -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < 3) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

int mig_recv_exact(int fd, void *buf, size_t len, int timeout_ms, struct nv_err *err)
{
	int64_t deadline = timeout_ms < 0 ? 0 : mono_ms() + timeout_ms;
	size_t got = 0;
	while (got < len) {
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - mono_ms();
			if (left <= 0)
				return nv_err_input(err, "migration stream: the peer sent nothing for %d s",
						    timeout_ms / 1000);
			wait = (int)left;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nv_err_input(err, "migration stream: %s", strerror(errno));
		if (n == 0)
			return nv_err_input(err, "migration stream: the peer closed the connection");
		got += (size_t)n;
	}
	return 0;
}
