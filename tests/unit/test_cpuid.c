/* CPUID policy against recorded and synthetic host tables
 * (tests/unit/data/cpuid/ *.txt, loaded by cpuid_table.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "cpuid_table.h"

#define CAP 256
#define MAX_TABLES 16
#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

struct table {
	char name[128];
	struct kvm_cpuid2 *c;
};

static struct table tables[MAX_TABLES];
static int ntables;
static const unsigned ncpus_list[] = { 1, 2, 4, 64 };
#define N_NCPUS (sizeof(ncpus_list) / sizeof(ncpus_list[0]))

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct table *)a)->name, ((const struct table *)b)->name);
}

static int tables_setup(void **state)
{
	char dir[PATH_MAX];
	DIR *d = data_dir_open(dir, sizeof(dir));
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) && ntables < MAX_TABLES) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".txt"))
			continue;
		char path[PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct table *t = &tables[ntables];
		t->c = table_alloc(CAP);
		if (table_load(path, t->c, CAP) <= 0) {
			closedir(d);
			return -1;
		}
		snprintf(t->name, sizeof(t->name), "%s", de->d_name);
		ntables++;
	}
	closedir(d);
	qsort(tables, ntables, sizeof(tables[0]), name_cmp);
	return ntables >= 3 ? 0 : -1;
}

static int tables_teardown(void **state)
{
	for (int i = 0; i < ntables; i++)
		free(tables[i].c);
	return 0;
}

static enum cpu_vendor expected_vendor(const char *name)
{
	if (!strncmp(name, "intel-", 6))
		return CPU_VENDOR_INTEL;
	if (!strncmp(name, "amd-", 4))
		return CPU_VENDOR_AMD;
	return CPU_VENDOR_OTHER;
}

static bool is_amd_like(enum cpu_vendor v)
{
	return v == CPU_VENDOR_AMD || v == CPU_VENDOR_HYGON;
}

/* Copy `src`, apply the policy, require success. */
static struct kvm_cpuid2 *applied(const struct kvm_cpuid2 *src, unsigned idx, unsigned ncpus,
				  bool expose)
{
	struct kvm_cpuid2 *c = table_copy(src, CAP);
	struct cpuid_policy_input in = { .vcpu_index = idx, .ncpus = ncpus,
					 .expose_virtualization_extensions = expose };
	struct nv_err err = { 0 };
	int rc = cpuid_policy_apply(c, CAP, &in, &err);
	if (rc != 0)
		fail_msg("apply(%u/%u): %s", idx, ncpus, err.msg);
	return c;
}

/* ---- tests ---- */

static void test_loader_reads_every_table(void **state)
{
	for (int t = 0; t < ntables; t++) {
		const struct kvm_cpuid2 *c = tables[t].c;
		assert_true(c->nent >= 20);
		assert_non_null(entry(c, 0, 0));
		assert_non_null(entry(c, 1, 0));
		assert_non_null(entry(c, 0x80000000, 0));
	}
}

static void test_vendor_detection(void **state)
{
	for (int t = 0; t < ntables; t++)
		assert_int_equal(cpuid_vendor(tables[t].c), expected_vendor(tables[t].name));

	struct kvm_cpuid2 *c = table_alloc(4);
	assert_int_equal(cpuid_vendor(c), CPU_VENDOR_OTHER); /* no leaf 0 */
	struct kvm_cpuid_entry2 *e = table_add(c, 0, 0, 0, 0xd, 0, 0, 0);
	memcpy(&e->ebx, "Hygo", 4);
	memcpy(&e->edx, "nGen", 4);
	memcpy(&e->ecx, "uine", 4);
	assert_int_equal(cpuid_vendor(c), CPU_VENDOR_HYGON);
	memcpy(&e->ebx, "Genu", 4);
	memcpy(&e->edx, "ineI", 4);
	memcpy(&e->ecx, "ntel", 4);
	assert_int_equal(cpuid_vendor(c), CPU_VENDOR_INTEL);
	memcpy(&e->ecx, "ntem", 4);
	assert_int_equal(cpuid_vendor(c), CPU_VENDOR_OTHER);
	free(c);
}

