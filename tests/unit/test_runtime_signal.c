/* nestvm-runtime's `kill` signal names (src/runtime/signal_name.c): runc's
 * forms (with or without SIG, any case, numbers 1-64) and what is not a
 * signal. The runtime is not in the library: its source is compiled in. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/signal_name.c"

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(signal_name_parse("TERM"), SIGTERM);
	assert_int_equal(signal_name_parse("SIGTERM"), SIGTERM);
	assert_int_equal(signal_name_parse("sigterm"), SIGTERM);
	assert_int_equal(signal_name_parse("Kill"), SIGKILL);
	assert_int_equal(signal_name_parse("SIGKILL"), SIGKILL);
	assert_int_equal(signal_name_parse("HUP"), SIGHUP);
	assert_int_equal(signal_name_parse("SIGWINCH"), SIGWINCH);
	assert_int_equal(signal_name_parse("IOT"), SIGABRT);
	assert_int_equal(signal_name_parse("SYS"), SIGSYS);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(signal_name_parse("15"), SIGTERM);
	assert_int_equal(signal_name_parse("9"), SIGKILL);
	assert_int_equal(signal_name_parse("1"), 1);
	assert_int_equal(signal_name_parse("64"), 64);
}

static void test_not_signals(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "0", "65", "-9", "9x", "SIG", "SIGSIGTERM", "TERM ",
					   " TERM", "FROB", "99999999999999999999", "+9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(signal_name_parse(bad[i]), -1);
	assert_int_equal(signal_name_parse(NULL), -1);
}

static void test_name_of(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(signal_name_of(SIGHUP, buf, sizeof(buf)), "SIGHUP");
	assert_string_equal(signal_name_of(SIGKILL, buf, sizeof(buf)), "SIGKILL");
	assert_string_equal(signal_name_of(40, buf, sizeof(buf)), "signal 40");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_not_signals),
		cmocka_unit_test(test_name_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
