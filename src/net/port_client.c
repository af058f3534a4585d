#include "net/port_client.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt/state_dir.h"
#include "net/switch_launch.h"
#include "net/switch_protocol.h"

int switch_path(const char *name, const char *file, char *out, size_t len, struct nv_err *err)
{
	char base[4096];
	if (!state_name_valid(name, SWITCH_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid switch name (1-%d of A-Z a-z 0-9 _ . -)",
				    name ? name : "", SWITCH_NAME_MAX);
	if (state_dir_path(base, sizeof(base), err) < 0)
		return -1;
	int n = snprintf(out, len, "%s/%s/%s%s%s", base, SWITCH_DIR, name, file ? "/" : "",
			 file ? file : "");
	if (n < 0 || (size_t)n >= len)
		return nv_err_input(err, "the path of switch %s is too long (shorten NESTVM_HOME)", name);
	return 0;
}

/* One JSON hello out, one JSON answer back, with a deadline. */
static int port_handshake(int fd, const char *switch_name, const struct port_hello *h,
			  char *port_name, size_t port_name_len, struct nv_err *err)
{
	char mac[18];
	mac_format(&h->mac, mac);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(SWITCH_PROTOCOL_VERSION));
	json_object_object_add(o, "vm", json_object_new_string(h->vm ? h->vm : ""));
	json_object_object_add(o, "adapter", json_object_new_int((int)h->adapter));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "mac_spoofing", json_object_new_boolean(h->mac_spoofing));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ssize_t w = send(fd, s, strlen(s), MSG_NOSIGNAL);
	json_object_put(o);
	if (w < 0)
		return nv_err_host(err, "switch %s: cannot send the port hello: %s", switch_name,
				   strerror(errno));
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[1024];
	ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
	if (r <= 0)
		return nv_err_host(err, "switch %s did not answer the port hello%s%s", switch_name,
				   r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
	buf[r] = '\0';
	struct json_object *ans = json_tokener_parse(buf), *v;
	if (!ans || !json_object_is_type(ans, json_type_object)) {
		json_object_put(ans);
		return nv_err_host(err, "switch %s sent a malformed answer to the port hello", switch_name);
	}
	int ret = 0;
	if (!json_object_object_get_ex(ans, "ok", &v) || !json_object_get_boolean(v)) {
		const char *why = json_object_object_get_ex(ans, "error", &v) ? json_object_get_string(v)
									      : "no reason given";
		ret = nv_err_input(err, "switch %s refused the adapter: %s", switch_name, why);
	} else if (port_name && port_name_len) {
		const char *pn = json_object_object_get_ex(ans, "port", &v) ? json_object_get_string(v) : "";
		snprintf(port_name, port_name_len, "%s", pn ? pn : "");
	}
	json_object_put(ans);
	return ret;
}

int port_client_connect(const char *switch_name, const struct port_hello *h, char *port_name,
			size_t port_name_len, struct nv_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (switch_path(switch_name, SWITCH_PORT_SOCKET, sa.sun_path, sizeof(sa.sun_path), err) < 0)
		return -1;
	if (switch_ensure_running(switch_name, err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nv_err_host(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		nv_err_host(err, "cannot connect to switch %s: %s", switch_name, strerror(errno));
		close(fd);
		return -1;
	}
	if (port_handshake(fd, switch_name, h, port_name, port_name_len, err) < 0) {
		close(fd);
		return -1;
	}
	struct timeval none = { 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}
