/* The switch's forwarding core: learning, flooding, anti-spoofing, malformed
 * frames, ageing (fake clock), table eviction, port removal, full queues.
 * The output callback records where each frame went. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "net/switch_config.h"
#include "net/switch_core.h"
#include "net/switch_show.h"

#define MAXOUT 64

static struct switch_core *sw;
static uint64_t now_ms;
static int outs[MAXOUT], nout;
static int full_port = -100; /* this port's queue reports full */

static enum switch_out_result rec_out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	(void)opaque;
	(void)frame;
	(void)len;
	if (to == full_port)
		return SWITCH_OUT_FULL;
	if (nout < MAXOUT)
		outs[nout++] = to;
	return SWITCH_OUT_SENT;
}

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return now_ms;
}

static struct mac_addr mac_n(unsigned n)
{
	struct mac_addr m = { { 0x52, 0x54, 0x00, 0x00, (uint8_t)(n >> 8), (uint8_t)n } };
	return m;
}

static const struct mac_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

/* A 60-byte frame dst <- src. */
static void frame_in(int from, struct mac_addr dst, struct mac_addr src)
{
	uint8_t f[60] = { 0 };
	memcpy(f, dst.b, 6);
	memcpy(f + 6, src.b, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	nout = 0;
	switch_core_input(sw, from, f, sizeof(f));
}

static bool went_to(int port)
{
	for (int i = 0; i < nout; i++)
		if (outs[i] == port)
			return true;
	return false;
}

/* Three ports p0..p2 with MACs 1..3, spoofing off, and an uplink. */
static int setup(void **state)
{
	(void)state;
	now_ms = 1000;
	full_port = -100;
	sw = switch_core_new(8, 16, 300000, rec_out, NULL, fake_clock, NULL);
	assert_non_null(sw);
	for (unsigned i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "vm%u/0", i);
		struct mac_addr m = mac_n(i + 1);
		assert_int_equal(switch_core_add_port(sw, name, &m, false), (int)i);
	}
	switch_core_set_uplink(sw, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	switch_core_free(sw);
	return 0;
}

static void test_broadcast_floods_everyone_else(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(1));
	assert_int_equal(nout, 3);
	assert_true(went_to(1) && went_to(2) && went_to(SWITCH_PORT_UPLINK));
	assert_false(went_to(0));
	assert_int_equal(switch_core_port(sw, 0)->c.rx_frames, 1);
	assert_int_equal(switch_core_port(sw, 1)->c.tx_frames, 1);
}

static void test_unknown_unicast_floods_then_learned_unicast(void **state)
{
	(void)state;
	frame_in(0, mac_n(2), mac_n(1)); /* 2 unknown yet */
	assert_int_equal(nout, 3);
	struct mac_addr m1 = mac_n(1), m2 = mac_n(2);
	assert_int_equal(switch_core_lookup(sw, &m2), -2);
	assert_int_equal(switch_core_lookup(sw, &m1), 0);
	frame_in(1, mac_n(1), mac_n(2)); /* 1 is learned on port 0 */
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], 0);
	frame_in(0, mac_n(2), mac_n(1));
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], 1);
}

static void test_never_back_to_source(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(1));
	/* Port 0 sends to its own MAC: nothing goes anywhere. */
	frame_in(0, mac_n(1), mac_n(1));
	assert_int_equal(nout, 0);
	/* The uplink's flood does not go back to the uplink. */
	struct mac_addr ext = { { 0x02, 0, 0, 0, 0, 0x99 } };
	frame_in(SWITCH_PORT_UPLINK, bcast, ext);
	assert_int_equal(nout, 3);
	assert_false(went_to(SWITCH_PORT_UPLINK));
	frame_in(0, ext, mac_n(1));
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], SWITCH_PORT_UPLINK);
}

static void test_spoofing_off_drops_and_counts(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(9));
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_port(sw, 0)->c.dropped_spoofed, 1);
	assert_int_equal(switch_core_port(sw, 0)->c.rx_frames, 0);
	struct mac_addr m9 = mac_n(9);
	assert_int_equal(switch_core_lookup(sw, &m9), -2); /* not learned */
}

