/* Test helpers for CPUID tables: allocation, exact lookup, editing, and the
 * loader of the recorded tables in tests/unit/data/cpuid/ *.txt (one entry
 * per line, "function index flags eax ebx ecx edx" in hex, '#' comments). */
#ifndef NESTVM_TESTS_UNIT_CPUID_TABLE_H
#define NESTVM_TESTS_UNIT_CPUID_TABLE_H

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline struct kvm_cpuid2 *table_alloc(unsigned cap)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		abort();
	return c;
}

static inline struct kvm_cpuid2 *table_copy(const struct kvm_cpuid2 *src, unsigned cap)
{
	struct kvm_cpuid2 *c = table_alloc(cap);
	c->nent = src->nent;
	memcpy(c->entries, src->entries, src->nent * sizeof(src->entries[0]));
	return c;
}

static inline size_t table_bytes(const struct kvm_cpuid2 *c)
{
	return sizeof(*c) + c->nent * sizeof(c->entries[0]);
}

/* Exact (function, index) lookup, ignoring the significant-index flag. */
static inline struct kvm_cpuid_entry2 *entry(const struct kvm_cpuid2 *c, uint32_t fn,
					      uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return (struct kvm_cpuid_entry2 *)&c->entries[i];
	return NULL;
}

static inline void table_remove(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t j = 0;
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function != fn)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

static inline struct kvm_cpuid_entry2 *table_add(struct kvm_cpuid2 *c, uint32_t fn,
						 uint32_t idx, uint32_t flags, uint32_t a,
						 uint32_t b, uint32_t cx, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = flags;
	e->eax = a;
	e->ebx = b;
	e->ecx = cx;
	e->edx = d;
	return e;
}

/* Returns the entry count, or -1 on a malformed line. */
static inline int table_load(const char *path, struct kvm_cpuid2 *c, unsigned cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	c->nent = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		unsigned v[7];
		if (sscanf(p, "%x %x %x %x %x %x %x", &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5], &v[6]) != 7 || c->nent >= cap) {
			fclose(f);
			return -1;
		}
		table_add(c, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
	}
	fclose(f);
	return (int)c->nent;
}

/* The data folder relative to the working directory (the repo root under
 * make/tests/run) or to the binary (build/tests/unit/test_cpuid). */
static inline DIR *data_dir_open(char *path, size_t n)
{
	snprintf(path, n, "tests/unit/data/cpuid");
	DIR *d = opendir(path);
	if (d)
		return d;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return NULL;
	exe[len] = '\0';
	snprintf(path, n, "%s/../../../tests/unit/data/cpuid", dirname(exe));
	return opendir(path);
}

#endif
