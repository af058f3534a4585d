/* libFuzzer: hostile frames into a virtual switch's core (net/switch_core.c),
 * the code every frame of every port and of the uplink meets. A switch with
 * five ports (two with anti-spoofing off, two sharing one MAC) and an uplink
 * takes a script: frames entering on any port, the uplink or an id that is
 * no port, with the clock moving (MAC ageing), ports leaving and coming back,
 * spoofing switched, the uplink coming and going. Any crash or sanitizer
 * report is a bug, and so is a frame the core gets wrong: each frame's
 * outcome (accepted, spoofed, malformed) and where it goes (the one port its
 * destination was learned on, or every other port and the uplink) follow
 * from what the switch knows, and the counters add up to what happened. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/switch_core.h"

#define MAX_PORTS 8
#define NPORTS 5
#define AGEING_MS 1000
#define NO_PORT (-2) /* switch_core_lookup: unknown */

struct want {
	uint64_t fed, sent, full; /* frames in; outputs the callback took or refused */
};

static const struct mac_addr macs[NPORTS] = {
	{ { 0x52, 0x54, 0, 0, 0, 0xa } }, { { 0x52, 0x54, 0, 0, 0, 0xb } },
	{ { 0x52, 0x54, 0, 0, 0, 0xc } }, { { 0x52, 0x54, 0, 0, 0, 0xa } }, /* two ports, one MAC */
	{ { 0x52, 0x54, 0, 0, 0, 0xe } },
};
static const bool spoofing[NPORTS] = { false, true, false, false, true };
static const char *const names[NPORTS] = { "a/0", "b/0", "c/0", "d/0", "e/0" };

static struct {
	struct switch_core *sw;
	uint64_t now;
	bool uplink;
	int id[NPORTS];       /* each port's id, or its last one while it is gone */
	bool present[NPORTS];
	struct want w[MAX_PORTS], uw; /* by port id; the uplink */
	/* The frame being input: where it came from, where it went. */
	const uint8_t *frame;
	size_t len;
	int from;
	bool in_input;
	bool to_port[MAX_PORTS], to_uplink;
	unsigned outputs, calls;
	uint8_t seed;
} s;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return s.now;
}

/* Mostly sent; now and then a full queue or a port going away. */
static enum switch_out_result out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	(void)opaque;
	CHECK(s.in_input && frame == s.frame && len == s.len && to != s.from);
	if (to == SWITCH_PORT_UPLINK) {
		CHECK(s.uplink && !s.to_uplink);
		s.to_uplink = true;
	} else {
		CHECK(to >= 0 && to < MAX_PORTS && switch_core_port(s.sw, to) && !s.to_port[to]);
		s.to_port[to] = true;
	}
	s.outputs++;
	struct want *w = to == SWITCH_PORT_UPLINK ? &s.uw : &s.w[to];
	switch ((s.seed * 31u + s.calls++ * 7u) % 8) {
	case 6: w->full++; return SWITCH_OUT_FULL;
	case 7: return SWITCH_OUT_GONE;
	default: w->sent++; return SWITCH_OUT_SENT;
	}
}

/* The counters of id (a port or the uplink) match what was done to it. */
static void check_counters(int id)
{
	const struct switch_port_counters *c;
	const struct want *w;
	if (id == SWITCH_PORT_UPLINK) {
		c = switch_core_uplink_counters(s.sw);
		w = &s.uw;
	} else {
		const struct switch_port *p = switch_core_port(s.sw, id);
		if (!p)
			return;
		c = &p->c;
		w = &s.w[id];
	}
	CHECK(c->rx_frames + c->dropped_spoofed + c->dropped_malformed == w->fed);
	CHECK(c->tx_frames == w->sent && c->dropped_queue_full == w->full);
}

static const struct switch_port *port_with_mac(const struct mac_addr *m, int not)
{
	for (int i = 0; i < MAX_PORTS; i++) {
		const struct switch_port *p = switch_core_port(s.sw, i);
		if (p && i != not && mac_equal(&p->mac, m))
			return p;
	}
	return NULL;
}