static void test_spoofing_on_passes_and_learns(void **state)
{
	(void)state;
	struct mac_addr m = mac_n(7);
	int p = switch_core_add_port(sw, "free/0", &m, true);
	assert_true(p >= 0);
	frame_in(p, bcast, mac_n(9));
	assert_int_equal(nout, 4);
	struct mac_addr m9 = mac_n(9);
	assert_int_equal(switch_core_lookup(sw, &m9), p);
}

static void test_spoofing_toggled_at_runtime(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(9));
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_set_spoofing(sw, 0, true), 0);
	frame_in(0, bcast, mac_n(9));
	assert_int_equal(nout, 3);
	assert_int_equal(switch_core_set_spoofing(sw, 0, false), 0);
	frame_in(0, bcast, mac_n(9));
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_port(sw, 0)->c.dropped_spoofed, 2);
	assert_int_equal(switch_core_set_spoofing(sw, 77, true), -1);
}

static void test_uplink_frames_not_spoof_checked(void **state)
{
	(void)state;
	frame_in(SWITCH_PORT_UPLINK, bcast, mac_n(0x123));
	assert_int_equal(nout, 3);
	assert_int_equal(switch_core_uplink_counters(sw)->rx_frames, 1);
}

static void test_malformed_sizes_and_multicast_source(void **state)
{
	(void)state;
	uint8_t big[NET_FRAME_MAX + 1] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1 };
	nout = 0;
	switch_core_input(sw, 0, big, NET_FRAME_MIN - 1);
	switch_core_input(sw, 0, big, NET_FRAME_MAX + 1);
	switch_core_input(sw, 0, NULL, 60);
	assert_int_equal(nout, 0);
	switch_core_input(sw, 0, big, NET_FRAME_MIN); /* smallest allowed */
	assert_int_equal(nout, 3);
	nout = 0;
	switch_core_input(sw, 0, big, NET_FRAME_MAX); /* largest allowed */
	assert_int_equal(nout, 3);
	frame_in(0, bcast, bcast); /* multicast source */
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_port(sw, 0)->c.dropped_malformed, 4);
	switch_core_count_malformed(sw, 0);
	assert_int_equal(switch_core_port(sw, 0)->c.dropped_malformed, 5);
	/* Unknown ports are ignored, not crashed on. */
	switch_core_input(sw, 5, big, 60);
	switch_core_input(sw, 1000, big, 60);
	switch_core_input(sw, -7, big, 60);
	switch_core_count_malformed(sw, 1000);
}

static void test_ageing(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(1));
	now_ms += 299999;
	frame_in(1, mac_n(1), mac_n(2));
	assert_int_equal(nout, 1); /* still learned */
	now_ms += 2;
	frame_in(1, mac_n(1), mac_n(2));
	assert_int_equal(nout, 3); /* aged out: flooded */
	struct mac_addr out[4];
	assert_int_equal(switch_core_learned(sw, 0, out, 4), 0);
	assert_int_equal(switch_core_learned(sw, 1, out, 4), 1);
}

static void test_refresh_keeps_entry(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(1));
	now_ms += 200000;
	frame_in(0, bcast, mac_n(1));
	now_ms += 200000;
	frame_in(1, mac_n(1), mac_n(2));
	assert_int_equal(nout, 1);
}

