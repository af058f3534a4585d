#include "arch/x86/nested.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "kvm/kvm.h"

#define CPUID1_ECX_VMX (1u << 5)
#define CPUID80000001_ECX_SVM (1u << 2)

enum nested_kind nested_offered(const struct kvm_cpuid2 *supported)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(supported, 0x80000001, 0);
	if (e && (e->ecx & CPUID80000001_ECX_SVM))
		return NESTED_SVM;
	e = cpuid_find(supported, 1, 0);
	if (e && (e->ecx & CPUID1_ECX_VMX))
		return NESTED_VMX;
	return NESTED_NONE;
}

/* KVM's values of the VMX capability MSRs it reports as feature MSRs. */
static int read_vmx_features(int kvm_fd, struct nested_setup *out, struct nv_err *err)
{
	struct kvm_msr_list *list = NULL;
	int r = kvm_get_msr_feature_list(kvm_fd, &list);
	if (r < 0)
		return nv_err_host(err, "KVM does not list its feature MSRs: %s", strerror(-r));
	struct msr_value feats[VMX_MSRS_MAX];
	size_t n = 0;
	for (uint32_t i = 0; i < list->nmsrs && n < VMX_MSRS_MAX; i++) {
		uint32_t idx = list->indices[i];
		if (!vmx_msr_name(idx))
			continue;
		/* struct kvm_msrs ends in a flexible array: one entry after it. */
		union {
			struct kvm_msrs hdr;
			uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
		} q;
		memset(&q, 0, sizeof(q));
		q.hdr.nmsrs = 1;
		q.hdr.entries[0].index = idx;
		if (kvm_get_feature_msrs(kvm_fd, &q.hdr) == 1)
			feats[n++] = (struct msr_value){ idx, q.hdr.entries[0].data };
	}
	free(list);
	out->nmsrs = vmx_msrs_select(feats, n, true, out->msrs);
	if (out->nmsrs == 0)
		return nv_err_input(err, "cannot expose VT-x: KVM reports no VMX capability MSRs (is kvm_intel loaded with nested=1?)");
	return 0;
}

int nested_prepare(int kvm_fd, const struct kvm_cpuid2 *supported, bool expose,
		   struct nested_setup *out, struct nv_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!expose)
		return 0;
	out->kind = nested_offered(supported);
	if (out->kind == NESTED_NONE)
		return nv_err_input(err, "cannot expose the virtualization extensions: this host's KVM offers neither VT-x nor AMD-V to guests");
	if (out->kind == NESTED_VMX)
		return read_vmx_features(kvm_fd, out, err);
	return 0;
}

int nested_apply_vcpu(int vcpu_fd, const struct nested_setup *s, struct nv_err *err)
{
	if (s->nmsrs == 0)
		return 0;
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + VMX_MSRS_MAX * sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = (uint32_t)s->nmsrs;
	for (size_t i = 0; i < s->nmsrs; i++) {
		m.hdr.entries[i].index = s->msrs[i].index;
		m.hdr.entries[i].data = s->msrs[i].value;
	}
	int r = kvm_set_msrs(vcpu_fd, &m.hdr);
	if (r != (int)s->nmsrs)
		return nv_err_host(err, "KVM refused VMX capability MSR %u of %zu", r < 0 ? 0 : (unsigned)r, s->nmsrs);
	return 0;
}
