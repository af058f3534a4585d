/* The forwarding logic of a virtual switch, without any I/O: ports with
 * their own MAC and anti-spoofing flag, an optional uplink pseudo-port, a
 * bounded MAC learning table with ageing, and per-port counters. The switch
 * daemon feeds it frames and receives the frames to send through a callback;
 * the unit tests do the same with a fake clock. */
#ifndef NESTVM_NET_SWITCH_CORE_H
#define NESTVM_NET_SWITCH_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

#define SWITCH_MAX_PORTS 256
#define SWITCH_MAC_TABLE_SIZE 1024
#define SWITCH_MAC_AGEING_MS (300 * 1000)
#define SWITCH_PORT_NAME_MAX 80
/* The uplink pseudo-port's id in callbacks and switch_core_input. */
#define SWITCH_PORT_UPLINK (-1)

/* What the output callback reports back to the core. */
enum switch_out_result {
	SWITCH_OUT_SENT = 0,
	SWITCH_OUT_FULL,  /* the destination's queue is full: counted, dropped */
	SWITCH_OUT_GONE,  /* the destination failed: not counted (it is going away) */
};

typedef enum switch_out_result (*switch_out_fn)(void *opaque, int to_port, const uint8_t *frame,
						 size_t len);
typedef uint64_t (*switch_clock_fn)(void *opaque); /* milliseconds, monotonic */

struct switch_port_counters {
	uint64_t rx_frames;          /* accepted from this port */
	uint64_t tx_frames;          /* sent to this port */
	uint64_t dropped_spoofed;    /* source MAC not the port's, spoofing off; or
				      * another port's own MAC, whatever the setting */
	uint64_t dropped_queue_full; /* to this port, its queue was full */
	uint64_t dropped_malformed;  /* from this port: size or source MAC wrong */
};

struct switch_port {
	bool used;
	char name[SWITCH_PORT_NAME_MAX];
	struct mac_addr mac;
	bool mac_spoofing;
	struct switch_port_counters c;
};

struct switch_core;

/* max_ports 1..SWITCH_MAX_PORTS, mac_table 1..65536 entries, ageing_ms > 0.
 * clock NULL means CLOCK_MONOTONIC. NULL on allocation failure. */
struct switch_core *switch_core_new(unsigned max_ports, unsigned mac_table, uint64_t ageing_ms,
				    switch_out_fn out, void *out_opaque, switch_clock_fn clock,
				    void *clock_opaque);
void switch_core_free(struct switch_core *sw);

/* A new port; its id (>= 0), or -1 if the switch is full or the name is
 * taken (-2). */
int switch_core_add_port(struct switch_core *sw, const char *name, const struct mac_addr *mac,
			 bool mac_spoofing);
/* Removes a port and forgets the MACs learned on it. */
void switch_core_remove_port(struct switch_core *sw, int id);
/* The id of a connected port by name, or -1. */
int switch_core_find_port(const struct switch_core *sw, const char *name);
/* NULL for an unused id. */
const struct switch_port *switch_core_port(const struct switch_core *sw, int id);
unsigned switch_core_max_ports(const struct switch_core *sw);
unsigned switch_core_port_count(const struct switch_core *sw);
/* Applies to the next frame from that port. -1 for an unknown id. */
int switch_core_set_spoofing(struct switch_core *sw, int id, bool on);

/* Whether floods also go to the uplink pseudo-port. */
void switch_core_set_uplink(struct switch_core *sw, bool present);
/* Counters of frames from the uplink (rx, malformed) as the core saw them. */
const struct switch_port_counters *switch_core_uplink_counters(const struct switch_core *sw);

/* One frame from a port (or SWITCH_PORT_UPLINK): checks, learns, forwards. */
void switch_core_input(struct switch_core *sw, int from, const uint8_t *frame, size_t len);
/* A frame the caller could not even read whole (oversized): counted. */
void switch_core_count_malformed(struct switch_core *sw, int from);

/* A frame from a port that a check outside the core refused (the NAT
 * switch's lease guard, net/nat_leases.h): counted as spoofed. */
void switch_core_count_spoofed(struct switch_core *sw, int from);
/* Whether mac is the own MAC of a port other than from. */
bool switch_core_mac_pinned_elsewhere(const struct switch_core *sw, int from, const struct mac_addr *mac);

/* MACs currently learned (not aged out) on a port, up to max; returns how
 * many were written. */
unsigned switch_core_learned(struct switch_core *sw, int port, struct mac_addr *out, unsigned max);
/* The port a MAC is learned on: id, SWITCH_PORT_UPLINK, or -2 if unknown. */
int switch_core_lookup(struct switch_core *sw, const struct mac_addr *mac);

#endif
