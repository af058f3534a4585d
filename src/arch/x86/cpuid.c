#include "arch/x86/cpuid.h"

#include <string.h>

#define BIT(n) (1u << (n))
#define ALL 0xffffffffu
#define ANY CPUID_SUBLEAF_ANY
#define SIGNIFICANT KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* "KVMKVMKVM\0\0\0" as EBX, ECX, EDX of leaf 0x40000000. */
#define KVM_SIG_EBX 0x4b4d564bu
#define KVM_SIG_ECX 0x564b4d56u
#define KVM_SIG_EDX 0x0000004du

#define LEAF_KVM_SIG 0x40000000u
#define LEAF_KVM_FEATURES 0x40000001u

/* The static policy. Everything else KVM reports is passed through. */
static const struct cpuid_edit policy_edits[] = {
	{ 0x1, ANY, CPUID_ECX, BIT(31), BIT(31), 0,
	  "hypervisor present: guests skip bare-metal-only probing" },
	{ 0x1, ANY, CPUID_ECX, BIT(5), 0, CPUID_WHEN_HIDE_VIRT,
	  "VMX: hide Intel VT-x unless nested virtualization is asked for" },
	{ 0x80000001, ANY, CPUID_ECX, BIT(2), 0, CPUID_WHEN_HIDE_VIRT,
	  "SVM: hide AMD-V unless nested virtualization is asked for" },
	{ 0x8000000a, ANY, CPUID_EAX, ALL, 0, CPUID_WHEN_HIDE_VIRT,
	  "SVM revision: none without SVM" },
	{ 0x8000000a, ANY, CPUID_EBX, ALL, 0, CPUID_WHEN_HIDE_VIRT,
	  "SVM ASID count: none without SVM" },
	{ 0x8000000a, ANY, CPUID_ECX, ALL, 0, CPUID_WHEN_HIDE_VIRT,
	  "reserved" },
	{ 0x8000000a, ANY, CPUID_EDX, ALL, 0, CPUID_WHEN_HIDE_VIRT,
	  "SVM features (NPT, nRIP save, ...): none without SVM" },
	{ LEAF_KVM_SIG, ANY, CPUID_EAX, ALL, LEAF_KVM_FEATURES, 0,
	  "highest paravirtual leaf: the KVM feature leaf" },
	{ LEAF_KVM_SIG, ANY, CPUID_EBX, ALL, KVM_SIG_EBX, 0, "signature 'KVMK'" },
	{ LEAF_KVM_SIG, ANY, CPUID_ECX, ALL, KVM_SIG_ECX, 0, "signature 'VMKV'" },
	{ LEAF_KVM_SIG, ANY, CPUID_EDX, ALL, KVM_SIG_EDX, 0, "signature 'M\\0\\0\\0'" },
};

const struct cpuid_edit *cpuid_policy_edits(size_t *count)
{
	if (count)
		*count = sizeof(policy_edits) / sizeof(policy_edits[0]);
	return policy_edits;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	case CPUID_EDX:
		return &e->edx;
	}
	return NULL;
}

void cpuid_edits_apply(struct kvm_cpuid2 *cpuid, const struct cpuid_edit *edits,
		       size_t n, unsigned conds)
{
	for (size_t i = 0; i < n; i++) {
		const struct cpuid_edit *ed = &edits[i];
		if ((ed->when & conds) != ed->when)
			continue;
		for (uint32_t j = 0; j < cpuid->nent; j++) {
			struct kvm_cpuid_entry2 *e = &cpuid->entries[j];
			if (e->function != ed->leaf)
				continue;
			if (ed->subleaf != ANY && e->index != ed->subleaf)
				continue;
			uint32_t *r = entry_reg(e, ed->reg);
			if (r)
				*r = (*r & ~ed->mask) | (ed->value & ed->mask);
		}
	}
}

struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *cpuid, uint32_t leaf,
				    uint32_t subleaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == leaf &&
		    (!(e->flags & SIGNIFICANT) || e->index == subleaf))
			return (struct kvm_cpuid_entry2 *)e;
	}
	return NULL;
}

/* Exact (leaf, index) presence, used to decide what to append. */
static bool has_entry(const struct kvm_cpuid2 *cpuid, uint32_t leaf, uint32_t index)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == leaf && cpuid->entries[i].index == index)
			return true;
	return false;
}

