#include "vmm/vm_control.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt/vm_store.h"

void vm_control_parse(const char *msg, size_t len, struct vm_control_request *req)
{
	memset(req, 0, sizeof(*req));
	char buf[VM_CONTROL_MAX + 1];
	if (len > VM_CONTROL_MAX) {
		snprintf(req->error, sizeof(req->error), "request larger than %d bytes", VM_CONTROL_MAX);
		return;
	}
	memcpy(buf, msg, len);
	buf[len] = '\0';
	struct json_object *o = json_tokener_parse(buf), *v;
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(req->error, sizeof(req->error), "request is not a JSON object");
		json_object_put(o);
		return;
	}
	const char *cmd = json_object_object_get_ex(o, "cmd", &v) && json_object_is_type(v, json_type_string)
				  ? json_object_get_string(v) : NULL;
	if (!cmd)
		snprintf(req->error, sizeof(req->error), "request has no \"cmd\" string");
	else if (!strcmp(cmd, "status"))
		req->cmd = VM_CONTROL_STATUS;
	else if (!strcmp(cmd, "shutdown"))
		req->cmd = VM_CONTROL_SHUTDOWN;
	else if (!strcmp(cmd, "kill"))
		req->cmd = VM_CONTROL_KILL;
	else
		snprintf(req->error, sizeof(req->error), "unknown cmd \"%.64s\" (status, shutdown, kill)", cmd);
	if (req->cmd == VM_CONTROL_KILL && json_object_object_get_ex(o, "reason", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(req->reason, sizeof(req->reason), "%s", json_object_get_string(v));
	json_object_put(o);
}

int vm_control_listen(const char *path, int type, struct nv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return nv_err_host(err, "socket path too long: %s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	/* Stale: only the holder of vmm.lock gets here, so no VMM uses it. */
	unlink(path);
	mode_t old = umask(0177); /* mode 0600 from the start, no window */
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return nv_err_host(err, "cannot listen on %s: %s", path, strerror(e));
	}
	return fd;
}

static int control_connect(const char *name, struct nv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (vm_store_path(name, VM_CONTROL_SOCKET, sa.sun_path, sizeof(sa.sun_path), err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return nv_err_input(err, "VM %s is not running (no VMM answers on its control socket)", name);
		return nv_err_host(err, "cannot connect to the VMM of %s: %s", name, strerror(e));
	}
	return fd;
}

struct json_object *vm_control_call(const char *name, struct json_object *req, int timeout_ms,
				    struct nv_err *err)
{
	int fd = control_connect(name, err);
	if (fd < 0)
		return NULL;
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	struct json_object *o = NULL, *v;
	char buf[VM_CONTROL_MAX + 1];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0) {
		nv_err_host(err, "VM %s: cannot send to its VMM: %s", name, strerror(errno));
	} else if (poll(&p, 1, timeout_ms) <= 0) {
		nv_err_host(err, "the VMM of %s did not answer within %d ms", name, timeout_ms);
	} else if ((n = recv(fd, buf, VM_CONTROL_MAX, MSG_DONTWAIT)) <= 0) {
		nv_err_host(err, "the VMM of %s closed the control connection without an answer", name);
	} else {
		buf[n] = '\0';
		o = json_tokener_parse(buf);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
			nv_err_host(err, "the VMM of %s sent a malformed answer", name);
		}
	}
	close(fd);
	if (o && (!json_object_object_get_ex(o, "ok", &v) || !json_object_get_boolean(v))) {
		const char *why = json_object_object_get_ex(o, "error", &v) ? json_object_get_string(v) : NULL;
		nv_err_input(err, "VM %s: %s", name, why ? why : "the VMM refused, giving no reason");
		json_object_put(o);
		o = NULL;
	}
	return o;
}
