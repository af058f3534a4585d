/* Exposing the host's virtualization extensions to a VM (Hyper-V's
 * ExposeVirtualizationExtensions): checks that KVM can give them, and the
 * per-vCPU state beyond CPUID (the VMX capability MSRs on Intel). The CPUID
 * bits themselves are the CPUID policy's job (cpuid.c). */
#ifndef NESTVM_ARCH_X86_NESTED_H
#define NESTVM_ARCH_X86_NESTED_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "arch/x86/vmx_msrs.h"
#include "util/err.h"

enum nested_kind {
	NESTED_NONE,
	NESTED_SVM, /* AMD-V */
	NESTED_VMX, /* Intel VT-x */
};

struct nested_setup {
	enum nested_kind kind;
	size_t nmsrs;
	struct msr_value msrs[VMX_MSRS_MAX];
};

/* Which extension KVM's supported CPUID offers to guests (NONE if neither:
 * no hardware support, the module's nested parameter off, a paravirtual
 * KVM, or a host hypervisor that hides them). */
enum nested_kind nested_offered(const struct kvm_cpuid2 *supported);

/* With expose, requires an offered extension (else -1, NV_ERR_INPUT with a
 * generic cause; the caller may add a precise one) and collects the VMX MSRs
 * KVM reports. Without expose, an empty setup. */
int nested_prepare(int kvm_fd, const struct kvm_cpuid2 *supported, bool expose,
		   struct nested_setup *out, struct nv_err *err);
/* Sets the collected MSRs on a vCPU (nothing to do for SVM or NONE). */
int nested_apply_vcpu(int vcpu_fd, const struct nested_setup *s, struct nv_err *err);

#endif