static bool has_leaf(const struct kvm_cpuid2 *cpuid, uint32_t leaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == leaf)
			return true;
	return false;
}

enum cpu_vendor cpuid_vendor(const struct kvm_cpuid2 *cpuid)
{
	const struct kvm_cpuid_entry2 *e = cpuid ? cpuid_find(cpuid, 0, 0) : NULL;
	if (!e)
		return CPU_VENDOR_OTHER;
	char sig[12];
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->edx, 4);
	memcpy(sig + 8, &e->ecx, 4);
	if (!memcmp(sig, "GenuineIntel", 12))
		return CPU_VENDOR_INTEL;
	if (!memcmp(sig, "AuthenticAMD", 12))
		return CPU_VENDOR_AMD;
	if (!memcmp(sig, "HygonGenuine", 12))
		return CPU_VENDOR_HYGON;
	return CPU_VENDOR_OTHER;
}

static uint32_t max_basic_leaf(const struct kvm_cpuid2 *cpuid)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 0, 0);
	return e ? e->eax : 0;
}

/* Entries the policy needs that KVM may leave out. */
struct want {
	uint32_t leaf, index, flags;
};

#define MAX_WANTS CPUID_POLICY_EXTRA_ENTRIES

static unsigned wanted_entries(const struct kvm_cpuid2 *cpuid, struct want *w)
{
	unsigned n = 0;
	uint32_t max = max_basic_leaf(cpuid);

	/* Guests look for the KVM signature before using kvm-clock etc. */
	if (!has_entry(cpuid, LEAF_KVM_SIG, 0))
		w[n++] = (struct want){ LEAF_KVM_SIG, 0, 0 };
	if (!has_entry(cpuid, LEAF_KVM_FEATURES, 0))
		w[n++] = (struct want){ LEAF_KVM_FEATURES, 0, 0 };

	/* Topology: SMT level, core level, and the invalid level that ends
	 * the enumeration. 0x1F only when the host has it. */
	const uint32_t topo[2] = { 0xb, 0x1f };
	for (int t = 0; t < 2; t++) {
		if (max < topo[t] || (topo[t] == 0x1f && !has_leaf(cpuid, 0x1f)))
			continue;
		for (uint32_t i = 0; i < 3; i++)
			if (!has_entry(cpuid, topo[t], i))
				w[n++] = (struct want){ topo[t], i, SIGNIFICANT };
	}
	return n;
}

/* Smallest s with 2^s >= n: the APIC id bits the core level takes. */
static uint32_t order_base_2(uint32_t n)
{
	uint32_t s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

static void policy_leaf1(struct kvm_cpuid2 *cpuid, uint32_t id, uint32_t ncpus)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 1, 0);
	if (!e)
		return;
	/* [31:24] initial APIC id, [23:16] logical processors per package;
	 * [15:8] CLFLUSH line size and [7:0] brand index are kept. */
	e->ebx = (e->ebx & 0xffffu) | (id << 24) | (ncpus << 16);
	/* HTT: the count above is valid (more than one logical processor). */
	if (ncpus > 1)
		e->edx |= BIT(28);
	else
		e->edx &= ~BIT(28);
}

/* Leaf 0xB / 0x1F: level 0 = SMT (one thread), level 1 = core (ncpus),
 * further levels invalid. EDX is the x2APIC id at every level. */
static void policy_topology_leaf(struct kvm_cpuid2 *cpuid, uint32_t leaf,
				 uint32_t id, uint32_t ncpus)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function != leaf)
			continue;
		e->flags |= SIGNIFICANT;
		e->edx = id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | 0; /* type SMT */
		} else if (e->index == 1) {
			e->eax = order_base_2(ncpus);
			e->ebx = ncpus;
			e->ecx = (2u << 8) | 1; /* type core */
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = e->index & 0xffu; /* type 0: invalid */
		}
	}
}

/* Deterministic cache leaves (Intel 4, AMD 0x8000001D) share EAX's layout:
 * [4:0] type (0 = no more caches), [7:5] level, [25:14] logical processors
 * sharing the cache - 1. L1/L2 are per core (one thread), L3 per package.
 * Intel's leaf 4 also has [31:26] addressable core ids per package - 1. */
