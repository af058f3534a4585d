/* libFuzzer: a hostile control request, as anyone who can reach a control
 * socket may send. The input is one message, given to both:
 *   - a VMM's control.sock parser (vm_control_parse, vmm/vm_control.c);
 *   - a switch daemon's control.sock: the daemon's own loop code
 *     (net/switch_daemon_loop.c: accept, read, dispatch, reply) on its event
 *     loop in this process, with a core of three ports; the message arrives
 *     through a real connection and the reply is read back. No daemon runs:
 *     nothing starts, no state directory, no uplink.
 * Any crash, sanitizer report, leak or hang is a bug, and so is: a parsed
 * VM request that is invalid without saying why, or valid with a name or
 * overlay path the VMM would then use unchecked; a switch that does not
 * answer, answers with anything but {"ok":..} (and "error" when not ok), or
 * says ok to a request it should refuse, or refuses one it should take
 * (show, set-port on a known port, shutdown), or sets a port other than
 * asked. */
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "net/switch_daemon_private.h"
#include "net/switch_protocol.h"
#include "util/state_dir.h"
#include "vmm/vm_control.h"

#define CONTROL_REQUEST_MAX 4096 /* switch_daemon_loop.c */
#define NPORTS 3

static const char *const port_names[NPORTS] = { "web1/0", "web2/0", "db/1" };

static void check_vm_request(const uint8_t *data, size_t size)
{
	struct vm_control_request req;
	vm_control_parse((const char *)data, size, &req);
	CHECK(memchr(req.error, '\0', sizeof(req.error)));
	CHECK((req.cmd == VM_CONTROL_INVALID) == (req.error[0] != '\0'));
	CHECK(memchr(req.reason, '\0', sizeof(req.reason)) && (req.cmd == VM_CONTROL_KILL || !req.reason[0]));
	if (req.cmd != VM_CONTROL_CHECKPOINT) {
		CHECK(req.noverlays == 0); /* a refused checkpoint may keep its name */
		return;
	}
	/* What the VMM then uses as a file name and as paths. */
	CHECK(memchr(req.name, '\0', sizeof(req.name)) && state_name_valid(req.name, sizeof(req.name) - 1));
	CHECK(req.noverlays <= VM_MAX_DISKS);
	for (unsigned i = 0; i < req.noverlays; i++) {
		const char *p = req.overlays[i];
		CHECK(memchr(p, '\0', VM_PATH_MAX) && (p[0] == '\0' || p[0] == '/'));
	}
}

/* ---- the switch ---------------------------------------------------- */

static struct daemon d;
static struct sockaddr_un ctl_addr;
static socklen_t ctl_len;

static int listener(const char *what, struct sockaddr_un *a, socklen_t *len)
{
	/* Abstract names: no file, and one per process (-jobs, -fork). */
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "nestvm-fuzz-%s-%d", what, (int)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)a, *len) == 0 && listen(fd, 16) == 0);
	return fd;
}

static void switch_setup(void)
{
	struct nv_err err = { 0 };
	snprintf(d.cfg.name, sizeof(d.cfg.name), "fuzz");
	d.cfg.type = SWITCH_PRIVATE;
	d.core = switch_core_new(8, 64, 300000, switch_daemon_out, &d, NULL, NULL);
	CHECK(d.core);
	for (int i = 0; i < NPORTS; i++) {
		struct mac_addr m = { { 0x52, 0x54, 0, 0, 0, (uint8_t)i + 1 } };
		CHECK(switch_core_add_port(d.core, port_names[i], &m, i == 1) == i); /* spoofing: web2/0 */
	}
	d.pid_fd = -1;
	CHECK(switch_daemon_loop_open(&d, d.cfg.name, &err) == 0);
	/* The daemon takes SIGTERM and SIGINT on its loop; here libFuzzer
	 * keeps them (removal unblocks them again). */
	CHECK(evloop_remove(d.loop, d.signals) == 0);
	struct sockaddr_un port_addr;
	socklen_t port_len;
	d.port_lfd = listener("port", &port_addr, &port_len);
	d.ctl_lfd = listener("control", &ctl_addr, &ctl_len);
	CHECK(switch_daemon_loop_listen(&d, &err) == 0);
}

