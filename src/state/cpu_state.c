#include "state/cpu_state.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/kvm.h"

/* IA32_FEATURE_CONTROL: on Intel it decides whether VMXON is allowed, so it
 * must be in place before nested state that says the vCPU is in VMX
 * operation (QEMU's kvm_put_msr_feature_control comment). */
#define MSR_IA32_FEATURE_CONTROL 0x3a

int cpu_state_host_init(struct cpu_state_host *h, int kvm_fd, int vm_fd, struct nv_err *err)
{
	memset(h, 0, sizeof(*h));
	int r = kvm_get_msr_index_list(kvm_fd, &h->msr_list);
	if (r < 0)
		return nv_err_host(err, "cannot read the MSRs KVM saves: %s", strerror(-r));
	if (h->msr_list->nmsrs > CPU_STATE_MAX_MSRS) {
		cpu_state_host_free(h);
		return nv_err_host(err, "KVM lists %u MSRs to save, more than the %u nestvm keeps",
				   h->msr_list->nmsrs, CPU_STATE_MAX_MSRS);
	}
	int xs = kvm_xsave_size(vm_fd);
	h->xsave_size = xs > 0 ? (uint32_t)xs : (uint32_t)sizeof(struct kvm_xsave);
	h->xsave2 = kvm_check_extension(vm_fd, KVM_CAP_XSAVE2) > 0;
	int ns = kvm_nested_state_size(kvm_fd);
	h->nested_size = ns > 0 ? (uint32_t)ns : 0;
	h->tsc_control = kvm_check_extension(vm_fd, KVM_CAP_TSC_CONTROL) > 0;
	return 0;
}

void cpu_state_host_free(struct cpu_state_host *h)
{
	free(h->msr_list);
	h->msr_list = NULL;
}

void cpu_state_free(struct cpu_state *st)
{
	free(st->msrs);
	free(st->xsave);
	free(st->nested);
	memset(st, 0, sizeof(*st));
}

bool cpu_state_in_guest_mode(const struct cpu_state *st)
{
	if (st->nested_len < sizeof(struct kvm_nested_state))
		return false;
	const struct kvm_nested_state *n = (const void *)st->nested;
	return (n->flags & KVM_STATE_NESTED_GUEST_MODE) != 0;
}

/* Every MSR of the list KVM can read on this vCPU. KVM_GET_MSRS stops at
 * the first one it refuses (one a CPUID feature disables): skip it and go
 * on with the rest. */
static int get_msrs(const struct cpu_state_host *h, int fd, struct cpu_state *st)
{
	uint32_t n = h->msr_list->nmsrs;
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	st->msrs = calloc(n ? n : 1, sizeof(*st->msrs));
	if (!m || !st->msrs) {
		free(m);
		return -ENOMEM;
	}
	uint32_t next = 0;
	while (next < n) {
		m->nmsrs = n - next;
		for (uint32_t i = 0; i < m->nmsrs; i++)
			m->entries[i] = (struct kvm_msr_entry){ .index = h->msr_list->indices[next + i] };
		int r = kvm_get_msrs(fd, m);
		if (r < 0) {
			free(m);
			return r;
		}
		memcpy(st->msrs + st->nmsrs, m->entries, (size_t)r * sizeof(m->entries[0]));
		st->nmsrs += (uint32_t)r;
		next += (uint32_t)r + 1; /* the refused one */
	}
	free(m);
	return 0;
}

static int get_xsave(const struct cpu_state_host *h, int fd, struct cpu_state *st)
{
	st->xsave = calloc(1, h->xsave_size);
	if (!st->xsave)
		return -ENOMEM;
	st->xsave_len = h->xsave_size;
	return h->xsave2 ? kvm_get_xsave2(fd, (void *)st->xsave) : kvm_get_xsave(fd, (void *)st->xsave);
}

static int get_nested(const struct cpu_state_host *h, int fd, struct cpu_state *st)
{
	if (h->nested_size == 0)
		return 0;
	struct kvm_nested_state *n = calloc(1, h->nested_size);
	if (!n)
		return -ENOMEM;
	n->size = h->nested_size;
	int r = kvm_get_nested_state(fd, n);
	if (r < 0) {
		free(n);
		return r;
	}
	st->nested = (uint8_t *)n;
	st->nested_len = n->size <= h->nested_size ? n->size : h->nested_size;
	n->size = st->nested_len;
	return 0;
}