static void test_hypervisor_bit_set(void **state)
{
	for (int t = 0; t < ntables; t++) {
		/* The recorded tables already have it: clear it to see it set. */
		struct kvm_cpuid2 *src = table_copy(tables[t].c, CAP);
		entry(src, 1, 0)->ecx &= ~(1u << 31);
		for (size_t n = 0; n < N_NCPUS; n++) {
			struct kvm_cpuid2 *c = applied(src, ncpus_list[n] - 1, ncpus_list[n], false);
			assert_true(entry(c, 1, 0)->ecx & (1u << 31));
			free(c);
		}
		free(src);
	}
}

/* Per-vCPU checks of every topology leaf; returns the x2APIC id. */
static uint32_t check_topology(const struct kvm_cpuid2 *src, const struct kvm_cpuid2 *c,
			       enum cpu_vendor v, unsigned idx, unsigned ncpus)
{
	const struct kvm_cpuid_entry2 *e = entry(c, 1, 0), *o = entry(src, 1, 0);
	assert_int_equal(e->ebx >> 24, idx);
	assert_int_equal((e->ebx >> 16) & 0xff, ncpus);
	assert_int_equal(e->ebx & 0xffff, o->ebx & 0xffff); /* CLFLUSH, brand */
	assert_int_equal(!!(e->edx & (1u << 28)), ncpus > 1);  /* HTT */

	uint32_t x2apic = idx;
	if (entry(c, 0, 0)->eax >= 0xb) {
		const struct kvm_cpuid_entry2 *s0 = entry(c, 0xb, 0), *s1 = entry(c, 0xb, 1),
					      *s2 = entry(c, 0xb, 2);
		assert_non_null(s0);
		assert_non_null(s1);
		assert_non_null(s2);
		assert_true(s0->flags & SIG);
		assert_true(s1->flags & SIG);
		assert_true(s2->flags & SIG);
		assert_int_equal((s0->ecx >> 8) & 0xff, 1); /* SMT */
		assert_int_equal(s0->ebx & 0xffff, 1);
		assert_int_equal(s0->ecx & 0xff, 0);
		assert_int_equal((s1->ecx >> 8) & 0xff, 2); /* core */
		assert_int_equal(s1->ecx & 0xff, 1);
		assert_int_equal(s1->ebx & 0xffff, ncpus);
		uint32_t shift = s1->eax & 0x1f;
		assert_true((1u << shift) >= ncpus);
		assert_int_equal((s2->ecx >> 8) & 0xff, 0); /* end of levels */
		assert_int_equal(s2->ecx & 0xff, 2);
		x2apic = s0->edx;
		assert_int_equal(s1->edx, x2apic);
		assert_int_equal(s2->edx, x2apic);
		assert_int_equal(x2apic, idx);
		assert_int_equal(x2apic >> shift, 0); /* one package */
	}

