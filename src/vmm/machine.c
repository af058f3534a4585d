#include "vmm/machine.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/nested.h"
#include "arch/x86/regs.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart16550.h"
#include "dev/platform/acpi_sleep.h"
#include "dev/platform/debug_exit.h"
#include "dev/platform/platform_sink.h"
#include "dev/platform/pvpanic.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/mmio.h"
#include "dev/virtio/net.h"
#include "kvm/kvm.h"

_Static_assert(MACHINE_POWER_BUTTON_GSI >= MACHINE_VIRTIO_GSI_BASE + MACHINE_MAX_VIRTIO &&
		       MACHINE_POWER_BUTTON_GSI < ACPI_IOAPIC_PINS,
	       "the power button needs an IOAPIC pin of its own");

struct machine {
	struct machine_config cfg;
	struct vm vm;
	struct vcpu *vcpus;
	unsigned nvcpus_created;
	struct vcpu_host vcpu_host;
	struct platform_sink sink;

	struct uart16550 *uart;
	struct i8042 *i8042;
	struct virtio_blk *disks[MACHINE_MAX_DISKS];
	unsigned ndisks;
	struct virtio_net *nics[MACHINE_MAX_NICS];
	unsigned nnics;

	struct kvm_cpuid2 *cpuid;
	unsigned cpuid_capacity;
	struct nested_setup nested;
	struct x86_boot_info boot;

	pthread_mutex_t end_lock;
	struct machine_result result; /* first ending wins */
	int end_fd;
	/* Set with the result: from then on the guest is over, even if its
	 * vCPUs run a little longer until the I/O thread stops them. */
	atomic_bool ended;
};

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

static void on_platform_event(void *opaque, enum platform_event ev, int value)
{
	struct machine *m = opaque;
	switch (ev) {
	case PLATFORM_EVENT_EXIT_STATUS:
		machine_request_end(m, MACHINE_END_EXIT_STATUS, value, NULL);
		break;
	case PLATFORM_EVENT_POWEROFF:
		machine_request_end(m, MACHINE_END_POWEROFF, 0, NULL);
		break;
	case PLATFORM_EVENT_PANIC:
		machine_request_end(m, MACHINE_END_PANIC, 0, "the guest kernel panicked");
		break;
	case PLATFORM_EVENT_RESET:
		machine_request_end(m, MACHINE_END_RESET, 0, NULL);
		break;
	}
}

static void on_i8042_reset(void *opaque)
{
	on_platform_event(opaque, PLATFORM_EVENT_RESET, 0);
}

