/* The switch daemon's insides, shared by switch_daemon.c (start, stop, the
 * uplink, the pid file) and switch_daemon_loop.c (everything that runs on its
 * event loop: ports, hellos, control requests, timers, signals). */
#ifndef NESTVM_NET_SWITCH_DAEMON_PRIVATE_H
#define NESTVM_NET_SWITCH_DAEMON_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "core/evloop.h"
#include "net/switch_config.h"
#include "net/switch_core.h"
#include "net/uplink.h"
#include "util/err.h"
#include "util/eth.h"

#define MAX_PENDING 16 /* connections that have not said hello yet */
#define MAX_CONTROL 8  /* control connections at once */

struct json_object;

struct daemon;

/* A connected port, by core port id (fd -1: none). */
struct port_conn {
	struct daemon *d;
	int fd;
	bool dead; /* gone: removed by the reaper, never in the middle of a flood */
	evloop_id id;
};

/* A connection to port.sock that has not said hello yet (fd -1: none). */
struct pending {
	struct daemon *d;
	int fd;
	uint64_t deadline_ms;
	evloop_id id;
};

/* A connection to control.sock: one request, one reply (fd -1: none). */
struct control_conn {
	struct daemon *d;
	int fd;
	evloop_id id;
};

struct daemon {
	struct switch_config cfg;
	struct switch_core *core;
	struct uplink *uplink;
	struct evloop *loop;
	evloop_id port_lid, ctl_lid; /* the listening sockets' entries */
	evloop_id hello_timer, reaper, signals;
	evloop_id rest_timer;  /* the listeners' rest when fds ran out */
	bool listeners_resting;
	uint64_t listener_rests;
	int port_lfd, ctl_lfd, pid_fd;
	struct port_conn port[SWITCH_MAX_PORTS];
	struct pending pending[MAX_PENDING];
	struct control_conn ctl[MAX_CONTROL];
	int got_signal; /* what stopped the loop, if a signal did */
	bool own_pid;
	char port_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char pid_path[4096];
	uint8_t buf[NET_FRAME_MAX];
};

/* One line to stderr (the switch's daemon.log): time, switch, message. */
void switch_daemon_log(const struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* switch_daemon_forward.c: the NAT switch's control requests `lease` and
 * `forward` (switch_protocol.h); the reply, which the caller puts. */
struct json_object *switch_daemon_lease(struct daemon *d, struct json_object *req);
struct json_object *switch_daemon_forward(struct daemon *d, struct json_object *req);

/* switch_daemon_loop.c */

/* The core's output and the uplink's input. */
enum switch_out_result switch_daemon_out(void *opaque, int to, const uint8_t *frame, size_t len);
void switch_daemon_uplink_deliver(void *opaque, const uint8_t *frame, size_t len);
/* The loop with its timer, reaper and SIGTERM/SIGINT (the caller has
 * blocked them), before anything else: every connection slot empty. -1 with
 * one line in err (d->loop, if made, is still the caller's to destroy). */
int switch_daemon_loop_open(struct daemon *d, const char *name, struct nv_err *err);
/* Watches the listening sockets, once both are open. */
int switch_daemon_loop_listen(struct daemon *d, struct nv_err *err);
/* Runs until `shutdown` or a signal. */
void switch_daemon_loop_run(struct daemon *d);
/* Closes every connection (ports, hellos, control), off the loop first. */
void switch_daemon_loop_drop_all(struct daemon *d);
/* Off the loop, then closed; *fd -1 after. */
void switch_daemon_unwatch(struct daemon *d, evloop_id *id, int *fd);

#endif
