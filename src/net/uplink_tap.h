/* Extras of the internal switch's tap uplink (uplink_tap_new is declared in
 * uplink.h): the tap's name for a switch, and the host's address on it. */
#ifndef NESTVM_NET_UPLINK_TAP_H
#define NESTVM_NET_UPLINK_TAP_H

#include <stdint.h>

#include "net/uplink.h"

#define UPLINK_TAP_IFNAME_LEN 16 /* IFNAMSIZ */

/* "nv-" + the switch name, or "nv-" + 8 hex digits of its hash when that is
 * longer than an interface name may be. */
void uplink_tap_ifname(const char *switch_name, char out[UPLINK_TAP_IFNAME_LEN]);
/* Gives the host the first address of network/prefix_len on the tap (the
 * VMs' gateway to the host). u must come from uplink_tap_new. */
int uplink_tap_set_address(struct uplink *u, uint32_t network, unsigned prefix_len,
			   struct nv_err *err);

#endif
