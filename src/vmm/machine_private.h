/* The machine's insides, shared by its two files only: machine.c (life:
 * create, start, pause, end, destroy) and machine_devices.c (the device
 * table: what is plugged where). */
#ifndef NESTVM_VMM_MACHINE_PRIVATE_H
#define NESTVM_VMM_MACHINE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/nested.h"
#include "core/device.h"
#include "core/vcpu.h"
#include "core/kvm_vm.h"
#include "dev/platform/platform_sink.h"
#include "vmm/machine.h"
#include "util/stdio_mux.h"

struct machine {
	struct vm_config cfg;
	struct machine_resources res; /* nic fds become -1 as devices take them */
	struct kvm_vm vm;
	struct vcpu *vcpus;
	unsigned nvcpus_created;
	struct vcpu_host vcpu_host;
	struct platform_sink sink;

	/* Every device, in creation order: the machine's whole wiring. */
	struct device_table devices;
	struct uart16550 *uart; /* the console's, owned by the table */
	/* With res.stdio_demux: the console's output split back into stdout
	 * and stderr; the lock orders vCPUs that write the UART at once. */
	struct stdio_demux demux;
	pthread_mutex_t demux_lock;
	/* Readable once the relay said it is ready for stdin, and each time
	 * it grants more (stdio_credit: the bytes the console may still be
	 * given). */
	int stdio_ready_fd;
	atomic_size_t stdio_credit;
	bool paused;
	/* Restored from a saved or migrated state: its adapters are on new
	 * switch ports (or another host's switch) and announce themselves
	 * once it runs (machine_start). */
	bool announce_on_start;

	struct kvm_cpuid2 *cpuid;
	unsigned cpuid_capacity;
	struct nested_setup nested;
	struct x86_boot_info boot;

	pthread_mutex_t end_lock;
	struct machine_result result; /* first ending wins */
	int end_fd;
	/* Readable each time the guest says it is ready for a warm start's
	 * snapshot (PLATFORM_EVENT_GUEST_READY). */
	int ready_fd;
	/* Set with the result: from then on the guest is over, even if its
	 * vCPUs run a little longer until the I/O thread stops them. */
	atomic_bool ended;
};

/* Builds every device into m->devices (platform devices at their ports,
 * then disks, NICs and --device entries on virtio-mmio windows) and
 * describes the virtio windows in acpi. -1 with err; the caller destroys
 * what was built. */
int machine_add_devices(struct machine *m, struct acpi_config *acpi, struct nv_err *err);

#endif
