#include "net/switch_control.h"

#include <stdio.h>
#include <unistd.h>

#include "net/switch_protocol.h"
#include "net/switch_path.h"
#include "util/unix_json.h"

struct json_object *switch_control_request(const char *name, struct json_object *req,
					   int timeout_ms, struct nv_err *err)
{
	char path[4096], label[64], not_running[128];
	if (switch_path(name, SWITCH_CONTROL_SOCKET, path, sizeof(path), err) < 0)
		return NULL;
	snprintf(label, sizeof(label), "switch %s", name);
	snprintf(not_running, sizeof(not_running), "switch %s is not running (its daemon is stopped)", name);
	return unix_json_request(path, req, SWITCH_CONTROL_MAX, timeout_ms, label, not_running, label, err);
}
