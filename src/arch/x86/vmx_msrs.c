#include "arch/x86/vmx_msrs.h"

static const char *const names[VMX_MSRS_MAX] = {
	"IA32_VMX_BASIC", "IA32_VMX_PINBASED_CTLS", "IA32_VMX_PROCBASED_CTLS",
	"IA32_VMX_EXIT_CTLS", "IA32_VMX_ENTRY_CTLS", "IA32_VMX_MISC",
	"IA32_VMX_CR0_FIXED0", "IA32_VMX_CR0_FIXED1", "IA32_VMX_CR4_FIXED0",
	"IA32_VMX_CR4_FIXED1", "IA32_VMX_VMCS_ENUM", "IA32_VMX_PROCBASED_CTLS2",
	"IA32_VMX_EPT_VPID_CAP", "IA32_VMX_TRUE_PINBASED_CTLS",
	"IA32_VMX_TRUE_PROCBASED_CTLS", "IA32_VMX_TRUE_EXIT_CTLS",
	"IA32_VMX_TRUE_ENTRY_CTLS", "IA32_VMX_VMFUNC",
};

const char *vmx_msr_name(uint32_t index)
{
	if (index < MSR_IA32_VMX_BASIC || index > MSR_IA32_VMX_VMFUNC)
		return NULL;
	return names[index - MSR_IA32_VMX_BASIC];
}

size_t vmx_msrs_select(const struct msr_value *features, size_t n, bool expose,
		       struct msr_value *out)
{
	if (!expose || !vmx_msrs_nested_available(features, n))
		return 0;
	size_t k = 0;
	/* In index order, each once, whatever order or repeats KVM used. */
	for (uint32_t idx = MSR_IA32_VMX_BASIC; idx <= MSR_IA32_VMX_VMFUNC; idx++) {
		for (size_t i = 0; i < n; i++) {
			if (features[i].index == idx) {
				out[k++] = features[i];
				break;
			}
		}
	}
	return k;
}

bool vmx_msrs_nested_available(const struct msr_value *features, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (features[i].index == MSR_IA32_VMX_BASIC && features[i].value != 0)
			return true;
	return false;
}
