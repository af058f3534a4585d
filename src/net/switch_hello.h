/* The switch's side of a port hello (switch_protocol.h): the message is
 * hostile input, checked completely before a port exists. */
#ifndef NESTVM_NET_SWITCH_HELLO_H
#define NESTVM_NET_SWITCH_HELLO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/eth.h"
#include "net/switch_core.h"

#define SWITCH_HELLO_MAX 1024
#define SWITCH_VM_NAME_MAX 64
#define SWITCH_ADAPTER_MAX 255

struct switch_hello {
	char port[SWITCH_PORT_NAME_MAX]; /* "vm/adapter" */
	struct mac_addr mac;
	bool mac_spoofing;
};

/* 0, or -1 with a one-line reason for the peer in why. */
int switch_hello_parse(const char *msg, size_t len, struct switch_hello *out, char *why,
		       size_t why_len);
/* The answer message: {"ok":true,"port":..} or {"ok":false,"error":..}. */
void switch_hello_answer(char *out, size_t len, const char *port, const char *error);

#endif
