/* The nested-virtualization host check (`nestvm status`) on recorded hosts
 * (tests/unit/data/hosts/ *.txt): the verdict and each reason/fix, and the
 * one-line errors for `run` (no usable KVM; no nesting). The reports, the
 * facts file and gathering are in test_status_report.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_fixtures.h"
#include "host/nested_check.h"
#include "host/status_report.h"

/* Problem i (errors first, then warnings) has both substrings. */
static void expect_problem(const struct nested_verdict *v, unsigned i, bool warning,
			   const char *reason_has, const char *fix_has)
{
	assert_true(i < v->nproblems);
	const struct nested_problem *p = &v->problems[i];
	assert_int_equal(p->warning, warning);
	if (!strstr(p->reason, reason_has))
		fail_msg("reason '%s' lacks '%s'", p->reason, reason_has);
	if (!strstr(p->fix, fix_has))
		fail_msg("fix '%s' lacks '%s'", p->fix, fix_has);
}

/* nested_check_kvm_error refuses with one line having `has` (and `has2`
 * unless NULL) and not `lacks` (unless NULL). */
static void kvm_error_has(const struct host_facts *f, const char *has, const char *has2, const char *lacks)
{
	char msg[1024];
	assert_int_equal(nested_check_kvm_error(f, msg, sizeof(msg)), -1);
	assert_null(strchr(msg, '\n'));
	must_have(msg, "; fix: ");
	must_have(msg, has);
	if (has2)
		must_have(msg, has2);
	if (lacks)
		must_lack(msg, lacks);
}

static void test_lab_host_yes(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("lab-amd-epyc-tcg-nested.txt", &f, &v);
	assert_true(v.supported);
	assert_int_equal(v.nproblems, 0);
	assert_string_equal(host_facts_extension(&f), "AMD-V");
	assert_string_equal(host_facts_paging(&f), "NPT");
	assert_string_equal(host_facts_hypervisor_name(&f), "QEMU TCG");
	assert_int_equal(host_facts_nested(&f), FACT_YES);
	assert_int_equal(nested_check_backend(&f), NESTED_BACKEND_HARDWARE);
	assert_int_equal(f.caps[HOST_CAP_NESTED_STATE], 4224);
}

