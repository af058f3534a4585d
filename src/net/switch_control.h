/* The management side of a switch's control.sock: one JSON request, one
 * JSON reply (see switch_protocol.h). */
#ifndef NESTVM_NET_SWITCH_CONTROL_H
#define NESTVM_NET_SWITCH_CONTROL_H

#include "util/err.h"

struct json_object;

/* Sends req (not consumed) and returns the reply (the caller puts it), or
 * NULL with one line in err: a switch that is not running says so (input);
 * a reply {"ok":false,"error":..} is returned as that error (input). */
struct json_object *switch_control_request(const char *name, struct json_object *req,
					   int timeout_ms, struct nv_err *err);

#endif