static void input(int from, uint8_t *frame, size_t len)
{
	const struct switch_port *p = from >= 0 && from < MAX_PORTS ? switch_core_port(s.sw, from) : NULL;
	bool counted = p || (from == SWITCH_PORT_UPLINK && s.uplink);
	const struct switch_port_counters *c = !counted ? NULL
					       : p ? &p->c : switch_core_uplink_counters(s.sw);
	struct switch_port_counters before = c ? *c : (struct switch_port_counters){ 0 };

	/* What the switch must decide (switch_core.h). */
	enum { ACCEPT, SPOOFED, MALFORMED } want = ACCEPT;
	if (len < NET_FRAME_MIN || len > NET_FRAME_MAX || mac_is_multicast(eth_src(frame)))
		want = MALFORMED;
	else if (p && !p->mac_spoofing && !mac_equal(eth_src(frame), &p->mac))
		want = SPOOFED;
	else if ((!p || !mac_equal(eth_src(frame), &p->mac)) && port_with_mac(eth_src(frame), from))
		want = SPOOFED; /* another port's own MAC */

	s.frame = frame;
	s.len = len;
	s.from = from;
	s.outputs = 0;
	s.to_uplink = false;
	memset(s.to_port, 0, sizeof(s.to_port));
	s.in_input = true;
	switch_core_input(s.sw, from, frame, len);
	s.in_input = false;

	if (!counted) {
		CHECK(s.outputs == 0);
		return;
	}
	if (from == SWITCH_PORT_UPLINK)
		s.uw.fed++;
	else
		s.w[from].fed++;
	CHECK(c->rx_frames == before.rx_frames + (want == ACCEPT));
	CHECK(c->dropped_spoofed == before.dropped_spoofed + (want == SPOOFED));
	CHECK(c->dropped_malformed == before.dropped_malformed + (want == MALFORMED));
	if (want != ACCEPT) {
		CHECK(s.outputs == 0);
		return;
	}
	/* The source is learned where it came from; the frame went to where its
	 * destination is learned, or everywhere else when it is not. */
	CHECK(switch_core_lookup(s.sw, eth_src(frame)) == from);
	int to = mac_is_multicast(eth_dst(frame)) ? NO_PORT : switch_core_lookup(s.sw, eth_dst(frame));
	if (to != NO_PORT) {
		CHECK(s.outputs == (to != from));
		CHECK(to == from || (to == SWITCH_PORT_UPLINK ? s.to_uplink : s.to_port[to]));
		return;
	}
	unsigned n = 0;
	for (int i = 0; i < MAX_PORTS; i++) {
		bool want_out = switch_core_port(s.sw, i) && i != from;
		CHECK(s.to_port[i] == want_out);
		n += want_out;
	}
	CHECK(s.to_uplink == (s.uplink && from != SWITCH_PORT_UPLINK));
	CHECK(s.outputs == n + s.to_uplink);
}

/* Every MAC learned on id (a port or the uplink) is a unicast one, and found
 * there; returns how many. */
static unsigned check_learned(int id)
{
	static struct mac_addr learned[64];
	unsigned n = switch_core_learned(s.sw, id, learned, 64);
	for (unsigned i = 0; i < n; i++) {
		CHECK(!mac_is_multicast(&learned[i]));
		CHECK(switch_core_lookup(s.sw, &learned[i]) == id);
	}
	CHECK(id != SWITCH_PORT_UPLINK || s.uplink || n == 0);
	CHECK(id < 0 || switch_core_port(s.sw, id) || n == 0);
	return n;
}

