/* The switch's side of the port hello: every field of hostile JSON checked
 * before a port exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/switch_hello.h"

static int parse(const char *s, struct switch_hello *h, char *why)
{
	return switch_hello_parse(s, strlen(s), h, why, 256);
}

static void test_valid_hello(void **state)
{
	(void)state;
	struct switch_hello h;
	char why[256];
	assert_int_equal(parse("{\"version\":1,\"vm\":\"web1\",\"adapter\":2,\"mac\":\"52:54:00:12:34:56\","
			       "\"mac_spoofing\":true}", &h, why), 0);
	assert_string_equal(h.port, "web1/2");
	assert_true(h.mac_spoofing);
	assert_int_equal(h.mac.b[5], 0x56);
	assert_int_equal(parse("{\"version\":1,\"vm\":\"a\",\"adapter\":0,\"mac\":\"52:54:00:12:34:56\"}", &h, why), 0);
	assert_false(h.mac_spoofing);
}

static void test_hostile_hellos(void **state)
{
	(void)state;
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "", "empty" },
		{ "not json", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{\"vm\":\"a\",\"adapter\":0,\"mac\":\"52:54:00:12:34:56\"}", "version" },
		{ "{\"version\":2,\"vm\":\"a\",\"adapter\":0,\"mac\":\"52:54:00:12:34:56\"}", "version 2" },
		{ "{\"version\":1,\"vm\":\"../x\",\"adapter\":0,\"mac\":\"52:54:00:12:34:56\"}", "VM name" },
		{ "{\"version\":1,\"vm\":7,\"adapter\":0,\"mac\":\"52:54:00:12:34:56\"}", "VM name" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":-1,\"mac\":\"52:54:00:12:34:56\"}", "adapter" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":256,\"mac\":\"52:54:00:12:34:56\"}", "adapter" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":\"0\",\"mac\":\"52:54:00:12:34:56\"}", "adapter" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":0,\"mac\":\"52:54:00:12:34\"}", "MAC" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":0}", "MAC" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":0,\"mac\":\"ff:ff:ff:ff:ff:ff\"}", "not a unicast" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":0,\"mac\":\"00:00:00:00:00:00\"}", "not a unicast" },
		{ "{\"version\":1,\"vm\":\"a\",\"adapter\":0,\"mac\":\"52:54:00:12:34:56\",\"mac_spoofing\":1}", "mac_spoofing" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct switch_hello h;
		char why[256] = "";
		if (parse(bad[i].json, &h, why) != -1)
			fail_msg("accepted %s", bad[i].json);
		if (!strstr(why, bad[i].why))
			fail_msg("'%s': reason '%s' lacks '%s'", bad[i].json, why, bad[i].why);
	}
	/* Too large, embedded NUL, NULL. */
	char big[SWITCH_HELLO_MAX + 10];
	memset(big, ' ', sizeof(big));
	struct switch_hello h;
	char why[256];
	assert_int_equal(switch_hello_parse(big, sizeof(big), &h, why, sizeof(why)), -1);
	assert_int_equal(switch_hello_parse("{\"a\0\":1}", 8, &h, why, sizeof(why)), -1);
	assert_int_equal(switch_hello_parse(NULL, 5, &h, why, sizeof(why)), -1);
}

static void test_answer(void **state)
{
	(void)state;
	char out[600];
	switch_hello_answer(out, sizeof(out), "web1/0", NULL);
	assert_string_equal(out, "{\"ok\":true,\"port\":\"web1\\/0\"}");
	switch_hello_answer(out, sizeof(out), NULL, "no");
	assert_string_equal(out, "{\"ok\":false,\"error\":\"no\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_hello),
		cmocka_unit_test(test_hostile_hellos),
		cmocka_unit_test(test_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