	if (!is_amd_like(v)) {
		for (uint32_t i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *l4 = &c->entries[i];
			if (l4->function != 4 || (l4->eax & 0x1f) == 0)
				continue;
			uint32_t cores = (l4->eax >> 26) + 1, sharing = ((l4->eax >> 14) & 0xfff) + 1;
			uint32_t level = (l4->eax >> 5) & 7;
			assert_true(cores >= ncpus || cores == 64);
			assert_int_equal(cores & (cores - 1), 0);
			assert_int_equal(sharing, level >= 3 ? cores : 1);
			assert_int_equal(l4->eax & 0x3fff, entry(src, 4, l4->index)->eax & 0x3fff);
		}
	} else {
		const struct kvm_cpuid_entry2 *x1 = entry(c, 0x80000001, 0),
					      *x8 = entry(c, 0x80000008, 0),
					      *x1e = entry(c, 0x8000001e, 0);
		assert_int_equal(!!(x1->ecx & 2), ncpus > 1); /* CmpLegacy */
		assert_int_equal(x8->ecx & 0xff, ncpus - 1); /* NC */
		uint32_t size = (x8->ecx >> 12) & 0xf;
		if (ncpus > 1) {
			assert_true((1u << size) >= ncpus);
			assert_int_equal(x2apic >> size, 0);
		}
		if (x1e) {
			assert_int_equal(x1e->eax, x2apic);
			assert_int_equal(x1e->ebx & 0xff, idx);      /* compute unit */
			assert_int_equal((x1e->ebx >> 8) & 0xff, 0); /* 1 thread/unit */
			assert_int_equal(x1e->ecx & 0x7ff, 0);       /* one node */
		}
		for (uint32_t i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *d = &c->entries[i];
			if (d->function != 0x8000001d || (d->eax & 0x1f) == 0)
				continue;
			uint32_t sharing = ((d->eax >> 14) & 0xfff) + 1;
			if (((d->eax >> 5) & 7) >= 3)
				assert_true(sharing >= ncpus);
			else
				assert_int_equal(sharing, 1);
		}
	}
	return x2apic;
}

static void test_topology_coherent(void **state)
{
	for (int t = 0; t < ntables; t++) {
		enum cpu_vendor v = cpuid_vendor(tables[t].c);
		/* As recorded, and with HTT / CmpLegacy flipped so that both
		 * directions of each fix are seen. */
		struct kvm_cpuid2 *flipped = table_copy(tables[t].c, CAP);
		entry(flipped, 1, 0)->edx ^= 1u << 28;
		entry(flipped, 0x80000001, 0)->ecx ^= is_amd_like(v) ? 2 : 0;
		const struct kvm_cpuid2 *srcs[2] = { tables[t].c, flipped };
		for (int s = 0; s < 2; s++) {
			for (size_t n = 0; n < N_NCPUS; n++) {
				unsigned ncpus = ncpus_list[n];
				bool seen[256] = { false };
				for (unsigned idx = 0; idx < ncpus; idx++) {
					struct kvm_cpuid2 *c = applied(srcs[s], idx, ncpus, false);
					uint32_t id = check_topology(srcs[s], c, v, idx, ncpus);
					assert_true(id < 256);
					assert_false(seen[id]); /* APIC ids distinct */
					seen[id] = true;
					free(c);
				}
			}
		}
		free(flipped);
	}
}

/* A host with leaf 0x1F (and a die level) gets the same two levels there;
 * host subleaves past them become invalid. */
static void test_leaf_1f_rewritten(void **state)
{
	const struct kvm_cpuid2 *intel = NULL;
	for (int t = 0; t < ntables; t++)
		if (cpuid_vendor(tables[t].c) == CPU_VENDOR_INTEL)
			intel = tables[t].c;
	assert_non_null(intel);
	struct kvm_cpuid2 *src = table_copy(intel, CAP);
	entry(src, 0, 0)->eax = 0x1f;
	table_add(src, 0x1f, 0, SIG, 1, 2, 0x100, 0x1a);
	table_add(src, 0x1f, 1, SIG, 7, 0x50, 0x201, 0x1a);
	table_add(src, 0x1f, 2, SIG, 8, 0xa0, 0x502, 0x1a); /* die */
	table_add(src, 0x1f, 3, SIG, 0, 0, 0x3, 0x1a);
	/* An entry without the significant-index flag would answer every
	 * subleaf: the policy must set it. */
	entry(src, 0xb, 0)->flags = 0;
	struct kvm_cpuid2 *c = applied(src, 3, 4, false);
	for (uint32_t i = 0; i < 4; i++) {
		const struct kvm_cpuid_entry2 *e = entry(c, 0x1f, i), *b = entry(c, 0xb, i > 2 ? 2 : i);
		assert_non_null(e);
		assert_true(e->flags & SIG);
		assert_true(b->flags & SIG);
		assert_int_equal(e->edx, 3);
		assert_int_equal(e->ecx & 0xff, i);
		assert_int_equal((e->ecx >> 8) & 0xff, i < 2 ? i + 1 : 0);
		assert_int_equal(e->eax, b->eax);
		assert_int_equal(e->ebx, b->ebx);
	}
	assert_int_equal(entry(c, 0x1f, 1)->ebx, 4);
	assert_int_equal(entry(c, 0x1f, 1)->eax, 2);
	free(c);
	free(src);
}

