#include "kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ioctl() returning -errno instead of -1/errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;
	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

int kvm_open(const char *path, struct nv_err *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return nv_err_input(err, "%s is missing: load the kvm module (modprobe kvm-intel or kvm-amd) or run nestvm inside `nestvm lab`", path);
		if (e == EACCES || e == EPERM)
			return nv_err_input(err, "%s is not permitted for this user: add the user to the 'kvm' group or run as root", path);
		return nv_err_input(err, "cannot open %s: %s", path, strerror(e));
	}
	int v = xioctl(fd, KVM_GET_API_VERSION, NULL);
	if (v != KVM_API_VERSION) {
		close(fd);
		return nv_err_host(err, "%s speaks KVM API %d, nestvm needs %d", path, v, KVM_API_VERSION);
	}
	return fd;
}

int kvm_check_extension(int fd, long cap)
{
	return xioctl(fd, KVM_CHECK_EXTENSION, (void *)cap);
}

int kvm_create_vm(int kvm_fd)
{
	return xioctl(kvm_fd, KVM_CREATE_VM, NULL);
}

int kvm_vcpu_mmap_size(int kvm_fd)
{
	return xioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
}

int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out, unsigned *capacity)
{
	/* Grow until KVM stops saying E2BIG. Keep spare entries beyond what KVM
	 * may fill: the CPUID policy adds leaves (topology) of its own. */
	const unsigned spare = 32;
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (n + spare) * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		int r = xioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0) {
			*out = c;
			*capacity = n + spare;
			return 0;
		}
		free(c);
		if (r != -E2BIG)
			return r;
	}
	return -E2BIG;
}

/* A struct kvm_msr_list of whatever length KVM has: ask with none, then
 * with room for all (+1 in case the list grows in between). */
static int get_msr_list(int kvm_fd, unsigned long req, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	int r = xioctl(kvm_fd, req, &probe);
	if (r < 0 && r != -E2BIG)
		return r;
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs + 1;
	r = xioctl(kvm_fd, req, l);
	if (r < 0) {
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

int kvm_get_msr_feature_list(int kvm_fd, struct kvm_msr_list **out)
{
	return get_msr_list(kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, out);
}

int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list **out)
{
	return get_msr_list(kvm_fd, KVM_GET_MSR_INDEX_LIST, out);
}

int kvm_get_feature_msrs(int kvm_fd, struct kvm_msrs *m)
{
	return xioctl(kvm_fd, KVM_GET_MSRS, m);
}

int kvm_set_user_memory(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	return kvm_set_user_memory_flags(vm_fd, slot, gpa, size, host, 0);
}

int kvm_set_user_memory_flags(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			      uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	return xioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int kvm_set_tss_addr(int vm_fd, uint64_t addr)
{
	return xioctl(vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)addr);
}

int kvm_set_identity_map_addr(int vm_fd, uint64_t addr)
{
	return xioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

int kvm_create_irqchip(int vm_fd)
{
	return xioctl(vm_fd, KVM_CREATE_IRQCHIP, NULL);
}

int kvm_create_pit2(int vm_fd)
{
	struct kvm_pit_config pc;
	memset(&pc, 0, sizeof(pc));
	return xioctl(vm_fd, KVM_CREATE_PIT2, &pc);
}

int kvm_irq_line(int vm_fd, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };
	return xioctl(vm_fd, KVM_IRQ_LINE, &l);
}

int kvm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, uint64_t datamatch, int fd)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	return xioctl(vm_fd, KVM_IOEVENTFD, &e);
}

int kvm_create_vcpu(int vm_fd, unsigned long id)
{
	return xioctl(vm_fd, KVM_CREATE_VCPU, (void *)id);
}

int kvm_run(int vcpu_fd)
{
	return xioctl(vcpu_fd, KVM_RUN, NULL);
}

int kvm_get_regs(int vcpu_fd, struct kvm_regs *r)
{
	return xioctl(vcpu_fd, KVM_GET_REGS, r);
}

int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r)
{
	return xioctl(vcpu_fd, KVM_SET_REGS, (void *)r);
}

int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s)
{
	return xioctl(vcpu_fd, KVM_GET_SREGS, s);
}

int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s)
{
	return xioctl(vcpu_fd, KVM_SET_SREGS, (void *)s);
}

int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c)
{
	return xioctl(vcpu_fd, KVM_SET_CPUID2, (void *)c);
}

int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *m)
{
	return xioctl(vcpu_fd, KVM_SET_MSRS, (void *)m);
}

