#include "host/status_report.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 512

/* The "Key : Value" rows, in report order. Each fills value (VALUE_MAX). */
typedef void (*row_fn)(const struct host_facts *f, char *value);

static void row_vendor(const struct host_facts *f, char *out)
{
	snprintf(out, VALUE_MAX, "%s", f->vendor_id[0] ? f->vendor_id : "unknown");
}

static void row_model(const struct host_facts *f, char *out)
{
	snprintf(out, VALUE_MAX, "%s", f->model_name[0] ? f->model_name : "unknown");
}

static void row_extension(const struct host_facts *f, char *out)
{
	snprintf(out, VALUE_MAX, "%s%s", host_facts_extension(f),
		 (f->cpu_vmx || f->cpu_svm) && f->cpuinfo_virt == FACT_NO ? " (disabled in firmware)" : "");
}

static void row_paging(const struct host_facts *f, char *out)
{
	/* EPT is only known from /proc/cpuinfo. */
	bool unknown = f->cpu_vmx && f->cpuinfo_virt == FACT_UNKNOWN;
	snprintf(out, VALUE_MAX, "%s", unknown ? "unknown" : host_facts_paging(f));
}

static void row_hypervisor(const struct host_facts *f, char *out)
{
	if (f->under_hypervisor)
		snprintf(out, VALUE_MAX, "yes: %s (signature \"%s\")", host_facts_hypervisor_name(f),
			 f->hypervisor_sig);
	else
		snprintf(out, VALUE_MAX, "no");
}

static void row_module(const struct host_facts *f, char *out)
{
	const char *m = host_facts_module_name(f->kvm_module);
	if (f->kvm_module == HOST_KVM_PVM)
		snprintf(out, VALUE_MAX, "kvm_pvm loaded (paravirtual, no nested parameter)");
	else if (m && f->kvm_nested[0])
		snprintf(out, VALUE_MAX, "%s loaded, nested=%s (%s)", m, f->kvm_nested,
			 host_facts_nested(f) == FACT_YES ? "on" : host_facts_nested(f) == FACT_NO ? "off" : "?");
	else if (m)
		snprintf(out, VALUE_MAX, "%s loaded, nested parameter not readable", m);
	else if (f->kvm_loaded)
		snprintf(out, VALUE_MAX, "kvm loaded without a vendor module (kvm_intel/kvm_amd)");
	else
		snprintf(out, VALUE_MAX, "not loaded");
}

static void row_misc(const struct host_facts *f, char *out)
{
	if (f->misc_kvm == FACT_YES && f->misc_kvm_minor >= 0)
		snprintf(out, VALUE_MAX, "yes (misc minor %d)", f->misc_kvm_minor);
	else if (f->misc_kvm == FACT_YES)
		snprintf(out, VALUE_MAX, "yes");
	else if (f->misc_kvm == FACT_NO)
		snprintf(out, VALUE_MAX, "no (no kvm in /proc/misc)");
	else
		snprintf(out, VALUE_MAX, "unknown (/proc/misc not read)");
}

static void row_device(const struct host_facts *f, char *out)
{
	const char *user = f->user[0] ? f->user : "this user";
	/* Name the device when --kvm-device chose another. */
	char other[80] = "";
	if (strcmp(f->dev_path, "/dev/kvm"))
		snprintf(other, sizeof(other), " (%s)", f->dev_path);
	if (f->dev_errno == 0)
		snprintf(out, VALUE_MAX, "present%s, usable by %s", other, user);
	else if (!f->dev_present)
		snprintf(out, VALUE_MAX, "missing%s", other);
	else
		snprintf(out, VALUE_MAX, "present%s, not usable by %s (%s: %s)", other, user,
			 strerrorname_np(f->dev_errno) ? strerrorname_np(f->dev_errno) : "?",
			 strerror(f->dev_errno));
}

static void row_api(const struct host_facts *f, char *out)
{
	if (f->api_version < 0)
		snprintf(out, VALUE_MAX, "unknown (/dev/kvm not usable)");
	else
		snprintf(out, VALUE_MAX, "%d", f->api_version);
}

