#include "vmm/machine_private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "confine/confine.h"
#include "core/vcpu_fault.h"
#include "arch/x86/regs.h"
#include "dev/legacy/uart16550.h"
#include "kvm/kvm.h"
#include "state/memory_file.h"

_Static_assert(MACHINE_POWER_BUTTON_GSI >= MACHINE_VIRTIO_GSI_BASE + VM_MAX_VIRTIO &&
		       MACHINE_POWER_BUTTON_GSI < ACPI_IOAPIC_PINS,
	       "the power button needs an IOAPIC pin of its own");
_Static_assert(MACHINE_VMGENID_GSI != MACHINE_POWER_BUTTON_GSI &&
		       MACHINE_VMGENID_GSI >= MACHINE_VIRTIO_GSI_BASE + VM_MAX_VIRTIO &&
		       MACHINE_VMGENID_GSI < ACPI_IOAPIC_PINS,
	       "the VM generation ID's notify needs an IOAPIC pin of its own");


void machine_request_end(struct machine *m, enum machine_end end, int status, const char *detail)
{
	pthread_mutex_lock(&m->end_lock);
	if (m->result.end == MACHINE_END_NONE) {
		m->result.end = end;
		m->result.status = status;
		atomic_store(&m->ended, true);
		snprintf(m->result.detail, sizeof(m->result.detail), "%s", detail ? detail : "");
		uint64_t one = 1;
		ssize_t r = write(m->end_fd, &one, sizeof(one));
		(void)r; /* an eventfd write of 1 cannot fail short of overflow */
	}
	pthread_mutex_unlock(&m->end_lock);
}

static void on_vcpu_stop(void *opaque, unsigned vcpu, enum vcpu_stop_cause cause,
			 const struct vcpu_exit *e)
{
	struct machine *m = opaque;
	char why[256], where[200];
	switch (cause) {
	case VCPU_STOP_TRIPLE_FAULT:
		/* On the vCPU's thread: its registers are still the fault's. */
		vcpu_fault_describe(m->vcpus[vcpu].fd, where, sizeof(where));
		snprintf(why, sizeof(why), "vCPU %u triple-faulted%s%s%s", vcpu, where[0] ? " (" : "",
			 where, where[0] ? ")" : "");
		machine_request_end(m, MACHINE_END_TRIPLE_FAULT, 0, why);
		break;
	case VCPU_STOP_GUEST_POWEROFF:
		machine_request_end(m, MACHINE_END_POWEROFF, 0, NULL);
		break;
	case VCPU_STOP_GUEST_RESET:
		machine_request_end(m, MACHINE_END_RESET, 0, NULL);
		break;
	case VCPU_STOP_GUEST_CRASH:
		machine_request_end(m, MACHINE_END_PANIC, 0, "the guest reported a crash");
		break;
	case VCPU_STOP_FAILED:
	default:
		snprintf(why, sizeof(why), "vCPU %u stopped on KVM exit %u (detail 0x%llx)", vcpu,
			 e ? e->reason : 0, e ? (unsigned long long)e->detail : 0ULL);
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, why);
		break;
	}
}

/* NIC fds not yet handed to a device (machine_create failed before). */
static void close_nic_fds(struct machine_nic *nics, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (nics[i].fd >= 0)
			close(nics[i].fd);
		nics[i].fd = -1;
	}
}

/* The shares' sockets not yet handed to their devices. Only the config's
 * shares: the entries past them may be a caller's zeros, not fds. */
static void close_share_fds(const struct vm_config *c, struct machine_resources *r)
{
	unsigned n = c->nshares <= VM_SHARES_MAX ? c->nshares : VM_SHARES_MAX;
	for (unsigned i = 0; i < n; i++) {
		if (r->share_fds[i] >= 0)
			close(r->share_fds[i]);
		r->share_fds[i] = -1;
	}
}

/* Every share has its back-end's socket; a saved machine has none (its
 * settings cannot hold shares: machine_save refuses them). */
