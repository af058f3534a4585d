#include "host/host_facts_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_BOOL, K_FACT, K_INT, K_MODULE, K_ERRNO };

struct field {
	const char *key;
	enum kind kind;
	size_t off, size;
};

#define FIELD(name, kind) \
	{ #name, kind, offsetof(struct host_facts, name), sizeof(((struct host_facts *)0)->name) }

/* In file order; the caps follow as cap_NAME. */
static const struct field fields[] = {
	FIELD(vendor_id, K_STR),
	FIELD(model_name, K_STR),
	FIELD(cpu_vmx, K_BOOL),
	FIELD(cpu_svm, K_BOOL),
	FIELD(cpuinfo_virt, K_FACT),
	FIELD(cpu_ept, K_BOOL),
	FIELD(cpu_npt, K_BOOL),
	FIELD(under_hypervisor, K_BOOL),
	FIELD(hypervisor_sig, K_STR),
	FIELD(kvm_loaded, K_BOOL),
	FIELD(kvm_module, K_MODULE),
	FIELD(kvm_nested, K_STR),
	FIELD(misc_kvm, K_FACT),
	FIELD(misc_kvm_minor, K_INT),
	FIELD(user, K_STR),
	FIELD(dev_path, K_STR),
	FIELD(dev_present, K_BOOL),
	FIELD(dev_errno, K_ERRNO),
	FIELD(api_version, K_INT),
	FIELD(guest_vmx, K_FACT),
	FIELD(guest_svm, K_FACT),
	FIELD(guest_npt, K_FACT),
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The errors open() of /dev/kvm plausibly gives, by name. */
static const struct {
	int no;
	const char *name;
} errnos[] = {
	{ ENOENT, "ENOENT" }, { EACCES, "EACCES" }, { EPERM, "EPERM" },
	{ ENXIO, "ENXIO" },   { ENODEV, "ENODEV" }, { EBUSY, "EBUSY" },
	{ EROFS, "EROFS" },   { ENOTDIR, "ENOTDIR" },
};

static const char *const fact_names[] = { "unknown", "no", "yes" };

struct out {
	char *buf;
	size_t n, len;
	bool overflow;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->n ? o->n - o->len : 0;
	int r = vsnprintf(o->buf + (o->len < o->n ? o->len : 0), room, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= room)
		o->overflow = true;
	else
		o->len += (size_t)r;
}

static void emit_field(struct out *o, const struct host_facts *f, const struct field *fd)
{
	const char *p = (const char *)f + fd->off;
	int v;
	switch (fd->kind) {
	case K_STR:
		emit(o, *p ? "%s = %s\n" : "%s =%s\n", fd->key, p);
		return;
	case K_BOOL:
		emit(o, "%s = %d\n", fd->key, *(const bool *)p ? 1 : 0);
		return;
	case K_FACT:
		v = *(const enum fact *)p;
		emit(o, "%s = %s\n", fd->key, fact_names[v >= 0 && v <= FACT_YES ? v : 0]);
		return;
	case K_INT:
		emit(o, "%s = %d\n", fd->key, *(const int *)p);
		return;
	case K_MODULE: {
		const char *m = host_facts_module_name(*(const enum host_kvm_module *)p);
		emit(o, "%s = %s\n", fd->key, m ? m : "none");
		return;
	}
	case K_ERRNO:
		v = *(const int *)p;
		if (v == 0) {
			emit(o, "%s = ok\n", fd->key);
			return;
		}
		for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
			if (errnos[i].no == v) {
				emit(o, "%s = %s\n", fd->key, errnos[i].name);
				return;
			}
		emit(o, "%s = %d\n", fd->key, v);
		return;
	}
}

int host_facts_file_format(const struct host_facts *f, char *buf, size_t n)
{
	struct out o = { .buf = buf, .n = n };
	if (n)
		buf[0] = '\0';
	emit(&o, "# nestvm host facts (`nestvm status --record`; format: src/mgmt/host_facts_file.h)\n");
	for (size_t i = 0; i < NFIELDS; i++)
		emit_field(&o, f, &fields[i]);
	for (int c = 0; c < HOST_CAP_COUNT; c++)
		emit(&o, "cap_%s = %d\n", host_facts_cap_name(c), f->caps[c]);
	return o.overflow ? -1 : (int)o.len;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < -1 || v > 0x7fffffffL)
		return -1;
	*out = (int)v;
	return 0;
}

/* 0, or -1 when the value does not fit the field's kind. */
static int parse_value(struct host_facts *f, const struct field *fd, const char *val)
{
	char *p = (char *)f + fd->off;
	switch (fd->kind) {
	case K_STR:
		if (strlen(val) >= fd->size)
			return -1;
		memcpy(p, val, strlen(val) + 1);
		return 0;
	case K_BOOL:
		if (strcmp(val, "0") && strcmp(val, "1"))
			return -1;
		*(bool *)p = val[0] == '1';
		return 0;
	case K_FACT:
		for (int i = 0; i <= FACT_YES; i++)
			if (!strcmp(val, fact_names[i])) {
				*(enum fact *)p = (enum fact)i;
				return 0;
			}
		return -1;
	case K_INT:
		return parse_int(val, (int *)p);
	case K_MODULE:
		for (int m = HOST_KVM_NONE; m <= HOST_KVM_PVM; m++) {
			const char *name = host_facts_module_name(m);
			if (!strcmp(val, name ? name : "none")) {
				*(enum host_kvm_module *)p = (enum host_kvm_module)m;
				return 0;
			}
		}
		return -1;
	case K_ERRNO:
		if (!strcmp(val, "ok")) {
			*(int *)p = 0;
			return 0;
		}
		for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
			if (!strcmp(val, errnos[i].name)) {
				*(int *)p = errnos[i].no;
				return 0;
			}
		return parse_int(val, (int *)p) == 0 && *(int *)p > 0 ? 0 : -1;
	}
	return -1;
}

static int parse_line(struct host_facts *f, const char *key, const char *val)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (!strcmp(key, fields[i].key))
			return parse_value(f, &fields[i], val);
	if (!strncmp(key, "cap_", 4))
		for (int c = 0; c < HOST_CAP_COUNT; c++)
			if (!strcmp(key + 4, host_facts_cap_name(c)))
				return parse_int(val, &f->caps[c]);
	return -2;
}

