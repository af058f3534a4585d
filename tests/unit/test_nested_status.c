/* The nested-virtualization host check (`nestvm status`) on recorded hosts
 * (tests/unit/data/hosts/ *.txt): the verdict and each reason/fix, the text
 * and JSON reports, the one-line error for `run`, the facts file format, and
 * gathering from a fake /proc and /sys. */
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

#include "mgmt/host_facts.h"
#include "mgmt/host_facts_file.h"
#include "mgmt/nested_check.h"
#include "mgmt/status_report.h"

/* tests/unit/data/hosts/NAME from the repo root, else next to the binary
 * (build/tests/unit/). */
static void load_host(const char *name, struct host_facts *f)
{
	char path[PATH_MAX];
	struct nv_err err = { 0 };
	snprintf(path, sizeof(path), "tests/unit/data/hosts/%s", name);
	if (access(path, R_OK) != 0) {
		char exe[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		assert_true(len > 0);
		exe[len] = '\0';
		snprintf(path, sizeof(path), "%s/../../../tests/unit/data/hosts/%s", dirname(exe), name);
	}
	if (host_facts_file_load(path, f, &err) < 0)
		fail_msg("%s", err.msg);
}

static unsigned count(const struct nested_verdict *v, bool warnings)
{
	unsigned n = 0;
	for (unsigned i = 0; i < v->nproblems; i++)
		n += v->problems[i].warning == warnings;
	return n;
}

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

static void check(const char *host, struct host_facts *f, struct nested_verdict *v)
{
	load_host(host, f);
	nested_check_evaluate(f, v);
	/* The invariant the report relies on: YES exactly when no error. */
	assert_int_equal(v->supported, count(v, false) == 0);
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

	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	f.dev_present = false;
	f.dev_errno = ENOENT;
	nested_check_evaluate(&f, &v);
	assert_int_equal(v.nproblems, 1);
	expect_problem(&v, 0, false, "/dev/kvm is missing although kvm_amd is loaded", "mknod /dev/kvm c 10 232");

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

/* Every line after the first is "Key<pad> : Value" with the colon in one column. */
static void test_text_report(void **state)
{
	(void)state;
	struct host_facts f;
	struct nested_verdict v;
	check("lab-amd-epyc-tcg-nested.txt", &f, &v);
	char *t = status_report_text(&f, &v);
	assert_non_null(t);
	assert_true(!strncmp(t, "This host supports nested virtualization: YES\n", 46));
	assert_non_null(strstr(t, "\nVirtualization extension   : AMD-V\n"));
	assert_non_null(strstr(t, "\nSecond-level paging        : NPT\n"));
	assert_non_null(strstr(t, "\nKVM module                 : kvm_amd loaded, nested=1 (on)\n"));
	assert_non_null(strstr(t, "nested_state=4224"));
	assert_null(strstr(t, "Reason"));
	free(t);

	check("pvm-amd-epyc-under-kvm.txt", &f, &v);
	t = status_report_text(&f, &v);
	assert_non_null(t);
	assert_true(!strncmp(t, "This host supports nested virtualization: NO\n", 45));
	int col = -1, lines = 0, reasons = 0, fixes = 0;
	for (char *line = strchr(t, '\n') + 1, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		assert_non_null(end);
		char *sep = strstr(line, " : ");
		assert_true(sep && sep < end);
		if (col < 0)
			col = (int)(sep - line);
		assert_int_equal(sep - line, col);
		reasons += !strncmp(line, "Reason ", 7);
		fixes += !strncmp(line, "Fix ", 4);
		lines++;
	}
	assert_int_equal(lines, 11 + 4);
	assert_int_equal(reasons, 2);
	assert_int_equal(fixes, 2);
	assert_non_null(strstr(t, "KVM backend                : paravirtual (kvm_pvm)"));
	assert_non_null(strstr(t, "Running under a hypervisor : yes: KVM (signature \"KVMKVMKVM\")"));
	free(t);
}

static struct json_object *json_for(const char *host, bool *supported)
{
	struct host_facts f;
	struct nested_verdict v;
	check(host, &f, &v);
	*supported = v.supported;
	char *s = status_report_json(&f, &v);
	assert_non_null(s);
	struct json_object *o = json_tokener_parse(s);
	free(s);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *val = NULL;
	if (!json_object_object_get_ex(o, key, &val))
		fail_msg("no key '%s'", key);
	return val;
}

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *val = field(o, key);
	assert_true(json_object_is_type(val, json_type_string));
	return json_object_get_string(val);
}

static void test_json_report(void **state)
{
	(void)state;
	bool sup;
	struct json_object *o = json_for("lab-amd-epyc-tcg-nested.txt", &sup);
	assert_true(json_object_get_boolean(field(o, "supported")));
	assert_string_equal(str_field(o, "virtualization_extension"), "AMD-V");
	assert_string_equal(str_field(o, "second_level_paging"), "NPT");
	assert_string_equal(str_field(o, "kvm_module"), "kvm_amd");
	assert_string_equal(str_field(o, "kvm_nested"), "1");
	assert_string_equal(str_field(o, "hypervisor"), "QEMU TCG");
	assert_string_equal(str_field(o, "hypervisor_signature"), "TCGTCGTCGTCG");
	assert_string_equal(str_field(o, "guest_extensions"), "AMD-V");
	assert_string_equal(str_field(o, "kvm_backend"), "hardware-assisted");
	assert_int_equal(json_object_get_int(field(o, "kvm_api_version")), 12);
	assert_int_equal(json_object_get_int(field(field(o, "kvm_capabilities"), "nested_state")), 4224);
	assert_int_equal(json_object_array_length(field(o, "problems")), 0);
	assert_int_equal(json_object_array_length(field(o, "warnings")), 0);
	json_object_put(o);

	o = json_for("pvm-amd-epyc-under-kvm.txt", &sup);
	assert_false(json_object_get_boolean(field(o, "supported")));
	assert_string_equal(str_field(o, "kvm_module"), "kvm_pvm");
	assert_string_equal(str_field(o, "kvm_backend"), "paravirtual");
	assert_null(field(o, "kvm_nested"));
	struct json_object *probs = field(o, "problems");
	assert_int_equal(json_object_array_length(probs), 2);
	struct json_object *p0 = json_object_array_get_idx(probs, 0);
	assert_non_null(strstr(str_field(p0, "reason"), "kvm_pvm"));
	assert_non_null(strstr(str_field(p0, "fix"), "nestvm lab"));
	json_object_put(o);

	/* Unknowns are null; the errno by name. */
	o = json_for("amd-kvm-not-permitted.txt", &sup);
	assert_null(field(o, "kvm_api_version"));
	assert_null(field(field(o, "kvm_capabilities"), "nested_state"));
	assert_null(field(o, "guest_extensions"));
	assert_string_equal(str_field(o, "dev_kvm_error"), "EACCES");
	assert_false(json_object_get_boolean(field(o, "dev_kvm_usable")));
	json_object_put(o);

	o = json_for("amd-old-kernel-no-nested-state.txt", &sup);
	assert_true(json_object_get_boolean(field(o, "supported")));
	assert_int_equal(json_object_array_length(field(o, "problems")), 0);
	assert_int_equal(json_object_array_length(field(o, "warnings")), 1);
	json_object_put(o);
}

static void test_file_round_trip(void **state)
{
	(void)state;
	static const char *const hosts[] = {
		"lab-amd-epyc-tcg-nested.txt", "pvm-amd-epyc-under-kvm.txt", "amd-kvm-not-permitted.txt",
		"hyperv-no-extensions.txt", "intel-vtx-nested-off.txt",
	};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct host_facts a, b;
		struct nv_err err = { 0 };
		char ta[4096], tb[4096];
		load_host(hosts[i], &a);
		assert_true(host_facts_file_format(&a, ta, sizeof(ta)) > 0);
		assert_int_equal(host_facts_file_parse(ta, &b, &err), 0);
		assert_true(host_facts_file_format(&b, tb, sizeof(tb)) > 0);
		assert_string_equal(ta, tb);
		assert_string_equal(a.hypervisor_sig, b.hypervisor_sig);
		assert_int_equal(a.dev_errno, b.dev_errno);
	}
	struct host_facts f;
	char small[64];
	load_host("lab-amd-epyc-tcg-nested.txt", &f);
	assert_int_equal(host_facts_file_format(&f, small, sizeof(small)), -1);
}