int cpu_state_get(const struct cpu_state_host *h, int fd, unsigned index,
		   struct cpu_state *st, struct nv_err *err)
{
	memset(st, 0, sizeof(*st));
	const char *what;
	int r;
	/* The kernel's state_test order: events and MP state first, nested
	 * state after the registers it may sync. */
	if ((r = kvm_get_vcpu_events(fd, &st->events)) < 0) {
		what = "events";
	} else if ((r = kvm_get_mp_state(fd, &st->mp_state)) < 0) {
		what = "MP state";
	} else if ((r = kvm_get_regs(fd, &st->regs)) < 0) {
		what = "registers";
	} else if ((r = get_xsave(h, fd, st)) < 0) {
		what = "XSAVE area";
	} else if ((r = kvm_get_xcrs(fd, &st->xcrs)) < 0) {
		what = "XCRs";
	} else if ((r = kvm_get_sregs(fd, &st->sregs)) < 0) {
		what = "special registers";
	} else if ((r = get_nested(h, fd, st)) < 0) {
		what = "nested state";
	} else if ((r = kvm_get_lapic(fd, &st->lapic)) < 0) {
		what = "local APIC";
	} else if ((r = get_msrs(h, fd, st)) < 0) {
		what = "MSRs";
	} else if ((r = kvm_get_debugregs(fd, &st->debugregs)) < 0) {
		what = "debug registers";
	} else {
		int khz = kvm_get_tsc_khz(fd);
		st->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
		return 0;
	}
	cpu_state_free(st);
	return nv_err_host(err, "cannot read vCPU %u's %s: %s", index, what, strerror(-r));
}

static int put_msrs(int fd, const struct kvm_msr_entry *e, uint32_t n, unsigned index,
		    struct nv_err *err)
{
	if (n == 0)
		return 0;
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	if (!m)
		return nv_err_host(err, "out of memory");
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	int r = kvm_set_msrs(fd, m);
	free(m);
	if (r < 0)
		return nv_err_host(err, "cannot restore vCPU %u's MSRs: %s", index, strerror(-r));
	if ((uint32_t)r < n)
		return nv_err_input(err, "KVM refused vCPU %u's MSR 0x%x (value 0x%llx): saved on a host with other CPU features?",
				    index, e[r].index, (unsigned long long)e[r].data);
	return 0;
}

static const struct kvm_msr_entry *find_msr(const struct cpu_state *st, uint32_t index)
{
	for (uint32_t i = 0; i < st->nmsrs; i++)
		if (st->msrs[i].index == index)
			return &st->msrs[i];
	return NULL;
}

static int put_xsave(const struct cpu_state_host *h, int fd, const struct cpu_state *st,
		     unsigned index, struct nv_err *err)
{
	if (st->xsave_len > h->xsave_size)
		return nv_err_input(err, "vCPU %u's saved XSAVE area (%u bytes) is larger than this host's (%u): saved on a host with other CPU features",
				    index, st->xsave_len, h->xsave_size);
	/* A smaller saved area (before XSAVE2) leaves the newer features in
	 * their initial state: zeros. */
	uint8_t *x = calloc(1, h->xsave_size);
	if (!x)
		return nv_err_host(err, "out of memory");
	memcpy(x, st->xsave, st->xsave_len);
	int r = kvm_set_xsave(fd, (void *)x);
	free(x);
	if (r < 0)
		return nv_err_host(err, "cannot restore vCPU %u's XSAVE area: %s", index, strerror(-r));
	return 0;
}