static void on_vcpu_stop(void *opaque, unsigned vcpu, enum vcpu_stop_cause cause,
			 const struct vcpu_exit *e)
{
	struct machine *m = opaque;
	char why[160];
	switch (cause) {
	case VCPU_STOP_TRIPLE_FAULT:
		snprintf(why, sizeof(why), "vCPU %u triple-faulted", vcpu);
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

/* The UART's output: straight to the console fd, retrying short writes. */
static void on_uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;
	/* After the guest reported how it ended, what it still prints on its
	 * way down (the kernel's "reboot: Power down") is not the user's. */
	if (atomic_load(&m->ended))
		return;
	while (len > 0) {
		ssize_t w = write(m->cfg.console_fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE) {
			/* Nobody reads the console any more (`nestvm run -- yes | head`):
			 * end like a shell pipeline does, 128 + SIGPIPE. */
			machine_request_end(m, MACHINE_END_STOPPED, SIGPIPE, "console output closed");
			return;
		}
		if (w <= 0)
			return; /* other console errors must not stop the guest */
		buf += w;
		len -= (size_t)w;
	}
}

static int register_pio(struct machine *m, uint64_t port, uint64_t len, bus_access_fn fn,
			void *opaque, struct nv_err *err)
{
	if (bus_register(&m->vm.pio, port, len, fn, opaque) < 0)
		return nv_err_host(err, "port 0x%llx is claimed twice", (unsigned long long)port);
	return 0;
}

/* The device table: every platform device, its port and its interrupt. */
static int machine_add_platform_devices(struct machine *m, struct nv_err *err)
{
	m->uart = uart16550_new(vm_irq_line(&m->vm, MACHINE_UART_GSI), on_uart_tx, m);
	m->i8042 = i8042_new(on_i8042_reset, m);
	if (!m->uart || !m->i8042)
		return nv_err_host(err, "out of memory creating the platform devices");
	if (register_pio(m, MACHINE_UART_PORT, 8, uart16550_io, m->uart, err) < 0 ||
	    register_pio(m, MACHINE_I8042_PORT, 5, i8042_io, m->i8042, err) < 0 ||
	    register_pio(m, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, debug_exit_io, &m->sink, err) < 0 ||
	    register_pio(m, PVPANIC_PORT, 1, pvpanic_io, &m->sink, err) < 0 ||
	    register_pio(m, ACPI_SLEEP_PORT, 1, acpi_sleep_io, &m->sink, err) < 0)
		return -1;
	return 0;
}

/* The next virtio-mmio window and GSI, in device-table order. */
static uint64_t next_virtio_base(const struct acpi_config *acpi)
{
	return MACHINE_VIRTIO_MMIO_BASE + acpi->nvirtio * MACHINE_VIRTIO_MMIO_STRIDE;
}

static unsigned next_virtio_gsi(const struct acpi_config *acpi)
{
	return MACHINE_VIRTIO_GSI_BASE + acpi->nvirtio;
}

/* Map a transport at the next window and describe it in the DSDT. */
static int add_virtio_window(struct machine *m, struct acpi_config *acpi, struct virtio_mmio *t,
			     struct nv_err *err)
{
	uint64_t base = next_virtio_base(acpi);
	if (bus_register(&m->vm.mmio, base, VIRTIO_MMIO_WINDOW, virtio_mmio_access, t) < 0)
		return nv_err_host(err, "MMIO window 0x%llx is claimed twice", (unsigned long long)base);
	acpi->virtio[acpi->nvirtio].base = base;
	acpi->virtio[acpi->nvirtio].size = VIRTIO_MMIO_WINDOW;
	acpi->virtio[acpi->nvirtio].gsi = next_virtio_gsi(acpi);
	acpi->nvirtio++;
	return 0;
}

static int machine_add_disks(struct machine *m, struct acpi_config *acpi, struct nv_err *err)
{
	for (unsigned i = 0; i < m->cfg.ndisks; i++) {
		unsigned gsi = next_virtio_gsi(acpi);
		struct virtio_blk *b = virtio_blk_new(&m->vm.mem, vm_irq_line(&m->vm, gsi),
						      m->cfg.disks[i].path, m->cfg.disks[i].readonly, err);
		if (!b)
			return -1;
		m->disks[m->ndisks++] = b;
		if (add_virtio_window(m, acpi, virtio_blk_transport(b), err) < 0)
			return -1;
	}
	return 0;
}

/* NICs follow the disks, so disk names (vda, ...) do not depend on them. */
static int machine_add_nics(struct machine *m, struct acpi_config *acpi, struct nv_err *err)
{
	for (unsigned i = 0; i < m->cfg.nnics; i++) {
		const struct machine_nic *nic = &m->cfg.nics[i];
		struct virtio_net_config nc = {
			.mac = nic->mac, .fd = nic->fd,
			.reconnect = nic->reconnect, .reconnect_opaque = nic->reconnect_opaque,
		};
		m->cfg.nics[i].fd = -1; /* the device owns it now, even on failure */
		struct virtio_net *n = virtio_net_new(&m->vm.mem, vm_irq_line(&m->vm, next_virtio_gsi(acpi)),
						      &nc, err);
		if (!n)
			return -1;
		m->nics[m->nnics++] = n;
		if (add_virtio_window(m, acpi, virtio_net_transport(n), err) < 0)
			return -1;
	}
	return 0;
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

static int machine_setup_vcpu(struct machine *m, struct vcpu *v, struct nv_err *err)
{
	struct cpuid_policy_input in = {
		.vcpu_index = v->index,
		.ncpus = m->cfg.ncpus,
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
	if (v->index != 0)
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
	m->vcpus = calloc(m->cfg.ncpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return nv_err_host(err, "out of memory");
	for (unsigned i = 0; i < m->cfg.ncpus; i++) {
		if (vcpu_create(&m->vcpus[i], m->vm.fd, m->vm.run_size, i, &m->vcpu_host, err) < 0)
			return -1;
		m->nvcpus_created++;
		if (machine_setup_vcpu(m, &m->vcpus[i], err) < 0)
			return -1;
	}
	return 0;
}

struct machine *machine_create(const struct machine_config *cfg, struct nv_err *err)
{
	struct machine_nic nics[MACHINE_MAX_NICS];
	unsigned nnics = cfg->nnics <= MACHINE_MAX_NICS ? cfg->nnics : MACHINE_MAX_NICS;
	memcpy(nics, cfg->nics, sizeof(nics));
	if (cfg->ncpus == 0 || cfg->ncpus > MACHINE_MAX_CPUS) {
		nv_err_input(err, "--cpus must be between 1 and %d", MACHINE_MAX_CPUS);
		close_nic_fds(nics, nnics);
		return NULL;
	}
	if (cfg->ndisks > MACHINE_MAX_DISKS || cfg->nnics > MACHINE_MAX_NICS ||
	    cfg->ndisks + cfg->nnics > MACHINE_MAX_VIRTIO) {
		nv_err_input(err, "at most %d disks, %d network adapters and %d of both together",
			     MACHINE_MAX_DISKS, MACHINE_MAX_NICS, MACHINE_MAX_VIRTIO);
		close_nic_fds(nics, nnics);
		return NULL;
	}
	struct machine *m = calloc(1, sizeof(*m));
	if (!m) {
		nv_err_host(err, "out of memory");
		close_nic_fds(nics, nnics);
		return NULL;
	}
	m->cfg = *cfg;
	m->vm.fd = m->vm.kvm_fd = -1;
	m->end_fd = -1;
	pthread_mutex_init(&m->end_lock, NULL);
	m->sink = (struct platform_sink){ .event = on_platform_event, .opaque = m };
	m->vcpu_host = (struct vcpu_host){
		.pio = &m->vm.pio, .mmio = &m->vm.mmio, .stop = on_vcpu_stop, .opaque = m
	};
	m->end_fd = eventfd(0, EFD_CLOEXEC);
	if (m->end_fd < 0) {
		nv_err_host(err, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (vm_create(&m->vm, cfg->kvm_path, cfg->ram_bytes, err) < 0)
		goto fail;
	int maxv = kvm_check_extension(m->vm.kvm_fd, KVM_CAP_MAX_VCPUS);
	if (maxv <= 0)
		maxv = kvm_check_extension(m->vm.kvm_fd, KVM_CAP_NR_VCPUS);
	if (maxv > 0 && cfg->ncpus > (unsigned)maxv) {
		nv_err_input(err, "--cpus %u is above this KVM's limit of %d vCPUs", cfg->ncpus, maxv);
		goto fail;
	}
	struct acpi_config acpi;
	memset(&acpi, 0, sizeof(acpi));
	acpi.ncpus = cfg->ncpus;
	acpi.sleep_port = ACPI_SLEEP_PORT;
	acpi.pvpanic = true;
	acpi.power_button_gsi = MACHINE_POWER_BUTTON_GSI;
	if (machine_add_platform_devices(m, err) < 0 || machine_add_disks(m, &acpi, err) < 0 ||
	    machine_add_nics(m, &acpi, err) < 0)
		goto fail;
	uint64_t rsdp = 0;
	if (acpi_build(&m->vm.mem, &acpi, &rsdp, err) < 0)
		goto fail;
	struct x86_boot_params_in bin = {
		.kernel = cfg->kernel, .kernel_len = cfg->kernel_len,
		.initrd = cfg->initrd, .initrd_len = cfg->initrd_len,
		.cmdline = cfg->cmdline, .rsdp_addr = rsdp,
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
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		if (vcpu_start(&m->vcpus[i], err) < 0)
			return -1;
	return 0;
}

int machine_end_fd(const struct machine *m)
{
	return m->end_fd;
}

void machine_finish(struct machine *m, struct machine_result *res)
{
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_stop(&m->vcpus[i]);
	pthread_mutex_lock(&m->end_lock);
	*res = m->result;
	pthread_mutex_unlock(&m->end_lock);
}

void machine_press_power_button(struct machine *m)
{
	/* The GED's _CRS declares an edge: one pulse is one press. Two
	 * concurrent presses may merge into one edge, which is still a press. */
	struct irq_line l = vm_irq_line(&m->vm, MACHINE_POWER_BUTTON_GSI);
	irq_line_pulse(&l);
}

size_t machine_console_input(struct machine *m, const uint8_t *buf, size_t len)
{
	return uart16550_receive(m->uart, buf, len);
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->nvcpus_created; i++)
		vcpu_destroy(&m->vcpus[i]);
	free(m->vcpus);
	for (unsigned i = 0; i < m->ndisks; i++)
		virtio_blk_free(m->disks[i]);
	/* After the vCPUs: nothing kicks the queues any more. */
	for (unsigned i = 0; i < m->nnics; i++)
		virtio_net_free(m->nics[i]);
	close_nic_fds(m->cfg.nics, m->cfg.nnics);
	if (m->uart)
		uart16550_free(m->uart);
	if (m->i8042)
		i8042_free(m->i8042);
	free(m->cpuid);
	vm_destroy(&m->vm);
	if (m->end_fd >= 0)
		close(m->end_fd);
	pthread_mutex_destroy(&m->end_lock);
	free(m);
}
