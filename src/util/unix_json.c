#include "util/unix_json.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/fd_send.h"

static bool unix_addr(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa->sun_path))
		return false;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return true;
}

int unix_listen(const char *path, int type, int backlog, struct nv_err *err)
{
	struct sockaddr_un sa;
	if (!unix_addr(path, &sa))
		return nv_err_host(err, "socket path too long: %s", path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	unlink(path);
	mode_t old = umask(0177); /* mode 0600 from the start, no window */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		return nv_err_host(err, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

int unix_seqpacket_connect(const char *path, const char *label, const char *not_running,
			   struct nv_err *err)
{
	struct sockaddr_un sa;
	if (!unix_addr(path, &sa))
		return nv_err_input(err, "the socket path of %s is too long (shorten NESTVM_HOME)", label);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return nv_err_input(err, "%s", not_running);
		return nv_err_host(err, "cannot connect to %s: %s", label, strerror(e));
	}
	return fd;
}

/* One message of at most max bytes, parsed; NULL with err otherwise. */
static struct json_object *receive_object(int fd, size_t max, int timeout_ms, const char *label,
					  struct nv_err *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) <= 0) {
		nv_err_host(err, "%s did not answer within %d ms", label, timeout_ms);
		return NULL;
	}
	char *buf = malloc(max + 1);
	if (!buf) {
		nv_err_host(err, "out of memory");
		return NULL;
	}
	/* MSG_TRUNC: the real length of an oversized message. */
	ssize_t n = recv(fd, buf, max, MSG_TRUNC | MSG_DONTWAIT);
	struct json_object *o = NULL;
	if (n <= 0) {
		nv_err_host(err, "%s closed the connection without an answer", label);
	} else if ((size_t)n > max) {
		nv_err_host(err, "%s sent an answer larger than %zu bytes", label, max);
	} else {
		buf[n] = '\0';
		o = json_tokener_parse(buf);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
			nv_err_host(err, "%s sent a malformed answer", label);
		}
	}
	free(buf);
	return o;
}

struct json_object *unix_json_exchange(int fd, struct json_object *req, size_t max,
				       int timeout_ms, const char *label, const char *refused,
				       struct nv_err *err)
{
	return unix_json_exchange_fd(fd, req, -1, max, timeout_ms, label, refused, err);
}

/* One message, with pass_fd as SCM_RIGHTS when it is >= 0. */
static ssize_t send_with_fd(int fd, const char *s, int pass_fd)
{
	return fd_send(fd, s, strlen(s), &pass_fd, pass_fd >= 0 ? 1 : 0);
}

struct json_object *unix_json_exchange_fd(int fd, struct json_object *req, int pass_fd, size_t max,
					  int timeout_ms, const char *label, const char *refused,
					  struct nv_err *err)
{
	return unix_json_exchange_interim(fd, req, pass_fd, max, timeout_ms, label, refused, NULL, NULL, err);
}

struct json_object *unix_json_exchange_interim(int fd, struct json_object *req, int pass_fd, size_t max,
					       int timeout_ms, const char *label, const char *refused,
					       void (*interim)(void *opaque, struct json_object *o), void *opaque,
					       struct nv_err *err)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (send_with_fd(fd, s, pass_fd) < 0) {
		nv_err_host(err, "cannot send to %s: %s", label, strerror(errno));
		return NULL;
	}
	struct json_object *o, *v;
	/* An interim message ({"interim": {...}}) is shown, not the answer;
	 * each one restarts the wait. */
	while ((o = receive_object(fd, max, timeout_ms, label, err)) && interim &&
	       json_object_object_get_ex(o, "interim", &v)) {
		interim(opaque, v);
		json_object_put(o);
	}
	if (o && (!json_object_object_get_ex(o, "ok", &v) || !json_object_get_boolean(v))) {
		const char *why = json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v) : NULL;
		nv_err_input(err, "%s: %s", refused, why ? why : "no reason given");
		json_object_put(o);
		o = NULL;
	}
	return o;
}

struct json_object *unix_json_request(const char *path, struct json_object *req, size_t max,
				      int timeout_ms, const char *label, const char *not_running,
				      const char *refused, struct nv_err *err)
{
	int fd = unix_seqpacket_connect(path, label, not_running, err);
	if (fd < 0)
		return NULL;
	struct json_object *o = unix_json_exchange(fd, req, max, timeout_ms, label, refused, err);
	close(fd);
	return o;
}