static void test_table_full_evicts_oldest(void **state)
{
	(void)state;
	struct mac_addr m = mac_n(100);
	int p = switch_core_add_port(sw, "flood/0", &m, true);
	for (unsigned i = 0; i < 16; i++) {
		now_ms++;
		frame_in(p, bcast, mac_n(200 + i));
	}
	struct mac_addr all[32];
	assert_int_equal(switch_core_learned(sw, p, all, 32), 16);
	now_ms++;
	frame_in(0, bcast, mac_n(1)); /* 17th: the oldest (200) goes */
	struct mac_addr m200 = mac_n(200), m201 = mac_n(201), m1 = mac_n(1);
	assert_int_equal(switch_core_lookup(sw, &m200), -2);
	assert_int_equal(switch_core_lookup(sw, &m201), p);
	assert_int_equal(switch_core_lookup(sw, &m1), 0);
	assert_int_equal(switch_core_learned(sw, p, all, 32), 15);
	/* Many more: never more than the table holds, nothing crashes. */
	for (unsigned i = 0; i < 1000; i++) {
		now_ms++;
		frame_in(p, bcast, mac_n(2000 + i));
	}
	assert_int_equal(switch_core_learned(sw, p, all, 32), 16);
}

static void test_mac_moves_to_new_port(void **state)
{
	(void)state;
	/* A nested guest's MAC (no port's own) moves between spoofing ports. */
	switch_core_set_spoofing(sw, 1, true);
	switch_core_set_spoofing(sw, 2, true);
	frame_in(1, bcast, mac_n(0x50));
	frame_in(2, bcast, mac_n(0x50)); /* the MAC shows up on port 2 */
	struct mac_addr m = mac_n(0x50);
	assert_int_equal(switch_core_lookup(sw, &m), 2);
	frame_in(0, mac_n(0x50), mac_n(1));
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], 2);
}

/* Issue 16, point 2: a port with spoofing on that sends another port's own
 * MAC is dropped and counted; the victim keeps its traffic. */
static void test_registered_mac_is_pinned(void **state)
{
	(void)state;
	struct mac_addr m1 = mac_n(1);
	switch_core_set_spoofing(sw, 2, true);
	frame_in(2, bcast, mac_n(1)); /* port 2 claims port 0's MAC */
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_port(sw, 2)->c.dropped_spoofed, 1);
	assert_int_equal(switch_core_port(sw, 2)->c.rx_frames, 0);
	assert_int_not_equal(switch_core_lookup(sw, &m1), 2);
	frame_in(0, bcast, mac_n(1)); /* the owner speaks: learned on port 0 */
	frame_in(2, bcast, mac_n(1)); /* the thief again, after it was learned */
	assert_int_equal(switch_core_lookup(sw, &m1), 0);
	frame_in(1, mac_n(1), mac_n(2)); /* traffic for the victim */
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], 0);
	assert_int_equal(switch_core_port(sw, 2)->c.dropped_spoofed, 2);
	/* A LAN host behind the uplink cannot take it either. */
	frame_in(SWITCH_PORT_UPLINK, bcast, mac_n(1));
	assert_int_equal(nout, 0);
	assert_int_equal(switch_core_uplink_counters(sw)->dropped_spoofed, 1);
	assert_int_equal(switch_core_lookup(sw, &m1), 0);
	/* The port's own MAC still passes with spoofing on. */
	frame_in(2, bcast, mac_n(3));
	assert_int_equal(nout, 3);
}

/* A port that registers a MAC learned elsewhere before gets it at once. */
static void test_new_port_takes_its_mac(void **state)
{
	(void)state;
	struct mac_addr m9 = mac_n(9);
	switch_core_set_spoofing(sw, 2, true);
	frame_in(2, bcast, mac_n(9));
	assert_int_equal(switch_core_lookup(sw, &m9), 2);
	int p = switch_core_add_port(sw, "late/0", &m9, false);
	assert_true(p >= 0);
	assert_int_equal(switch_core_lookup(sw, &m9), p);
	frame_in(2, bcast, mac_n(9)); /* now pinned to the new port */
	assert_int_equal(nout, 0);
	frame_in(0, mac_n(9), mac_n(1));
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], p);
}

