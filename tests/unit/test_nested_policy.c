/* The nested switch against recorded host tables: which extension a host's
 * KVM offers, what the CPUID policy shows a guest with the switch on and
 * off, and which VMX capability MSRs an Intel guest gets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/nested.h"
#include "arch/x86/vmx_msrs.h"
#include "cpuid_table.h"

#define CAP 256

static struct kvm_cpuid2 *load(const char *name)
{
	char dir[PATH_MAX], path[PATH_MAX + 128];
	DIR *d = data_dir_open(dir, sizeof(dir));
	assert_non_null(d);
	closedir(d);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct kvm_cpuid2 *c = table_alloc(CAP);
	if (table_load(path, c, CAP) <= 0)
		fail_msg("cannot load %s", path);
	return c;
}

static bool has_svm(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000001, 0);
	return e && (e->ecx & (1u << 2));
}

static bool has_vmx(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, 1, 0);
	return e && (e->ecx & (1u << 5));
}

static void test_offered_per_host(void **state)
{
	(void)state;
	struct kvm_cpuid2 *lab = load("amd-epyc-lab-nested-kvm-supported.txt");
	struct kvm_cpuid2 *pvm = load("amd-epyc-zen4-kvm-supported.txt");
	struct kvm_cpuid2 *intel = load("intel-icelake-sp-kvm-supported-synthetic.txt");
	assert_int_equal(nested_offered(lab), NESTED_SVM);
	assert_int_equal(nested_offered(pvm), NESTED_NONE);  /* kvm_pvm: nothing to give */
	assert_int_equal(nested_offered(intel), NESTED_VMX);
	struct nested_setup s;
	struct nv_err err = { 0 };
	assert_int_equal(nested_prepare(-1, pvm, true, &s, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "neither VT-x nor AMD-V"));
	assert_int_equal(nested_prepare(-1, pvm, false, &s, &err), 0); /* off: nothing asked */
	assert_int_equal(s.kind, NESTED_NONE);
	assert_int_equal(nested_prepare(-1, lab, true, &s, &err), 0);  /* SVM needs no MSRs */
	assert_int_equal(s.kind, NESTED_SVM);
	assert_int_equal(s.nmsrs, 0);
	free(lab);
	free(pvm);
	free(intel);
}

static void check_switch(const char *table, bool (*has)(const struct kvm_cpuid2 *), unsigned ncpus)
{
	for (int expose = 0; expose <= 1; expose++) {
		for (unsigned v = 0; v < ncpus; v++) {
			struct kvm_cpuid2 *c = load(table);
			struct cpuid_policy_input in = { .vcpu_index = v, .ncpus = ncpus,
							 .expose_virtualization_extensions = expose };
			struct nv_err err = { 0 };
			assert_int_equal(cpuid_policy_apply(c, CAP, &in, &err), 0);
			assert_int_equal(has(c), expose);
			free(c);
		}
	}
}

static void test_switch_on_recorded_amd_lab(void **state)
{
	(void)state;
	check_switch("amd-epyc-lab-nested-kvm-supported.txt", has_svm, 2);
	/* With the switch on, the SVM feature leaf (NPT) goes through as KVM
	 * reports it; with it off, it is empty. */
	struct kvm_cpuid2 *ref = load("amd-epyc-lab-nested-kvm-supported.txt");
	for (int expose = 0; expose <= 1; expose++) {
		struct kvm_cpuid2 *c = load("amd-epyc-lab-nested-kvm-supported.txt");
		struct cpuid_policy_input in = { .ncpus = 1, .expose_virtualization_extensions = expose };
		assert_int_equal(cpuid_policy_apply(c, CAP, &in, NULL), 0);
		const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x8000000a, 0);
		const struct kvm_cpuid_entry2 *r = cpuid_find(ref, 0x8000000a, 0);
		assert_non_null(e);
		assert_int_equal(e->edx, expose ? r->edx : 0);
		assert_int_equal(e->edx & 1, expose); /* NPT */
		free(c);
	}
	free(ref);
}

static void test_switch_on_intel_table(void **state)
{
	(void)state;
	check_switch("intel-icelake-sp-kvm-supported-synthetic.txt", has_vmx, 4);
}

static size_t load_msrs(struct msr_value *out, size_t cap)
{
	char dir[PATH_MAX], path[PATH_MAX + 128];
	DIR *d = data_dir_open(dir, sizeof(dir));
	assert_non_null(d);
	closedir(d);
	snprintf(path, sizeof(path), "%s/../msr/intel-icelake-sp-vmx-synthetic.txt", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[128];
	size_t n = 0;
	while (fgets(line, sizeof(line), f) && n < cap) {
		unsigned idx;
		unsigned long long val;
		if (line[0] != '#' && sscanf(line, "%x %llx", &idx, &val) == 2)
			out[n++] = (struct msr_value){ idx, val };
	}
	fclose(f);
	return n;
}

static void test_vmx_msrs_from_recorded_features(void **state)
{
	(void)state;
	struct msr_value feats[64], out[VMX_MSRS_MAX];
	size_t n = load_msrs(feats, 64);
	assert_true(n > VMX_MSRS_MAX);
	assert_true(vmx_msrs_nested_available(feats, n));
	assert_int_equal(vmx_msrs_select(feats, n, false, out), 0); /* switch off */
	size_t k = vmx_msrs_select(feats, n, true, out);
	assert_int_equal(k, VMX_MSRS_MAX);
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(out[i].index, MSR_IA32_VMX_BASIC + i); /* only VMX MSRs, in order */
		assert_non_null(vmx_msr_name(out[i].index));
	}
	assert_int_equal(out[0].value, 0x00da040000000004ULL); /* KVM's values pass unchanged */
	assert_null(vmx_msr_name(0x10a));
	/* KVM without nested VMX reports no VMX_BASIC: nothing to give. */
	struct msr_value no_vmx[] = { { 0x10a, 0x2000000eb }, { 0x345, 0 } };
	assert_false(vmx_msrs_nested_available(no_vmx, 2));
	assert_int_equal(vmx_msrs_select(no_vmx, 2, true, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offered_per_host),
		cmocka_unit_test(test_switch_on_recorded_amd_lab),
		cmocka_unit_test(test_switch_on_intel_table),
		cmocka_unit_test(test_vmx_msrs_from_recorded_features),
	};
	return cmocka_run_group_tests_name("nested_policy", tests, NULL, NULL);
}