static void test_this_machine_pvm(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("pvm-amd-epyc-under-kvm.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 2); /* no nested-state warning: no nesting at all */
	expect_problem(&v, 0, false, "kvm_pvm, a paravirtual KVM without hardware extensions",
		       "run nestvm inside `nestvm lab`, or on a host with VT-x/AMD-V");
	expect_problem(&v, 1, false, "a VM under KVM (signature \"KVMKVMKVM\"), which does not pass AMD-V",
		       "kvm_amd nested=1 on the host");
	assert_int_equal(nested_check_backend(&f), NESTED_BACKEND_PARAVIRTUAL);
}

/* This machine since issue 9: kvm and kvm_pvm built in, no device registered
 * (no kvm in /proc/misc), no /dev/kvm: no mknod, which could not work. */
static void test_this_machine_no_device(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	char buf[NESTED_CHECK_LINE];
	check("pvm-builtin-no-device.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 2);
	expect_problem(&v, 0, false, "/dev/kvm is missing: the kernel has KVM (kvm, kvm_pvm in /sys/module) but "
		       "registered no KVM device (no kvm in /proc/misc): kvm_pvm did not register one, and the CPU "
		       "has no AMD-V for kvm_amd (the bhyve hypervisor under this VM does not pass it on)",
		       "run VMs inside the emulated lab host: nestvm lab -- nestvm run ..., or use a host with VT-x/AMD-V");
	must_lack(v.problems[0].fix, "mknod");
	expect_problem(&v, 1, false, "a VM under bhyve (signature \"bhyve bhyve\"), which does not pass AMD-V",
		       "(bhyve, if its version offers it), or use `nestvm lab`");
	assert_int_equal(nested_check_backend(&f), NESTED_BACKEND_PARAVIRTUAL);
	assert_string_equal(nested_check_backend_text(&f, buf, sizeof(buf)),
			    "paravirtual (kvm_pvm), but it registered no KVM device: no VM runs here");
	kvm_error_has(&f, "/dev/kvm is missing: the kernel has KVM (kvm, kvm_pvm in /sys/module) but registered no "
		      "KVM device (no kvm in /proc/misc)", "; fix: run VMs inside the emulated lab host: nestvm lab -- "
		      "nestvm run ...", "mknod");
	char *t = status_report_text(&f, &v);
	assert_non_null(t);
	must_have(t, "\nKVM device registered      : no (no kvm in /proc/misc)\n");
	must_have(t, "\n/dev/kvm                   : missing\n");
	must_lack(t, "mknod");
	must_lack(t, "is kvm_pvm, a paravirtual KVM");
	free(t);
}

/* No KVM in the kernel at all, on a VM without extensions: modprobe would
 * not help, the lab does. */
static void test_no_kvm_in_kernel(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("no-kvm-in-kernel.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "a VM under KVM (signature \"KVMKVMKVM\"), which does not pass AMD-V",
		       "kvm_amd nested=1 on the host");
	kvm_error_has(&f, "/dev/kvm is missing: this kernel has no KVM (no /sys/module/kvm, no kvm in /proc/misc), "
		      "and the CPU has no AMD-V for kvm_amd (the KVM hypervisor under this VM does not pass it on); fix: "
		      "run VMs inside the emulated lab host: nestvm lab -- nestvm run ..., or use a host with VT-x/AMD-V",
		      NULL, "modprobe");
	char *t = status_report_text(&f, &v);
	assert_non_null(t);
	must_have(t, "\nKVM module                 : not loaded\n");
	must_have(t, "\nKVM device registered      : no (no kvm in /proc/misc)\n");
	free(t);
	/* With AMD-V, loading the module is the fix. */
	load_host("amd-no-kvm-loaded.txt", &f);
	kvm_error_has(&f, "/dev/kvm is missing: this kernel has no KVM (no /sys/module/kvm, no kvm in /proc/misc); "
		      "fix: modprobe kvm_amd as root", "nestvm lab", "mknod");
}

/* The kernel registered the device, the node is missing: mknod with the
 * minor read from /proc/misc (57 here, not 232). */
static void test_registered_node_missing(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("amd-device-registered-node-missing.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "/dev/kvm is missing although the kernel registered the KVM device "
		       "(misc minor 57 in /proc/misc)", "mknod /dev/kvm c 10 57 && chgrp kvm /dev/kvm && chmod 660 /dev/kvm; "
		       "or pass /dev/kvm into this container");
	must_lack(v.problems[0].fix, "232");
	kvm_error_has(&f, "misc minor 57 in /proc/misc); fix: create it as root: mknod /dev/kvm c 10 57", NULL, "232");
	/* The same in a container that hides /sys/module: not "kvm not loaded". */
	f.kvm_loaded = false;
	f.kvm_module = HOST_KVM_NONE;
	f.kvm_nested[0] = '\0';
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "misc minor 57 in /proc/misc", "mknod /dev/kvm c 10 57");
	char *t = status_report_text(&f, &v);
	assert_non_null(t);
	must_have(t, "\nKVM device registered      : yes (misc minor 57)\n");
	free(t);
}

static void test_intel_nested_on(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("intel-vtx-nested-on.txt", &f, &v);
	assert_true(v.supported);
	assert_int_equal(v.nproblems, 0);
	assert_string_equal(host_facts_extension(&f), "VT-x");
	assert_string_equal(host_facts_paging(&f), "EPT");
	assert_string_equal(host_facts_guest_extension(&f), "VT-x");
}

static void test_intel_nested_off(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("intel-vtx-nested-off.txt", &f, &v);
	assert_false(v.supported);
	/* The missing VMX in KVM_GET_SUPPORTED_CPUID follows from nested=N. */
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "kvm_intel is loaded with nested=N",
		       "echo 'options kvm_intel nested=1' > /etc/modprobe.d/kvm-nested.conf && "
		       "modprobe -r kvm_intel && modprobe kvm_intel");
}

static void test_amd_without_kvm(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("amd-no-kvm-loaded.txt", &f, &v);
	assert_false(v.supported);
	/* One line: modprobe also creates /dev/kvm. */
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "the kvm module is not loaded", "modprobe kvm-amd");
}

static void test_hyperv_without_extensions(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("hyperv-no-extensions.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "a VM under Hyper-V (signature \"Microsoft Hv\"), which does not pass VT-x",
		       "Set-VMProcessor -VMName THIS_VM -ExposeVirtualizationExtensions $true");
}

static void test_cpu_without_extensions(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("cpu-without-extensions.txt", &f, &v);
	assert_false(v.supported);
	/* No "modprobe": it could not help. */
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "this CPU has no VT-x or AMD-V",
		       "use a machine whose CPU has them, or `nestvm lab`");
	assert_string_equal(host_facts_extension(&f), "none");
}