static void test_file_errors(void **state)
{
	(void)state;
	struct host_facts f;
	struct nv_err err = { 0 };
	assert_int_equal(host_facts_file_parse("# c\n\ncpu_vmx = 1\nfrobs = 2\n", &f, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, "line 4: unknown key 'frobs'"));
	assert_int_equal(host_facts_file_parse("cpu_vmx = yes\n", &f, &err), -1);
	assert_non_null(strstr(err.msg, "line 1: bad value 'yes' for cpu_vmx"));
	assert_int_equal(host_facts_file_parse("guest_svm = 1\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("kvm_module = kvm_arm\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("dev_errno = EWHAT\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("cap_irqchip = x\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("vendor_id = GenuineIntelGenuineIntel\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("just words\n", &f, &err), -1);
	assert_non_null(strstr(err.msg, "not `key = value`"));
	/* Left out = unknown; CRLF and spaces are tolerated; values keep inner spaces. */
	assert_int_equal(host_facts_file_parse("  model_name =  AMD  EPYC \r\ndev_errno = 13\r\n", &f, &err), 0);
	assert_string_equal(f.model_name, "AMD  EPYC");
	assert_int_equal(f.dev_errno, EACCES);
	assert_int_equal(f.api_version, -1);
	assert_int_equal(f.caps[HOST_CAP_NESTED_STATE], -1);
	assert_int_equal(f.guest_svm, FACT_UNKNOWN);
	assert_int_equal(host_facts_file_load("/nonexistent/host.txt", &f, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/host.txt"));
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	/* mkdir -p of the parent. */
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

/* gather reads /proc and /sys under a root: a fake tree stands for a host. */
static void test_gather_fake_root(void **state)
{
	(void)state;
	char root[] = "/tmp/nestvm-hostfacts-XXXXXX";
	assert_non_null(mkdtemp(root));
	write_file(root, "proc/cpuinfo",
		   "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Fake Xeon\n"
		   "flags\t\t: fpu vme vmx ept vpid\n\nprocessor\t: 1\nmodel name\t: Other\n");
	write_file(root, "sys/module/kvm/refcnt", "1\n");
	write_file(root, "sys/module/kvm_intel/parameters/nested", "N\n");
	char dev[PATH_MAX];
	snprintf(dev, sizeof(dev), "%s/no-kvm", root);

	struct host_facts f;
	host_facts_gather(&f, root, dev);
	assert_string_equal(f.model_name, "Fake Xeon");
	assert_int_equal(f.cpuinfo_virt, FACT_YES);
	assert_true(f.cpu_ept);
	assert_true(f.kvm_loaded);
	assert_int_equal(f.kvm_module, HOST_KVM_INTEL);
	assert_string_equal(f.kvm_nested, "N");
	assert_int_equal(host_facts_nested(&f), FACT_NO);
	assert_false(f.dev_present);
	assert_int_equal(f.dev_errno, ENOENT);
	assert_string_equal(f.dev_path, dev);
	assert_int_equal(f.api_version, -1);
	assert_int_equal(f.guest_vmx, FACT_UNKNOWN);
	/* The CPUID instruction is this machine's own. */
	assert_int_equal(strlen(f.vendor_id), 12);
	assert_true(f.user[0] != '\0');

	/* "ept" must be a whole word; kvm_pvm wins over kvm_amd; no cpuinfo = unknown. */
	write_file(root, "proc/cpuinfo", "model name\t: X\nflags\t\t: svm eptx\n");
	write_file(root, "sys/module/kvm_amd/parameters/nested", "1\n");
	write_file(root, "sys/module/kvm_pvm/parameters/force", "N\n");
	host_facts_gather(&f, root, dev);
	assert_false(f.cpu_ept);
	assert_int_equal(f.kvm_module, HOST_KVM_PVM);
	assert_string_equal(f.kvm_nested, "");

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	host_facts_gather(&f, root, dev);
	assert_int_equal(f.cpuinfo_virt, FACT_UNKNOWN);
	assert_false(f.kvm_loaded);
	assert_int_equal(f.kvm_module, HOST_KVM_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lab_host_yes),
		cmocka_unit_test(test_this_machine_pvm),
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
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_gather_fake_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
