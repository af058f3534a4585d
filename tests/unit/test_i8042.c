/* i8042: the reset line and the controller commands Linux's probe uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "dev/legacy/i8042.h"

enum { DATA = 0, PORT_B = 1, CMD = 4, STATUS = 4 };
#define OBF 0x01
#define IBF 0x02

static void count_reset(void *opaque)
{
	(*(int *)opaque)++;
}

static uint8_t rd(struct i8042 *k, unsigned off)
{
	uint8_t v = 0xa5;
	i8042_io(k, off, &v, 1, false);
	return v;
}

static void wr(struct i8042 *k, unsigned off, uint8_t v)
{
	i8042_io(k, off, &v, 1, true);
}

static void test_idle_status(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	assert_non_null(k);
	uint8_t st = rd(k, STATUS);
	assert_int_equal(st & (OBF | IBF), 0); /* no data, input buffer empty */
	for (unsigned off = 1; off <= 3; off++) {
		wr(k, off, 0xff);
		assert_int_equal(rd(k, off), 0);
	}
	assert_int_equal(rd(k, STATUS) & (OBF | IBF), 0);
	assert_int_equal(resets, 0);
	i8042_free(k);
}

static void test_reset_pulse_once_per_command(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	wr(k, CMD, 0xfe);
	assert_int_equal(resets, 1);
	rd(k, STATUS);
	rd(k, DATA);
	assert_int_equal(resets, 1); /* reads do not repeat it */
	wr(k, CMD, 0xfe);
	assert_int_equal(resets, 2);
	wr(k, CMD, 0xff); /* pulses no line */
	wr(k, CMD, 0xfd); /* pulses A20 only */
	wr(k, DATA, 0xfe); /* a keyboard byte, not a command */
	wr(k, PORT_B, 0xfe);
	assert_int_equal(resets, 2);
	wr(k, CMD, 0xf0); /* pulses all four lines, reset among them */
	assert_int_equal(resets, 3);

	/* Writing the output port with the reset bit low resets too. */
	wr(k, CMD, 0xd1);
	wr(k, DATA, 0x03);
	assert_int_equal(resets, 3);
	wr(k, CMD, 0xd1);
	wr(k, DATA, 0x02);
	assert_int_equal(resets, 4);
	i8042_free(k);
}

static void test_self_test_reply(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	wr(k, CMD, 0xaa);
	assert_true(rd(k, STATUS) & OBF);
	assert_int_equal(rd(k, DATA), 0x55);
	assert_false(rd(k, STATUS) & OBF); /* i8042_flush() must terminate */
	assert_true(rd(k, STATUS) & 0x04);  /* system flag */
	wr(k, CMD, 0xab);
	assert_true(rd(k, STATUS) & OBF);
	assert_int_equal(rd(k, DATA), 0x00);
	assert_int_equal(resets, 0);
	i8042_free(k);
}

static void test_command_byte_round_trip(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	wr(k, CMD, 0x20);
	assert_true(rd(k, STATUS) & OBF);
	uint8_t ctr = rd(k, DATA);
	assert_int_equal(ctr & 0x04, 0x04); /* system flag set by POST */
	wr(k, CMD, 0x60);
	assert_false(rd(k, STATUS) & IBF);
	wr(k, DATA, 0x74);
	assert_false(rd(k, STATUS) & OBF); /* no reply to a write */
	wr(k, CMD, 0x20);
	assert_int_equal(rd(k, DATA), 0x74);
	/* The parameter is consumed once: the next data byte is not a CTR. */
	wr(k, DATA, 0x11);
	wr(k, CMD, 0x20);
	assert_int_equal(rd(k, DATA), 0x74);
	/* A new command cancels a pending parameter. */
	wr(k, CMD, 0x60);
	wr(k, CMD, 0xad);
	wr(k, DATA, 0x22);
	wr(k, CMD, 0x20);
	assert_int_equal(rd(k, DATA), 0x74);
	i8042_free(k);
}

static void test_unknown_commands_ignored(void **state)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	const uint8_t cmds[] = { 0x00, 0xa7, 0xa8, 0xa9, 0xad, 0xae, 0xc0, 0xd3, 0xd4, 0xe0 };
	for (size_t i = 0; i < sizeof(cmds); i++) {
		wr(k, CMD, cmds[i]);
		assert_int_equal(rd(k, STATUS) & (OBF | IBF), 0);
	}
	assert_int_equal(resets, 0);
	wr(k, CMD, 0x20);
	assert_int_equal(rd(k, DATA), 0x45); /* command byte untouched */

	/* Wide and empty accesses, NULL data. */
	uint8_t buf[4] = { 0xaa, 1, 2, 3 };
	i8042_io(k, CMD, buf, 4, true);
	buf[1] = buf[2] = buf[3] = 9;
	i8042_io(k, DATA, buf, 4, false);
	assert_int_equal(buf[0], 0x55);
	assert_int_equal(buf[1] | buf[2] | buf[3], 0);
	i8042_io(k, CMD, buf, 0, true);
	i8042_io(k, CMD, NULL, 1, true);
	assert_int_equal(resets, 0);
	i8042_free(k);
	i8042_free(NULL);

	/* No callback given: 0xFE is harmless. */
	k = i8042_new(NULL, NULL);
	wr(k, CMD, 0xfe);
	i8042_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_status),
		cmocka_unit_test(test_reset_pulse_once_per_command),
		cmocka_unit_test(test_self_test_reply),
		cmocka_unit_test(test_command_byte_round_trip),
		cmocka_unit_test(test_unknown_commands_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
