/* The NAT uplink's insides, shared by uplink_nat.c (slirp, its callbacks,
 * send, describe, construction) and uplink_nat_loop.c (slirp on the switch
 * daemon's event loop). */
#ifndef NESTVM_NET_UPLINK_NAT_PRIVATE_H
#define NESTVM_NET_UPLINK_NAT_PRIVATE_H

#include <poll.h>
#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/evloop.h"
#include "net/nat_flows.h"
#include "net/nat_hostfwd.h"
#include "net/nat_leases.h"
#include "net/uplink.h"

/* Frames slirp emits while the switch is inside send() wait here until the
 * next round, so deliver() is never re-entered from send(). */
#define NAT_QUEUE 64
/* slirp wants one fd per forward and per guest connection; more wait. */
#define NAT_FDS 256

struct nat_timer {
	struct nat_timer *next;
	int64_t expire_ms; /* -1: not armed */
	bool opaque_kind;  /* timer_new_opaque: fire with slirp_handle_timer */
	SlirpTimerId id;
	SlirpTimerCb cb;
	void *cb_opaque;
};

/* An fd in the wake-up epoll set and the epoll events it is there with. */
struct nat_watch {
	int fd;
	uint32_t events;
};

struct nat_uplink {
	struct uplink up; /* first: the switch holds a struct uplink * */
	Slirp *slirp;
	uint32_t network, gateway, dns, dhcp_start;
	unsigned prefix_len;
	struct nat_forward *forwards;
	unsigned nforwards;
	struct nat_flows *flows; /* caps on guests' flows */
	uint64_t fragments_dropped; /* guests' IPv4 fragments: see is_fragment */
	bool host_loopback;      /* the gateway stands for the host's 127.0.0.1 */
	struct nat_leases leases; /* from slirp's DHCPACKs */
	bool leases_changed;      /* forwards to follow, once out of slirp */
	struct nat_hostfwds hostfwds; /* asked for at run time */
	struct nat_timer *timers;
	bool in_send;
	uint8_t *queue[NAT_QUEUE];
	size_t queue_len[NAT_QUEUE];
	unsigned queue_head, queue_count;

	/* On the loop (uplink_nat_loop.c); loop is NULL until attached. */
	struct evloop *loop;
	evloop_id ready_id, timer_id;
	int epfd;          /* slirp's sockets of this round: wakes the loop */
	bool filled;       /* pfd holds the last slirp_pollfds_fill */
	bool kicked;       /* the round timer is armed to fire at once */
	struct pollfd pfd[NAT_FDS];
	int npfd;
	struct nat_watch watch[NAT_FDS]; /* what epfd holds, sorted by fd */
	int nwatch;
};

static inline struct nat_uplink *nat_of(struct uplink *u)
{
	return (struct nat_uplink *)u;
}

/* uplink_nat.c */
int64_t nat_now_ns(void);
/* Delivers the frames queued during send(). */
void nat_queue_flush(struct nat_uplink *n);

/* uplink_nat_loop.c */
int nat_attach(struct uplink *u, struct evloop *l);
/* Off the loop again (free); nothing if never attached. */
void nat_detach(struct nat_uplink *n);
/* After slirp_input: a round at the loop's next turn. */
void nat_kick(struct nat_uplink *n);
/* slirp's unregister_poll_fd: fd is about to be closed. */
void nat_unregister_poll_fd(int fd, void *opaque);

#endif
