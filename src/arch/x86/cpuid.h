/* Guest CPUID policy. The VMM reads KVM_GET_SUPPORTED_CPUID once, copies it
 * per vCPU, runs cpuid_policy_apply() on the copy and hands the result to
 * KVM_SET_CPUID2. The static part of the policy is a table of bit edits
 * (cpuid.c); the dynamic part (APIC ids, topology) is computed from the
 * vCPU index and the vCPU count. */
#ifndef NESTVM_ARCH_X86_CPUID_H
#define NESTVM_ARCH_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Highest vCPU count the policy can describe: leaf 1 EBX holds the APIC id
 * and the logical processor count in 8 bits each, and xAPIC id 0xff is the
 * broadcast address. */
#define CPUID_MAX_CPUS 255u

#define CPUID_SUBLEAF_ANY 0xffffffffu

/* Most entries cpuid_policy_apply() appends: allocate the table with at
 * least this much room beyond what KVM_GET_SUPPORTED_CPUID returned. */
#define CPUID_POLICY_EXTRA_ENTRIES 8u

enum cpu_vendor {
	CPU_VENDOR_OTHER = 0,
	CPU_VENDOR_INTEL,
	CPU_VENDOR_AMD,
	CPU_VENDOR_HYGON,
};

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* Conditions an edit is subject to (cpuid_edit.when); 0 = always. */
#define CPUID_WHEN_HIDE_VIRT (1u << 0) /* expose_virtualization_extensions off */

/* One edit: in every entry of `leaf` whose index matches `subleaf` (or any
 * index), reg = (reg & ~mask) | (value & mask). Leaves absent from the table
 * are not created by an edit. */
struct cpuid_edit {
	uint32_t leaf;
	uint32_t subleaf; /* or CPUID_SUBLEAF_ANY */
	enum cpuid_reg reg;
	uint32_t mask;
	uint32_t value;
	unsigned when; /* CPUID_WHEN_* bits that must all hold */
	const char *why;
};

struct cpuid_policy_input {
	unsigned vcpu_index; /* = KVM vcpu id = initial (x2)APIC id */
	unsigned ncpus;      /* 1..CPUID_MAX_CPUS; one socket, one thread per core */
	/* Keep VMX / SVM / leaf 0x8000000A as KVM reports them (nested guests).
	 * Off by default: a guest that sees VMX/SVM tries to use it. */
	bool expose_virtualization_extensions;
};

/* Rewrites `cpuid` (nent entries, room for `capacity`) in place into the CPUID
 * of vCPU `in->vcpu_index`. May append entries KVM left out (topology
 * subleaves of leaf 0xB/0x1F, the KVM signature leaves). Returns 0, or -1 with
 * `err` filled: bad input (NV_ERR_INPUT) or not enough capacity (NV_ERR_HOST);
 * on error the table is unchanged. Idempotent. */
int cpuid_policy_apply(struct kvm_cpuid2 *cpuid, unsigned capacity,
		       const struct cpuid_policy_input *in, struct nv_err *err);

/* From the leaf 0 signature; OTHER when leaf 0 is missing. */
enum cpu_vendor cpuid_vendor(const struct kvm_cpuid2 *cpuid);

/* The entry for (leaf, subleaf), or NULL. For a leaf whose index is not
 * significant, any subleaf matches, as the CPU itself does. */
struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *cpuid, uint32_t leaf,
				    uint32_t subleaf);

/* The engine: applies the edits whose conditions are all in `conds`. */
void cpuid_edits_apply(struct kvm_cpuid2 *cpuid, const struct cpuid_edit *edits,
		       size_t n, unsigned conds);

/* The static policy table, for tests and for printing the policy. */
const struct cpuid_edit *cpuid_policy_edits(size_t *count);

#endif