static void row_caps(const struct host_facts *f, char *out)
{
	size_t len = 0;
	out[0] = '\0';
	for (int c = 0; c < HOST_CAP_COUNT && len < VALUE_MAX; c++) {
		if (f->caps[c] < 0)
			continue;
		int r = snprintf(out + len, VALUE_MAX - len, "%s%s=%d", len ? " " : "",
				 host_facts_cap_name(c), f->caps[c]);
		len += r > 0 ? (size_t)r : 0;
	}
	if (!out[0])
		snprintf(out, VALUE_MAX, "unknown (/dev/kvm not usable)");
}

static void row_guest(const struct host_facts *f, char *out)
{
	const char *g = host_facts_guest_extension(f);
	if (!strcmp(g, "unknown"))
		snprintf(out, VALUE_MAX, "unknown (/dev/kvm not usable)");
	else
		snprintf(out, VALUE_MAX, "%s%s (KVM_GET_SUPPORTED_CPUID)", g,
			 f->guest_npt == FACT_YES ? " with NPT" : "");
}

static void row_backend(const struct host_facts *f, char *out)
{
	nested_check_backend_text(f, out, VALUE_MAX);
}

static const struct {
	const char *key;
	row_fn fn;
} rows[] = {
	{ "CPU vendor", row_vendor },
	{ "CPU model", row_model },
	{ "Virtualization extension", row_extension },
	{ "Second-level paging", row_paging },
	{ "Running under a hypervisor", row_hypervisor },
	{ "KVM module", row_module },
	{ "KVM device registered", row_misc },
	{ "/dev/kvm", row_device },
	{ "KVM API version", row_api },
	{ "KVM capabilities", row_caps },
	{ "Extensions for guests", row_guest },
	{ "KVM backend", row_backend },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

char *status_report_text(const struct host_facts *f, const struct nested_verdict *v)
{
	int width = (int)strlen("Warning");
	for (size_t i = 0; i < NROWS; i++)
		if ((int)strlen(rows[i].key) > width)
			width = (int)strlen(rows[i].key);
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	if (!o)
		return NULL;
	fprintf(o, "This host supports nested virtualization: %s\n", v->supported ? "YES" : "NO");
	char value[VALUE_MAX];
	for (size_t i = 0; i < NROWS; i++) {
		rows[i].fn(f, value);
		fprintf(o, "%-*s : %s\n", width, rows[i].key, value);
	}
	for (unsigned i = 0; i < v->nproblems; i++) {
		const struct nested_problem *p = &v->problems[i];
		fprintf(o, "%-*s : %s\n", width, p->warning ? "Warning" : "Reason", p->reason);
		fprintf(o, "%-*s : %s\n", width, "Fix", p->fix);
	}
	if (fclose(o) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* JSON building: a NULL from json-c means out of memory, except where a
 * null value is meant (s == NULL, or a negative "unknown" number). */
struct jb {
	struct json_object *obj;
	bool failed;
};

static void j_add(struct jb *j, struct json_object *into, const char *key, struct json_object *val, bool want)
{
	if ((want && !val) || json_object_object_add(into, key, val) < 0)
		j->failed = true;
}

static void j_str(struct jb *j, const char *key, const char *s)
{
	j_add(j, j->obj, key, s ? json_object_new_string(s) : NULL, s != NULL);
}

static void j_bool(struct jb *j, const char *key, bool b)
{
	j_add(j, j->obj, key, json_object_new_boolean(b), true);
}

static void j_fact(struct jb *j, const char *key, enum fact fa)
{
	j_add(j, j->obj, key, fa == FACT_UNKNOWN ? NULL : json_object_new_boolean(fa == FACT_YES),
	      fa != FACT_UNKNOWN);
}

static struct json_object *j_int_or_null(int v)
{
	return v < 0 ? NULL : json_object_new_int(v);
}

static void j_problems(struct jb *j, const char *key, const struct nested_verdict *v, bool warnings)
{
	struct json_object *arr = json_object_new_array();
	j_add(j, j->obj, key, arr, true);
	if (!arr)
		return;
	for (unsigned i = 0; i < v->nproblems; i++) {
		const struct nested_problem *p = &v->problems[i];
		if (p->warning != warnings)
			continue;
		struct json_object *o = json_object_new_object();
		if (!o || json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			j->failed = true;
			return;
		}
		j_add(j, o, "reason", json_object_new_string(p->reason), true);
		j_add(j, o, "fix", json_object_new_string(p->fix), true);
	}
}

static void j_facts(struct jb *j, const struct host_facts *f)
{
	char buf[VALUE_MAX];
	j_str(j, "cpu_vendor", f->vendor_id[0] ? f->vendor_id : NULL);
	j_str(j, "cpu_model", f->model_name[0] ? f->model_name : NULL);
	j_str(j, "virtualization_extension", host_facts_extension(f));
	/* false: the firmware disabled it; null: no extension, or unknown. */
	j_fact(j, "virtualization_extension_enabled", f->cpu_vmx || f->cpu_svm ? f->cpuinfo_virt : FACT_UNKNOWN);
	row_paging(f, buf);
	j_str(j, "second_level_paging", strcmp(buf, "unknown") ? buf : NULL);
	j_bool(j, "under_hypervisor", f->under_hypervisor);
	j_str(j, "hypervisor", f->under_hypervisor ? host_facts_hypervisor_name(f) : NULL);
	j_str(j, "hypervisor_signature", f->under_hypervisor ? f->hypervisor_sig : NULL);
	j_bool(j, "kvm_module_loaded", f->kvm_loaded);
	j_str(j, "kvm_module", host_facts_module_name(f->kvm_module));
	j_str(j, "kvm_nested", f->kvm_nested[0] ? f->kvm_nested : NULL);
	j_fact(j, "kvm_device_registered", f->misc_kvm);
	j_add(j, j->obj, "kvm_misc_minor", j_int_or_null(f->misc_kvm_minor), f->misc_kvm_minor >= 0);
	j_str(j, "user", f->user[0] ? f->user : NULL);
	j_str(j, "dev_kvm_path", f->dev_path);
	j_bool(j, "dev_kvm_present", f->dev_present);
	j_bool(j, "dev_kvm_usable", f->dev_errno == 0);
	j_str(j, "dev_kvm_error", f->dev_errno ? strerrorname_np(f->dev_errno) : NULL);
	j_add(j, j->obj, "kvm_api_version", j_int_or_null(f->api_version), f->api_version >= 0);
	struct json_object *caps = json_object_new_object();
	j_add(j, j->obj, "kvm_capabilities", caps, true);
	for (int c = 0; caps && c < HOST_CAP_COUNT; c++)
		j_add(j, caps, host_facts_cap_name(c), j_int_or_null(f->caps[c]), f->caps[c] >= 0);
	const char *g = host_facts_guest_extension(f);
	j_str(j, "guest_extensions", strcmp(g, "unknown") ? g : NULL);
	j_fact(j, "guest_npt", f->guest_npt);
	static const char *const kinds[] = {
		[NESTED_BACKEND_NONE] = "none",
		[NESTED_BACKEND_HARDWARE] = "hardware-assisted",
		[NESTED_BACKEND_PARAVIRTUAL] = "paravirtual",
	};
	j_str(j, "kvm_backend", kinds[nested_check_backend(f)]);
	j_str(j, "kvm_backend_detail", nested_check_backend_text(f, buf, sizeof(buf)));
}

char *status_report_json(const struct host_facts *f, const struct nested_verdict *v)
{
	struct jb j = { .obj = json_object_new_object() };
	if (!j.obj)
		return NULL;
	j_bool(&j, "supported", v->supported);
	j_facts(&j, f);
	j_problems(&j, "problems", v, false);
	j_problems(&j, "warnings", v, true);
	char *out = NULL;
	if (!j.failed) {
		const char *s = json_object_to_json_string_ext(j.obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
		size_t n = s ? strlen(s) : 0;
		out = s ? malloc(n + 2) : NULL;
		if (out) {
			memcpy(out, s, n);
			memcpy(out + n, "\n", 2);
		}
	}
	json_object_put(j.obj);
	return out;
}