static void check_signature(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = entry(c, 0x40000000, 0);
	assert_non_null(e);
	char sig[12];
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(e->eax, 0x40000001);
	assert_non_null(entry(c, 0x40000001, 0));
}

static void test_kvm_signature(void **state)
{
	for (int t = 0; t < ntables; t++) {
		const struct kvm_cpuid2 *src = tables[t].c;
		struct kvm_cpuid2 *c = applied(src, 0, 2, false);
		check_signature(c);
		/* The features KVM reported are kept. */
		assert_int_equal(entry(c, 0x40000001, 0)->eax, entry(src, 0x40000001, 0)->eax);
		free(c);

		/* A wrong signature and max leaf are repaired. */
		struct kvm_cpuid2 *bad = table_copy(src, CAP);
		entry(bad, 0x40000000, 0)->eax = 0x40000010;
		entry(bad, 0x40000000, 0)->ecx = 0;
		c = applied(bad, 0, 2, false);
		check_signature(c);
		free(c);

		/* Missing leaves are appended. */
		table_remove(bad, 0x40000000);
		table_remove(bad, 0x40000001);
		c = applied(bad, 0, 2, false);
		check_signature(c);
		assert_int_equal(entry(c, 0x40000001, 0)->eax, 0);
		free(c);
		free(bad);
	}
}

/* SVM as a KVM with nested=1 on AMD reports it (the recorded host has none). */
static void add_svm(struct kvm_cpuid2 *c)
{
	entry(c, 0x80000001, 0)->ecx |= 1u << 2;
	struct kvm_cpuid_entry2 *a = entry(c, 0x8000000a, 0);
	a->eax = 1;
	a->ebx = 0x8000;
	a->edx = 0x1b8bf;
}

static void test_virtualization_extensions(void **state)
{
	for (int t = 0; t < ntables; t++) {
		enum cpu_vendor v = cpuid_vendor(tables[t].c);
		struct kvm_cpuid2 *src = table_copy(tables[t].c, CAP);
		if (is_amd_like(v))
			add_svm(src);
		else
			assert_true(entry(src, 1, 0)->ecx & (1u << 5)); /* VMX */
		for (size_t n = 0; n < N_NCPUS; n++) {
			struct kvm_cpuid2 *hidden = applied(src, 0, ncpus_list[n], false);
			struct kvm_cpuid2 *shown = applied(src, 0, ncpus_list[n], true);
			assert_false(entry(hidden, 1, 0)->ecx & (1u << 5));
			assert_int_equal(entry(shown, 1, 0)->ecx & (1u << 5),
					 entry(src, 1, 0)->ecx & (1u << 5));
			if (is_amd_like(v)) {
				const struct kvm_cpuid_entry2 *h = entry(hidden, 0x8000000a, 0),
							      *s = entry(shown, 0x8000000a, 0),
							      *o = entry(src, 0x8000000a, 0);
				assert_false(entry(hidden, 0x80000001, 0)->ecx & (1u << 2));
				assert_true(entry(shown, 0x80000001, 0)->ecx & (1u << 2));
				assert_int_equal(h->eax | h->ebx | h->ecx | h->edx, 0);
				assert_memory_equal(s, o, sizeof(*s));
			} else {
				assert_true(entry(shown, 1, 0)->ecx & (1u << 5));
			}
			free(hidden);
			free(shown);
		}
		free(src);
	}
}

