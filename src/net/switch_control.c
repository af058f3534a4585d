#include "net/switch_control.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/port_client.h"
#include "net/switch_protocol.h"

static int control_connect(const char *name, struct nv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (switch_path(name, SWITCH_CONTROL_SOCKET, sa.sun_path, sizeof(sa.sun_path), err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return nv_err_input(err, "switch %s is not running (its daemon is stopped)", name);
		return nv_err_host(err, "cannot connect to switch %s: %s", name, strerror(e));
	}
	return fd;
}

/* The reply: one message up to SWITCH_CONTROL_MAX, within the deadline. */
static struct json_object *control_receive(int fd, const char *name, int timeout_ms,
					   struct nv_err *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);
	if (r <= 0) {
		nv_err_host(err, "switch %s did not answer within %d ms", name, timeout_ms);
		return NULL;
	}
	char *buf = malloc(SWITCH_CONTROL_MAX + 1);
	if (!buf) {
		nv_err_host(err, "out of memory");
		return NULL;
	}
	ssize_t n = recv(fd, buf, SWITCH_CONTROL_MAX, MSG_TRUNC | MSG_DONTWAIT);
	struct json_object *o = NULL;
	if (n <= 0)
		nv_err_host(err, "switch %s closed the control connection without an answer", name);
	else if (n > SWITCH_CONTROL_MAX)
		nv_err_host(err, "switch %s sent an answer larger than %d bytes", name, SWITCH_CONTROL_MAX);
	else {
		buf[n] = '\0';
		o = json_tokener_parse(buf);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
			nv_err_host(err, "switch %s sent a malformed answer", name);
		}
	}
	free(buf);
	return o;
}

struct json_object *switch_control_request(const char *name, struct json_object *req,
					   int timeout_ms, struct nv_err *err)
{
	int fd = control_connect(name, err);
	if (fd < 0)
		return NULL;
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0) {
		nv_err_host(err, "switch %s: cannot send the request: %s", name, strerror(errno));
		close(fd);
		return NULL;
	}
	struct json_object *o = control_receive(fd, name, timeout_ms, err), *v;
	close(fd);
	if (!o)
		return NULL;
	if (!json_object_object_get_ex(o, "ok", &v) || !json_object_get_boolean(v)) {
		const char *why = json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v)
									    : "no reason given";
		nv_err_input(err, "switch %s: %s", name, why ? why : "no reason given");
		json_object_put(o);
		return NULL;
	}
	return o;
}
