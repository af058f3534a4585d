/* The switch daemon's start and stop: config, pid file, the core, the uplink,
 * the sockets. What runs on its event loop is switch_daemon_loop.c. */
#include "net/switch_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/switch_daemon_private.h"

#include "confine/confine.h"
#include "confine/identity.h"
#include "net/switch_launch.h"
#include "net/switch_path.h"
#include "net/switch_protocol.h"
#include "net/uplink_tap.h"
#include "util/unix_json.h"

/* The daemon's limits once set up (daemon_limits). */
#define SWITCH_NOFILE_MAX 4096
#define SWITCH_DATA_MAX (512ULL << 20)

void switch_daemon_log(const struct daemon *d, const char *fmt, ...)
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
					 .forwards = c->forwards, .nforwards = c->nforwards,
					 .host_loopback = c->host_loopback };
		d->uplink = uplink_nat_new(&nc, err);
		break;
	}
	}
	if (!d->uplink)
		return -1;
	d->uplink->deliver = switch_daemon_uplink_deliver;
	d->uplink->deliver_opaque = d;
	int r = d->uplink->ops->attach(d->uplink, d->loop);
	if (r < 0)
		return nv_err_host(err, "switch %s: cannot watch its %s uplink: %s", c->name,
				   d->uplink->ops->kind, strerror(-r));
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
				  switch_daemon_out, d, NULL, NULL);
	if (!d->core)
		return nv_err_host(err, "switch %s: out of memory", name);
	if (uplink_create(d, err) < 0)
		return -1;
	/* control.sock last: once it answers, switch_ensure_running is done. */
	if ((d->port_lfd = unix_listen(d->port_path, SOCK_SEQPACKET, 64, err)) < 0)
		return -1;
	if ((d->ctl_lfd = unix_listen(d->ctl_path, SOCK_SEQPACKET, 64, err)) < 0)
		return -1;
	return switch_daemon_loop_listen(d, err);
}

static void daemon_stop(struct daemon *d)
{
	switch_daemon_loop_drop_all(d);
	if (d->port_lfd >= 0) {
		switch_daemon_unwatch(d, &d->port_lid, &d->port_lfd);
		unlink(d->port_path);
	}
	if (d->ctl_lfd >= 0) {
		switch_daemon_unwatch(d, &d->ctl_lid, &d->ctl_lfd);
		unlink(d->ctl_path);
	}
	if (d->uplink)
		d->uplink->ops->free(d->uplink); /* off the loop too */
	switch_core_free(d->core);
	if (d->pid_fd >= 0) {
		if (d->own_pid)
			unlink(d->pid_path);
		close(d->pid_fd);
	}
	evloop_destroy(d->loop);
}

/* Lowers limit res to at most max (never raises it). */
static int lower_limit(int res, const char *what, rlim_t max, struct nv_err *err)
{
	struct rlimit r;
	if (getrlimit(res, &r) < 0)
		return nv_err_host(err, "getrlimit(%s): %s", what, strerror(errno));
	if (r.rlim_max == RLIM_INFINITY || r.rlim_max > max)
		r.rlim_max = max;
	if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur > r.rlim_max)
		r.rlim_cur = r.rlim_max;
	if (setrlimit(res, &r) < 0)
		return nv_err_host(err, "setrlimit(%s): %s", what, strerror(errno));
	return 0;
}

/* What a guest's NAT flows or a flood of connections meet before they
 * meet the host's limits: file descriptors (each flow is a socket; the
 * listeners rest when they run out) and memory. */
static int daemon_limits(struct nv_err *err)
{
	if (lower_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", SWITCH_NOFILE_MAX, err) < 0)
		return -1;
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer's shadow is terabytes of reserved data. */
	return 0;
#else
	return lower_limit(RLIMIT_DATA, "RLIMIT_DATA", SWITCH_DATA_MAX, err);
#endif
}

int switch_daemon_run(const char *name, struct nv_err *err)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return nv_err_host(err, "switch %s: out of memory", name);
	d->port_lfd = d->ctl_lfd = d->pid_fd = -1;

	/* SIGTERM/SIGINT blocked for good (a late one is not the default
	 * death); while the loop runs they arrive through its signalfd. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	int ret = switch_daemon_loop_open(d, name, err);
	if (ret == 0)
		ret = daemon_start(d, name, err);
	/* Set up (libslirp loaded, sockets bound, uplink open): limited and
	 * confined before the first frame or request is read. */
	if (ret == 0)
		ret = daemon_limits(err);
	if (ret == 0 && d->cfg.has_run_as) /* taken by confine_thread */
		ret = identity_set(&d->cfg.run_as, err);
	if (ret == 0)
		ret = confine_thread(CONFINE_SWITCH, err);
	if (ret == 0) {
		switch_daemon_log(d, "started (type %s, pid %d)", switch_type_name(d->cfg.type),
				  (int)getpid());
		switch_daemon_loop_run(d);
		switch_daemon_log(d, "stopped%s", d->got_signal ? " by a signal" : "");
	}
	daemon_stop(d);
	free(d);
	return ret;
}
