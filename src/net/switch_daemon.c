#include "net/switch_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "net/port_client.h"
#include "net/switch_config.h"
#include "net/switch_core.h"
#include "net/switch_hello.h"
#include "net/switch_launch.h"
#include "net/switch_protocol.h"
#include "net/switch_show.h"
#include "net/uplink.h"
#include "net/uplink_tap.h"
#include "util/unix_json.h"

#define MAX_PENDING 16         /* connections that have not said hello yet */
#define MAX_CONTROL 8          /* control connections at once */
#define HELLO_TIMEOUT_MS 5000
#define CONTROL_REQUEST_MAX 4096
#define PORT_SNDBUF (256 * 1024) /* each port's bounded queue */
#define PORT_BURST 32          /* frames read from one port per round */
/* libslirp wants one pollfd per forward and per guest connection. */
#define UPLINK_FDS 256

struct pending {
	int fd;
	uint64_t deadline_ms;
};

struct daemon {
	struct switch_config cfg;
	struct switch_core *core;
	struct uplink *uplink;
	int port_lfd, ctl_lfd, pid_fd;
	int port_fd[SWITCH_MAX_PORTS]; /* by core port id */
	bool port_dead[SWITCH_MAX_PORTS];
	struct pending pending[MAX_PENDING];
	int ctl_fd[MAX_CONTROL];
	bool stop, own_pid;
	char port_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char pid_path[4096];
	uint8_t buf[NET_FRAME_MAX];
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_line(const struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_line(const struct daemon *d, const char *fmt, ...)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s switch %s: ", ts, d->cfg.name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- forwarding ---------------------------------------------------- */

static enum switch_out_result daemon_out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	struct daemon *d = opaque;
	if (to == SWITCH_PORT_UPLINK) {
		if (d->uplink)
			d->uplink->ops->send(d->uplink, frame, len);
		return SWITCH_OUT_SENT;
	}
	if (to < 0 || to >= SWITCH_MAX_PORTS || d->port_fd[to] < 0 || d->port_dead[to])
		return SWITCH_OUT_GONE;
	if (send(d->port_fd[to], frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		return SWITCH_OUT_SENT;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return SWITCH_OUT_FULL;
	d->port_dead[to] = true; /* removed after this round, not mid-flood */
	return SWITCH_OUT_GONE;
}

static void daemon_uplink_deliver(void *opaque, const uint8_t *frame, size_t len)
{
	struct daemon *d = opaque;
	switch_core_input(d->core, SWITCH_PORT_UPLINK, frame, len);
}

/* Has the peer gone (EOF), as opposed to sending an empty message? */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void port_read(struct daemon *d, int id)
{
	int fd = d->port_fd[id];
	for (int i = 0; i < PORT_BURST && !d->port_dead[id]; i++) {
		ssize_t r = recv(fd, d->buf, sizeof(d->buf), MSG_TRUNC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				d->port_dead[id] = true;
			return;
		}
		if (r == 0) {
			if (peer_gone(fd))
				d->port_dead[id] = true;
			else
				switch_core_count_malformed(d->core, id);
			continue;
		}
		if ((size_t)r > sizeof(d->buf))
			switch_core_count_malformed(d->core, id); /* oversized: MSG_TRUNC told us */
		else
			switch_core_input(d->core, id, d->buf, (size_t)r);
	}
}

static void port_remove(struct daemon *d, int id)
{
	const struct switch_port *p = switch_core_port(d->core, id);
	if (p)
		log_line(d, "port %s disconnected (rx %llu, tx %llu frames)", p->name,
			 (unsigned long long)p->c.rx_frames, (unsigned long long)p->c.tx_frames);
	switch_core_remove_port(d->core, id);
	close(d->port_fd[id]);
	d->port_fd[id] = -1;
	d->port_dead[id] = false;
}

/* ---- port hello ---------------------------------------------------- */

static void hello_answer(int fd, const char *port, const char *error)
{
	char msg[600];
	switch_hello_answer(msg, sizeof(msg), port, error);
	send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void hello_handle(struct daemon *d, struct pending *pd)
{
	char msg[SWITCH_HELLO_MAX + 1], why[256];
	struct switch_hello h;
	ssize_t r = recv(pd->fd, msg, sizeof(msg), MSG_TRUNC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	int fd = pd->fd;
	pd->fd = -1;
	if (r <= 0) {
		close(fd);
		return;
	}
	if (switch_hello_parse(msg, (size_t)r, &h, why, sizeof(why)) < 0) {
		log_line(d, "refused a port: %s", why);
		hello_answer(fd, NULL, why);
		close(fd);
		return;
	}
	int id = switch_core_add_port(d->core, h.port, &h.mac, h.mac_spoofing);
	if (id < 0) {
		if (id == -2)
			snprintf(why, sizeof(why), "port %s is already connected to switch %s", h.port,
				 d->cfg.name);
		else
			snprintf(why, sizeof(why), "switch %s has no free port (at most %u)", d->cfg.name,
				 switch_core_max_ports(d->core));
		log_line(d, "refused port %s: %s", h.port, why);
		hello_answer(fd, NULL, why);
		close(fd);
		return;
	}
	int sndbuf = PORT_SNDBUF;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	d->port_fd[id] = fd;
	d->port_dead[id] = false;
	hello_answer(fd, h.port, NULL);
	char mac[18];
	mac_format(&h.mac, mac);
	log_line(d, "port %s connected (mac %s, mac spoofing %s)", h.port, mac,
		 h.mac_spoofing ? "on" : "off");
}

/* ---- control ------------------------------------------------------- */

static struct json_object *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct json_object *reply_error(const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static struct json_object *reply_ok(void)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static struct json_object *control_set_port(struct daemon *d, struct json_object *req)
{
	struct json_object *pv, *sv;
	if (!json_object_object_get_ex(req, "port", &pv) || !json_object_is_type(pv, json_type_string))
		return reply_error("set-port needs \"port\" (a string like \"vm/0\")");
	if (!json_object_object_get_ex(req, "mac_spoofing", &sv) ||
	    !json_object_is_type(sv, json_type_boolean))
		return reply_error("set-port needs \"mac_spoofing\" (true or false)");
	const char *name = json_object_get_string(pv);
	int id = switch_core_find_port(d->core, name);
	if (id < 0)
		return reply_error("switch %s has no port %.80s", d->cfg.name, name);
	bool on = json_object_get_boolean(sv);
	switch_core_set_spoofing(d->core, id, on);
	log_line(d, "port %s: mac spoofing %s", name, on ? "on" : "off");
	return reply_ok();
}

static struct json_object *control_dispatch(struct daemon *d, const char *msg, size_t len)
{
	if (len > CONTROL_REQUEST_MAX)
		return reply_error("request larger than %d bytes", CONTROL_REQUEST_MAX);
	if (memchr(msg, '\0', len))
		return reply_error("request is not JSON text");
	struct json_object *req = json_tokener_parse(msg), *cv;
	struct json_object *reply;
	const char *cmd = NULL;
	if (req && json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "cmd", &cv) && json_object_is_type(cv, json_type_string))
		cmd = json_object_get_string(cv);
	if (!cmd)
		reply = reply_error("request is not a JSON object with a \"cmd\"");
	else if (!strcmp(cmd, "show"))
		reply = switch_show_reply(&d->cfg, d->core, d->uplink);
	else if (!strcmp(cmd, "set-port"))
		reply = control_set_port(d, req);
	else if (!strcmp(cmd, "shutdown")) {
		log_line(d, "shutdown requested");
		d->stop = true;
		reply = reply_ok();
	} else
		reply = reply_error("unknown command '%.40s' (show, set-port, shutdown)", cmd);
	json_object_put(req);
	return reply;
}

static void control_handle(struct daemon *d, int slot)
{
	char msg[CONTROL_REQUEST_MAX + 1];
	int fd = d->ctl_fd[slot];
	ssize_t r = recv(fd, msg, CONTROL_REQUEST_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		msg[r < CONTROL_REQUEST_MAX ? r : CONTROL_REQUEST_MAX] = '\0';
		struct json_object *reply = control_dispatch(d, msg, (size_t)r);
		const char *s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
		if (strlen(s) > SWITCH_CONTROL_MAX) {
			json_object_put(reply);
			reply = reply_error("the reply is larger than %d bytes", SWITCH_CONTROL_MAX);
			s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
		}
		/* Blocking with a deadline: a client that does not read cannot
		 * hold the switch for more than a second. */
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		send(fd, s, strlen(s), MSG_NOSIGNAL);
		json_object_put(reply);
	}
	close(fd); /* one request, one reply */
	d->ctl_fd[slot] = -1;
}

/* ---- listeners ----------------------------------------------------- */

static void accept_ports(struct daemon *d)
{
	int fd;
	while ((fd = accept4(d->port_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		struct pending *slot = NULL;
		for (int i = 0; i < MAX_PENDING && !slot; i++)
			if (d->pending[i].fd < 0)
				slot = &d->pending[i];
		if (!slot) {
			close(fd); /* too many half-open connections: refuse */
			continue;
		}
		slot->fd = fd;
		slot->deadline_ms = now_ms() + HELLO_TIMEOUT_MS;
	}
}

static void accept_control(struct daemon *d)
{
	int fd;
	while ((fd = accept4(d->ctl_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		int slot = -1;
		for (int i = 0; i < MAX_CONTROL && slot < 0; i++)
			if (d->ctl_fd[i] < 0)
				slot = i;
		if (slot < 0) {
			close(fd);
			continue;
		}
		int sndbuf = SWITCH_CONTROL_MAX;
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		d->ctl_fd[slot] = fd;
	}
}

/* ---- the loop ------------------------------------------------------ */

enum { K_PORT_L, K_CTL_L, K_PENDING, K_CTL, K_PORT };
#define MAX_FDS (2 + MAX_PENDING + MAX_CONTROL + SWITCH_MAX_PORTS + UPLINK_FDS)

static void loop_once(struct daemon *d, const sigset_t *unblocked)
{
	struct pollfd fds[MAX_FDS];
	int kind[MAX_FDS], idx[MAX_FDS], n = 0;
	int timeout = -1;
	uint64_t now = now_ms();
#define ADD(f, k, i) (fds[n] = (struct pollfd){ .fd = (f), .events = POLLIN }, kind[n] = (k), idx[n++] = (i))
	ADD(d->port_lfd, K_PORT_L, 0);
	ADD(d->ctl_lfd, K_CTL_L, 0);
	for (int i = 0; i < MAX_PENDING; i++) {
		if (d->pending[i].fd < 0)
			continue;
		ADD(d->pending[i].fd, K_PENDING, i);
		int left = d->pending[i].deadline_ms > now ? (int)(d->pending[i].deadline_ms - now) : 0;
		timeout = timeout < 0 || left < timeout ? left : timeout;
	}
	for (int i = 0; i < MAX_CONTROL; i++)
		if (d->ctl_fd[i] >= 0)
			ADD(d->ctl_fd[i], K_CTL, i);
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (d->port_fd[i] >= 0)
			ADD(d->port_fd[i], K_PORT, i);
#undef ADD
	int up_first = n, up_n = 0;
	if (d->uplink)
		up_n = d->uplink->ops->fill(d->uplink, fds + n, UPLINK_FDS, &timeout);
	struct timespec ts, *tsp = NULL;
	if (timeout >= 0) {
		ts = (struct timespec){ .tv_sec = timeout / 1000, .tv_nsec = (timeout % 1000) * 1000000L };
		tsp = &ts;
	}
	int r = ppoll(fds, (nfds_t)(n + up_n), tsp, unblocked);
	if (r < 0 && errno != EINTR)
		log_line(d, "poll: %s", strerror(errno));
	if (r < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		switch (kind[i]) {
		case K_PORT_L: accept_ports(d); break;
		case K_CTL_L: accept_control(d); break;
		case K_PENDING: hello_handle(d, &d->pending[idx[i]]); break;
		case K_CTL: control_handle(d, idx[i]); break;
		case K_PORT: port_read(d, idx[i]); break;
		}
	}
	if (d->uplink)
		d->uplink->ops->handle(d->uplink, fds + up_first, up_n);
	/* Half-open connections that never said hello. */
	now = now_ms();
	for (int i = 0; i < MAX_PENDING; i++)
		if (d->pending[i].fd >= 0 && now >= d->pending[i].deadline_ms) {
			hello_answer(d->pending[i].fd, NULL, "no hello within 5 s");
			close(d->pending[i].fd);
			d->pending[i].fd = -1;
		}
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (d->port_fd[i] >= 0 && d->port_dead[i])
			port_remove(d, i);
}

/* ---- start and stop ------------------------------------------------ */

static int uplink_create(struct daemon *d, struct nv_err *err)
{
	const struct switch_config *c = &d->cfg;
	switch (c->type) {
	case SWITCH_PRIVATE:
		return 0;
	case SWITCH_INTERNAL:
		d->uplink = uplink_tap_new(c->name, NULL, err);
		if (d->uplink && c->has_subnet &&
		    uplink_tap_set_address(d->uplink, c->network, c->prefix_len, err) < 0)
			return -1;
		break;
	case SWITCH_EXTERNAL:
		d->uplink = uplink_packet_new(c->interface, err);
		break;
	case SWITCH_NAT: {
		struct nat_config nc = { .network = c->network, .prefix_len = c->prefix_len,
					 .forwards = c->forwards, .nforwards = c->nforwards };
		d->uplink = uplink_nat_new(&nc, err);
		break;
	}
	}
	if (!d->uplink)
		return -1;
	d->uplink->deliver = daemon_uplink_deliver;
	d->uplink->deliver_opaque = d;
	switch_core_set_uplink(d->core, true);
	return 0;
}

/* daemon.pid, locked while we run: a second daemon cannot start. */
static int pid_file_take(struct daemon *d, struct nv_err *err)
{
	d->pid_fd = open(d->pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->pid_fd < 0)
		return nv_err_host(err, "cannot open %s: %s", d->pid_path, strerror(errno));
	if (flock(d->pid_fd, LOCK_EX | LOCK_NB) < 0)
		return nv_err_input(err, "switch %s already has a running daemon", d->cfg.name);
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->pid_fd, 0) < 0 || pwrite(d->pid_fd, pid, (size_t)n, 0) != n)
		return nv_err_host(err, "cannot write %s: %s", d->pid_path, strerror(errno));
	d->own_pid = true;
	return 0;
}

static int daemon_start(struct daemon *d, const char *name, struct nv_err *err)
{
	char cfg_path[4096];
	if (switch_path(name, SWITCH_CONFIG_FILE, cfg_path, sizeof(cfg_path), err) < 0 ||
	    switch_path(name, SWITCH_PORT_SOCKET, d->port_path, sizeof(d->port_path), err) < 0 ||
	    switch_path(name, SWITCH_CONTROL_SOCKET, d->ctl_path, sizeof(d->ctl_path), err) < 0 ||
	    switch_path(name, SWITCH_PID_FILE, d->pid_path, sizeof(d->pid_path), err) < 0)
		return -1;
	if (switch_config_load(cfg_path, &d->cfg, err) < 0)
		return -1;
	if (strcmp(d->cfg.name, name))
		return nv_err_input(err, "%s: field 'name' is %s, not %s", cfg_path, d->cfg.name, name);
	if (switch_running(name))
		return nv_err_input(err, "switch %s already has a running daemon", name);
	if (pid_file_take(d, err) < 0)
		return -1;
	d->core = switch_core_new(SWITCH_MAX_PORTS, SWITCH_MAC_TABLE_SIZE, SWITCH_MAC_AGEING_MS,
				  daemon_out, d, NULL, NULL);
	if (!d->core)
		return nv_err_host(err, "switch %s: out of memory", name);
	if (uplink_create(d, err) < 0)
		return -1;
	/* control.sock last: once it answers, switch_ensure_running is done. */
	if ((d->port_lfd = unix_listen(d->port_path, SOCK_SEQPACKET, 64, err)) < 0)
		return -1;
	if ((d->ctl_lfd = unix_listen(d->ctl_path, SOCK_SEQPACKET, 64, err)) < 0)
		return -1;
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (d->port_fd[i] >= 0)
			close(d->port_fd[i]);
	for (int i = 0; i < MAX_PENDING; i++)
		if (d->pending[i].fd >= 0)
			close(d->pending[i].fd);
	for (int i = 0; i < MAX_CONTROL; i++)
		if (d->ctl_fd[i] >= 0)
			close(d->ctl_fd[i]);
	if (d->port_lfd >= 0) {
		close(d->port_lfd);
		unlink(d->port_path);
	}
	if (d->ctl_lfd >= 0) {
		close(d->ctl_lfd);
		unlink(d->ctl_path);
	}
	if (d->uplink)
		d->uplink->ops->free(d->uplink);
	switch_core_free(d->core);
	if (d->pid_fd >= 0) {
		if (d->own_pid)
			unlink(d->pid_path);
		close(d->pid_fd);
	}
}

int switch_daemon_run(const char *name, struct nv_err *err)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return nv_err_host(err, "switch %s: out of memory", name);
	d->port_lfd = d->ctl_lfd = d->pid_fd = -1;
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		d->port_fd[i] = -1;
	for (int i = 0; i < MAX_PENDING; i++)
		d->pending[i].fd = -1;
	for (int i = 0; i < MAX_CONTROL; i++)
		d->ctl_fd[i] = -1;

	/* SIGTERM/SIGINT only arrive inside ppoll: no lost wake-up. */
	sigset_t block, unblocked;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	sigdelset(&unblocked, SIGINT);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	int ret = daemon_start(d, name, err);
	if (ret == 0) {
		log_line(d, "started (type %s, pid %d)", switch_type_name(d->cfg.type), (int)getpid());
		while (!d->stop && !got_signal)
			loop_once(d, &unblocked);
		log_line(d, "stopped%s", got_signal ? " by a signal" : "");
	}
	daemon_stop(d);
	free(d);
	return ret;
}
