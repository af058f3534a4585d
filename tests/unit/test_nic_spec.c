/* `--nic` values: the good ones parse, each bad one names its problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt/nic_spec.h"

static void test_switch_only(void **state)
{
	struct nic_spec s;
	struct nv_err err = { 0 };
	assert_int_equal(nic_spec_parse("switch=lan", &s, &err), 0);
	assert_string_equal(s.switch_name, "lan");
	assert_false(s.has_mac);
	assert_false(s.mac_spoofing);
}

static void test_all_keys(void **state)
{
	struct nic_spec s;
	struct nv_err err = { 0 };
	assert_int_equal(nic_spec_parse("mac-spoofing=on,mac=52:54:00:AB:cd:01,switch=my_sw.1", &s, &err), 0);
	assert_string_equal(s.switch_name, "my_sw.1");
	assert_true(s.has_mac);
	static const uint8_t want[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0x01 };
	assert_memory_equal(s.mac.b, want, 6);
	assert_true(s.mac_spoofing);
	assert_int_equal(nic_spec_parse("switch=a,mac-spoofing=off", &s, &err), 0);
	assert_false(s.mac_spoofing);
}

static void expect_bad(const char *spec, const char *needle)
{
	struct nic_spec s;
	struct nv_err err = { 0 };
	assert_int_equal(nic_spec_parse(spec, &s, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' does not mention '%s'", spec, err.msg, needle);
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_specs(void **state)
{
	expect_bad("", "missing switch=");
	expect_bad("mac=52:54:00:00:00:01", "missing switch=");
	expect_bad("switch=lan,model=e1000", "unknown key 'model'");
	expect_bad("lan", "not KEY=VALUE");
	expect_bad("switch=", "needs a value");
	expect_bad("switch=a,switch=b", "given twice");
	expect_bad("switch=../etc", "not a valid switch name");
	expect_bad("switch=.hidden", "not a valid switch name");
	expect_bad("switch=abcdefghijklmnopqrstuvwxyz0123456", "not a valid switch name");
	expect_bad("switch=lan,mac=52:54:00:00:00", "not a MAC address");
	expect_bad("switch=lan,mac=52:54:00:00:00:0g", "not a MAC address");
	expect_bad("switch=lan,mac=52:54:00:00:00:001", "not a MAC address");
	expect_bad("switch=lan,mac=01:00:5e:00:00:01", "multicast");
	expect_bad("switch=lan,mac=ff:ff:ff:ff:ff:ff", "multicast");
	expect_bad("switch=lan,mac=00:00:00:00:00:00", "all zeros");
	expect_bad("switch=lan,mac-spoofing=maybe", "on or off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_only),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_bad_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
