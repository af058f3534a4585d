#include "net/switch_core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NO_ENTRY UINT32_MAX
#define UNKNOWN_PORT (-2)

/* One learned MAC. Entries live in a fixed pool, chained per hash bucket;
 * unused ones form a free list through next. */
struct mac_entry {
	struct mac_addr mac;
	int port;
	bool used;
	uint64_t seen_ms;
	uint32_t next;
};

struct switch_core {
	switch_out_fn out;
	void *out_opaque;
	switch_clock_fn clock;
	void *clock_opaque;
	uint64_t ageing_ms;

	unsigned max_ports;
	unsigned ports_end; /* 1 + the highest port in use: per-frame loops stop there */
	struct switch_port *ports;
	bool uplink;
	struct switch_port_counters uplink_c;

	unsigned table_size, table_used;
	struct mac_entry *entries;
	uint32_t *buckets; /* table_size heads */
	uint32_t free_head;
};

static uint64_t monotonic_ms(void *opaque)
{
	(void)opaque;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct switch_core *switch_core_new(unsigned max_ports, unsigned mac_table, uint64_t ageing_ms,
				    switch_out_fn out, void *out_opaque, switch_clock_fn clock,
				    void *clock_opaque)
{
	if (max_ports == 0 || max_ports > SWITCH_MAX_PORTS || mac_table == 0 || mac_table > 65536 ||
	    ageing_ms == 0 || !out)
		return NULL;
	struct switch_core *sw = calloc(1, sizeof(*sw));
	if (!sw)
		return NULL;
	sw->ports = calloc(max_ports, sizeof(*sw->ports));
	sw->entries = calloc(mac_table, sizeof(*sw->entries));
	sw->buckets = malloc(mac_table * sizeof(*sw->buckets));
	if (!sw->ports || !sw->entries || !sw->buckets) {
		switch_core_free(sw);
		return NULL;
	}
	sw->out = out;
	sw->out_opaque = out_opaque;
	sw->clock = clock ? clock : monotonic_ms;
	sw->clock_opaque = clock_opaque;
	sw->ageing_ms = ageing_ms;
	sw->max_ports = max_ports;
	sw->table_size = mac_table;
	for (unsigned i = 0; i < mac_table; i++) {
		sw->buckets[i] = NO_ENTRY;
		sw->entries[i].next = i + 1 < mac_table ? i + 1 : NO_ENTRY;
	}
	sw->free_head = 0;
	return sw;
}

void switch_core_free(struct switch_core *sw)
{
	if (!sw)
		return;
	free(sw->ports);
	free(sw->entries);
	free(sw->buckets);
	free(sw);
}

static uint32_t mac_hash(const struct switch_core *sw, const struct mac_addr *m)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < ETH_ALEN_; i++)
		h = (h ^ m->b[i]) * 16777619u;
	return h % sw->table_size;
}

static void entry_unlink(struct switch_core *sw, uint32_t idx)
{
	uint32_t *link = &sw->buckets[mac_hash(sw, &sw->entries[idx].mac)];
	while (*link != NO_ENTRY && *link != idx)
		link = &sw->entries[*link].next;
	if (*link == idx)
		*link = sw->entries[idx].next;
	sw->entries[idx].used = false;
	sw->entries[idx].next = sw->free_head;
	sw->free_head = idx;
	sw->table_used--;
}

static bool entry_expired(const struct switch_core *sw, const struct mac_entry *e, uint64_t now)
{
	return now - e->seen_ms >= sw->ageing_ms;
}

/* The live entry for a MAC, or NO_ENTRY; an aged-out one is dropped here. */
static uint32_t entry_find(struct switch_core *sw, const struct mac_addr *m, uint64_t now)
{
	for (uint32_t i = sw->buckets[mac_hash(sw, m)]; i != NO_ENTRY; i = sw->entries[i].next) {
		if (!mac_equal(&sw->entries[i].mac, m))
			continue;
		if (entry_expired(sw, &sw->entries[i], now)) {
			entry_unlink(sw, i);
			return NO_ENTRY;
		}
		return i;
	}
	return NO_ENTRY;
}

