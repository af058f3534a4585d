/* A named VM's adapter on a NAT switch, as the host reaches it: the IPv4
 * address the switch's DHCP server leased to the adapter's MAC, and a TCP
 * forward from 127.0.0.1 to one of the guest's ports (the switch's control
 * requests `lease` and `forward`, net/switch_protocol.h). What `vm ssh`
 * and `vm show` use. */
#ifndef NESTVM_MGMT_VM_NAT_PORT_H
#define NESTVM_MGMT_VM_NAT_PORT_H

#include <arpa/inet.h>
#include <stdint.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

/* Is adapter's switch a NAT switch (its config says so)? 1 yes, 0 no, -1
 * with err when the switch does not exist or its config cannot be read. */
int vm_nat_port_is_nat(const struct vm_config *c, unsigned adapter, struct nv_err *err);
/* The first adapter on a NAT switch, or -1 with an input error saying the
 * VM has none. */
int vm_nat_port_find(const struct vm_config *c, struct nv_err *err);
/* The adapter's address: 1 with ip set, 0 when its DHCP has not finished,
 * -1 with err (the switch is not running, or the VM's port is not on it). */
int vm_nat_port_lease(const struct vm_config *c, unsigned adapter, char ip[INET_ADDRSTRLEN],
		      struct nv_err *err);
/* A forward from 127.0.0.1:*host_port to guest_port at the adapter's
 * address; 0, or -1 with err (no lease: an input error). */
int vm_nat_port_forward(const struct vm_config *c, unsigned adapter, uint16_t guest_port,
			uint16_t *host_port, struct nv_err *err);

#endif