/* Whether the daemon must say ok, from the request as it defines it
 * (switch_protocol.h); sets *port and *on for a set-port. */
static bool switch_should_accept(const uint8_t *data, size_t size, int *port, int *on)
{
	*port = -1;
	if (size > CONTROL_REQUEST_MAX || memchr(data, '\0', size))
		return false;
	char *text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	struct json_object *o = json_tokener_parse(text), *v, *p;
	free(text);
	const char *cmd = o && json_object_is_type(o, json_type_object) &&
				  json_object_object_get_ex(o, "cmd", &v) && json_object_is_type(v, json_type_string)
			  ? json_object_get_string(v) : "";
	bool ok = !strcmp(cmd, "show") || !strcmp(cmd, "shutdown");
	if (!strcmp(cmd, "set-port") && json_object_object_get_ex(o, "port", &p) &&
	    json_object_is_type(p, json_type_string) && json_object_object_get_ex(o, "mac_spoofing", &v) &&
	    json_object_is_type(v, json_type_boolean)) {
		for (int i = 0; i < NPORTS; i++)
			if (!strcmp(json_object_get_string(p), port_names[i]))
				*port = i;
		*on = json_object_get_boolean(v);
		ok = *port >= 0;
	}
	json_object_put(o);
	return ok;
}

static void check_switch_request(const uint8_t *data, size_t size)
{
	static char reply[SWITCH_CONTROL_MAX + 1];
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(c >= 0 && connect(c, (struct sockaddr *)&ctl_addr, ctl_len) == 0);
	if (send(c, data, size, MSG_NOSIGNAL) != (ssize_t)size) {
		close(c); /* too large for one message: never reaches the daemon */
		return;
	}
	/* Accept, then the request: a few rounds of the daemon's loop. */
	struct pollfd pf = { .fd = c, .events = POLLIN };
	for (int i = 0; i < 10 && poll(&pf, 1, 0) == 0; i++)
		CHECK(evloop_run_once(d.loop, 1000) >= 0);
	CHECK(poll(&pf, 1, 0) == 1); /* a reply, or the connection closed */
	ssize_t r = recv(c, reply, sizeof(reply) - 1, MSG_DONTWAIT);
	close(c);
	/* `shutdown` stopped the loop; this resets it for the next input
	 * (evloop_run returns at once when a stop is pending). */
	evloop_stop(d.loop);
	evloop_run(d.loop);

	if (size == 0) {
		CHECK(r == 0); /* an empty message: no request, no reply */
		return;
	}
	CHECK(r > 0 && r <= SWITCH_CONTROL_MAX);
	reply[r] = '\0';
	struct json_object *o = json_tokener_parse(reply), *ok, *e;
	CHECK(o && json_object_is_type(o, json_type_object));
	CHECK(json_object_object_get_ex(o, "ok", &ok) && json_object_is_type(ok, json_type_boolean));
	int port, on;
	bool want = switch_should_accept(data, size, &port, &on);
	CHECK(json_object_get_boolean(ok) == want);
	if (!want)
		CHECK(json_object_object_get_ex(o, "error", &e) && json_object_is_type(e, json_type_string) &&
		      json_object_get_string_len(e) > 0);
	json_object_put(o);
	/* Only the port asked for changed; back as it was for the next input. */
	for (int i = 0; i < NPORTS; i++) {
		const struct switch_port *p = switch_core_port(d.core, i);
		CHECK(p && p->mac_spoofing == (i == port ? on : i == 1));
		switch_core_set_spoofing(d.core, i, i == 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!d.loop)
		switch_setup();
	check_vm_request(data, size);
	check_switch_request(data, size);
	return 0;
}