static int put_nested(const struct cpu_state_host *h, int fd, const struct cpu_state *st,
		      unsigned index, struct nv_err *err)
{
	if (st->nested_len == 0)
		return 0;
	const struct kvm_nested_state *n = (const void *)st->nested;
	bool active = n->flags != 0 || (n->format == KVM_STATE_NESTED_FORMAT_VMX &&
					 n->hdr.vmx.vmxon_pa != (uint64_t)-1);
	if (h->nested_size == 0) {
		if (active)
			return nv_err_input(err, "vCPU %u was running a hypervisor, but this host's KVM has no nested virtualization",
					    index);
		return 0;
	}
	if (st->nested_len > h->nested_size)
		return nv_err_input(err, "vCPU %u's nested state (%u bytes) is larger than this KVM holds (%u)",
				    index, st->nested_len, h->nested_size);
	int r = kvm_set_nested_state(fd, n);
	if (r < 0)
		return nv_err_host(err, "KVM refused vCPU %u's nested state (%s format%s): %s", index,
				   n->format == KVM_STATE_NESTED_FORMAT_SVM ? "SVM" : "VMX",
				   active ? ", a hypervisor was running" : "", strerror(-r));
	return 0;
}

/* On AMD (SVM) the hidden TR type of a 64-bit TSS may be available (9) or
 * busy (11): VMRUN checks neither and long mode never looks at the busy
 * bit, and KVM's svm_get_segment reports busy whatever the VMCB holds. The
 * lab's emulated SVM (QEMU TCG) is stricter than the hardware: its port
 * I/O permission check wants type 9, so a restored 11 made every user-space
 * IN/OUT fault there. So on AMD hosts restore puts 9 (the same machine to
 * real hardware); on Intel VM entry requires 11 and it stays. */
static void tr_for_this_host(struct kvm_sregs *sregs)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return;
	bool amd = (b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) || /* AuthenticAMD */
		   (b == 0x6f677948 && d == 0x6e65476e && c == 0x656e6975);   /* HygonGenuine */
	if (amd && sregs->tr.type == 11)
		sregs->tr.type = 9;
}

/* The order, and why (QEMU's kvm_arch_put_registers learned most of it):
 *   TSC rate           before anything reads the TSC.
 *   FEATURE_CONTROL    before nested state (VMXON must be allowed).
 *   special registers  before nested state (EFER.SVME, CR4.VMXE are checked).
 *   events             before nested state too (SMM: nested state is refused
 *                      in SMM), and again at the end (setting nested state
 *                      and MSRs can drop a pending exception).
 *   nested state       before the registers: entering guest mode loads the
 *                      L2's context, which the saved registers (taken in that
 *                      mode) then overwrite with exactly what they were.
 *   local APIC         before MSRs (TSC_DEADLINE needs the timer's mode).
 *   MP state           late: a halted or INIT-waiting vCPU stays so. */
int cpu_state_put(const struct cpu_state_host *h, int fd, unsigned index,
		   const struct cpu_state *st, struct nv_err *err)
{
	int r;
	const char *what;
	if (h->tsc_control && st->tsc_khz != 0) {
		int now = kvm_get_tsc_khz(fd);
		if (now > 0 && (uint32_t)now != st->tsc_khz &&
		    (r = kvm_set_tsc_khz(fd, st->tsc_khz)) < 0)
			return nv_err_host(err, "cannot set vCPU %u's TSC rate to %u kHz: %s", index,
					   st->tsc_khz, strerror(-r));
	}
	const struct kvm_msr_entry *fc = find_msr(st, MSR_IA32_FEATURE_CONTROL);
	if (fc && put_msrs(fd, fc, 1, index, err) < 0)
		return -1;
	struct kvm_sregs sregs = st->sregs;
	tr_for_this_host(&sregs);
	if ((r = kvm_set_sregs(fd, &sregs)) < 0) {
		what = "special registers";
		goto fail;
	}
	if ((r = kvm_set_vcpu_events(fd, &st->events)) < 0) {
		what = "events";
		goto fail;
	}
	if (put_nested(h, fd, st, index, err) < 0)
		return -1;
	if ((r = kvm_set_regs(fd, &st->regs)) < 0) {
		what = "registers";
		goto fail;
	}
	if (put_xsave(h, fd, st, index, err) < 0)
		return -1;
	if ((r = kvm_set_xcrs(fd, &st->xcrs)) < 0) {
		what = "XCRs";
		goto fail;
	}
	if ((r = kvm_set_lapic(fd, &st->lapic)) < 0) {
		what = "local APIC";
		goto fail;
	}
	if (put_msrs(fd, st->msrs, st->nmsrs, index, err) < 0)
		return -1;
	if ((r = kvm_set_vcpu_events(fd, &st->events)) < 0) {
		what = "events";
		goto fail;
	}
	if ((r = kvm_set_mp_state(fd, &st->mp_state)) < 0) {
		what = "MP state";
		goto fail;
	}
	if ((r = kvm_set_debugregs(fd, &st->debugregs)) < 0) {
		what = "debug registers";
		goto fail;
	}
	return 0;
fail:
	return nv_err_host(err, "cannot restore vCPU %u's %s: %s", index, what, strerror(-r));
}

