/* Host forwards a NAT switch adds while it runs, on request over its
 * control socket (`{"cmd":"forward"}`, switch_protocol.h): TCP from
 * 127.0.0.1:PORT, a port the switch picks, to a port of the address its
 * DHCP server leased to one adapter's MAC (nat_leases.h). A forward belongs
 * to the switch port that asked for it and goes when that port leaves; it
 * follows its MAC's lease if slirp hands out another address. */
#ifndef NESTVM_NET_NAT_HOSTFWD_H
#define NESTVM_NET_NAT_HOSTFWD_H

#include <slirp/libslirp.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/nat_leases.h"
#include "util/err.h"
#include "util/eth.h"

#define NAT_HOSTFWD_MAX 64

struct nat_hostfwd {
	bool used;
	int owner;               /* the switch port it is for */
	struct mac_addr mac;     /* that port's own MAC */
	uint32_t guest_ip;       /* host byte order: the lease it points at */
	uint16_t guest_port, host_port;
};

struct nat_hostfwds {
	struct nat_hostfwd f[NAT_HOSTFWD_MAX];
};

/* The forward for (owner, mac, guest_port), made if new: its host port in
 * *host_port. -1 with err: no lease for mac yet (input), no port free or
 * slirp refused (host). */
int nat_hostfwd_add(struct nat_hostfwds *t, Slirp *slirp, const struct nat_leases *leases, int owner, const struct mac_addr *mac, uint16_t guest_port,
		    uint16_t *host_port, struct nv_err *err);
/* Removes every forward owner has. */
void nat_hostfwd_drop(struct nat_hostfwds *t, Slirp *slirp, int owner);
/* After leases changed: forwards whose MAC has another address now point
 * there (same host port). Called outside slirp's callbacks. */
void nat_hostfwd_follow_leases(struct nat_hostfwds *t, Slirp *slirp, const struct nat_leases *leases);

#endif
