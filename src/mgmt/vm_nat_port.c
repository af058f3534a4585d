#include "mgmt/vm_nat_port.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "net/switch_config.h"
#include "net/switch_control.h"
#include "net/switch_path.h"
#include "net/switch_protocol.h"

#define CONTROL_TIMEOUT_MS 5000

int vm_nat_port_is_nat(const struct vm_config *c, unsigned adapter, struct nv_err *err)
{
	char path[4096];
	struct switch_config sc;
	const char *sw = c->nics[adapter].switch_name;
	if (switch_path(sw, SWITCH_CONFIG_FILE, path, sizeof(path), err) < 0)
		return -1;
	if (switch_config_load(path, &sc, err) < 0) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		return nv_err_input(err, "VM %s's adapter %u is on switch %s, which cannot be read: %s", c->name,
				    adapter, sw, why);
	}
	return sc.type == SWITCH_NAT;
}

int vm_nat_port_find(const struct vm_config *c, struct nv_err *err)
{
	for (unsigned i = 0; i < c->nnics; i++) {
		struct nv_err ignored = { 0 };
		if (vm_nat_port_is_nat(c, i, &ignored) == 1)
			return (int)i;
	}
	return nv_err_input(err, "VM %s has no adapter on a NAT switch (give it one: `nestvm vm set %s --add-nic "
			    "switch=NAME` with a switch made by `nestvm switch create NAME --type nat`)",
			    c->name, c->name);
}

/* One request about the VM's port on adapter's switch; the reply, or NULL. */
static struct json_object *port_request(const struct vm_config *c, unsigned adapter, const char *cmd,
					int guest_port, struct nv_err *err)
{
	char port[VM_NAME_MAX + 16];
	snprintf(port, sizeof(port), "%s/%u", c->name, adapter);
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	json_object_object_add(req, "port", json_object_new_string(port));
	if (guest_port)
		json_object_object_add(req, "guest_port", json_object_new_int(guest_port));
	struct json_object *rep = switch_control_request(c->nics[adapter].switch_name, req, CONTROL_TIMEOUT_MS, err);
	json_object_put(req);
	return rep;
}

/* The reply's "ip", checked to be an IPv4 address; "" if none. */
static void reply_ip(struct json_object *rep, char ip[INET_ADDRSTRLEN])
{
	struct json_object *v;
	struct in_addr a;
	ip[0] = '\0';
	if (json_object_object_get_ex(rep, "ip", &v) && json_object_is_type(v, json_type_string) &&
	    inet_pton(AF_INET, json_object_get_string(v), &a) == 1)
		inet_ntop(AF_INET, &a, ip, INET_ADDRSTRLEN);
}

int vm_nat_port_lease(const struct vm_config *c, unsigned adapter, char ip[INET_ADDRSTRLEN], struct nv_err *err)
{
	struct json_object *rep = port_request(c, adapter, "lease", 0, err);
	if (!rep)
		return -1;
	reply_ip(rep, ip);
	json_object_put(rep);
	return ip[0] != '\0';
}

int vm_nat_port_forward(const struct vm_config *c, unsigned adapter, uint16_t guest_port, uint16_t *host_port,
			struct nv_err *err)
{
	struct json_object *rep = port_request(c, adapter, "forward", guest_port, err), *v;
	if (!rep)
		return -1;
	int64_t p = json_object_object_get_ex(rep, "host_port", &v) && json_object_is_type(v, json_type_int)
			    ? json_object_get_int64(v)
			    : 0;
	json_object_put(rep);
	if (p < 1 || p > 65535)
		return nv_err_host(err, "switch %s answered a forward without a host port",
				   c->nics[adapter].switch_name);
	*host_port = (uint16_t)p;
	return 0;
}
