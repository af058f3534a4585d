/* Records what this host's KVM offers guests, as test data: one line per
 * KVM_GET_SUPPORTED_CPUID entry ("function index flags eax ebx ecx edx",
 * hex), then "msr INDEX VALUE" for each feature MSR. Used to make the
 * recorded tables under tests/unit/data/ (e.g. inside the lab host). */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0) {
		perror("/dev/kvm");
		return 1;
	}
	unsigned n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	c->nent = n;
	if (!c || ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		perror("KVM_GET_SUPPORTED_CPUID");
		return 1;
	}
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		printf("0x%08x 0x%x 0x%x 0x%08x 0x%08x 0x%08x 0x%08x\n", e->function, e->index,
		       e->flags, e->eax, e->ebx, e->ecx, e->edx);
	}
	struct kvm_msr_list probe = { .nmsrs = 0 };
	ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe);
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(l->indices[0]));
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, l) < 0)
		return 0;
	for (unsigned i = 0; i < l->nmsrs; i++) {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} q = { .h.nmsrs = 1, .e.index = l->indices[i] };
		if (ioctl(kvm, KVM_GET_MSRS, &q) == 1)
			printf("msr 0x%x 0x%llx\n", l->indices[i], (unsigned long long)q.e.data);
	}
	return 0;
}
