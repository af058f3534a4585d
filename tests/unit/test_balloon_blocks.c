/* The balloon's pages by 2 MiB block: a block is whole at its last page,
 * not before; a page held twice or given back twice counts once; a short
 * last block is whole at its own last page; pages beyond RAM are ignored;
 * clearing forgets everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dev/virtio/balloon_blocks.h"

#define PAGE 4096ull

static void test_a_block_is_whole_at_its_last_page(void **state)
{
	struct balloon_blocks bb;
	assert_int_equal(balloon_blocks_init(&bb, 2 * BALLOON_BLOCK), 0);
	uint64_t off = 0, len = 0;
	for (uint64_t p = 0; p < 511; p++)
		assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK + p * PAGE, &off, &len));
	assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK, &off, &len)); /* again */
	balloon_blocks_give_back(&bb, BALLOON_BLOCK + 5 * PAGE);
	balloon_blocks_give_back(&bb, BALLOON_BLOCK + 5 * PAGE); /* twice */
	assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK + 511 * PAGE, &off, &len));
	assert_true(balloon_blocks_hold(&bb, BALLOON_BLOCK + 5 * PAGE, &off, &len));
	assert_int_equal(off, BALLOON_BLOCK);
	assert_int_equal(len, BALLOON_BLOCK);
	assert_false(balloon_blocks_hold(&bb, 2 * BALLOON_BLOCK, &off, &len)); /* beyond RAM */
	balloon_blocks_give_back(&bb, 7 * BALLOON_BLOCK);
	balloon_blocks_clear(&bb);
	for (uint64_t p = 0; p < 511; p++)
		assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK + p * PAGE, &off, &len));
	balloon_blocks_free(&bb);
}

static void test_a_short_last_block(void **state)
{
	struct balloon_blocks bb;
	assert_int_equal(balloon_blocks_init(&bb, BALLOON_BLOCK + 3 * PAGE), 0);
	uint64_t off = 0, len = 0;
	assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK, &off, &len));
	assert_false(balloon_blocks_hold(&bb, BALLOON_BLOCK + PAGE, &off, &len));
	assert_true(balloon_blocks_hold(&bb, BALLOON_BLOCK + 2 * PAGE, &off, &len));
	assert_int_equal(off, BALLOON_BLOCK);
	assert_int_equal(len, 3 * PAGE);
	balloon_blocks_free(&bb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_block_is_whole_at_its_last_page),
		cmocka_unit_test(test_a_short_last_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
