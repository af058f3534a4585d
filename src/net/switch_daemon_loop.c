/* What the switch daemon does on its event loop (core/evloop), one entry
 * each: the two listening sockets, every port, every connection that has not
 * said hello yet, every control connection, the uplink's own entries
 * (uplink.h), a timer for hello deadlines, a reaper that removes dead ports
 * once the flood that found them is over, and SIGTERM/SIGINT. MAC ageing
 * needs no timer: switch_core ages entries when it looks them up. */
#include "net/switch_daemon_private.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/nat_leases.h"
#include "net/switch_hello.h"
#include "net/switch_protocol.h"
#include "net/switch_show.h"
#include "util/peer_cred.h"

#define HELLO_TIMEOUT_MS 5000
#define CONTROL_REQUEST_MAX 4096
#define PORT_SNDBUF (256 * 1024) /* each port's bounded queue */
#define PORT_BURST 32            /* frames read from one port per wake-up */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void switch_daemon_unwatch(struct daemon *d, evloop_id *id, int *fd)
{
	if (*fd < 0)
		return;
	evloop_remove(d->loop, *id);
	close(*fd);
	*fd = -1;
	*id = 0;
}

/* ---- forwarding ---------------------------------------------------- */

/* Removed by the reaper's next call, not in the middle of a flood. */
static void port_mark_dead(struct daemon *d, int id)
{
	if (d->port[id].dead)
		return;
	d->port[id].dead = true;
	evloop_notify(d->loop, d->reaper);
}