static bool shares_ready(const struct vm_config *c, const struct machine_resources *r)
{
	if (c->nshares > VM_SHARES_MAX || (c->nshares && r->from_saved))
		return false;
	for (unsigned i = 0; i < c->nshares; i++)
		if (r->share_fds[i] < 0)
			return false;
	return true;
}

static int machine_setup_vcpu(struct machine *m, struct vcpu *v, struct nv_err *err)
{
	struct cpuid_policy_input in = {
		.vcpu_index = v->index,
		.ncpus = m->cfg.cpus,
		.expose_virtualization_extensions = m->cfg.expose_virtualization_extensions,
	};
	/* Each vCPU gets its own copy: APIC ids differ per vCPU. */
	size_t bytes = sizeof(*m->cpuid) + m->cpuid_capacity * sizeof(m->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	if (!c)
		return nv_err_host(err, "out of memory");
	memcpy(c, m->cpuid, bytes);
	int r = cpuid_policy_apply(c, m->cpuid_capacity, &in, err);
	if (r == 0 && (r = kvm_set_cpuid2(v->fd, c)) < 0)
		nv_err_host(err, "KVM refused the CPUID of vCPU %u: %s", v->index, strerror(-r));
	free(c);
	if (r < 0 || nested_apply_vcpu(v->fd, &m->nested, err) < 0)
		return -1;
	if (v->index != 0 || m->res.from_saved)
		return 0; /* APs wait for INIT/SIPI from the boot vCPU */
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if ((r = kvm_get_sregs(v->fd, &sregs)) < 0)
		return nv_err_host(err, "cannot read vCPU 0 registers: %s", strerror(-r));
	x86_regs_boot_sregs(&sregs);
	x86_regs_boot_regs(&regs, m->boot.entry, m->boot.zero_page);
	if ((r = kvm_set_sregs(v->fd, &sregs)) < 0 || (r = kvm_set_regs(v->fd, &regs)) < 0)
		return nv_err_host(err, "cannot set vCPU 0 boot registers: %s", strerror(-r));
	return 0;
}

static int machine_create_vcpus(struct machine *m, struct nv_err *err)
{
	int r = kvm_get_supported_cpuid(m->vm.kvm_fd, &m->cpuid, &m->cpuid_capacity);
	if (r < 0)
		return nv_err_host(err, "cannot read KVM's supported CPUID: %s", strerror(-r));
	/* KVM emulates the TSC-deadline LAPIC timer but reports it as a
	 * capability, not in the supported CPUID: a hardware-reduced guest
	 * (no PIT) times best with it. */
	struct kvm_cpuid_entry2 *leaf1 = cpuid_find(m->cpuid, 1, 0);
	if (leaf1 && kvm_check_extension(m->vm.kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		leaf1->ecx |= 1u << 24;
	if (nested_prepare(m->vm.kvm_fd, m->cpuid, m->cfg.expose_virtualization_extensions,
			   &m->nested, err) < 0)
		return -1;
	m->vcpus = calloc(m->cfg.cpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return nv_err_host(err, "out of memory");
	for (unsigned i = 0; i < m->cfg.cpus; i++) {
		if (vcpu_create(&m->vcpus[i], m->vm.fd, m->vm.run_size, i, &m->vcpu_host, err) < 0)
			return -1;
		m->nvcpus_created++;
		if (machine_setup_vcpu(m, &m->vcpus[i], err) < 0)
			return -1;
	}
	return 0;
}

struct machine *machine_create(const struct vm_config *c, const struct machine_resources *r,
			       struct nv_err *err)
{
	struct machine_nic nics[VM_MAX_NICS];
	struct machine_resources res_copy = *r;
	unsigned nnics = c->nnics <= VM_MAX_NICS ? c->nnics : VM_MAX_NICS;
	memcpy(nics, r->nics, sizeof(nics));
	/* The launcher validated c; this guards the machine's own arrays. */
	if (c->cpus == 0 || c->cpus > MACHINE_MAX_CPUS || c->ndisks > VM_MAX_DISKS ||
	    c->nnics > VM_MAX_NICS || c->ndevices > VM_MAX_DEVICES ||
	    !shares_ready(c, r)) {
		nv_err_input(err, "VM %s: settings out of range (vm_config_validate would say which)", c->name);
		close_nic_fds(nics, nnics);
		close_share_fds(c, &res_copy);
		return NULL;
	}
	struct machine *m = calloc(1, sizeof(*m));
	if (!m) {
		nv_err_host(err, "out of memory");
		close_nic_fds(nics, nnics);
		close_share_fds(c, &res_copy);
		return NULL;
	}
	m->cfg = *c;
	m->res = *r;
	m->vm.fd = m->vm.kvm_fd = -1;
	m->end_fd = m->ready_fd = m->stdio_ready_fd = -1;
	pthread_mutex_init(&m->end_lock, NULL);
	pthread_mutex_init(&m->demux_lock, NULL);
	stdio_demux_init(&m->demux);
	m->vcpu_host = (struct vcpu_host){
		.pio = &m->vm.pio, .mmio = &m->vm.mmio, .stop = on_vcpu_stop, .opaque = m
	};
	m->end_fd = eventfd(0, EFD_CLOEXEC);
	m->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stdio_demux)
		m->stdio_ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->end_fd < 0 || m->ready_fd < 0 || (r->stdio_demux && m->stdio_ready_fd < 0)) {
		nv_err_host(err, "eventfd: %s", strerror(errno));
		goto fail;
	}
	struct kvm_vm_saved_memory saved_mem = {
		.fd = r->saved_memory_fd, .offset = MEMORY_FILE_HEADER,
	};
	if (kvm_vm_create_with(&m->vm, r->kvm_path, vm_config_ram_mib(c) << 20,
			       r->from_saved ? &saved_mem : NULL, vm_config_has_share(c), err) < 0)
		goto fail;
	int maxv = kvm_check_extension(m->vm.kvm_fd, KVM_CAP_MAX_VCPUS);
	if (maxv <= 0)
		maxv = kvm_check_extension(m->vm.kvm_fd, KVM_CAP_NR_VCPUS);
	if (maxv > 0 && c->cpus > (unsigned)maxv) {
		nv_err_input(err, "--cpus %u is above this KVM's limit of %d vCPUs", c->cpus, maxv);
		goto fail;
	}
	struct acpi_config acpi;
	memset(&acpi, 0, sizeof(acpi));
	acpi.ncpus = c->cpus;
	if (machine_add_devices(m, &acpi, err) < 0)
		goto fail;
	if (r->from_saved) {
		/* The memory holds the tables, the kernel and everything since. */
		m->res.saved_memory_fd = -1; /* mapped: not needed any more */
		if (machine_create_vcpus(m, err) < 0)
			goto fail;
		return m;
	}
	uint64_t rsdp = 0;
	if (acpi_build(&m->vm.mem, &acpi, &rsdp, err) < 0)
		goto fail;
	machine_new_generation(m, false);
	struct x86_boot_params_in bin = {
		.kernel = r->kernel, .kernel_len = r->kernel_len,
		.initrd = r->initrd, .initrd_len = r->initrd_len,
		.cmdline = r->cmdline, .rsdp_addr = rsdp,
	};
	if (x86_boot_load(&m->vm.mem, &bin, &m->boot, err) < 0)
		goto fail;
	if (x86_regs_setup_memory(&m->vm.mem, err) < 0)
		goto fail;
	if (machine_create_vcpus(m, err) < 0)
		goto fail;
	return m;
fail:
	machine_destroy(m);
	return NULL;
}

int machine_start(struct machine *m, struct nv_err *err)
{
	vcpu_install_kick_handler();
	/* The calling thread is the VMM's main from here on: confined before
	 * any vCPU runs (they inherit this filter, and add their own). */
	if (confine_thread(CONFINE_VMM_MAIN, err) < 0)
		return -1;
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		if (vcpu_start(&m->vcpus[i], err) < 0)
			return -1;
	if (m->announce_on_start) {
		m->announce_on_start = false;
		device_table_announce(&m->devices);
	}
	return 0;
}

/* vCPUs first: once none runs, no device is entered from the guest, and
 * the devices then stop what they do on threads of their own. */
void machine_pause(struct machine *m)
{
	if (m->paused)
		return;
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_pause(&m->vcpus[i]);
	device_table_pause(&m->devices);
	m->paused = true;
}

void machine_resume(struct machine *m)
{
	if (!m->paused)
		return;
	device_table_resume(&m->devices);
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_resume(&m->vcpus[i]);
	m->paused = false;
}

const struct vm_config *machine_config(const struct machine *m)
{
	return &m->cfg;
}

bool machine_paused(const struct machine *m)
{
	return m->paused;
}

const struct device_table *machine_devices(const struct machine *m)
{
	return &m->devices;
}

int machine_end_fd(const struct machine *m)
{
	return m->end_fd;
}

int machine_ready_fd(const struct machine *m)
{
	return m->ready_fd;
}

int machine_stdio_ready_fd(const struct machine *m)
{
	return m->stdio_ready_fd;
}

void machine_finish(struct machine *m, struct machine_result *res)
{
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_stop(&m->vcpus[i]);
	pthread_mutex_lock(&m->end_lock);
	*res = m->result;
	pthread_mutex_unlock(&m->end_lock);
}

void machine_new_generation(struct machine *m, bool notify)
{
	uint8_t id[VMGENID_LEN];
	uint8_t *at = guest_mem_ptr(&m->vm.mem, VMGENID_ADDR, sizeof(id));
	/* getrandom of 16 bytes does not fail short once the pool is up; the
	 * old ID stays rather than a weak new one if it ever does. */
	if (!at || getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return;
	memcpy(at, id, sizeof(id));
	if (notify) {
		struct irq_line l = kvm_vm_irq_line(&m->vm, MACHINE_VMGENID_GSI);
		irq_line_pulse(&l);
	}
}

void machine_press_power_button(struct machine *m)
{
	/* The GED's _CRS declares an edge: one pulse is one press. Two
	 * concurrent presses may merge into one edge, which is still a press. */
	struct irq_line l = kvm_vm_irq_line(&m->vm, MACHINE_POWER_BUTTON_GSI);
	irq_line_pulse(&l);
}

int machine_guest_write(struct machine *m, uint64_t gpa, const void *data, size_t len)
{
	uint8_t *at = guest_mem_ptr(&m->vm.mem, gpa, len);
	if (!at)
		return -1;
	memcpy(at, data, len);
	guest_mem_mark_written(&m->vm.mem, at, len);
	return 0;
}

size_t machine_console_input(struct machine *m, const uint8_t *buf, size_t len)
{
	if (!m->res.stdio_demux)
		return uart16550_receive(m->uart, buf, len);
	/* Only what the relay granted; the vCPUs add to it, only this
	 * thread takes from it. */
	size_t credit = atomic_load(&m->stdio_credit);
	size_t took = uart16550_receive(m->uart, buf, len < credit ? len : credit);
	atomic_fetch_sub(&m->stdio_credit, took);
	return took;
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_destroy(&m->vcpus[i]);
	free(m->vcpus);
	/* After the vCPUs: nothing kicks the queues any more. */
	device_table_destroy(&m->devices);
	close_nic_fds(m->res.nics, m->cfg.nnics);
	close_share_fds(&m->cfg, &m->res);
	free(m->cpuid);
	kvm_vm_destroy(&m->vm);
	if (m->end_fd >= 0)
		close(m->end_fd);
	if (m->ready_fd >= 0)
		close(m->ready_fd);
	if (m->stdio_ready_fd >= 0)
		close(m->stdio_ready_fd);
	pthread_mutex_destroy(&m->end_lock);
	pthread_mutex_destroy(&m->demux_lock);
	free(m);
}
