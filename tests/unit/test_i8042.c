/* i8042: the reset line and the controller commands Linux's probe uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/device_snapshot.h"
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

/* Snapshots. The section's layout, where the refusal tests poke it: u32
 * version, then one byte each for the command byte, the output port, the
 * status, the output buffer and the command awaiting its parameter. */
enum { SNAP_OUTP = 5, SNAP_STATUS = 6, SNAP_AWAITING = 8, SNAP_LEN = 9 };

static void save(struct i8042 *k, struct device_snapshot *s)
{
	snapshot_init_save(s);
	assert_int_equal(i8042_snapshot(k, s), 0);
	assert_false(s->failed);
}

static struct i8042 *restored(const struct device_snapshot *saved, int *resets)
{
	struct i8042 *k = i8042_new(count_reset, resets);
	assert_non_null(k);
	struct device_snapshot s;
	snapshot_init_restore(&s, saved->buf, saved->len);
	assert_int_equal(i8042_snapshot(k, &s), 0);
	assert_true(snapshot_done(&s));
	snapshot_free(&s);
	return k;
}

/* Restores buf[0..len) into a fresh controller that must refuse it, with
 * `field` named; the controller is left as created. */
static void assert_refused(const uint8_t *buf, size_t len, const char *field)
{
	int resets = 0;
	struct i8042 *k = i8042_new(count_reset, &resets);
	struct device_snapshot s;
	snapshot_init_restore(&s, buf, len);
	assert_int_equal(i8042_snapshot(k, &s), -1);
	assert_true(s.failed);
	if (field)
		assert_string_equal(s.failed_field, field);
	assert_false(snapshot_done(&s));
	snapshot_free(&s);
	assert_int_equal(rd(k, STATUS), 0x04); /* SYS only */
	wr(k, DATA, 0x00); /* no parameter awaited: a keyboard byte */
	wr(k, CMD, 0x20);
	assert_int_equal(rd(k, DATA), 0x45);
	wr(k, CMD, 0xd0);
	assert_int_equal(rd(k, DATA), 0x03);
	assert_int_equal(resets, 0);
	i8042_free(k);
}

/* A controller mid-conversation: command byte and output port rewritten, a
 * self-test reply unread, and a command-byte write awaiting its parameter. */
static struct i8042 *make_busy(int *resets)
{
	struct i8042 *k = i8042_new(count_reset, resets);
	assert_non_null(k);
	wr(k, CMD, 0x60);
	wr(k, DATA, 0x74);
	wr(k, CMD, 0xd1);
	wr(k, DATA, 0x01); /* A20 off, reset line high */
	wr(k, CMD, 0xaa);
	wr(k, CMD, 0x60);
	return k;
}

/* What a guest sees next, from both controllers in step. */
static void assert_same(struct i8042 *a, struct i8042 *b, unsigned off)
{
	assert_int_equal(rd(a, off), rd(b, off));
}

static void test_snapshot_round_trip(void **state)
{
	int ra = 0, rb = 0, rc = 0;
	struct i8042 *a = make_busy(&ra);
	struct device_snapshot s, again;
	save(a, &s);
	assert_int_equal(s.len, SNAP_LEN);
	struct i8042 *b = restored(&s, &rb);
	assert_int_equal(rb, 0); /* restoring pulses nothing */
	save(b, &again);
	assert_int_equal(again.len, s.len);
	assert_memory_equal(again.buf, s.buf, s.len);
	snapshot_free(&again);
	snapshot_free(&s);

	assert_int_equal(rd(b, STATUS), 0x0d); /* OBF SYS CMD */
	assert_same(a, b, STATUS);
	/* The awaited parameter lands in the command byte on both. */
	wr(a, DATA, 0x31);
	wr(b, DATA, 0x31);
	assert_int_equal(rd(b, STATUS), 0x05); /* the write went to 0x60 */
	assert_same(a, b, STATUS);
	assert_int_equal(rd(b, DATA), 0x55); /* the self-test reply */
	assert_same(a, b, DATA);
	assert_same(a, b, STATUS);
	wr(a, CMD, 0x20);
	wr(b, CMD, 0x20);
	assert_int_equal(rd(b, DATA), 0x31);
	assert_same(a, b, DATA);
	wr(a, CMD, 0xd0);
	wr(b, CMD, 0xd0);
	assert_int_equal(rd(b, DATA), 0x01);
	assert_same(a, b, DATA);
	assert_same(a, b, STATUS);
	assert_int_equal(ra, 0);
	assert_int_equal(rb, 0);

	/* An output-port write awaiting its byte: the restored copy resets
	 * when the byte pulls the line low. */
	wr(a, CMD, 0xd1);
	save(a, &s);
	struct i8042 *c = restored(&s, &rc);
	snapshot_free(&s);
	assert_int_equal(rc, 0);
	wr(c, DATA, 0x02);
	assert_int_equal(rc, 1);
	wr(c, CMD, 0xd0);
	assert_int_equal(rd(c, DATA), 0x03); /* the line sprang back */

	i8042_free(a);
	i8042_free(b);
	i8042_free(c);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_snapshot_restore_refuses(void **state)
{
	int resets = 0;
	struct i8042 *k = make_busy(&resets);
	struct device_snapshot s;
	save(k, &s);
	i8042_free(k);
	assert_int_equal(s.len, SNAP_LEN);

	/* Every prefix is too short, down to nothing. */
	for (size_t len = 0; len < s.len; len++)
		assert_refused(s.buf, len, NULL);

	uint8_t buf[SNAP_LEN + 1];
	memcpy(buf, s.buf, s.len);
	snapshot_free(&s);
	buf[SNAP_LEN] = 0;
	assert_refused(buf, SNAP_LEN + 1, "trailing bytes");
	put_u32(buf, 2);
	assert_refused(buf, SNAP_LEN, "version");
	put_u32(buf, 0);
	assert_refused(buf, SNAP_LEN, "version");
	put_u32(buf, 1);

	/* Values no controller holds. */
	const struct {
		size_t off;
		uint8_t v;
		const char *field;
	} bad[] = {
		{ SNAP_OUTP, 0x02, "outp" }, /* reset line held low */
		{ SNAP_STATUS, 0x0d | 0x02, "status" },
		{ SNAP_AWAITING, 0xaa, "awaiting" },
		{ SNAP_AWAITING, 0xd0, "awaiting" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t keep = buf[bad[i].off];
		buf[bad[i].off] = bad[i].v;
		assert_refused(buf, SNAP_LEN, bad[i].field);
		buf[bad[i].off] = keep;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_status),
		cmocka_unit_test(test_reset_pulse_once_per_command),
		cmocka_unit_test(test_self_test_reply),
		cmocka_unit_test(test_command_byte_round_trip),
		cmocka_unit_test(test_unknown_commands_ignored),
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_snapshot_restore_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
