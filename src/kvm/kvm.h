/* The only place that calls ioctl(KVM_*). Thin wrappers: 0 (or a value) on
 * success, -errno on failure, so callers and fakes stay simple. */
#ifndef NESTVM_KVM_KVM_H
#define NESTVM_KVM_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

#include "util/err.h"

/* Opens the KVM device and checks the API version. A missing device or a
 * permission problem is the user's to fix (NV_ERR_INPUT). */
int kvm_open(const char *path, struct nv_err *err);
int kvm_check_extension(int fd, long cap);
int kvm_create_vm(int kvm_fd);
int kvm_vcpu_mmap_size(int kvm_fd);
/* Allocates *out (free() it). capacity receives the number of entries room. */
int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out, unsigned *capacity);

/* Feature MSRs (system ioctls): which ones KVM reports, and their values,
 * e.g. the VMX capability MSRs a nested Intel guest may see. *out is
 * malloc()ed. */
int kvm_get_msr_feature_list(int kvm_fd, struct kvm_msr_list **out);
int kvm_get_feature_msrs(int kvm_fd, struct kvm_msrs *m);

int kvm_set_user_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host);
int kvm_set_tss_addr(int vm_fd, uint64_t addr);
int kvm_set_identity_map_addr(int vm_fd, uint64_t addr);
int kvm_create_irqchip(int vm_fd);
int kvm_create_pit2(int vm_fd);
int kvm_irq_line(int vm_fd, uint32_t gsi, int level);
int kvm_create_vcpu(int vm_fd, unsigned long id);

int kvm_run(int vcpu_fd);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *r);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s);
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c);
int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *m);
int kvm_get_mp_state(int vcpu_fd, struct kvm_mp_state *s);

/* KVM_GET_API_VERSION on a /dev/kvm fd, for reports (kvm_open checks it). */
int kvm_get_api_version(int kvm_fd);

#endif
