/* A triple fault's line says where the vCPU was: enough to tell a guest's
 * own crash (its kernel's rip, paging on) from a nested hypervisor's state
 * gone wrong (guest mode, or a VMM's rip) without a debugger. */
#include "core/vcpu_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <linux/kvm.h>

#include "kvm/kvm.h"

#define VCPU_RESET_RIP 0xfff0
#define VCPU_RESET_CS 0xf000

/* Room for the header and an SVM or VMX area. */
#define NESTED_STATE_BYTES (sizeof(struct kvm_nested_state) + 2 * 4096 + 8192)

static const char *guest_mode(int fd)
{
	struct kvm_nested_state *n = calloc(1, NESTED_STATE_BYTES);
	const char *what = "";
	if (!n)
		return what;
	n->size = NESTED_STATE_BYTES;
	if (kvm_get_nested_state(fd, n) == 0 && (n->flags & KVM_STATE_NESTED_GUEST_MODE))
		what = ", in its own guest (nested guest mode)";
	free(n);
	return what;
}

void vcpu_fault_describe(int vcpu_fd, char *out, size_t size)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (size == 0)
		return;
	out[0] = '\0';
	if (kvm_get_regs(vcpu_fd, &r) < 0 || kvm_get_sregs(vcpu_fd, &s) < 0)
		return;
	/* On AMD the VMCB is undefined after a shutdown and KVM INITs the
	 * vCPU before it exits: what is left is the reset vector, not the
	 * fault's place. Said, rather than shown as if it were. */
	if (r.rip == VCPU_RESET_RIP && s.cs.selector == VCPU_RESET_CS) {
		snprintf(out, size, "where is lost: KVM reset the vCPU at the shutdown, as it does on AMD");
		return;
	}
	snprintf(out, size, "rip 0x%llx, cs 0x%x, cr0 0x%llx, cr3 0x%llx, cr4 0x%llx, efer 0x%llx%s",
		 (unsigned long long)r.rip, s.cs.selector, (unsigned long long)s.cr0,
		 (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer,
		 guest_mode(vcpu_fd));
}
