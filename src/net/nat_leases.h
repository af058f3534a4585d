/* Which IPv4 address a NAT switch's DHCP server (libslirp's) gave to which
 * MAC, learnt from the DHCPACKs slirp sends toward the VMs, and the checks
 * that keep a guest from claiming another VM's address.
 *
 * Why the ACKs, not ARP or the source of a guest's IP frames: those are
 * what a guest says about itself, and any guest can say anything; an ACK
 * comes out of slirp, the switch's own DHCP server, on the uplink side,
 * where no guest can put a frame. Only slirp's server answers from the
 * gateway's port 67 (slirp takes every guest datagram to that port for its
 * DHCP), so an ACK from there is the server's word.
 *
 * The server's word can still be bent by what guests tell it, and these
 * checks on frames from a port close that (lease_guard_admit):
 *   - a DHCP request whose chaddr is not the port's MAC (unless the port
 *     may spoof MACs): else one VM could take leases in another's name;
 *   - an ARP whose sender address is leased to a MAC other than its sender
 *     MAC, or to a MAC that is not this port's: slirp (and the other VMs)
 *     learn ARP from requests and replies, and a forward to that address
 *     would go to the liar.
 * The table is bounded; slirp hands out 16 leases per switch. */
#ifndef NESTVM_NET_NAT_LEASES_H
#define NESTVM_NET_NAT_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/eth.h"

#define NAT_LEASES_MAX 64

struct nat_lease {
	struct mac_addr mac;
	uint32_t ip; /* host byte order; 0: slot unused */
};

struct nat_leases {
	struct nat_lease l[NAT_LEASES_MAX];
};

void nat_leases_init(struct nat_leases *t);
/* A frame from slirp toward the VMs: learns a DHCPACK from server_ip. true
 * if it changed mac's address (*old_ip: the one before, 0 if none). */
bool nat_leases_learn(struct nat_leases *t, const uint8_t *f, size_t len, uint32_t server_ip,
		      struct mac_addr *mac, uint32_t *old_ip);
/* mac's address, or 0. */
uint32_t nat_leases_ip_of(const struct nat_leases *t, const struct mac_addr *mac);
/* The MAC holding ip: true and *mac, or false. */
bool nat_leases_holder(const struct nat_leases *t, uint32_t ip, struct mac_addr *mac);

/* The port a frame came from, as the switch knows it. pinned_elsewhere
 * says whether a MAC is another port's own (switch_core). */
struct lease_guard_port {
	struct mac_addr mac;
	bool mac_spoofing;
	bool (*pinned_elsewhere)(void *opaque, const struct mac_addr *mac);
	void *opaque;
};

/* Whether a frame from that port may go on (above). */
bool lease_guard_admit(const struct nat_leases *t, const uint8_t *f, size_t len,
		       const struct lease_guard_port *p);

#endif
