/* enable-nested's plan and `status VM`'s verdict for the cases that matter:
 * already set up; extensions off; memory low; spoofing off on 2 adapters;
 * a running VM; and applying only the accepted steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "mgmt/enable_nested_plan.h"
#include "mgmt/vm_nested_check.h"

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static void assert_lacks(const char *s, const char *sub)
{
	if (strstr(s, sub))
		fail_msg("'%s' contains '%s'", s, sub);
}

/* A VM set up for nesting: extensions on, 2 GiB, one adapter spoofing. */
static void ready(struct vm_record *r)
{
	memset(r, 0, sizeof(*r));
	vm_config_defaults(&r->config, "l2");
	r->config.memory_mib = VM_NESTED_MIN_MEMORY_MIB;
	r->config.expose_virtualization_extensions = true;
	strcpy(r->config.nics[0].switch_name, "wan");
	mac_generate("l2", 0, &r->config.nics[0].mac);
	r->config.nics[0].mac_spoofing = true;
	r->config.nnics = 1;
}

static void test_already_set_up(void **state)
{
	(void)state;
	struct vm_record r;
	struct enable_nested_plan p;
	char text[1024];
	ready(&r);
	enable_nested_plan_make(&r, &p);
	assert_true(enable_nested_plan_empty(&p));
	assert_false(enable_nested_plan_required(&p));
	assert_false(p.stop);
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	assert_string_equal(text, "");
	/* Also with no adapters at all. */
	r.config.nnics = 0;
	enable_nested_plan_make(&r, &p);
	assert_true(enable_nested_plan_empty(&p));
	/* And running: nothing to do means no stop either. */
	r.runtime.state = VM_STATE_RUNNING;
	enable_nested_plan_make(&r, &p);
	assert_true(enable_nested_plan_empty(&p));
	assert_false(p.stop);
}

static void test_extensions_off(void **state)
{
	(void)state;
	struct vm_record r;
	struct enable_nested_plan p;
	char text[1024];
	ready(&r);
	r.config.expose_virtualization_extensions = false;
	enable_nested_plan_make(&r, &p);
	assert_true(p.expose);
	assert_false(p.raise_memory);
	assert_false(p.stop);
	assert_true(enable_nested_plan_required(&p));
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	assert_contains(text, "\t* Expose the virtualization extensions (VT-x/AMD-V) to the VM\n");
	assert_contains(text, "Dynamic memory: stays off (Hyper-V would turn it off");
	assert_lacks(text, "Stop the VM");
	assert_lacks(text, "spoofing");
	enable_nested_plan_apply(&p, true, true, &r.config);
	assert_true(r.config.expose_virtualization_extensions);
}

static void test_memory_low(void **state)
{
	(void)state;
	struct vm_record r;
	struct enable_nested_plan p;
	char text[1024];
	ready(&r);
	r.config.memory_mib = 512;
	enable_nested_plan_make(&r, &p);
	assert_false(p.expose);
	assert_true(p.raise_memory);
	assert_int_equal(p.memory_from, 512);
	assert_int_equal(p.memory_to, VM_NESTED_MIN_MEMORY_MIB);
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	assert_contains(text, "Raise the startup memory from 512 MB to 2048 MB");
	/* Declined: nothing changes. */
	enable_nested_plan_apply(&p, false, false, &r.config);
	assert_int_equal(r.config.memory_mib, 512);
	enable_nested_plan_apply(&p, true, false, &r.config);
	assert_int_equal(r.config.memory_mib, VM_NESTED_MIN_MEMORY_MIB);
	/* More than enough memory is never lowered. */
	ready(&r);
	r.config.memory_mib = 8192;
	enable_nested_plan_make(&r, &p);
	assert_false(p.raise_memory);
}