static void test_firmware_disabled(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("intel-vtx-disabled-in-firmware.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "the firmware disabled it", "BIOS/UEFI");
}

static void test_not_permitted(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("amd-kvm-not-permitted.txt", &f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "/dev/kvm is not usable by frank (permission denied)",
		       "usermod -aG kvm frank, then log in again");
}

static void test_no_nested_state_warns(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("amd-old-kernel-no-nested-state.txt", &f, &v);
	assert_true(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, true, "KVM_CAP_NESTED_STATE = 0", "newer Linux kernel");
}

/* Facts edited from a good host: each single fault gives its own line. */
static void test_single_faults(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;

	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.guest_svm = FACT_NO;
	f.guest_npt = FACT_NO;
	nested_check_evaluate(&f, &v);
	assert_false(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "KVM_GET_SUPPORTED_CPUID does not offer AMD-V to guests although kvm_amd is loaded with nested=1",
		       "modprobe -r kvm_amd && modprobe kvm_amd nested=1");

	/* /dev/kvm missing: /proc/misc tells a missing node from no device. */
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.dev_present = false;
	f.dev_errno = ENOENT;
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "/dev/kvm is missing although the kernel has KVM (kvm, kvm_amd in /sys/module); "
		       "/proc/misc was not read", "if `grep -w kvm /proc/misc` shows MINOR kvm: mknod /dev/kvm c 10 MINOR");
	f.misc_kvm = FACT_YES;
	f.misc_kvm_minor = 232;
	nested_check_evaluate(&f, &v);
	expect_problem(&v, 0, false, "although the kernel registered the KVM device (misc minor 232 in /proc/misc)",
		       "mknod /dev/kvm c 10 232");
	f.misc_kvm = FACT_NO; /* kvm_amd built in, failed to initialise */
	f.misc_kvm_minor = -1;
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "registered no KVM device (no kvm in /proc/misc): kvm_amd did not register one: "
		       "it failed to initialise", "modprobe kvm_amd as root (`dmesg | grep -i kvm`");
	must_lack(v.problems[0].fix, "mknod");

	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.caps[HOST_CAP_IRQCHIP] = 0;
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "KVM lacks the irqchip capability", "newer Linux kernel");

	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.kvm_module = HOST_KVM_NONE; /* kvm without kvm_amd: no /dev/kvm either */
	f.dev_present = false;
	f.dev_errno = ENOENT;
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "the kvm module is loaded but kvm_amd is not", "modprobe kvm-amd");

	/* kvm_pvm on a CPU that has AMD-V: switch modules. */
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.kvm_module = HOST_KVM_PVM;
	f.kvm_nested[0] = '\0';
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "kvm_pvm", "modprobe -r kvm_pvm && modprobe kvm_amd nested=1");

	/* No NPT: a warning, still YES. */
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.cpu_npt = false;
	nested_check_evaluate(&f, &v);
	assert_true(v.supported);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, true, "the CPU has no NPT: nested guests run with shadow paging", "npt");

	/* /dev/kvm opened, KVM_GET_SUPPORTED_CPUID failed: not YES. */
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.guest_svm = f.guest_vmx = f.guest_npt = FACT_UNKNOWN;
	nested_check_evaluate(&f, &v);
	assert_false(v.supported);
	expect_problem(&v, 0, false, "could not be read", "dmesg");

	/* /sys/module hidden (a container given /dev/kvm): KVM's own answer
	 * decides, not the missing module. */
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.kvm_loaded = false;
	f.kvm_module = HOST_KVM_NONE;
	f.kvm_nested[0] = '\0';
	nested_check_evaluate(&f, &v);
	assert_true(v.supported);
	assert_int_equal(nested_check_backend(&f), NESTED_BACKEND_HARDWARE);

	/* Other hypervisors are named, with their own fix. */
	load_host("hyperv-no-extensions.txt", &f);
	snprintf(f.hypervisor_sig, sizeof(f.hypervisor_sig), "VMwareVMware");
	nested_check_evaluate(&f, &v);
	expect_problem(&v, 0, false, "under VMware", "vhv.enable");
	snprintf(f.hypervisor_sig, sizeof(f.hypervisor_sig), "ACRNACRNACRN");
	nested_check_evaluate(&f, &v);
	expect_problem(&v, 0, false, "under ACRNACRNACRN", "Set-VMProcessor -ExposeVirtualizationExtensions $true; KVM:");
}

