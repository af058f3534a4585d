#include "net/switch_show.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct json_object *u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static struct json_object *port_json(struct switch_core *core, int id, struct mac_addr *macs)
{
	const struct switch_port *p = switch_core_port(core, id);
	struct json_object *o = json_object_new_object();
	char mac[18];
	mac_format(&p->mac, mac);
	json_object_object_add(o, "port", json_object_new_string(p->name));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "mac_spoofing", json_object_new_boolean(p->mac_spoofing));
	json_object_object_add(o, "rx_frames", u64(p->c.rx_frames));
	json_object_object_add(o, "tx_frames", u64(p->c.tx_frames));
	json_object_object_add(o, "dropped_spoofed", u64(p->c.dropped_spoofed));
	json_object_object_add(o, "dropped_queue_full", u64(p->c.dropped_queue_full));
	json_object_object_add(o, "dropped_malformed", u64(p->c.dropped_malformed));
	struct json_object *learned = json_object_new_array();
	unsigned n = switch_core_learned(core, id, macs, SWITCH_MAC_TABLE_SIZE);
	for (unsigned i = 0; i < n; i++) {
		mac_format(&macs[i], mac);
		json_object_array_add(learned, json_object_new_string(mac));
	}
	json_object_object_add(o, "learned_macs", learned);
	return o;
}

static struct json_object *uplink_json(struct switch_core *core, struct uplink *up,
				       struct mac_addr *macs)
{
	struct json_object *o = json_object_new_object();
	const struct switch_port_counters *c = switch_core_uplink_counters(core);
	json_object_object_add(o, "kind", json_object_new_string(up->ops->kind));
	json_object_object_add(o, "rx_frames", u64(up->counters.rx_frames));
	json_object_object_add(o, "tx_frames", u64(up->counters.tx_frames));
	json_object_object_add(o, "dropped", u64(up->counters.dropped));
	json_object_object_add(o, "dropped_malformed", u64(c->dropped_malformed));
	json_object_object_add(o, "learned_macs_count",
			       json_object_new_int((int)switch_core_learned(core, SWITCH_PORT_UPLINK, macs,
									     SWITCH_MAC_TABLE_SIZE)));
	if (up->ops->describe)
		up->ops->describe(up, o);
	return o;
}

/* Ports by name: slots follow connection order, which races at start-up, and
 * people (and scripts) read the list. */
static int by_port_name(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	struct json_object *nx = NULL, *ny = NULL;
	json_object_object_get_ex(x, "port", &nx);
	json_object_object_get_ex(y, "port", &ny);
	const char *sx = json_object_get_string(nx), *sy = json_object_get_string(ny);
	return strcmp(sx ? sx : "", sy ? sy : "");
}

struct json_object *switch_show_reply(const struct switch_config *cfg, struct switch_core *core,
				      struct uplink *up)
{
	struct mac_addr *macs = malloc(SWITCH_MAC_TABLE_SIZE * sizeof(*macs));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "name", json_object_new_string(cfg->name));
	json_object_object_add(o, "type", json_object_new_string(switch_type_name(cfg->type)));
	if (cfg->has_subnet) {
		char sub[19];
		switch_subnet_format(cfg->network, cfg->prefix_len, sub);
		json_object_object_add(o, "subnet", json_object_new_string(sub));
	} else {
		json_object_object_add(o, "subnet", NULL);
	}
	if (cfg->interface[0])
		json_object_object_add(o, "interface", json_object_new_string(cfg->interface));
	if (cfg->type == SWITCH_NAT) {
		struct json_object *a = json_object_new_array();
		for (unsigned i = 0; i < cfg->nforwards; i++) {
			char s[64];
			switch_forward_format(&cfg->forwards[i], s, sizeof(s));
			json_object_array_add(a, json_object_new_string(s));
		}
		json_object_object_add(o, "forwards", a);
		json_object_object_add(o, "host_loopback", json_object_new_boolean(cfg->host_loopback));
	}
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	struct json_object *ports = json_object_new_array();
	for (unsigned i = 0; macs && i < switch_core_max_ports(core); i++)
		if (switch_core_port(core, (int)i))
			json_object_array_add(ports, port_json(core, (int)i, macs));
	json_object_array_sort(ports, by_port_name);
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "uplink", up && macs ? uplink_json(core, up, macs) : NULL);
	free(macs);
	return o;
}
