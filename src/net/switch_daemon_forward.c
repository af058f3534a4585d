/* A NAT switch's answers about one port's lease and its forwards from the
 * host (switch_protocol.h): what `nestvm vm ssh` and `vm show` ask. The
 * port is named by the caller; the MAC is the one the port said in its
 * hello (what its VMM was given), never one a guest chose, and the address
 * is the one slirp's DHCP server leased to that MAC (net/nat_leases.h). */
#include "net/switch_daemon_private.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <stdio.h>

#include "net/nat_leases.h"

static struct json_object *error_reply(const char *msg)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* The port named by req's "port"; -1 with *reply set if there is none. */
static int port_of(struct daemon *d, struct json_object *req, struct json_object **reply)
{
	struct json_object *pv;
	char msg[200];
	if (!d->uplink || !d->uplink->ops->leases) {
		snprintf(msg, sizeof(msg), "not a NAT switch (no DHCP server of its own)");
		*reply = error_reply(msg);
		return -1;
	}
	if (!json_object_object_get_ex(req, "port", &pv) || !json_object_is_type(pv, json_type_string)) {
		*reply = error_reply("needs \"port\" (a string like \"vm/0\")");
		return -1;
	}
	int id = switch_core_find_port(d->core, json_object_get_string(pv));
	if (id < 0) {
		/* The caller names the switch: "switch S: port P is not connected". */
		snprintf(msg, sizeof(msg), "port %.80s is not connected", json_object_get_string(pv));
		*reply = error_reply(msg);
	}
	return id;
}

/* {"ok":true,"port":..,"mac":..} with "ip" when the port's MAC has a lease. */
static struct json_object *lease_reply(struct daemon *d, int id)
{
	const struct switch_port *p = switch_core_port(d->core, id);
	uint32_t ip = nat_leases_ip_of(d->uplink->ops->leases(d->uplink), &p->mac);
	struct json_object *o = json_object_new_object();
	char mac[18];
	mac_format(&p->mac, mac);
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "port", json_object_new_string(p->name));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	if (ip) {
		char s[INET_ADDRSTRLEN];
		struct in_addr a = { .s_addr = htonl(ip) };
		inet_ntop(AF_INET, &a, s, sizeof(s));
		json_object_object_add(o, "ip", json_object_new_string(s));
	}
	return o;
}

struct json_object *switch_daemon_lease(struct daemon *d, struct json_object *req)
{
	struct json_object *reply = NULL;
	int id = port_of(d, req, &reply);
	return id < 0 ? reply : lease_reply(d, id);
}

struct json_object *switch_daemon_forward(struct daemon *d, struct json_object *req)
{
	struct json_object *reply = NULL, *gv;
	int id = port_of(d, req, &reply);
	if (id < 0)
		return reply;
	if (!json_object_object_get_ex(req, "guest_port", &gv) || !json_object_is_type(gv, json_type_int) ||
	    json_object_get_int64(gv) < 1 || json_object_get_int64(gv) > 65535)
		return error_reply("forward needs \"guest_port\" (1..65535)");
	const struct switch_port *p = switch_core_port(d->core, id);
	uint16_t guest_port = (uint16_t)json_object_get_int64(gv), host_port = 0;
	struct nv_err err = { 0 };
	if (d->uplink->ops->forward_add(d->uplink, id, &p->mac, guest_port, &host_port, &err) < 0)
		return error_reply(err.msg);
	switch_daemon_log(d, "port %s: forward 127.0.0.1:%u -> guest port %u", p->name, host_port, guest_port);
	reply = lease_reply(d, id);
	json_object_object_add(reply, "host", json_object_new_string("127.0.0.1"));
	json_object_object_add(reply, "host_port", json_object_new_int(host_port));
	json_object_object_add(reply, "guest_port", json_object_new_int(guest_port));
	return reply;
}
