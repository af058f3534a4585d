/* Hyper-V's rules for changing a VM's settings: everything but MAC address
 * spoofing only while Off; the refusal says the state and what to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt/vm_rules.h"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static const enum vm_state on_states[] = { VM_STATE_STARTING, VM_STATE_RUNNING, VM_STATE_STOPPING };

static void test_off_only_settings(void **state)
{
	(void)state;
	const enum vm_setting off_only[] = { VM_SETTING_EXPOSE_VIRT, VM_SETTING_CPUS, VM_SETTING_MEMORY,
					     VM_SETTING_DYNAMIC_MEMORY, VM_SETTING_ADD_NIC,
					     VM_SETTING_REMOVE_NIC, VM_SETTING_APPEND, VM_SETTING_RUN_AS };
	for (size_t i = 0; i < sizeof(off_only) / sizeof(off_only[0]); i++) {
		struct nv_err e = { 0 };
		assert_true(vm_setting_allowed(off_only[i], VM_STATE_OFF));
		assert_int_equal(vm_setting_check(off_only[i], "web1", VM_STATE_OFF, &e), 0);
		for (size_t s = 0; s < 3; s++) {
			assert_false(vm_setting_allowed(off_only[i], on_states[s]));
			assert_int_equal(vm_setting_check(off_only[i], "web1", on_states[s], &e), -1);
			assert_int_equal(e.kind, NV_ERR_INPUT);
			char want[200];
			snprintf(want, sizeof(want), "VM web1 is %s: %s can only be changed while the VM is Off (nestvm vm stop web1)",
				 vm_state_name(on_states[s]), vm_setting_option(off_only[i]));
			assert_string_equal(e.msg, want);
		}
	}
}

static void test_spoofing_any_time(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	assert_true(vm_setting_allowed(VM_SETTING_MAC_SPOOFING, VM_STATE_OFF));
	for (size_t s = 0; s < 3; s++) {
		assert_true(vm_setting_allowed(VM_SETTING_MAC_SPOOFING, on_states[s]));
		assert_int_equal(vm_setting_check(VM_SETTING_MAC_SPOOFING, "web1", on_states[s], &e), 0);
	}
}

/* The automatic actions act on the host's boot and shutdown, not on the
 * machine: any state, a Saved VM's too (unlike spoofing). */
static void test_automatic_actions_any_state(void **state)
{
	(void)state;
	const enum vm_state all[] = { VM_STATE_OFF, VM_STATE_STARTING, VM_STATE_RUNNING, VM_STATE_STOPPING,
				      VM_STATE_PAUSED, VM_STATE_SAVED };
	for (size_t s = 0; s < sizeof(all) / sizeof(all[0]); s++) {
		assert_true(vm_setting_allowed(VM_SETTING_START_ACTION, all[s]));
		assert_true(vm_setting_allowed(VM_SETTING_STOP_ACTION, all[s]));
	}
	assert_false(vm_setting_allowed(VM_SETTING_MAC_SPOOFING, VM_STATE_SAVED));
	assert_false(vm_setting_allowed(VM_SETTING_CPUS, VM_STATE_SAVED));
	assert_string_equal(vm_setting_option(VM_SETTING_START_ACTION), "--automatic-start-action");
	assert_string_equal(vm_setting_option(VM_SETTING_STOP_ACTION), "--automatic-stop-action");
}

/* A Receiving VM takes the source's settings when they arrive: nothing
 * set here before that would last, so nothing is allowed. */
static void test_receiving_takes_nothing(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	for (int s = 0; s < VM_SETTING_COUNT; s++)
		assert_false(vm_setting_allowed((enum vm_setting)s, VM_STATE_RECEIVING));
	assert_int_equal(vm_setting_check(VM_SETTING_START_ACTION, "web1", VM_STATE_RECEIVING, &e), -1);
	assert_non_null(strstr(e.msg, "Receiving"));
	enum vm_state st;
	assert_int_equal(vm_state_parse("Receiving", &st), 0);
	assert_int_equal(st, VM_STATE_RECEIVING);
	assert_string_equal(vm_state_name(VM_STATE_RECEIVING), "Receiving");
}

static void test_options_named(void **state)
{
	(void)state;
	struct nv_err e = { 0 };
	assert_string_equal(vm_setting_option(VM_SETTING_EXPOSE_VIRT), "--expose-virtualization-extensions");
	assert_string_equal(vm_setting_option(VM_SETTING_MAC_SPOOFING), "--mac-spoofing");
	for (int s = 0; s < VM_SETTING_COUNT; s++)
		assert_int_equal(strncmp(vm_setting_option((enum vm_setting)s), "--", 2), 0);
	assert_false(vm_setting_allowed(VM_SETTING_COUNT, VM_STATE_OFF));
	assert_int_equal(vm_setting_check(VM_SETTING_EXPOSE_VIRT, "web1", VM_STATE_RUNNING, &e), -1);
	assert_contains(e.msg, "VM web1 is Running: --expose-virtualization-extensions can only be changed while the VM is Off (nestvm vm stop web1)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_only_settings),
		cmocka_unit_test(test_spoofing_any_time),
		cmocka_unit_test(test_receiving_takes_nothing),
		cmocka_unit_test(test_options_named),
		cmocka_unit_test(test_automatic_actions_any_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
