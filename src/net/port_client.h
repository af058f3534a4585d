/* The adapter's side of a switch port (see switch_protocol.h): connect to a
 * switch's port.sock, say hello, and get a connected SOCK_SEQPACKET fd on
 * which each message is one Ethernet frame. */
#ifndef NESTVM_NET_PORT_CLIENT_H
#define NESTVM_NET_PORT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/eth.h"
#include "util/err.h"

struct port_hello {
	const char *vm;       /* VM name */
	unsigned adapter;     /* adapter index in the VM */
	struct mac_addr mac;
	bool mac_spoofing;
};

/* A connected, non-blocking, close-on-exec fd, or -1: a missing switch is
 * NV_ERR_INPUT ("no switch named X: create it with nestvm switch create X"),
 * a refusal carries the switch's reason. port_name (may be NULL) receives the
 * name the switch gave the port. */
int port_client_connect(const char *switch_name, const struct port_hello *h, char *port_name,
			size_t port_name_len, struct nv_err *err);
/* The same, but a stopped switch stays stopped (a confined VMM starts no
 * process: vmm/switch_starter.c does that for it). */
int port_client_attach(const char *switch_name, const struct port_hello *h, char *port_name,
		       size_t port_name_len, struct nv_err *err);

#endif
