#include "mgmt/vm_nested_check.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(struct vm_nested_verdict *v, bool warning, const char *reason, const char *fix)
{
	if (v->nproblems >= sizeof(v->problems) / sizeof(v->problems[0]))
		return;
	struct nested_problem *p = &v->problems[v->nproblems++];
	p->warning = warning;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	snprintf(p->fix, sizeof(p->fix), "%s", fix);
	if (!warning)
		v->supported = false;
}

void vm_nested_check_evaluate(const struct vm_record *r, const struct nested_verdict *host,
			      struct vm_nested_verdict *v)
{
	const struct vm_config *c = &r->config;
	char reason[NESTED_CHECK_LINE], fix[NESTED_CHECK_LINE];
	memset(v, 0, sizeof(*v));
	v->supported = true;
	if (!c->expose_virtualization_extensions) {
		snprintf(reason, sizeof(reason),
			 "the virtualization extensions (VT-x/AMD-V) are not exposed to VM %s", c->name);
		snprintf(fix, sizeof(fix),
			 "nestvm vm set %s --expose-virtualization-extensions on (while Off) or nestvm enable-nested %s",
			 c->name, c->name);
		add(v, false, reason, fix);
	}
	if (c->memory_mib < VM_NESTED_MIN_MEMORY_MIB) {
		snprintf(reason, sizeof(reason),
			 "VM %s has %llu MB of memory, less than the %d MB a nested hypervisor and one guest need",
			 c->name, (unsigned long long)c->memory_mib, VM_NESTED_MIN_MEMORY_MIB);
		snprintf(fix, sizeof(fix), "nestvm vm set %s --memory %dM (while Off) or nestvm enable-nested %s",
			 c->name, VM_NESTED_MIN_MEMORY_MIB, c->name);
		add(v, false, reason, fix);
	}
	for (unsigned i = 0; host && i < host->nproblems; i++)
		if (!host->problems[i].warning) {
			snprintf(reason, sizeof(reason), "this host cannot nest: %s", host->problems[i].reason);
			add(v, false, reason, host->problems[i].fix);
		}
	bool spoofing = false;
	for (unsigned i = 0; i < c->nnics; i++)
		spoofing = spoofing || c->nics[i].mac_spoofing;
	if (c->nnics && !spoofing) {
		snprintf(fix, sizeof(fix), "nestvm vm set %s --mac-spoofing on (any time), or a NAT switch inside "
			 "the VM (nestvm switch create NAME --type nat)", c->name);
		add(v, true, "MAC address spoofing is off on every adapter: nested guests will have no network "
			     "unless MAC address spoofing is on or they use a NAT switch inside", fix);
	}
	/* Reasons for NO before warnings, as the host report orders them. */
	struct nested_problem tmp[sizeof(v->problems) / sizeof(v->problems[0])];
	unsigned n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < v->nproblems; i++)
			if (v->problems[i].warning == (pass == 1))
				tmp[n++] = v->problems[i];
	memcpy(v->problems, tmp, n * sizeof(tmp[0]));
}

struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->oom || n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *b = realloc(t->buf, cap);
		if (!b) {
			t->oom = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

#define ROWS_MAX (8 + VM_MAX_NICS)

struct row {
	char key[64];
	char value[160];
};

static unsigned vm_rows(const struct vm_record *r, struct row *rows)
{
	const struct vm_config *c = &r->config;
	unsigned n = 0;
#define ROW(k, ...)                                                              \
	do {                                                                     \
		snprintf(rows[n].key, sizeof(rows[n].key), "%s", k);             \
		snprintf(rows[n].value, sizeof(rows[n].value), __VA_ARGS__);     \
		n++;                                                             \
	} while (0)
	ROW("Name", "%s", c->name);
	ROW("State", "%s", vm_state_name(r->runtime.state));
	ROW("ExposeVirtualizationExtensions", "%s", c->expose_virtualization_extensions ? "True" : "False");
	ROW("CPUs", "%u", c->cpus);
	ROW("MemoryStartup", "%llu MB", (unsigned long long)c->memory_mib);
	ROW("DynamicMemoryEnabled", "%s", c->dynamic_memory_enabled ? "True" : "False");
	for (unsigned i = 0; i < c->nnics; i++) {
		snprintf(rows[n].key, sizeof(rows[n].key), "MacAddressSpoofing (eth%u, switch %s)", i,
			 c->nics[i].switch_name);
		snprintf(rows[n].value, sizeof(rows[n].value), "%s", c->nics[i].mac_spoofing ? "On" : "Off");
		n++;
	}
#undef ROW
	return n;
}

char *vm_nested_report_text(const struct vm_record *r, const struct vm_nested_verdict *v)
{
	struct row rows[ROWS_MAX];
	unsigned n = vm_rows(r, rows);
	int w = 7; /* "Warning" */
	for (unsigned i = 0; i < n; i++)
		if ((int)strlen(rows[i].key) > w)
			w = (int)strlen(rows[i].key);
	struct text t = { 0 };
	tprintf(&t, "The virtual machine %s supports nested virtualization: %s\n", r->config.name,
		v->supported ? "YES" : "NO");
	for (unsigned i = 0; i < n; i++)
		tprintf(&t, "%-*s : %s\n", w, rows[i].key, rows[i].value);
	for (unsigned i = 0; i < v->nproblems; i++) {
		tprintf(&t, "%-*s : %s\n", w, v->problems[i].warning ? "Warning" : "Reason", v->problems[i].reason);
		tprintf(&t, "%-*s : %s\n", w, "Fix", v->problems[i].fix);
	}
	if (t.oom || !t.buf) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

static struct json_object *problems_json(const struct vm_nested_verdict *v, bool warnings)
{
	struct json_object *a = json_object_new_array();
	for (unsigned i = 0; i < v->nproblems; i++) {
		if (v->problems[i].warning != warnings)
			continue;
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "reason", json_object_new_string(v->problems[i].reason));
		json_object_object_add(p, "fix", json_object_new_string(v->problems[i].fix));
		json_object_array_add(a, p);
	}
	return a;
}

struct json_object *vm_nested_report_json(const struct vm_record *r, const struct vm_nested_verdict *v)
{
	const struct vm_config *c = &r->config;
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "supported", json_object_new_boolean(v->supported));
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(r->runtime.state)));
	json_object_object_add(o, "expose_virtualization_extensions",
			       json_object_new_boolean(c->expose_virtualization_extensions));
	json_object_object_add(o, "cpus", json_object_new_int64(c->cpus));
	json_object_object_add(o, "memory_startup_mib", json_object_new_int64((int64_t)c->memory_mib));
	json_object_object_add(o, "dynamic_memory_enabled", json_object_new_boolean(c->dynamic_memory_enabled));
	for (unsigned i = 0; i < c->nnics; i++) {
		struct json_object *n = json_object_new_object();
		char mac[18];
		mac_format(&c->nics[i].mac, mac);
		json_object_object_add(n, "adapter", json_object_new_int64(i));
		json_object_object_add(n, "switch", json_object_new_string(c->nics[i].switch_name));
		json_object_object_add(n, "mac", json_object_new_string(mac));
		json_object_object_add(n, "mac_spoofing", json_object_new_boolean(c->nics[i].mac_spoofing));
		json_object_array_add(a, n);
	}
	json_object_object_add(o, "adapters", a);
	json_object_object_add(o, "problems", problems_json(v, false));
	json_object_object_add(o, "warnings", problems_json(v, true));
	return o;
}
