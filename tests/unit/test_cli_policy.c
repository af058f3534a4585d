/* What the command line turns into: sizes, the kernel command line with the
 * encoded guest command, the console escape key, and exit statuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/base64.h"
#include "util/parse.h"
#include "vmm/console_escape.h"
#include "vmm/exit_status.h"
#include "vmm/kernel_cmdline.h"

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(parse_size("512M", 20, &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_size("2G", 20, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("2gib", 20, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_size("1024", 20, &v), 0); /* bare number: MiB */
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("4096K", 20, &v), 0);
	assert_int_equal(v, 4ULL << 20);
	assert_int_equal(parse_size("0", 20, &v), 0);
	assert_int_equal(v, 0);
	const char *bad[] = { "", "M", "-1G", "1.5G", "12Q", "1GG", "1 G", "99999999999999999999",
			      "17179869184G", "0x10M", "1Mx" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_size(bad[i], 20, &v), -1);
}

static void test_parse_uint(void **state)
{
	(void)state;
	unsigned long v;
	assert_int_equal(parse_uint("4", 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("0", 1, 255, &v), -1);
	assert_int_equal(parse_uint("256", 1, 255, &v), -1);
	assert_int_equal(parse_uint("2x", 1, 255, &v), -1);
	assert_int_equal(parse_uint("-1", 1, 255, &v), -1);
	assert_int_equal(parse_uint("", 1, 255, &v), -1);
}

static void test_base64(void **state)
{
	(void)state;
	char out[64];
	base64_encode("", 0, out);
	assert_string_equal(out, "");
	base64_encode("f", 1, out);
	assert_string_equal(out, "Zg==");
	base64_encode("fo", 2, out);
	assert_string_equal(out, "Zm8=");
	base64_encode("foobar", 6, out);
	assert_string_equal(out, "Zm9vYmFy");
	base64_encode("sh\0-c", 5, out);
	assert_string_equal(out, "c2gALWM=");
	assert_int_equal(base64_encoded_size(6), 9);
}

static void test_cmdline_with_command(void **state)
{
	(void)state;
	char out[KERNEL_CMDLINE_MAX];
	char *argv[] = { "sh", "-c", "echo 'a b'" };
	assert_int_equal(kernel_cmdline_build(out, sizeof(out), "loglevel=7", argv, 3, NULL), 0);
	assert_non_null(strstr(out, "console=ttyS0"));
	assert_non_null(strstr(out, " quiet "));
	/* user text comes after ours, so it can override */
	assert_true(strstr(out, "loglevel=7") > strstr(out, "quiet"));
	char enc[64];
	base64_encode("sh\0-c\0echo 'a b'", 16, enc);
	const char *p = strstr(out, "nestvm.cmd=");
	assert_non_null(p);
	assert_string_equal(p + strlen("nestvm.cmd="), enc);
}

static void test_cmdline_interactive_and_limits(void **state)
{
	(void)state;
	char out[KERNEL_CMDLINE_MAX];
	assert_int_equal(kernel_cmdline_build(out, sizeof(out), NULL, NULL, 0, NULL), 0);
	assert_null(strstr(out, "nestvm.cmd="));
	assert_null(strstr(out, "quiet"));
	static char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	char *argv[] = { big };
	struct nv_err err = { 0 };
	assert_int_equal(kernel_cmdline_build(out, sizeof(out), NULL, argv, 1, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "too long"));
	assert_int_equal(kernel_cmdline_build(out, sizeof(out), big, NULL, 0, &err), -1);
}

static void test_console_escape(void **state)
{
	(void)state;
	struct console_escape st = { 0 };
	uint8_t out[32];
	size_t n;
	assert_false(console_escape_filter(&st, (const uint8_t *)"ls\r", 3, out, &n));
	assert_int_equal(n, 3);
	/* Ctrl-A split across reads, then x: quit, bytes before it still go */
	assert_false(console_escape_filter(&st, (const uint8_t *)"a\x01", 2, out, &n));
	assert_int_equal(n, 1);
	assert_true(console_escape_filter(&st, (const uint8_t *)"x", 1, out, &n));
	assert_int_equal(n, 0);
	/* Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-A b sends both */
	st.pending = false;
	assert_false(console_escape_filter(&st, (const uint8_t *)"\x01\x01\x01" "b", 4, out, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x01\x01" "b", 3);
}

static void test_exit_status_policy(void **state)
{
	(void)state;
	struct machine_result r = { .end = MACHINE_END_EXIT_STATUS, .status = 42 };
	assert_int_equal(exit_status_from_result(&r), 42);
	r.status = 0x1ff;
	assert_int_equal(exit_status_from_result(&r), 0xff);
	r = (struct machine_result){ .end = MACHINE_END_POWEROFF };
	assert_int_equal(exit_status_from_result(&r), NESTVM_EXIT_POWEROFF);
	r.end = MACHINE_END_PANIC;
	assert_int_equal(exit_status_from_result(&r), NESTVM_EXIT_GUEST_CRASH);
	r.end = MACHINE_END_TRIPLE_FAULT;
	assert_int_equal(exit_status_from_result(&r), NESTVM_EXIT_GUEST_CRASH);
	r.end = MACHINE_END_VMM_FAILURE;
	assert_int_equal(exit_status_from_result(&r), NESTVM_EXIT_VMM_FAILURE);
	r = (struct machine_result){ .end = MACHINE_END_STOPPED, .status = 15 };
	assert_int_equal(exit_status_from_result(&r), 143);
	assert_int_not_equal(NESTVM_EXIT_GUEST_CRASH, NESTVM_EXIT_BAD_INPUT);
	assert_int_not_equal(NESTVM_EXIT_VMM_FAILURE, NESTVM_EXIT_GUEST_CRASH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_cmdline_with_command),
		cmocka_unit_test(test_cmdline_interactive_and_limits),
		cmocka_unit_test(test_console_escape),
		cmocka_unit_test(test_exit_status_policy),
	};
	return cmocka_run_group_tests_name("cli_policy", tests, NULL, NULL);
}
