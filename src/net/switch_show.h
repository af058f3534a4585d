/* The reply to a switch's `show` control request (switch_protocol.h): its
 * config, every port with its counters and learned MACs, and the uplink. */
#ifndef NESTVM_NET_SWITCH_SHOW_H
#define NESTVM_NET_SWITCH_SHOW_H

#include "net/switch_config.h"
#include "net/switch_core.h"
#include "net/uplink.h"

struct json_object;

/* up may be NULL (a private switch). The caller puts the object. */
struct json_object *switch_show_reply(const struct switch_config *cfg, struct switch_core *core,
				      struct uplink *up);

#endif