static void test_spoofing_off_on_two_adapters(void **state)
{
	(void)state;
	struct vm_record r;
	struct enable_nested_plan p;
	char text[1024];
	ready(&r);
	r.config.nics[0].mac_spoofing = false;
	strcpy(r.config.nics[1].switch_name, "lan");
	mac_generate("l2", 1, &r.config.nics[1].mac);
	strcpy(r.config.nics[2].switch_name, "dmz");
	mac_generate("l2", 2, &r.config.nics[2].mac);
	r.config.nics[2].mac_spoofing = true;
	r.config.nnics = 3;
	enable_nested_plan_make(&r, &p);
	assert_false(enable_nested_plan_required(&p));
	assert_false(enable_nested_plan_empty(&p));
	assert_int_equal(p.nspoof, 2);
	assert_int_equal(p.spoof_adapters, 0x3);
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	assert_string_equal(text, "\t* Optional: enable MAC address spoofing on each adapter (eth0 on switch wan, eth1 on switch lan)\n");
	/* Honour a No. */
	enable_nested_plan_apply(&p, true, false, &r.config);
	assert_false(r.config.nics[0].mac_spoofing);
	assert_false(r.config.nics[1].mac_spoofing);
	enable_nested_plan_apply(&p, true, true, &r.config);
	assert_true(r.config.nics[0].mac_spoofing);
	assert_true(r.config.nics[1].mac_spoofing);
	assert_true(r.config.nics[2].mac_spoofing);
}

static void test_running_vm(void **state)
{
	(void)state;
	struct vm_record r;
	struct enable_nested_plan p;
	char text[1024];
	ready(&r);
	r.config.expose_virtualization_extensions = false;
	r.config.nics[0].mac_spoofing = false;
	r.runtime.state = VM_STATE_RUNNING;
	enable_nested_plan_make(&r, &p);
	assert_true(p.stop);
	assert_int_equal(p.state, VM_STATE_RUNNING);
	enable_nested_plan_text(&r, &p, text, sizeof(text));
	assert_true(strstr(text, "Stop the VM (it is Running") == text + 3);
	assert_contains(text, "Expose");
	assert_contains(text, "Optional: enable MAC address spoofing");
	/* Running with only spoofing to do: no stop (it may change live). */
	ready(&r);
	r.config.nics[0].mac_spoofing = false;
	r.runtime.state = VM_STATE_RUNNING;
	enable_nested_plan_make(&r, &p);
	assert_false(p.stop);
}

static void test_vm_verdicts(void **state)
{
	(void)state;
	struct vm_record r;
	struct vm_nested_verdict v;
	struct nested_verdict host = { .supported = true };
	ready(&r);
	vm_nested_check_evaluate(&r, &host, &v);
	assert_true(v.supported);
	assert_int_equal(v.nproblems, 0);
	char *t = vm_nested_report_text(&r, &v);
	assert_contains(t, "The virtual machine l2 supports nested virtualization: YES\n");
	assert_contains(t, "ExposeVirtualizationExtensions        : True\n");
	assert_contains(t, "MemoryStartup                         : 2048 MB\n");
	assert_contains(t, "DynamicMemoryEnabled                  : False\n");
	assert_contains(t, "MacAddressSpoofing (eth0, switch wan) : On\n");
	free(t);

	r.config.expose_virtualization_extensions = false;
	r.config.memory_mib = 512;
	r.config.nics[0].mac_spoofing = false;
	vm_nested_check_evaluate(&r, &host, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 3);
	assert_false(v.problems[0].warning);
	assert_contains(v.problems[0].fix, "nestvm vm set l2 --expose-virtualization-extensions on (while Off) or nestvm enable-nested l2");
	assert_contains(v.problems[1].reason, "512 MB");
	assert_true(v.problems[2].warning);
	assert_contains(v.problems[2].reason, "nested guests will have no network unless MAC address spoofing is on or they use a NAT switch inside");
	t = vm_nested_report_text(&r, &v);
	assert_contains(t, "supports nested virtualization: NO\n");
	assert_contains(t, "\nReason ");
	assert_contains(t, "\nWarning ");
	free(t);

	/* The host's reasons become the VM's. */
	struct nested_verdict bad = { .supported = false, .nproblems = 1 };
	strcpy(bad.problems[0].reason, "KVM's nested parameter is off");
	strcpy(bad.problems[0].fix, "modprobe kvm_amd nested=1");
	ready(&r);
	vm_nested_check_evaluate(&r, &bad, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	assert_contains(v.problems[0].reason, "KVM's nested parameter is off");
	assert_string_equal(v.problems[0].fix, "modprobe kvm_amd nested=1");
	struct json_object *o = vm_nested_report_json(&r, &v);
	assert_false(json_object_get_boolean(json_object_object_get(o, "supported")));
	assert_int_equal(json_object_array_length(json_object_object_get(o, "problems")), 1);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_already_set_up),
		cmocka_unit_test(test_extensions_off),
		cmocka_unit_test(test_memory_low),
		cmocka_unit_test(test_spoofing_off_on_two_adapters),
		cmocka_unit_test(test_running_vm),
		cmocka_unit_test(test_vm_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