static void check_table(unsigned table)
{
	unsigned total = 0;
	for (int id = -1; id < MAX_PORTS; id++)
		total += check_learned(id);
	CHECK(total <= table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The daemon's table has SWITCH_MAC_TABLE_SIZE entries; smaller ones
	 * fill up within an input, and keep the table walks cheap. */
	static const unsigned tables[4] = { 2, 5, 16, 64 };
	if (size < 1)
		return 0;
	/* data[0]: bit 0 the uplink is there at first, bits 1-2 the MAC
	 * table's size (a small one fills up), all of it the callback's
	 * pattern of full queues and gone ports. */
	memset(&s, 0, sizeof(s));
	s.seed = data[0];
	s.uplink = data[0] & 1;
	s.now = 1000000;
	unsigned table = tables[(data[0] >> 1) & 3];
	s.sw = switch_core_new(MAX_PORTS, table, AGEING_MS, out, NULL, fake_clock, NULL);
	CHECK(s.sw);
	switch_core_set_uplink(s.sw, s.uplink);
	for (int i = 0; i < NPORTS; i++) {
		s.id[i] = switch_core_add_port(s.sw, names[i], &macs[i], spoofing[i]);
		CHECK(s.id[i] == i);
		s.present[i] = true;
	}
	CHECK(switch_core_add_port(s.sw, "a/0", &macs[1], false) == -2);
	data++;
	size--;

	/* Records: op<<5 | target, then arg and the op's bytes. Targets 0-4
	 * are the ports, 5 the uplink, 6 an id no port has, 7 one past the
	 * switch. Ops 0-3 a frame from the target; 4 the clock moves arg * 64
	 * ms; 5 the target leaves or comes back (with spoofing arg bit 0; the
	 * uplink goes or comes); 6 the target's spoofing set to arg bit 1
	 * (arg bit 0 set), else a frame from it too large to read; 7 what it
	 * learned is checked (target 7: the whole table). */
	while (size >= 2) {
		uint8_t op = data[0] >> 5, t = data[0] & 7, arg = data[1];
		data += 2;
		size -= 2;
		int from = t < NPORTS ? s.id[t] : t == 5 ? SWITCH_PORT_UPLINK : t == 6 ? MAX_PORTS - 1 : 300;
		if (op < 4) {
			/* A frame: arg is its length (up to past NET_FRAME_MAX), its
			 * bytes follow. op bit 0 puts the port's own MAC as source,
			 * bit 1 a chosen destination (the next byte: a port's MAC,
			 * broadcast, multicast), so most frames get past the checks. */
			size_t len = arg <= 128 ? arg : (size_t)(arg - 128) * 12 + 128;
			uint8_t *frame = malloc(len ? len : 1); /* exact size: ASan sees overreads */
			CHECK(frame);
			size_t n = len < size ? len : size;
			memset(frame, 0, len);
			if (n)
				memcpy(frame, data, n);
			data += n;
			size -= n;
			if (len >= ETH_HDR_LEN && (op & 1) && t < NPORTS)
				memcpy(frame + ETH_ALEN_, &macs[t], ETH_ALEN_);
			if (len >= ETH_HDR_LEN && (op & 2) && size) {
				uint8_t d = data[0] % 8;
				static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
				static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
				if (d < 7)
					memcpy(frame, d < NPORTS ? macs[d].b : d == 5 ? bcast : mcast, 6);
				data++;
				size--;
			}
			input(from, frame, len);
			free(frame);
		} else if (op == 4) {
			s.now += (uint64_t)arg * 64; /* ageing is 1000 ms */
		} else if (op == 5) {
			if (t == 5) {
				s.uplink = !s.uplink;
				switch_core_set_uplink(s.sw, s.uplink);
			} else if (t < NPORTS && s.present[t]) {
				switch_core_remove_port(s.sw, s.id[t]);
				CHECK(!switch_core_port(s.sw, s.id[t]) && switch_core_find_port(s.sw, names[t]) < 0);
				s.present[t] = false;
			} else if (t < NPORTS) {
				int id = switch_core_add_port(s.sw, names[t], &macs[t], arg & 1);
				CHECK(id >= 0 && id < MAX_PORTS && switch_core_find_port(s.sw, names[t]) == id);
				s.id[t] = id;
				s.present[t] = true;
				memset(&s.w[id], 0, sizeof(s.w[id])); /* a new port's counters */
			} else {
				switch_core_remove_port(s.sw, from); /* no port: nothing happens */
			}
		} else if (op == 6) {
			if (arg & 1) {
				int r = switch_core_set_spoofing(s.sw, from, arg & 2);
				CHECK((r == 0) == (from >= 0 && switch_core_port(s.sw, from) != NULL));
			} else {
				switch_core_count_malformed(s.sw, from);
				if (from >= 0 && from < MAX_PORTS && switch_core_port(s.sw, from))
					s.w[from].fed++;
				else if (from == SWITCH_PORT_UPLINK && s.uplink)
					s.uw.fed++;
			}
		} else {
			if (t == 7)
				check_table(table);
			else
				check_learned(from);
		}
		for (int id = -1; id < MAX_PORTS; id++)
			check_counters(id);
	}
	unsigned n = 0;
	for (int i = 0; i < NPORTS; i++)
		n += s.present[i];
	CHECK(switch_core_port_count(s.sw) == n && switch_core_max_ports(s.sw) == MAX_PORTS);
	check_table(table);
	switch_core_free(s.sw);
	return 0;
}
