#include "net/port_client.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/switch_launch.h"
#include "net/switch_path.h"
#include "net/switch_protocol.h"
#include "util/unix_json.h"

#define HELLO_ANSWER_MAX 1024
#define HELLO_TIMEOUT_MS 10000

/* The hello: one JSON object out, the switch's answer back. */
static int port_handshake(int fd, const char *switch_name, const struct port_hello *h,
			  char *port_name, size_t port_name_len, struct nv_err *err)
{
	char mac[18], label[64], refused[96];
	mac_format(&h->mac, mac);
	snprintf(label, sizeof(label), "switch %s", switch_name);
	snprintf(refused, sizeof(refused), "switch %s refused the adapter", switch_name);
	struct json_object *o = json_object_new_object(), *v;
	json_object_object_add(o, "version", json_object_new_int(SWITCH_PROTOCOL_VERSION));
	json_object_object_add(o, "vm", json_object_new_string(h->vm ? h->vm : ""));
	json_object_object_add(o, "adapter", json_object_new_int((int)h->adapter));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "mac_spoofing", json_object_new_boolean(h->mac_spoofing));
	struct json_object *ans = unix_json_exchange(fd, o, HELLO_ANSWER_MAX, HELLO_TIMEOUT_MS,
						     label, refused, err);
	json_object_put(o);
	if (!ans)
		return -1;
	if (port_name && port_name_len) {
		const char *pn = json_object_object_get_ex(ans, "port", &v) ? json_object_get_string(v) : "";
		snprintf(port_name, port_name_len, "%s", pn ? pn : "");
	}
	json_object_put(ans);
	return 0;
}

int port_client_connect(const char *switch_name, const struct port_hello *h, char *port_name,
			size_t port_name_len, struct nv_err *err)
{
	if (switch_ensure_running(switch_name, err) < 0)
		return -1;
	return port_client_attach(switch_name, h, port_name, port_name_len, err);
}

int port_client_attach(const char *switch_name, const struct port_hello *h, char *port_name,
		       size_t port_name_len, struct nv_err *err)
{
	char path[4096], label[64];
	if (switch_path(switch_name, SWITCH_PORT_SOCKET, path, sizeof(path), err) < 0)
		return -1;
	snprintf(label, sizeof(label), "switch %s", switch_name);
	int fd = unix_seqpacket_connect(path, label, "the switch stopped while connecting", err);
	if (fd < 0)
		return -1;
	if (port_handshake(fd, switch_name, h, port_name, port_name_len, err) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}