/* Restore: a buffer of n bytes for a variable part, or NULL (failed). */
static uint8_t *variable_part(struct device_snapshot *s, uint8_t **p, uint32_t n)
{
	if (s->dir == SNAPSHOT_RESTORE) {
		free(*p);
		*p = n ? calloc(1, n) : NULL;
		if (n && !*p)
			snapshot_check(s, false, "out of memory");
	}
	return *p;
}

int cpu_state_snapshot(struct cpu_state *st, struct device_snapshot *s)
{
	snapshot_version(s, 1);
	SNAPSHOT_BYTES(s, st->regs);
	SNAPSHOT_BYTES(s, st->sregs);
	SNAPSHOT_BYTES(s, st->xcrs);
	snapshot_check(s, st->xcrs.nr_xcrs <= KVM_MAX_XCRS, "xcrs.nr_xcrs");
	SNAPSHOT_BYTES(s, st->lapic);
	SNAPSHOT_BYTES(s, st->events);
	SNAPSHOT_BYTES(s, st->mp_state);
	SNAPSHOT_BYTES(s, st->debugregs);
	SNAPSHOT_U32(s, st->tsc_khz);

	SNAPSHOT_U32(s, st->nmsrs);
	if (!snapshot_check(s, st->nmsrs <= CPU_STATE_MAX_MSRS, "nmsrs"))
		return -1;
	uint8_t *msrs = (uint8_t *)st->msrs;
	if (!variable_part(s, &msrs, st->nmsrs * (uint32_t)sizeof(*st->msrs)) && st->nmsrs)
		return -1;
	st->msrs = (struct kvm_msr_entry *)msrs;
	for (uint32_t i = 0; i < st->nmsrs; i++) {
		snapshot_u32(s, &st->msrs[i].index, "msrs.index");
		uint64_t data = st->msrs[i].data; /* __u64 is another type */
		snapshot_u64(s, &data, "msrs.data");
		st->msrs[i].data = data;
	}

	SNAPSHOT_U32(s, st->xsave_len);
	if (!snapshot_check(s, st->xsave_len >= sizeof(struct kvm_xsave) &&
				       st->xsave_len <= CPU_STATE_MAX_XSAVE,
			    "xsave_len"))
		return -1;
	if (!variable_part(s, &st->xsave, st->xsave_len))
		return -1;
	snapshot_bytes(s, st->xsave, st->xsave_len, "xsave");

	SNAPSHOT_U32(s, st->nested_len);
	if (!snapshot_check(s, st->nested_len == 0 ||
				       (st->nested_len >= sizeof(struct kvm_nested_state) &&
					st->nested_len <= CPU_STATE_MAX_NESTED),
			    "nested_len"))
		return -1;
	if (st->nested_len) {
		if (!variable_part(s, &st->nested, st->nested_len))
			return -1;
		snapshot_bytes(s, st->nested, st->nested_len, "nested");
		const struct kvm_nested_state *n = (const void *)st->nested;
		snapshot_check(s, !s->failed && n->size == st->nested_len, "nested.size");
		snapshot_check(s, n->format == KVM_STATE_NESTED_FORMAT_VMX ||
					  n->format == KVM_STATE_NESTED_FORMAT_SVM,
			       "nested.format");
	}
	return snapshot_done(s) ? 0 : -1;
}