/* Table full: drop everything aged out, else the least recently seen. */
static void table_make_room(struct switch_core *sw, uint64_t now)
{
	uint32_t oldest = NO_ENTRY;
	for (uint32_t i = 0; i < sw->table_size; i++) {
		if (!sw->entries[i].used)
			continue;
		if (entry_expired(sw, &sw->entries[i], now))
			entry_unlink(sw, i);
		else if (oldest == NO_ENTRY || sw->entries[i].seen_ms < sw->entries[oldest].seen_ms)
			oldest = i;
	}
	if (sw->free_head == NO_ENTRY && oldest != NO_ENTRY)
		entry_unlink(sw, oldest);
}

static void table_learn(struct switch_core *sw, const struct mac_addr *m, int port, uint64_t now)
{
	uint32_t i = entry_find(sw, m, now);
	if (i != NO_ENTRY) {
		sw->entries[i].port = port; /* a MAC that moved follows its new port */
		sw->entries[i].seen_ms = now;
		return;
	}
	if (sw->free_head == NO_ENTRY)
		table_make_room(sw, now);
	i = sw->free_head;
	struct mac_entry *e = &sw->entries[i];
	sw->free_head = e->next;
	uint32_t b = mac_hash(sw, m);
	*e = (struct mac_entry){ .mac = *m, .port = port, .used = true, .seen_ms = now,
				 .next = sw->buckets[b] };
	sw->buckets[b] = i;
	sw->table_used++;
}

static struct switch_port *port_get(const struct switch_core *sw, int id)
{
	if (id < 0 || (unsigned)id >= sw->max_ports || !sw->ports[id].used)
		return NULL;
	return &sw->ports[id];
}

int switch_core_add_port(struct switch_core *sw, const char *name, const struct mac_addr *mac,
			 bool mac_spoofing)
{
	if (!name || strlen(name) >= SWITCH_PORT_NAME_MAX)
		return -1;
	if (switch_core_find_port(sw, name) >= 0)
		return -2;
	for (unsigned i = 0; i < sw->max_ports; i++) {
		struct switch_port *p = &sw->ports[i];
		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = true;
		strcpy(p->name, name);
		p->mac = *mac;
		p->mac_spoofing = mac_spoofing;
		if (i >= sw->ports_end)
			sw->ports_end = i + 1;
		/* Its MAC is its own from now on, even if another port sent it
		 * before (that port spoofed it, or held it before a restart). */
		uint32_t e = entry_find(sw, mac, sw->clock(sw->clock_opaque));
		if (e != NO_ENTRY)
			sw->entries[e].port = (int)i;
		return (int)i;
	}
	return -1;
}

void switch_core_remove_port(struct switch_core *sw, int id)
{
	struct switch_port *p = port_get(sw, id);
	if (!p)
		return;
	for (uint32_t i = 0; i < sw->table_size; i++)
		if (sw->entries[i].used && sw->entries[i].port == id)
			entry_unlink(sw, i);
	p->used = false;
	while (sw->ports_end > 0 && !sw->ports[sw->ports_end - 1].used)
		sw->ports_end--;
}

int switch_core_find_port(const struct switch_core *sw, const char *name)
{
	for (unsigned i = 0; i < sw->max_ports; i++)
		if (sw->ports[i].used && !strcmp(sw->ports[i].name, name))
			return (int)i;
	return -1;
}

const struct switch_port *switch_core_port(const struct switch_core *sw, int id)
{
	return port_get(sw, id);
}

unsigned switch_core_max_ports(const struct switch_core *sw)
{
	return sw->max_ports;
}

unsigned switch_core_port_count(const struct switch_core *sw)
{
	unsigned n = 0;
	for (unsigned i = 0; i < sw->max_ports; i++)
		n += sw->ports[i].used;
	return n;
}

int switch_core_set_spoofing(struct switch_core *sw, int id, bool on)
{
	struct switch_port *p = port_get(sw, id);
	if (!p)
		return -1;
	p->mac_spoofing = on;
	return 0;
}

void switch_core_set_uplink(struct switch_core *sw, bool present)
{
	sw->uplink = present;
	if (!present)
		for (uint32_t i = 0; i < sw->table_size; i++)
			if (sw->entries[i].used && sw->entries[i].port == SWITCH_PORT_UPLINK)
				entry_unlink(sw, i);
}

const struct switch_port_counters *switch_core_uplink_counters(const struct switch_core *sw)
{
	return &sw->uplink_c;
}