int kvm_get_mp_state(int vcpu_fd, struct kvm_mp_state *s)
{
	return xioctl(vcpu_fd, KVM_GET_MP_STATE, s);
}

int kvm_set_mp_state(int vcpu_fd, const struct kvm_mp_state *s)
{
	return xioctl(vcpu_fd, KVM_SET_MP_STATE, (void *)s);
}

int kvm_get_fpu(int vcpu_fd, struct kvm_fpu *f)
{
	return xioctl(vcpu_fd, KVM_GET_FPU, f);
}

int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *f)
{
	return xioctl(vcpu_fd, KVM_SET_FPU, (void *)f);
}

int kvm_xsave_size(int vm_fd)
{
	int n = kvm_check_extension(vm_fd, KVM_CAP_XSAVE2);
	if (n < 0)
		return n;
	return n > (int)sizeof(struct kvm_xsave) ? n : (int)sizeof(struct kvm_xsave);
}

int kvm_get_xsave(int vcpu_fd, struct kvm_xsave *x)
{
	return xioctl(vcpu_fd, KVM_GET_XSAVE, x);
}

int kvm_get_xsave2(int vcpu_fd, struct kvm_xsave *x)
{
	return xioctl(vcpu_fd, KVM_GET_XSAVE2, x);
}

int kvm_set_xsave(int vcpu_fd, const struct kvm_xsave *x)
{
	return xioctl(vcpu_fd, KVM_SET_XSAVE, (void *)x);
}

int kvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *x)
{
	return xioctl(vcpu_fd, KVM_GET_XCRS, x);
}

int kvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *x)
{
	return xioctl(vcpu_fd, KVM_SET_XCRS, (void *)x);
}

int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *l)
{
	return xioctl(vcpu_fd, KVM_GET_LAPIC, l);
}

int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *l)
{
	return xioctl(vcpu_fd, KVM_SET_LAPIC, (void *)l);
}

int kvm_get_msrs(int vcpu_fd, struct kvm_msrs *m)
{
	return xioctl(vcpu_fd, KVM_GET_MSRS, m);
}

int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *e)
{
	return xioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, e);
}

int kvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *e)
{
	return xioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, (void *)e);
}

int kvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *d)
{
	return xioctl(vcpu_fd, KVM_GET_DEBUGREGS, d);
}

int kvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *d)
{
	return xioctl(vcpu_fd, KVM_SET_DEBUGREGS, (void *)d);
}

int kvm_nested_state_size(int fd)
{
	return kvm_check_extension(fd, KVM_CAP_NESTED_STATE);
}

int kvm_get_nested_state(int vcpu_fd, struct kvm_nested_state *s)
{
	return xioctl(vcpu_fd, KVM_GET_NESTED_STATE, s);
}

int kvm_set_nested_state(int vcpu_fd, const struct kvm_nested_state *s)
{
	return xioctl(vcpu_fd, KVM_SET_NESTED_STATE, (void *)s);
}

int kvm_get_tsc_khz(int vcpu_fd)
{
	return xioctl(vcpu_fd, KVM_GET_TSC_KHZ, NULL);
}

int kvm_set_tsc_khz(int vcpu_fd, unsigned long khz)
{
	return xioctl(vcpu_fd, KVM_SET_TSC_KHZ, (void *)khz);
}

int kvm_get_clock(int vm_fd, struct kvm_clock_data *c)
{
	return xioctl(vm_fd, KVM_GET_CLOCK, c);
}

int kvm_set_clock(int vm_fd, const struct kvm_clock_data *c)
{
	return xioctl(vm_fd, KVM_SET_CLOCK, (void *)c);
}

int kvm_get_irqchip(int vm_fd, struct kvm_irqchip *c)
{
	return xioctl(vm_fd, KVM_GET_IRQCHIP, c);
}

int kvm_set_irqchip(int vm_fd, const struct kvm_irqchip *c)
{
	return xioctl(vm_fd, KVM_SET_IRQCHIP, (void *)c);
}

int kvm_get_pit2(int vm_fd, struct kvm_pit_state2 *p)
{
	return xioctl(vm_fd, KVM_GET_PIT2, p);
}

int kvm_set_pit2(int vm_fd, const struct kvm_pit_state2 *p)
{
	return xioctl(vm_fd, KVM_SET_PIT2, (void *)p);
}

int kvm_get_api_version(int kvm_fd)
{
	return xioctl(kvm_fd, KVM_GET_API_VERSION, NULL);
}

int kvm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };
	return xioctl(vm_fd, KVM_GET_DIRTY_LOG, &d);
}
