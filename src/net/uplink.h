/* A switch's way out of its VMs: the host through a tap device (internal),
 * one of the host's interfaces through a packet socket (external), or a
 * user-mode NAT gateway built on libslirp (nat). A private switch has none.
 *
 * An uplink lives on the switch daemon's event loop (core/evloop): attach()
 * puts its fds and timers there, and its callbacks deliver frames from
 * outside with deliver(); the switch gives it frames with send(). Everything
 * runs on the daemon's one thread: no locks. */
#ifndef NESTVM_NET_UPLINK_H
#define NESTVM_NET_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/evloop.h"
#include "util/err.h"
#include "util/eth.h"

struct json_object;
struct nat_leases;

/* Frame from the outside into the switch (the uplink's own copy). */
typedef void (*uplink_deliver_fn)(void *opaque, const uint8_t *frame, size_t len);

struct uplink_counters {
	uint64_t rx_frames;  /* from outside into the switch */
	uint64_t tx_frames;  /* from the switch to outside */
	uint64_t dropped;    /* malformed, oversized, or the outside refused */
};

struct uplink {
	const struct uplink_ops *ops;
	uplink_deliver_fn deliver;
	void *deliver_opaque;
	struct uplink_counters counters;
};

struct uplink_ops {
	const char *kind; /* "tap", "packet", "nat" */
	/* Puts the uplink on loop l, once, before l runs: tap and packet watch
	 * their fd, nat its sockets and timers. 0, or -errno (-EBUSY: attached
	 * already). free() takes it off again: free it before destroying l. An
	 * uplink never attached (a privilege check) is only created and freed. */
	int (*attach)(struct uplink *u, struct evloop *l);
	void (*send)(struct uplink *u, const uint8_t *frame, size_t len);
	/* Adds uplink-specific facts to a `switch show` reply (may be NULL). */
	void (*describe)(struct uplink *u, struct json_object *obj);
	void (*free)(struct uplink *u);
	/* NAT only (NULL for the others): the addresses its DHCP server
	 * leased (net/nat_leases.h), and TCP forwards from 127.0.0.1 asked
	 * for at run time, each owned by a switch port (net/nat_hostfwd.h). */
	const struct nat_leases *(*leases)(struct uplink *u);
	int (*forward_add)(struct uplink *u, int owner, const struct mac_addr *mac, uint16_t guest_port,
			   uint16_t *host_port, struct nv_err *err);
	void (*forwards_drop)(struct uplink *u, int owner);
};

/* Constructors; on failure NULL with a one-line reason in err (a missing
 * privilege says which one and what to do). */
struct uplink *uplink_tap_new(const char *switch_name, const char *ifname, struct nv_err *err);
struct uplink *uplink_packet_new(const char *ifname, struct nv_err *err);

struct nat_forward {
	int udp;               /* 0 tcp, 1 udp */
	uint32_t host_ip;      /* host byte order: the address it listens on */
	uint16_t host_port;
	uint32_t guest_ip;     /* host byte order */
	uint16_t guest_port;
};

struct nat_config {
	uint32_t network;      /* host byte order, e.g. 192.168.100.0 */
	unsigned prefix_len;   /* 8..30 */
	/* gateway = network + 1, DNS = network + 3 (slirp's forwarder),
	 * DHCP from network + 15, as QEMU's user networking does. */
	const struct nat_forward *forwards;
	unsigned nforwards;
	/* The gateway stands for the host's 127.0.0.1 too: guests reach
	 * services that trust only local callers. Off unless asked for. */
	bool host_loopback;
	/* Caps on the flows (host sockets) guests open, per port and per
	 * switch (net/nat_flows.h); 0 takes the defaults. */
	unsigned max_flows_per_port, max_flows;
};

struct uplink *uplink_nat_new(const struct nat_config *cfg, struct nv_err *err);

#endif
