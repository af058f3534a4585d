/* A moved NIC's announcement (util/eth_announce): the RARP frame byte by
 * byte as QEMU sends it, the rounds' gaps, and what the switch's forwarding
 * core makes of it: flooded to every other port and the uplink (so a
 * listener elsewhere sees it), and the MAC learned on the port it came
 * from, also when the switch knew it on another port before the move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/switch_core.h"
#include "util/eth_announce.h"

static const struct mac_addr MAC = { { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef } };

static void test_frame_is_qemus_rarp(void **state)
{
	(void)state;
	uint8_t f[ETH_ANNOUNCE_LEN + 4];
	memset(f, 0xee, sizeof(f));
	assert_int_equal(eth_announce_frame(&MAC, f), 60);
	static const uint8_t want[60] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       /* to everyone */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,       /* from the NIC */
		0x80, 0x35,                               /* RARP */
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x03, /* Ethernet, IPv4, 6, 4, reverse request */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0, 0, 0, 0, /* sender: MAC, 0.0.0.0 */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0, 0, 0, 0, /* target: MAC, 0.0.0.0 */
		/* zero padding to 60 */
	};
	assert_memory_equal(f, want, sizeof(want));
	assert_int_equal(f[60], 0xee); /* nothing past its length */
	assert_true(f[60 - 1] == 0);
}

static void test_gaps_grow_like_qemus(void **state)
{
	(void)state;
	assert_int_equal(eth_announce_gap_ms(0), 50);
	assert_int_equal(eth_announce_gap_ms(1), 150);
	assert_int_equal(eth_announce_gap_ms(3), 350);
	assert_int_equal(eth_announce_gap_ms(5), 550); /* capped */
	assert_int_equal(eth_announce_gap_ms(1000000000u), 550);
}

#define MAXOUT 16
static int outs[MAXOUT], nout;
static uint8_t last_out[ETH_ANNOUNCE_LEN];

static enum switch_out_result rec_out(void *opaque, int to, const uint8_t *frame, size_t len)
{
	(void)opaque;
	if (nout < MAXOUT)
		outs[nout++] = to;
	if (len == ETH_ANNOUNCE_LEN)
		memcpy(last_out, frame, len);
	return SWITCH_OUT_SENT;
}

static uint64_t clock_ms;
static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return clock_ms;
}

static bool went_to(int port)
{
	for (int i = 0; i < nout; i++)
		if (outs[i] == port)
			return true;
	return false;
}

/* The target host's switch: it never saw the MAC; one announcement from
 * the new port and it knows, and every other port and the uplink got it. */
static void test_switch_learns_the_new_port(void **state)
{
	(void)state;
	clock_ms = 1000;
	struct switch_core *sw = switch_core_new(8, 16, 300000, rec_out, NULL, fake_clock, NULL);
	assert_non_null(sw);
	struct mac_addr other = { { 0x52, 0x54, 0x00, 0, 0, 1 } };
	int peer = switch_core_add_port(sw, "peer/0", &other, false);
	int moved = switch_core_add_port(sw, "moved/0", &MAC, false);
	switch_core_set_uplink(sw, true);
	assert_int_equal(switch_core_lookup(sw, &MAC), -2);
	uint8_t f[ETH_ANNOUNCE_LEN];
	eth_announce_frame(&MAC, f);
	nout = 0;
	switch_core_input(sw, moved, f, sizeof(f));
	assert_int_equal(switch_core_lookup(sw, &MAC), moved);
	assert_int_equal(nout, 2);
	assert_true(went_to(peer) && went_to(SWITCH_PORT_UPLINK));
	assert_memory_equal(last_out, f, sizeof(f));
	assert_int_equal(switch_core_port(sw, moved)->c.dropped_spoofed, 0);
	/* The peer's next frame for the MAC goes to that port alone. */
	uint8_t u[60] = { 0 };
	memcpy(u, MAC.b, 6);
	memcpy(u + 6, other.b, 6);
	nout = 0;
	switch_core_input(sw, peer, u, sizeof(u));
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], moved);
	switch_core_free(sw);
}

/* A MAC a spoofing port carried (a nested guest's, say) and that now
 * announces from another port follows the announcement at once. */
static void test_switch_moves_a_known_mac(void **state)
{
	(void)state;
	clock_ms = 1000;
	struct switch_core *sw = switch_core_new(8, 16, 300000, rec_out, NULL, fake_clock, NULL);
	struct mac_addr a = { { 0x52, 0x54, 0x00, 0, 0, 0xa } }, b = { { 0x52, 0x54, 0x00, 0, 0, 0xb } };
	int old_port = switch_core_add_port(sw, "old/0", &a, true);
	int new_port = switch_core_add_port(sw, "new/0", &b, true);
	uint8_t f[ETH_ANNOUNCE_LEN];
	eth_announce_frame(&MAC, f);
	switch_core_input(sw, old_port, f, sizeof(f));
	assert_int_equal(switch_core_lookup(sw, &MAC), old_port);
	clock_ms += 10;
	nout = 0;
	switch_core_input(sw, new_port, f, sizeof(f));
	assert_int_equal(switch_core_lookup(sw, &MAC), new_port);
	assert_int_equal(nout, 1);
	assert_int_equal(outs[0], old_port);
	switch_core_free(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_is_qemus_rarp),
		cmocka_unit_test(test_gaps_grow_like_qemus),
		cmocka_unit_test(test_switch_learns_the_new_port),
		cmocka_unit_test(test_switch_moves_a_known_mac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