enum switch_out_result switch_daemon_out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	struct daemon *d = opaque;
	if (to == SWITCH_PORT_UPLINK) {
		if (d->uplink)
			d->uplink->ops->send(d->uplink, frame, len);
		return SWITCH_OUT_SENT;
	}
	if (to < 0 || to >= SWITCH_MAX_PORTS || d->port[to].fd < 0 || d->port[to].dead)
		return SWITCH_OUT_GONE;
	if (send(d->port[to].fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
		return SWITCH_OUT_SENT;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return SWITCH_OUT_FULL;
	port_mark_dead(d, to);
	return SWITCH_OUT_GONE;
}

void switch_daemon_uplink_deliver(void *opaque, const uint8_t *frame, size_t len)
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

static bool pinned_elsewhere(void *opaque, const struct mac_addr *mac)
{
	struct port_conn *pc = opaque;
	return switch_core_mac_pinned_elsewhere(pc->d->core, (int)(pc - pc->d->port), mac);
}

/* On a NAT switch, a port's DHCP and ARP may not claim another VM's lease
 * (net/nat_leases.h says why and how). */
static bool lease_guard_passes(struct daemon *d, int id, const uint8_t *frame, size_t len)
{
	if (!d->uplink || !d->uplink->ops->leases)
		return true;
	const struct switch_port *p = switch_core_port(d->core, id);
	if (!p)
		return true;
	struct lease_guard_port gp = { .mac = p->mac, .mac_spoofing = p->mac_spoofing,
				       .pinned_elsewhere = pinned_elsewhere, .opaque = &d->port[id] };
	return lease_guard_admit(d->uplink->ops->leases(d->uplink), frame, len, &gp);
}

static void port_read(struct daemon *d, int id)
{
	int fd = d->port[id].fd;
	for (int i = 0; i < PORT_BURST && !d->port[id].dead; i++) {
		ssize_t r = recv(fd, d->buf, sizeof(d->buf), MSG_TRUNC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				port_mark_dead(d, id);
			return;
		}
		if (r == 0) {
			if (peer_gone(fd))
				port_mark_dead(d, id);
			else
				switch_core_count_malformed(d->core, id);
			continue;
		}
		if ((size_t)r > sizeof(d->buf))
			switch_core_count_malformed(d->core, id); /* oversized: MSG_TRUNC told us */
		else if (!lease_guard_passes(d, id, d->buf, (size_t)r))
			switch_core_count_spoofed(d->core, id);
		else
			switch_core_input(d->core, id, d->buf, (size_t)r);
	}
}

static void on_port(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct port_conn *pc = opaque;
	port_read(pc->d, (int)(pc - pc->d->port));
}

static void port_remove(struct daemon *d, int id)
{
	const struct switch_port *p = switch_core_port(d->core, id);
	if (p)
		switch_daemon_log(d, "port %s disconnected (rx %llu, tx %llu frames)", p->name,
				  (unsigned long long)p->c.rx_frames,
				  (unsigned long long)p->c.tx_frames);
	if (d->uplink && d->uplink->ops->forwards_drop)
		d->uplink->ops->forwards_drop(d->uplink, id); /* its forwards go with it */
	switch_core_remove_port(d->core, id);
	switch_daemon_unwatch(d, &d->port[id].id, &d->port[id].fd);
	d->port[id].dead = false;
}

static void on_reap(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		if (d->port[i].fd >= 0 && d->port[i].dead)
			port_remove(d, i);
}

/* ---- port hello ---------------------------------------------------- */

static void hello_answer(int fd, const char *port, const char *error)
{
	char msg[600];
	switch_hello_answer(msg, sizeof(msg), port, error);
	send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Refuses a connection that said a bad hello, or none in time. */
static void hello_refuse(struct daemon *d, int fd, const char *why)
{
	hello_answer(fd, NULL, why);
	close(fd);
}

static void hello_handle(struct daemon *d, struct pending *pd)
{
	char msg[SWITCH_HELLO_MAX + 1], why[256];
	struct switch_hello h;
	ssize_t r = recv(pd->fd, msg, sizeof(msg), MSG_TRUNC | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	int fd = pd->fd;
	evloop_remove(d->loop, pd->id); /* the fd is the port's now, or closed */
	pd->fd = -1;
	if (r <= 0) {
		close(fd);
		return;
	}
	if (switch_hello_parse(msg, (size_t)r, &h, why, sizeof(why)) < 0) {
		switch_daemon_log(d, "refused a port: %s", why);
		hello_refuse(d, fd, why);
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
		switch_daemon_log(d, "refused port %s: %s", h.port, why);
		hello_refuse(d, fd, why);
		return;
	}
	int rc = evloop_add_fd(d->loop, fd, EVLOOP_IN, on_port, &d->port[id], &d->port[id].id);
	if (rc < 0) {
		switch_core_remove_port(d->core, id);
		snprintf(why, sizeof(why), "switch %s cannot watch port %s: %s", d->cfg.name, h.port,
			 strerror(-rc));
		switch_daemon_log(d, "refused port %s: %s", h.port, why);
		hello_refuse(d, fd, why);
		return;
	}
	int sndbuf = PORT_SNDBUF;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	d->port[id].fd = fd;
	d->port[id].dead = false;
	hello_answer(fd, h.port, NULL);
	char mac[18];
	mac_format(&h.mac, mac);
	switch_daemon_log(d, "port %s connected (mac %s, mac spoofing %s)", h.port, mac,
			  h.mac_spoofing ? "on" : "off");
}

static void on_hello(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct pending *pd = opaque;
	hello_handle(pd->d, pd);
}

/* The hello timer fires at the earliest deadline of a waiting connection. */
static void hello_timer_update(struct daemon *d)
{
	uint64_t first = UINT64_MAX, now = now_ms();
	for (int i = 0; i < MAX_PENDING; i++)
		if (d->pending[i].fd >= 0 && d->pending[i].deadline_ms < first)
			first = d->pending[i].deadline_ms;
	/* Arming a live timerfd cannot fail short of a kernel bug. */
	if (first == UINT64_MAX)
		(void)evloop_timer_disarm(d->loop, d->hello_timer);
	else
		(void)evloop_timer_arm(d->loop, d->hello_timer, first > now ? first - now : 0, 0);
}

/* Half-open connections that never said hello. */
static void on_hello_timeout(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	uint64_t now = now_ms();
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *pd = &d->pending[i];
		if (pd->fd >= 0 && now >= pd->deadline_ms) {
			evloop_remove(d->loop, pd->id);
			hello_refuse(d, pd->fd, "no hello within 5 s");
			pd->fd = -1;
		}
	}
	hello_timer_update(d);
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
	switch_daemon_log(d, "port %s: mac spoofing %s", name, on ? "on" : "off");
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
	else if (!strcmp(cmd, "lease"))
		reply = switch_daemon_lease(d, req);
	else if (!strcmp(cmd, "forward"))
		reply = switch_daemon_forward(d, req);
	else if (!strcmp(cmd, "shutdown")) {
		switch_daemon_log(d, "shutdown requested");
		evloop_stop(d->loop); /* once this request is answered */
		reply = reply_ok();
	} else
		reply = reply_error("unknown command '%.40s' (show, set-port, lease, forward, shutdown)", cmd);
	json_object_put(req);
	return reply;
}

static void control_handle(struct daemon *d, struct control_conn *c)
{
	char msg[CONTROL_REQUEST_MAX + 1];
	ssize_t r = recv(c->fd, msg, CONTROL_REQUEST_MAX, MSG_TRUNC | MSG_DONTWAIT);
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
		int fl = fcntl(c->fd, F_GETFL);
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
		send(c->fd, s, strlen(s), MSG_NOSIGNAL);
		json_object_put(reply);
	}
	switch_daemon_unwatch(d, &c->id, &c->fd); /* one request, one reply */
}

static void on_control(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct control_conn *c = opaque;
	control_handle(c->d, c);
}

/* ---- listeners ----------------------------------------------------- */

/* Ports and control are for this user and root only. */
static bool peer_refused(struct daemon *d, int fd)
{
	uid_t uid;
	if (peer_cred_trusted(fd, &uid))
		return false;
	switch_daemon_log(d, "refused a connection from uid %d (not this switch's user)", (int)uid);
	close(fd);
	return true;
}

/* Out of fds (EMFILE: every hello slot and port holds one) or memory, a
 * connection stays queued and the listener stays readable: accepting again
 * at once would spin. The listeners rest for a while instead; waiting
 * hellos time out meanwhile and give their fds back. */
#define LISTENER_REST_MS 100

static bool accept_starved(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

static void listeners_rest(struct daemon *d)
{
	if (d->listeners_resting)
		return;
	d->listeners_resting = true;
	(void)evloop_modify(d->loop, d->port_lid, 0);
	(void)evloop_modify(d->loop, d->ctl_lid, 0);
	(void)evloop_timer_arm(d->loop, d->rest_timer, LISTENER_REST_MS, 0);
	/* The first time, then about once a minute while it lasts. */
	if (d->listener_rests++ % 600 == 0)
		switch_daemon_log(d, "out of file descriptors or memory: not accepting connections for %d ms "
				  "(%llu times so far)", LISTENER_REST_MS,
				  (unsigned long long)d->listener_rests);
}

static void on_rest_over(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	d->listeners_resting = false;
	(void)evloop_modify(d->loop, d->port_lid, EVLOOP_IN);
	(void)evloop_modify(d->loop, d->ctl_lid, EVLOOP_IN);
}

static void on_port_listener(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	int fd;
	while ((fd = accept4(d->port_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (peer_refused(d, fd))
			continue;
		struct pending *slot = NULL;
		for (int i = 0; i < MAX_PENDING && !slot; i++)
			if (d->pending[i].fd < 0)
				slot = &d->pending[i];
		/* Too many half-open connections (or no memory to watch one
		 * more): refused. */
		if (!slot || evloop_add_fd(d->loop, fd, EVLOOP_IN, on_hello, slot, &slot->id) < 0) {
			close(fd);
			continue;
		}
		slot->fd = fd;
		slot->deadline_ms = now_ms() + HELLO_TIMEOUT_MS;
	}
	if (accept_starved(errno))
		listeners_rest(d);
	hello_timer_update(d);
}

static void on_control_listener(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	int fd;
	while ((fd = accept4(d->ctl_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (peer_refused(d, fd))
			continue;
		struct control_conn *slot = NULL;
		for (int i = 0; i < MAX_CONTROL && !slot; i++)
			if (d->ctl[i].fd < 0)
				slot = &d->ctl[i];
		if (!slot || evloop_add_fd(d->loop, fd, EVLOOP_IN, on_control, slot, &slot->id) < 0) {
			close(fd);
			continue;
		}
		int sndbuf = SWITCH_CONTROL_MAX;
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		slot->fd = fd;
	}
	if (accept_starved(errno))
		listeners_rest(d);
}

/* ---- the loop ------------------------------------------------------ */

static void on_signal(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct daemon *d = opaque;
	d->got_signal = ev->signo;
	evloop_stop(l);
}

int switch_daemon_loop_open(struct daemon *d, const char *name, struct nv_err *err)
{
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		d->port[i] = (struct port_conn){ .d = d, .fd = -1 };
	for (int i = 0; i < MAX_PENDING; i++)
		d->pending[i] = (struct pending){ .d = d, .fd = -1 };
	for (int i = 0; i < MAX_CONTROL; i++)
		d->ctl[i] = (struct control_conn){ .d = d, .fd = -1 };
	int r = evloop_create(&d->loop);
	if (r < 0)
		return nv_err_host(err, "switch %s: event loop: %s", name, strerror(-r));
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	const char *what = "signalfd";
	r = evloop_add_signals(d->loop, &sigs, on_signal, d, &d->signals);
	if (r >= 0) {
		what = "timerfd";
		r = evloop_add_timer(d->loop, on_hello_timeout, d, &d->hello_timer);
	}
	if (r >= 0)
		r = evloop_add_timer(d->loop, on_rest_over, d, &d->rest_timer);
	if (r >= 0) {
		what = "eventfd";
		r = evloop_add_notifier(d->loop, on_reap, d, &d->reaper);
	}
	if (r < 0)
		return nv_err_host(err, "switch %s: %s: %s", name, what, strerror(-r));
	return 0;
}

int switch_daemon_loop_listen(struct daemon *d, struct nv_err *err)
{
	int r = evloop_add_fd(d->loop, d->port_lfd, EVLOOP_IN, on_port_listener, d, &d->port_lid);
	if (r >= 0)
		r = evloop_add_fd(d->loop, d->ctl_lfd, EVLOOP_IN, on_control_listener, d, &d->ctl_lid);
	if (r < 0)
		return nv_err_host(err, "switch %s: cannot watch its sockets: %s", d->cfg.name,
				   strerror(-r));
	return 0;
}

void switch_daemon_loop_run(struct daemon *d)
{
	int r = evloop_run(d->loop);
	if (r < 0)
		switch_daemon_log(d, "event loop: %s", strerror(-r));
}

void switch_daemon_loop_drop_all(struct daemon *d)
{
	for (int i = 0; i < SWITCH_MAX_PORTS; i++)
		switch_daemon_unwatch(d, &d->port[i].id, &d->port[i].fd);
	for (int i = 0; i < MAX_PENDING; i++)
		switch_daemon_unwatch(d, &d->pending[i].id, &d->pending[i].fd);
	for (int i = 0; i < MAX_CONTROL; i++)
		switch_daemon_unwatch(d, &d->ctl[i].id, &d->ctl[i].fd);
}
