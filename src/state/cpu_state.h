/* One x86 vCPU's whole state as KVM holds it, for save and restore:
 * registers, special registers, XSAVE (FPU and vectors), XCRs, every MSR
 * KVM saves (its index list: TSC, kvm-clock, SYSENTER, EFER-adjacent ...),
 * the local APIC, pending events, MP state, debug registers, the TSC rate
 * and KVM's nested state (VMX or SVM, with the L2 it may be running).
 *
 * cpu_state_get and cpu_state_put make vCPU ioctls: call them on the
 * vCPU's own thread while it is paused (vcpu_run_on), or before its thread
 * starts. cpu_state_snapshot moves the state to and from a section of the
 * state file (both directions, one function) and needs no KVM. */
#ifndef NESTVM_STATE_CPU_STATE_H
#define NESTVM_STATE_CPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/device_snapshot.h"
#include "util/err.h"

/* The most MSRs one vCPU saves (KVM lists about 100-150). */
#define CPU_STATE_MAX_MSRS 1024
/* The largest XSAVE area and nested state accepted from a file (KVM's are
 * 4-12 KiB and 8-20 KiB). */
#define CPU_STATE_MAX_XSAVE (64u << 10)
#define CPU_STATE_MAX_NESTED (64u << 10)

/* What this host's KVM offers, asked once per VM. */
struct cpu_state_host {
	struct kvm_msr_list *msr_list; /* KVM_GET_MSR_INDEX_LIST */
	uint32_t xsave_size;           /* kvm_xsave_size() */
	bool xsave2;                   /* KVM_GET_XSAVE2 exists */
	uint32_t nested_size;          /* 0: this KVM has no nested state */
	bool tsc_control;              /* KVM_SET_TSC_KHZ works */
};

int cpu_state_host_init(struct cpu_state_host *h, int kvm_fd, int vm_fd, struct nv_err *err);
void cpu_state_host_free(struct cpu_state_host *h);

struct cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
	uint32_t tsc_khz; /* 0: unknown */
	uint32_t nmsrs;
	struct kvm_msr_entry *msrs; /* nmsrs entries */
	uint32_t xsave_len;
	uint8_t *xsave;             /* struct kvm_xsave, xsave_len bytes */
	uint32_t nested_len;        /* 0: none saved */
	uint8_t *nested;            /* struct kvm_nested_state, nested_len bytes */
};

void cpu_state_free(struct cpu_state *st);
/* The vCPU's state now. Its last exit must be complete (vcpu_pause
 * guarantees it). */
int cpu_state_get(const struct cpu_state_host *h, int vcpu_fd, unsigned index,
		   struct cpu_state *st, struct nv_err *err);
/* Loads st into a vCPU created with the same CPUID, in the order KVM
 * needs (see vcpu_state.c). */
int cpu_state_put(const struct cpu_state_host *h, int vcpu_fd, unsigned index,
		   const struct cpu_state *st, struct nv_err *err);
/* Save writes st; restore fills an empty st (free it either way) and
 * refuses sizes over the caps and nested state whose header disagrees with
 * its length. -1 with s->failed naming the field. */
int cpu_state_snapshot(struct cpu_state *st, struct device_snapshot *s);

/* True when the vCPU was running its own guest (L2) when saved. */
bool cpu_state_in_guest_mode(const struct cpu_state *st);

#endif