static bool leaf_touched(uint32_t fn, enum cpu_vendor v)
{
	size_t n;
	const struct cpuid_edit *ed = cpuid_policy_edits(&n);
	for (size_t i = 0; i < n; i++)
		if (ed[i].leaf == fn)
			return true;
	if (fn == 1 || fn == 0xb || fn == 0x1f)
		return true;
	if (is_amd_like(v))
		return fn == 0x80000001 || fn == 0x80000008 || fn == 0x8000001d ||
		       fn == 0x8000001e;
	return fn == 4;
}

static void test_other_leaves_untouched(void **state)
{
	for (int t = 0; t < ntables; t++) {
		const struct kvm_cpuid2 *src = tables[t].c;
		enum cpu_vendor v = cpuid_vendor(src);
		for (size_t n = 0; n < N_NCPUS; n++) {
			struct kvm_cpuid2 *c = applied(src, ncpus_list[n] / 2, ncpus_list[n], false);
			assert_true(c->nent >= src->nent);
			unsigned checked = 0;
			for (uint32_t i = 0; i < src->nent; i++) {
				const struct kvm_cpuid_entry2 *o = &src->entries[i];
				/* Order and position are kept too. */
				assert_int_equal(c->entries[i].function, o->function);
				assert_int_equal(c->entries[i].index, o->index);
				if (leaf_touched(o->function, v))
					continue;
				assert_memory_equal(&c->entries[i], o, sizeof(*o));
				checked++;
			}
			assert_true(checked > src->nent / 2);
			for (uint32_t i = src->nent; i < c->nent; i++)
				assert_true(leaf_touched(c->entries[i].function, v));
			free(c);
		}
	}
}

static void test_capacity_overflow(void **state)
{
	struct cpuid_policy_input in = { .vcpu_index = 0, .ncpus = 2 };
	for (int t = 0; t < ntables; t++) {
		/* Without leaf 0xB subleaves 1-2 and the KVM leaves, 4 entries must be added. */
		struct kvm_cpuid2 *src = table_copy(tables[t].c, CAP);
		table_remove(src, 0x40000000);
		table_remove(src, 0x40000001);
		table_remove(src, 0xb);
		table_add(src, 0xb, 0, SIG, 0, 0, 0, 0);
		unsigned base = src->nent;
		for (unsigned cap = base; cap <= base + 5; cap++) {
			struct kvm_cpuid2 *c = table_copy(src, CAP);
			struct nv_err err = { 0 };
			int rc = cpuid_policy_apply(c, cap, &in, &err);
			if (cap < base + 4) {
				assert_int_equal(rc, -1);
				assert_int_equal(err.kind, NV_ERR_HOST);
				assert_int_equal(c->nent, src->nent);
				assert_memory_equal(c, src, table_bytes(src)); /* unchanged */
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(c->nent, base + 4);
			}
			free(c);
		}
		free(src);
	}
	/* nent already above capacity */
	struct kvm_cpuid2 *c = table_copy(tables[0].c, CAP);
	struct nv_err err = { 0 };
	assert_int_equal(cpuid_policy_apply(c, c->nent - 1, &in, &err), -1);
	assert_int_equal(err.kind, NV_ERR_HOST);
	free(c);
}