static char *trim(char *s)
{
	s += strspn(s, " \t");
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

int host_facts_file_parse(const char *text, struct host_facts *f, struct nv_err *err)
{
	host_facts_init(f);
	char *copy = strdup(text);
	if (!copy)
		return nv_err_host(err, "out of memory");
	int rc = 0;
	unsigned lineno = 0;
	for (char *line = copy, *next; line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = nv_err_input(err, "line %u: not `key = value`", lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		int r = parse_line(f, key, val);
		if (r == -2)
			rc = nv_err_input(err, "line %u: unknown key '%s'", lineno, key);
		else if (r < 0)
			rc = nv_err_input(err, "line %u: bad value '%s' for %s", lineno, val, key);
	}
	free(copy);
	return rc;
}

int host_facts_file_load(const char *path, struct host_facts *f, struct nv_err *err)
{
	FILE *in = fopen(path, "re");
	if (!in)
		return nv_err_input(err, "host facts '%s': %s", path, strerror(errno));
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, in);
	bool bad = ferror(in);
	bool more = n == sizeof(buf) - 1 && fgetc(in) != EOF;
	fclose(in);
	if (bad)
		return nv_err_input(err, "host facts '%s': read error", path);
	if (more)
		return nv_err_input(err, "host facts '%s': larger than %zu bytes", path, sizeof(buf) - 1);
	buf[n] = '\0';
	if (host_facts_file_parse(buf, f, err) < 0) {
		/* Name the file in front of the line number. */
		if (err && err->kind == NV_ERR_INPUT) {
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			nv_err_input(err, "host facts '%s': %s", path, msg);
		}
		return -1;
	}
	return 0;
}
