/* vhost-user messages: the requests' bytes as the spec lays them out, and
 * the replies a back-end may send, good and bad (wrong request, flags,
 * size, ring index, a cut-short message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dev/vhost_user/vhost_user_msg.h"
#include "util/le.h"

static void test_encode_u64_and_state(void **state)
{
	(void)state;
	uint8_t m[VHOST_USER_MAX_MSG];
	size_t n = vhost_user_encode_u64(m, VHOST_USER_SET_FEATURES, VHOST_USER_FLAG_NEED_REPLY,
					 0x1122334455667788ULL);
	assert_int_equal(n, 20);
	assert_int_equal(le_get32(m), 2);
	assert_int_equal(le_get32(m + 4), VHOST_USER_VERSION | VHOST_USER_FLAG_NEED_REPLY);
	assert_int_equal(le_get32(m + 8), 8);
	assert_int_equal(le_get64(m + 12), 0x1122334455667788ULL);
	/* Only NEED_REPLY may be asked for: never the reply flag. */
	n = vhost_user_encode_state(m, VHOST_USER_SET_VRING_NUM, VHOST_USER_FLAG_REPLY, 1, 256);
	assert_int_equal(n, 20);
	assert_int_equal(le_get32(m + 4), VHOST_USER_VERSION);
	assert_int_equal(le_get32(m + 12), 1);
	assert_int_equal(le_get32(m + 16), 256);
	assert_int_equal(vhost_user_encode_empty(m, VHOST_USER_SET_OWNER, 0), 12);
	assert_int_equal(le_get32(m + 8), 0);
}

static void test_encode_addr_and_mem_table(void **state)
{
	(void)state;
	uint8_t m[VHOST_USER_MAX_MSG];
	struct vhost_user_vring_addr a = { .index = 1, .desc = 0x1000, .used = 0x3000, .avail = 0x2000 };
	assert_int_equal(vhost_user_encode_addr(m, 0, &a), 12 + 40);
	assert_int_equal(le_get32(m), VHOST_USER_SET_VRING_ADDR);
	assert_int_equal(le_get32(m + 12), 1);
	/* The spec's order: descriptors, used, available. */
	assert_int_equal(le_get64(m + 20), 0x1000);
	assert_int_equal(le_get64(m + 28), 0x3000);
	assert_int_equal(le_get64(m + 36), 0x2000);

	struct vhost_user_region r[2] = {
		{ .guest_phys_addr = 0, .memory_size = 0xc0000000, .userspace_addr = 0x7f0000000000, .mmap_offset = 0 },
		{ .guest_phys_addr = 0x100000000, .memory_size = 0x40000000,
		  .userspace_addr = 0x7f00c0000000, .mmap_offset = 0xc0000000 },
	};
	size_t n = vhost_user_encode_mem_table(m, 0, r, 2);
	assert_int_equal(n, 12 + 8 + 8 * 32); /* always the whole table */
	assert_int_equal(le_get32(m + 12), 2);
	assert_int_equal(le_get64(m + 20 + 32), 0x100000000);
	assert_int_equal(le_get64(m + 20 + 32 + 24), 0xc0000000);
	assert_int_equal(le_get64(m + 20 + 64), 0); /* unused slots are zero */
	assert_int_equal(vhost_user_encode_mem_table(m, 0, r, 0), 0);
	assert_int_equal(vhost_user_encode_mem_table(m, 0, r, VHOST_USER_MAX_REGIONS + 1), 0);
}

static size_t reply(uint8_t *m, uint32_t req, uint32_t flags, uint32_t size, uint64_t v)
{
	le_put32(m, req);
	le_put32(m + 4, flags);
	le_put32(m + 8, size);
	le_put64(m + 12, v);
	return 12 + size;
}

#define OK_FLAGS (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY)

static void test_decode_u64(void **state)
{
	(void)state;
	uint8_t m[32];
	uint64_t v = 0;
	struct nv_err err = { 0 };
	size_t n = reply(m, VHOST_USER_GET_FEATURES, OK_FLAGS, 8, 0x140000000ULL);
	assert_int_equal(vhost_user_decode_u64(m, n, VHOST_USER_GET_FEATURES, &v, &err), 0);
	assert_int_equal(v, 0x140000000ULL);

	n = reply(m, VHOST_USER_GET_PROTOCOL_FEATURES, OK_FLAGS, 8, 1);
	assert_int_equal(vhost_user_decode_u64(m, n, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_string_equal(err.msg, "vhost-user back-end answered GET_FEATURES with a reply to request 15");
	n = reply(m, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 8, 1);
	assert_int_equal(vhost_user_decode_u64(m, n, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_string_equal(err.msg, "vhost-user back-end's reply to GET_FEATURES has flags 0x1 (not a version 1 reply)");
	n = reply(m, VHOST_USER_GET_FEATURES, OK_FLAGS | 2, 8, 1);
	assert_int_equal(vhost_user_decode_u64(m, n, VHOST_USER_GET_FEATURES, &v, &err), -1);
	n = reply(m, VHOST_USER_GET_FEATURES, OK_FLAGS, 4, 1);
	assert_int_equal(vhost_user_decode_u64(m, n, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_string_equal(err.msg, "vhost-user back-end's reply to GET_FEATURES has 4 bytes (expected 8)");
	n = reply(m, VHOST_USER_GET_FEATURES, OK_FLAGS, 0xffffffff, 1);
	assert_int_equal(vhost_user_decode_u64(m, 20, VHOST_USER_GET_FEATURES, &v, &err), -1);
	/* Header right, bytes missing or too many. */
	reply(m, VHOST_USER_GET_FEATURES, OK_FLAGS, 8, 1);
	assert_int_equal(vhost_user_decode_u64(m, 19, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_int_equal(vhost_user_decode_u64(m, 21, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_int_equal(vhost_user_decode_u64(m, 5, VHOST_USER_GET_FEATURES, &v, &err), -1);
	assert_string_equal(err.msg, "vhost-user back-end's reply to GET_FEATURES is cut short");
}

static void test_decode_state(void **state)
{
	(void)state;
	uint8_t m[32];
	uint32_t num = 0;
	struct nv_err err = { 0 };
	le_put32(m, VHOST_USER_GET_VRING_BASE);
	le_put32(m + 4, OK_FLAGS);
	le_put32(m + 8, 8);
	le_put32(m + 12, 1);
	le_put32(m + 16, 42);
	assert_int_equal(vhost_user_decode_state(m, 20, VHOST_USER_GET_VRING_BASE, 1, &num, &err), 0);
	assert_int_equal(num, 42);
	assert_int_equal(vhost_user_decode_state(m, 20, VHOST_USER_GET_VRING_BASE, 0, &num, &err), -1);
	assert_string_equal(err.msg, "vhost-user back-end's reply to GET_VRING_BASE is for ring 1 (asked: 0)");
}

static void test_request_names(void **state)
{
	(void)state;
	assert_string_equal(vhost_user_request_name(VHOST_USER_SET_MEM_TABLE), "SET_MEM_TABLE");
	assert_string_equal(vhost_user_request_name(999), "an unknown request");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_u64_and_state),
		cmocka_unit_test(test_encode_addr_and_mem_table),
		cmocka_unit_test(test_decode_u64),
		cmocka_unit_test(test_decode_state),
		cmocka_unit_test(test_request_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