static void test_bad_input(void **state)
{
	const struct { unsigned idx, ncpus; } bad[] = { { 0, 0 }, { 2, 2 }, { 7, 3 },
							{ 0, CPUID_MAX_CPUS + 1 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kvm_cpuid2 *c = table_copy(tables[0].c, CAP);
		struct cpuid_policy_input in = { .vcpu_index = bad[i].idx, .ncpus = bad[i].ncpus };
		struct nv_err err = { 0 };
		assert_int_equal(cpuid_policy_apply(c, CAP, &in, &err), -1);
		assert_int_equal(err.kind, NV_ERR_INPUT);
		assert_true(strlen(err.msg) > 0);
		assert_memory_equal(c, tables[0].c, table_bytes(tables[0].c));
		free(c);
	}
	/* The largest count works and gives the last vCPU APIC id 254. */
	struct kvm_cpuid2 *c = applied(tables[0].c, CPUID_MAX_CPUS - 1, CPUID_MAX_CPUS, false);
	assert_int_equal(entry(c, 1, 0)->ebx >> 24, 254);
	free(c);
}

static void test_idempotent(void **state)
{
	for (int t = 0; t < ntables; t++) {
		struct kvm_cpuid2 *once = applied(tables[t].c, 1, 4, false);
		struct kvm_cpuid2 *twice = applied(once, 1, 4, false);
		assert_int_equal(once->nent, twice->nent);
		assert_memory_equal(once, twice, table_bytes(once));
		free(once);
		free(twice);
	}
}

static void test_engine_masks_and_subleaves(void **state)
{
	struct kvm_cpuid2 *c = table_alloc(8);
	table_add(c, 7, 0, SIG, 0xffff0000, 0, 0, 0);
	table_add(c, 7, 1, SIG, 0xffff0000, 0, 0, 0);
	table_add(c, 8, 0, 0, 0, 0, 0, 0);
	const struct cpuid_edit edits[] = {
		{ 7, CPUID_SUBLEAF_ANY, CPUID_EAX, 0x00ff00ff, 0x12345678, 0, "any" },
		{ 7, 1, CPUID_EDX, 0xf, 0xa, 0, "one subleaf" },
		{ 8, CPUID_SUBLEAF_ANY, CPUID_EBX, ~0u, 5, CPUID_WHEN_HIDE_VIRT, "conditional" },
		{ 9, CPUID_SUBLEAF_ANY, CPUID_EBX, ~0u, 5, 0, "absent leaf" },
	};
	cpuid_edits_apply(c, edits, 4, 0);
	assert_int_equal(entry(c, 7, 0)->eax, 0xff340078);
	assert_int_equal(entry(c, 7, 1)->eax, 0xff340078);
	assert_int_equal(entry(c, 7, 0)->edx, 0);
	assert_int_equal(entry(c, 7, 1)->edx, 0xa);
	assert_int_equal(entry(c, 8, 0)->ebx, 0); /* condition not met */
	assert_int_equal(c->nent, 3);             /* nothing created */
	cpuid_edits_apply(c, edits, 4, CPUID_WHEN_HIDE_VIRT);
	assert_int_equal(entry(c, 8, 0)->ebx, 5);

	/* cpuid_find: any index matches a non-indexed leaf. */
	assert_ptr_equal(cpuid_find(c, 8, 3), entry(c, 8, 0));
	assert_ptr_equal(cpuid_find(c, 7, 1), entry(c, 7, 1));
	assert_null(cpuid_find(c, 7, 2));
	free(c);

	/* Every policy edit says why. */
	size_t n;
	const struct cpuid_edit *ed = cpuid_policy_edits(&n);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_true(ed[i].why && ed[i].why[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_reads_every_table),
		cmocka_unit_test(test_vendor_detection),
		cmocka_unit_test(test_hypervisor_bit_set),
		cmocka_unit_test(test_topology_coherent),
		cmocka_unit_test(test_leaf_1f_rewritten),
		cmocka_unit_test(test_kvm_signature),
		cmocka_unit_test(test_virtualization_extensions),
		cmocka_unit_test(test_other_leaves_untouched),
		cmocka_unit_test(test_capacity_overflow),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_idempotent),
		cmocka_unit_test(test_engine_masks_and_subleaves),
	};
	return cmocka_run_group_tests(tests, tables_setup, tables_teardown);
}