static void test_port_removal_forgets_macs(void **state)
{
	(void)state;
	frame_in(0, bcast, mac_n(1));
	switch_core_remove_port(sw, 0);
	assert_null(switch_core_port(sw, 0));
	assert_int_equal(switch_core_find_port(sw, "vm0/0"), -1);
	frame_in(1, mac_n(1), mac_n(2));
	assert_int_equal(nout, 2); /* flooded to port 2 and the uplink */
	assert_false(went_to(0));
	frame_in(0, bcast, mac_n(1)); /* from a removed port: ignored */
	assert_int_equal(nout, 0);
	/* The slot is reused and the name is free again. */
	struct mac_addr m = mac_n(5);
	assert_int_equal(switch_core_add_port(sw, "vm0/0", &m, false), 0);
	assert_int_equal(switch_core_port(sw, 0)->c.rx_frames, 0);
}

static void test_duplicate_name_and_full_switch(void **state)
{
	(void)state;
	struct mac_addr m = mac_n(50);
	assert_int_equal(switch_core_add_port(sw, "vm1/0", &m, false), -2);
	for (int i = 3; i < 8; i++) {
		char name[16];
		snprintf(name, sizeof(name), "x%d/0", i);
		assert_int_equal(switch_core_add_port(sw, name, &m, false), i);
	}
	assert_int_equal(switch_core_add_port(sw, "one-too-many/0", &m, false), -1);
	assert_int_equal(switch_core_port_count(sw), 8);
}

static void test_queue_full_counted_on_destination(void **state)
{
	(void)state;
	full_port = 2;
	frame_in(0, bcast, mac_n(1));
	assert_int_equal(nout, 2);
	assert_int_equal(switch_core_port(sw, 2)->c.dropped_queue_full, 1);
	assert_int_equal(switch_core_port(sw, 2)->c.tx_frames, 0);
	assert_int_equal(switch_core_port(sw, 1)->c.tx_frames, 1);
}

static void test_no_uplink(void **state)
{
	(void)state;
	switch_core_set_uplink(sw, false);
	frame_in(0, bcast, mac_n(1));
	assert_int_equal(nout, 2);
	assert_false(went_to(SWITCH_PORT_UPLINK));
	frame_in(SWITCH_PORT_UPLINK, bcast, mac_n(9)); /* no uplink: ignored */
	assert_int_equal(nout, 0);
}

/* `switch show` (and the CLI's messages built from it) lists ports by name,
 * not in the order they happened to connect. */
static void test_show_lists_ports_by_name(void **state)
{
	(void)state;
	switch_core_remove_port(sw, 0); /* slot 0 is taken again below */
	struct mac_addr m = mac_n(9);
	assert_int_equal(switch_core_add_port(sw, "zz/1", &m, false), 0);
	m = mac_n(10);
	assert_int_equal(switch_core_add_port(sw, "aa/0", &m, false), 3);
	struct switch_config cfg = { .name = "sw", .type = SWITCH_PRIVATE };
	struct json_object *o = switch_show_reply(&cfg, sw, NULL);
	struct json_object *ports = NULL;
	assert_true(json_object_object_get_ex(o, "ports", &ports));
	const char *want[] = { "aa/0", "vm1/0", "vm2/0", "zz/1" };
	assert_int_equal(json_object_array_length(ports), 4);
	for (size_t i = 0; i < 4; i++) {
		struct json_object *name = NULL;
		assert_true(json_object_object_get_ex(json_object_array_get_idx(ports, i), "port", &name));
		assert_string_equal(json_object_get_string(name), want[i]);
	}
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_broadcast_floods_everyone_else),
		T(test_unknown_unicast_floods_then_learned_unicast),
		T(test_never_back_to_source),
		T(test_spoofing_off_drops_and_counts),
		T(test_spoofing_on_passes_and_learns),
		T(test_spoofing_toggled_at_runtime),
		T(test_uplink_frames_not_spoof_checked),
		T(test_malformed_sizes_and_multicast_source),
		T(test_ageing),
		T(test_refresh_keeps_entry),
		T(test_table_full_evicts_oldest),
		T(test_mac_moves_to_new_port),
		T(test_registered_mac_is_pinned),
		T(test_new_port_takes_its_mac),
		T(test_port_removal_forgets_macs),
		T(test_duplicate_name_and_full_switch),
		T(test_queue_full_counted_on_destination),
		T(test_no_uplink),
		T(test_show_lists_ports_by_name),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