static void policy_cache_leaf(struct kvm_cpuid2 *cpuid, uint32_t leaf,
			      uint32_t ncpus, bool cores_field)
{
	uint32_t ids = (1u << order_base_2(ncpus)) - 1;
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function != leaf || (e->eax & 0x1f) == 0)
			continue;
		uint32_t level = (e->eax >> 5) & 7;
		uint32_t sharing = level >= 3 ? ids : 0;
		if (sharing > 0xfff)
			sharing = 0xfff;
		e->eax = (e->eax & ~(0xfffu << 14)) | (sharing << 14);
		if (cores_field) {
			uint32_t cores = ids > 63 ? 63 : ids;
			e->eax = (e->eax & 0x03ffffffu) | (cores << 26);
		}
	}
}

static void policy_amd(struct kvm_cpuid2 *cpuid, uint32_t id, uint32_t ncpus)
{
	struct kvm_cpuid_entry2 *e;

	/* CmpLegacy: the HTT count of leaf 1 means cores, not threads. */
	if ((e = cpuid_find(cpuid, 0x80000001, 0))) {
		if (ncpus > 1)
			e->ecx |= BIT(1);
		else
			e->ecx &= ~BIT(1);
	}
	/* ECX [7:0] NC = cores - 1, [15:12] ApicIdSize = core id bits;
	 * [11:8] reserved. [17:16] PerfTscSize is kept. */
	if ((e = cpuid_find(cpuid, 0x80000008, 0)))
		e->ecx = (e->ecx & ~0xffffu) | (order_base_2(ncpus) << 12) | (ncpus - 1);
	policy_cache_leaf(cpuid, 0x8000001d, ncpus, false);
	/* Extended APIC id; compute unit id = core id, one thread per unit;
	 * one node (node id 0, nodes per processor - 1 = 0). */
	if ((e = cpuid_find(cpuid, 0x8000001e, 0))) {
		e->eax = id;
		e->ebx = id & 0xffu;
		e->ecx = 0;
	}
}

int cpuid_policy_apply(struct kvm_cpuid2 *cpuid, unsigned capacity,
		       const struct cpuid_policy_input *in, struct nv_err *err)
{
	if (!cpuid || !in)
		return nv_err_host(err, "cpuid policy: no table or no input");
	if (in->ncpus == 0 || in->ncpus > CPUID_MAX_CPUS)
		return nv_err_input(err, "cpuid policy: %u vCPUs, must be 1..%u",
				    in->ncpus, CPUID_MAX_CPUS);
	if (in->vcpu_index >= in->ncpus)
		return nv_err_input(err, "cpuid policy: vCPU index %u out of range for %u vCPUs",
				    in->vcpu_index, in->ncpus);
	if (cpuid->nent > capacity)
		return nv_err_host(err, "cpuid policy: table has %u entries, capacity %u",
				   cpuid->nent, capacity);

	/* Check room before touching anything so a failure leaves the table
	 * as it was. */
	struct want w[MAX_WANTS];
	unsigned nw = wanted_entries(cpuid, w);
	if (nw > capacity - cpuid->nent)
		return nv_err_host(err, "cpuid policy: %u entries needed, capacity %u",
				   cpuid->nent + nw, capacity);
	for (unsigned i = 0; i < nw; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[cpuid->nent++];
		memset(e, 0, sizeof(*e));
		e->function = w[i].leaf;
		e->index = w[i].index;
		e->flags = w[i].flags;
	}

	unsigned conds = in->expose_virtualization_extensions ? 0 : CPUID_WHEN_HIDE_VIRT;
	size_t n;
	const struct cpuid_edit *edits = cpuid_policy_edits(&n);
	cpuid_edits_apply(cpuid, edits, n, conds);

	uint32_t id = in->vcpu_index, ncpus = in->ncpus;
	enum cpu_vendor vendor = cpuid_vendor(cpuid);
	policy_leaf1(cpuid, id, ncpus);
	/* wanted_entries() created these only where the guest may read them. */
	policy_topology_leaf(cpuid, 0xb, id, ncpus);
	policy_topology_leaf(cpuid, 0x1f, id, ncpus);
	if (vendor == CPU_VENDOR_AMD || vendor == CPU_VENDOR_HYGON)
		policy_amd(cpuid, id, ncpus);
	else
		policy_cache_leaf(cpuid, 4, ncpus, true);
	return 0;
}
