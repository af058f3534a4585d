/* The value of `nestvm run --nic`: "switch=NAME[,mac=MAC][,mac-spoofing=on|off]". */
#ifndef NESTVM_MGMT_NIC_SPEC_H
#define NESTVM_MGMT_NIC_SPEC_H

#include <stdbool.h>

#include "util/eth.h"
#include "net/switch_protocol.h"
#include "util/err.h"

struct nic_spec {
	char switch_name[SWITCH_NAME_MAX + 1];
	bool has_mac; /* else the caller generates one (mac_generate) */
	struct mac_addr mac;
	bool mac_spoofing; /* default off: the switch drops frames from other MACs */
};

/* 0, or -1 with a one-line NV_ERR_INPUT naming the problem: an unknown or
 * repeated key, a missing switch=, an invalid switch name, a malformed,
 * multicast or all-zero MAC, a mac-spoofing value other than on/off. */
int nic_spec_parse(const char *spec, struct nic_spec *out, struct nv_err *err);

#endif