static void test_run_error_line(void **state)
{
	(void)state;
	struct host_facts f;
	char msg[1024];
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	assert_int_equal(nested_check_run_error(&f, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	load_host("pvm-amd-epyc-under-kvm.txt", &f);
	assert_int_equal(nested_check_run_error(&f, msg, sizeof(msg)), -1);
	assert_null(strchr(msg, '\n'));
	assert_non_null(strstr(msg, "kvm_pvm, a paravirtual KVM"));
	assert_non_null(strstr(msg, "; fix: run nestvm inside `nestvm lab`"));
	/* A warning alone does not stop run. */
	load_host("amd-old-kernel-no-nested-state.txt", &f);
	assert_int_equal(nested_check_run_error(&f, msg, sizeof(msg)), 0);
	/* Truncated, still terminated. */
	load_host("intel-vtx-nested-off.txt", &f);
	assert_int_equal(nested_check_run_error(&f, msg, 16), -1);
	assert_int_equal(strlen(msg), 15);
}

/* nested_check_kvm_error: can any VM run here? Nesting does not matter. */
static void test_kvm_error_line(void **state)
{
	(void)state;
	struct host_facts f;
	char msg[1024];
	static const char *const usable[] = {
		"lab-amd-epyc-tcg-nested.txt", "pvm-amd-epyc-under-kvm.txt", "intel-vtx-nested-off.txt",
	};
	for (size_t i = 0; i < sizeof(usable) / sizeof(usable[0]); i++) {
		load_host(usable[i], &f);
		assert_int_equal(nested_check_kvm_error(&f, msg, sizeof(msg)), 0);
		assert_string_equal(msg, "");
	}
	load_host("amd-kvm-not-permitted.txt", &f);
	kvm_error_has(&f, "/dev/kvm is not usable by frank (permission denied); fix: usermod -aG kvm frank", NULL, NULL);
	/* A uid without a user name (the lab's nobody): usermod cannot name it. */
	snprintf(f.user, sizeof(f.user), "uid 65534");
	kvm_error_has(&f, "/dev/kvm is not usable by uid 65534 (permission denied); fix: setfacl -m u:65534:rw /dev/kvm",
		      NULL, "usermod");
	load_host("intel-vtx-disabled-in-firmware.txt", &f);
	kvm_error_has(&f, "the kernel has KVM (kvm in /sys/module) but registered no KVM device (no kvm in /proc/misc): "
		      "the firmware disabled VT-x; fix: enable VT-x in the BIOS/UEFI setup", "nestvm lab", "mknod");
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.api_version = 11;
	kvm_error_has(&f, "/dev/kvm speaks KVM API 11, nestvm needs 12; fix: use a Linux kernel with the standard KVM API",
		      "nestvm lab", NULL);
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.caps[HOST_CAP_USER_MEMORY] = 0;
	kvm_error_has(&f, "KVM lacks the user_memory capability", NULL, NULL);
	/* --kvm-device PATH that does not exist. */
	load_host("amd-device-registered-node-missing.txt", &f);
	snprintf(f.dev_path, sizeof(f.dev_path), "/nonexistent/kvm");
	kvm_error_has(&f, "/nonexistent/kvm is missing; fix: point --kvm-device at an existing KVM device (char 10:57), "
		      "or leave it out to use /dev/kvm", NULL, "mknod");
	load_host("pvm-builtin-no-device.txt", &f);
	snprintf(f.dev_path, sizeof(f.dev_path), "/nonexistent/kvm");
	kvm_error_has(&f, "/nonexistent/kvm is missing: the kernel has KVM (kvm, kvm_pvm in /sys/module) but registered "
		      "no KVM device", "nestvm lab", "mknod");
	/* A stale node left over, no device behind it. */
	load_host("pvm-builtin-no-device.txt", &f);
	f.dev_present = true;
	f.dev_errno = ENXIO;
	kvm_error_has(&f, "/dev/kvm cannot be opened (No such device or address): the kernel has KVM", "nestvm lab",
		      "mknod");
	/* Truncated, still terminated; n = 0 writes nothing. */
	assert_int_equal(nested_check_kvm_error(&f, msg, 16), -1);
	assert_int_equal(strlen(msg), 15);
	assert_int_equal(nested_check_kvm_error(&f, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lab_host_yes),
		cmocka_unit_test(test_this_machine_pvm),
		cmocka_unit_test(test_this_machine_no_device),
		cmocka_unit_test(test_no_kvm_in_kernel),
		cmocka_unit_test(test_registered_node_missing),
		cmocka_unit_test(test_intel_nested_on),
		cmocka_unit_test(test_intel_nested_off),
		cmocka_unit_test(test_amd_without_kvm),
		cmocka_unit_test(test_hyperv_without_extensions),
		cmocka_unit_test(test_cpu_without_extensions),
		cmocka_unit_test(test_firmware_disabled),
		cmocka_unit_test(test_not_permitted),
		cmocka_unit_test(test_no_nested_state_warns),
		cmocka_unit_test(test_single_faults),
		cmocka_unit_test(test_run_error_line),
		cmocka_unit_test(test_kvm_error_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
