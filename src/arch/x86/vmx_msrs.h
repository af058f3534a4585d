/* The VMX capability MSRs a nested Intel guest sees. With the extensions
 * exposed, a vCPU gets exactly what KVM reports as its feature MSRs (what
 * KVM's nested VMX can emulate); without them, none (KVM hides VMX when the
 * CPUID lacks it). AMD needs no MSRs: SVM is described by CPUID alone. */
#ifndef NESTVM_ARCH_X86_VMX_MSRS_H
#define NESTVM_ARCH_X86_VMX_MSRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_VMFUNC 0x491
#define VMX_MSRS_MAX (MSR_IA32_VMX_VMFUNC - MSR_IA32_VMX_BASIC + 1)

struct msr_value {
	uint32_t index;
	uint64_t value;
};

/* Name of a VMX capability MSR, or NULL if index is not one. */
const char *vmx_msr_name(uint32_t index);

/* From KVM's feature MSRs (index/value pairs), picks the VMX capability MSRs
 * to set on a vCPU. Returns how many were written to out (at most
 * VMX_MSRS_MAX), 0 when not exposing or when KVM reports none. */
size_t vmx_msrs_select(const struct msr_value *features, size_t n, bool expose,
		       struct msr_value *out);

/* Whether KVM's feature MSRs show nested VMX (VMX_BASIC is reported). */
bool vmx_msrs_nested_available(const struct msr_value *features, size_t n);

#endif
