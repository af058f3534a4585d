/* `nestvm status` reports and host facts: the text and JSON reports on
 * recorded hosts, the facts file format (round trip and every malformed
 * kind), and gathering from a fake /proc and /sys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_fixtures.h"
#include "host/nested_check.h"
#include "host/status_report.h"

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
	/* Recorded before /proc/misc was: unknown. */
	assert_non_null(strstr(t, "\nKVM device registered      : unknown (/proc/misc not read)\n"));
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
	assert_int_equal(lines, 12 + 4);
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
	assert_null(field(o, "kvm_device_registered")); /* not in the recorded file */
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
	assert_true(json_object_get_boolean(field(o, "kvm_device_registered")));
	assert_int_equal(json_object_get_int(field(o, "kvm_misc_minor")), 232);
	assert_false(json_object_get_boolean(field(o, "dev_kvm_usable")));
	json_object_put(o);

	o = json_for("pvm-builtin-no-device.txt", &sup);
	assert_false(json_object_get_boolean(field(o, "kvm_device_registered")));
	assert_null(field(o, "kvm_misc_minor"));
	assert_string_equal(str_field(o, "kvm_backend"), "paravirtual");
	probs = field(o, "problems");
	assert_int_equal(json_object_array_length(probs), 2);
	p0 = json_object_array_get_idx(probs, 0);
	must_have(str_field(p0, "reason"), "registered no KVM device (no kvm in /proc/misc)");
	must_have(str_field(p0, "fix"), "nestvm lab");
	must_lack(str_field(p0, "fix"), "mknod");
	json_object_put(o);

	o = json_for("amd-device-registered-node-missing.txt", &sup);
	assert_true(json_object_get_boolean(field(o, "kvm_device_registered")));
	assert_int_equal(json_object_get_int(field(o, "kvm_misc_minor")), 57);
	must_have(str_field(json_object_array_get_idx(field(o, "problems"), 0), "fix"), "mknod /dev/kvm c 10 57");
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
		"hyperv-no-extensions.txt", "intel-vtx-nested-off.txt", "pvm-builtin-no-device.txt",
		"no-kvm-in-kernel.txt", "amd-device-registered-node-missing.txt",
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
		assert_int_equal(a.misc_kvm, b.misc_kvm);
		assert_int_equal(a.misc_kvm_minor, b.misc_kvm_minor);
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
	assert_int_equal(host_facts_file_parse("misc_kvm = 1\n", &f, &err), -1);
	assert_int_equal(host_facts_file_parse("misc_kvm_minor = kvm\n", &f, &err), -1);
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
	assert_int_equal(f.misc_kvm, FACT_UNKNOWN);
	assert_int_equal(f.misc_kvm_minor, -1);
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
	/* Misc devices, but none named exactly "kvm". */
	write_file(root, "proc/misc", "234 btrfs-control\n 57 kvm_x\n183 hw_random\n");
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
	assert_int_equal(f.misc_kvm, FACT_NO);
	assert_int_equal(f.misc_kvm_minor, -1);
	assert_false(f.dev_present);
	assert_int_equal(f.dev_errno, ENOENT);
	assert_string_equal(f.dev_path, dev);
	assert_int_equal(f.api_version, -1);
	assert_int_equal(f.guest_vmx, FACT_UNKNOWN);
	/* The CPUID instruction is this machine's own. */
	assert_int_equal(strlen(f.vendor_id), 12);
	assert_true(f.user[0] != '\0'); /* named: the message about the device says who */

	/* A device that opens (no KVM behind it): no user lookup, unless asked. */
	host_facts_gather(&f, root, "/dev/null");
	assert_int_equal(f.dev_errno, 0);
	assert_string_equal(f.user, "");
	host_facts_name_user(&f);
	assert_true(f.user[0] != '\0');

	/* "ept" must be a whole word; kvm_pvm wins over kvm_amd; no cpuinfo = unknown. */
	write_file(root, "proc/cpuinfo", "model name\t: X\nflags\t\t: svm eptx\n");
	write_file(root, "sys/module/kvm_amd/parameters/nested", "1\n");
	write_file(root, "sys/module/kvm_pvm/parameters/force", "N\n");
	write_file(root, "proc/misc", "234 btrfs-control\n 57 kvm\n183 hw_random\n");
	host_facts_gather(&f, root, dev);
	assert_int_equal(f.misc_kvm, FACT_YES);
	assert_int_equal(f.misc_kvm_minor, 57);
	assert_false(f.cpu_ept);
	assert_int_equal(f.kvm_module, HOST_KVM_PVM);
	assert_string_equal(f.kvm_nested, "");

	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	host_facts_gather(&f, root, dev);
	assert_int_equal(f.cpuinfo_virt, FACT_UNKNOWN);
	assert_int_equal(f.misc_kvm, FACT_UNKNOWN);
	assert_int_equal(f.misc_kvm_minor, -1);
	assert_false(f.kvm_loaded);
	assert_int_equal(f.kvm_module, HOST_KVM_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_gather_fake_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