static struct switch_port_counters *counters_of(struct switch_core *sw, int id)
{
	if (id == SWITCH_PORT_UPLINK)
		return sw->uplink ? &sw->uplink_c : NULL;
	struct switch_port *p = port_get(sw, id);
	return p ? &p->c : NULL;
}

void switch_core_count_malformed(struct switch_core *sw, int from)
{
	struct switch_port_counters *c = counters_of(sw, from);
	if (c)
		c->dropped_malformed++;
}

static void output(struct switch_core *sw, int to, const uint8_t *frame, size_t len)
{
	struct switch_port_counters *c = counters_of(sw, to);
	if (!c)
		return;
	switch (sw->out(sw->out_opaque, to, frame, len)) {
	case SWITCH_OUT_SENT: c->tx_frames++; break;
	case SWITCH_OUT_FULL: c->dropped_queue_full++; break;
	case SWITCH_OUT_GONE: break;
	}
}

/* A MAC registered to another port is never taken over: whatever its own
 * spoofing setting, a port (or the uplink) that sends it is spoofing. Two
 * ports registered with one MAC may both use it. */
static bool mac_pinned_elsewhere(const struct switch_core *sw, int from, const struct mac_addr *m)
{
	const struct switch_port *own = port_get(sw, from);
	if (own && mac_equal(m, &own->mac))
		return false;
	for (unsigned i = 0; i < sw->ports_end; i++)
		if (sw->ports[i].used && (int)i != from && mac_equal(m, &sw->ports[i].mac))
			return true;
	return false;
}

void switch_core_count_spoofed(struct switch_core *sw, int from)
{
	struct switch_port_counters *c = counters_of(sw, from);
	if (c)
		c->dropped_spoofed++;
}

bool switch_core_mac_pinned_elsewhere(const struct switch_core *sw, int from, const struct mac_addr *mac)
{
	return mac_pinned_elsewhere(sw, from, mac);
}

void switch_core_input(struct switch_core *sw, int from, const uint8_t *frame, size_t len)
{
	struct switch_port_counters *c = counters_of(sw, from);
	if (!c)
		return;
	if (!frame || len < NET_FRAME_MIN || len > NET_FRAME_MAX || mac_is_multicast(eth_src(frame))) {
		c->dropped_malformed++;
		return;
	}
	struct mac_addr src = *eth_src(frame), dst = *eth_dst(frame);
	if (from != SWITCH_PORT_UPLINK) {
		const struct switch_port *p = port_get(sw, from);
		if (!p->mac_spoofing && !mac_equal(&src, &p->mac)) {
			c->dropped_spoofed++;
			return;
		}
	}
	if (mac_pinned_elsewhere(sw, from, &src)) {
		c->dropped_spoofed++;
		return;
	}
	c->rx_frames++;
	uint64_t now = sw->clock(sw->clock_opaque);
	table_learn(sw, &src, from, now);

	if (!mac_is_multicast(&dst)) {
		uint32_t e = entry_find(sw, &dst, now);
		if (e != NO_ENTRY) {
			int to = sw->entries[e].port;
			/* Destination on the port it came from: nothing to do. */
			if (to != from)
				output(sw, to, frame, len);
			return;
		}
	}
	/* Broadcast, multicast or unknown unicast: everyone else. */
	for (unsigned i = 0; i < sw->ports_end; i++)
		if (sw->ports[i].used && (int)i != from)
			output(sw, (int)i, frame, len);
	if (sw->uplink && from != SWITCH_PORT_UPLINK)
		output(sw, SWITCH_PORT_UPLINK, frame, len);
}

unsigned switch_core_learned(struct switch_core *sw, int port, struct mac_addr *out, unsigned max)
{
	uint64_t now = sw->clock(sw->clock_opaque);
	unsigned n = 0;
	for (uint32_t i = 0; i < sw->table_size && n < max; i++) {
		const struct mac_entry *e = &sw->entries[i];
		if (e->used && e->port == port && !entry_expired(sw, e, now))
			out[n++] = e->mac;
	}
	return n;
}

int switch_core_lookup(struct switch_core *sw, const struct mac_addr *mac)
{
	uint32_t e = entry_find(sw, mac, sw->clock(sw->clock_opaque));
	return e == NO_ENTRY ? UNKNOWN_PORT : sw->entries[e].port;
}
