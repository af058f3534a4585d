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
/* The same with flags (KVM_MEM_LOG_DIRTY_PAGES: dirty logging on). */
int kvm_set_user_memory_flags(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			      uint32_t flags);
/* The slot's pages written since the last call, one bit per page
 * (bitmap: the slot's pages rounded up to 64 bits); KVM clears its log. */
int kvm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap);
int kvm_set_tss_addr(int vm_fd, uint64_t addr);
int kvm_set_identity_map_addr(int vm_fd, uint64_t addr);
int kvm_create_irqchip(int vm_fd);
int kvm_create_pit2(int vm_fd);
int kvm_irq_line(int vm_fd, uint32_t gsi, int level);
/* A guest's len-byte MMIO write of datamatch at addr signals fd, inside KVM. */
int kvm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, uint64_t datamatch, int fd);
int kvm_create_vcpu(int vm_fd, unsigned long id);

int kvm_run(int vcpu_fd);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *r);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s);
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c);
int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *m);
int kvm_get_mp_state(int vcpu_fd, struct kvm_mp_state *s);

/* vCPU state for save/restore. KVM wants vCPU ioctls from the vCPU's own
 * thread: once a vCPU thread runs, call these through vcpu_run_on(). */
int kvm_set_mp_state(int vcpu_fd, const struct kvm_mp_state *s);
int kvm_get_fpu(int vcpu_fd, struct kvm_fpu *f);
int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *f);
/* Bytes a struct kvm_xsave must have on this VM: KVM_CAP_XSAVE2's value
 * (4096 or more, asked on the VM fd after KVM_SET_CPUID2, since dynamic
 * features such as AMX grow it), or sizeof(struct kvm_xsave) without it. */
int kvm_xsave_size(int vm_fd);
/* KVM_GET_XSAVE fills 4096 bytes; KVM_GET_XSAVE2 (KVM_CAP_XSAVE2) fills
 * kvm_xsave_size() bytes; KVM_SET_XSAVE reads kvm_xsave_size() bytes. */
int kvm_get_xsave(int vcpu_fd, struct kvm_xsave *x);
int kvm_get_xsave2(int vcpu_fd, struct kvm_xsave *x);
int kvm_set_xsave(int vcpu_fd, const struct kvm_xsave *x);
int kvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *x);
int kvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *x);
int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *l);
int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *l);
/* Returns how many of m->nmsrs entries KVM read (it stops at the first MSR
 * it does not know), like kvm_set_msrs. */
int kvm_get_msrs(int vcpu_fd, struct kvm_msrs *m);
/* The MSRs KVM saves and restores for a guest (system ioctl); *out is
 * malloc()ed. */
int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list **out);
int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *e);
int kvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *e);
int kvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *d);
int kvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *d);
/* Nested virtualization state (VMX or SVM). kvm_nested_state_size() is the
 * largest state KVM can report (KVM_CAP_NESTED_STATE on any KVM fd), 0 when
 * this KVM has no nesting. Set s->size to the bytes s holds before the get;
 * -E2BIG means too small, and s->size then says how many are needed. */
int kvm_nested_state_size(int fd);
int kvm_get_nested_state(int vcpu_fd, struct kvm_nested_state *s);
int kvm_set_nested_state(int vcpu_fd, const struct kvm_nested_state *s);

/* The vCPU's TSC frequency in kHz (KVM_CAP_GET_TSC_KHZ), and setting it
 * (KVM_CAP_TSC_CONTROL) so a guest restored elsewhere keeps its rate. */
int kvm_get_tsc_khz(int vcpu_fd);
int kvm_set_tsc_khz(int vcpu_fd, unsigned long khz);

/* VM-wide state. c->chip_id (KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC)
 * picks the in-kernel chip. */
int kvm_get_clock(int vm_fd, struct kvm_clock_data *c);
int kvm_set_clock(int vm_fd, const struct kvm_clock_data *c);
int kvm_get_irqchip(int vm_fd, struct kvm_irqchip *c);
int kvm_set_irqchip(int vm_fd, const struct kvm_irqchip *c);
int kvm_get_pit2(int vm_fd, struct kvm_pit_state2 *p);
int kvm_set_pit2(int vm_fd, const struct kvm_pit_state2 *p);

/* KVM_GET_API_VERSION on a /dev/kvm fd, for reports (kvm_open checks it). */
int kvm_get_api_version(int kvm_fd);

#endif
