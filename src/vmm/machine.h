/* A whole x86 virtual machine: RAM, the in-kernel interrupt controllers, the
 * platform devices (UART, i8042, debug-exit, pvpanic, ACPI sleep), virtio-mmio
 * devices, ACPI tables, the loaded kernel and one thread per vCPU.
 * The explicit device table below is the machine's whole wiring. */
#ifndef NESTVM_VMM_MACHINE_H
#define NESTVM_VMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"
#include "util/eth.h"
#include "util/err.h"

#define MACHINE_MAX_CPUS VM_MAX_CPUS

/* Guest-physical placement of virtio-mmio windows and their interrupts. */
#define MACHINE_VIRTIO_MMIO_BASE 0xd0000000ULL
#define MACHINE_VIRTIO_MMIO_STRIDE 0x1000ULL
#define MACHINE_VIRTIO_GSI_BASE 5
#define MACHINE_UART_PORT 0x3f8
#define MACHINE_UART_GSI 4
#define MACHINE_I8042_PORT 0x60
/* The ACPI Generic Event Device's interrupt (the power button): the first
 * IOAPIC pin after the virtio range (5..20), edge-triggered, active-high. */
#define MACHINE_POWER_BUTTON_GSI 21
/* The GED's second: the VM generation ID changed (arch/x86/acpi.h). */
#define MACHINE_VMGENID_GSI 22

/* A network adapter's switch port, connected by the caller (see
 * net/port_client.h); its MAC is the config's. */
struct machine_nic {
	int fd; /* the machine owns it from machine_create on, even on failure */
	/* After the switch went away: a new connected fd or -1 (retried every
	 * second). May be NULL. Runs on the adapter's I/O thread. */
	int (*reconnect)(void *opaque);
	void *reconnect_opaque;
};

/* What a machine is built from besides its settings (struct vm_config):
 * the files vm_launch loaded and the host resources it prepared. */
struct machine_resources {
	const char *kvm_path;
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline;
	/* One per adapter of the config, in its order; the machine owns the
	 * fds from machine_create on, even on failure. */
	struct machine_nic nics[VM_MAX_NICS];
	int console_fd; /* where the serial console's output goes */
	/* true: the console speaks util/stdio_mux.h (a container's relay
	 * without a terminal): stdout goes to console_fd, stderr to
	 * stderr_fd. */
	bool stdio_demux;
	int stderr_fd;
	/* One per share of the config, in its order: a socket connected to
	 * its vhost-user back-end (vmm/virtiofsd.h), owned by the machine from
	 * machine_create on, even on failure; entries past the config's shares
	 * are not looked at (-1 by convention). */
	int share_fds[VM_SHARES_MAX];
	/* true: a saved machine comes back (vmm/machine_state.h): RAM is
	 * mapped from memory_fd (a memory file, used during machine_create
	 * only), nothing is loaded or booted; machine_restore then gives the
	 * vCPUs and devices their state. kernel, initrd and cmdline unused. */
	bool from_saved;
	int saved_memory_fd;
};

/* How a VM ended. */
enum machine_end {
	MACHINE_END_NONE,
	MACHINE_END_EXIT_STATUS, /* the guest reported a command's status */
	MACHINE_END_POWEROFF,
	MACHINE_END_RESET,
	MACHINE_END_PANIC,
	MACHINE_END_TRIPLE_FAULT,
	MACHINE_END_VMM_FAILURE,
	MACHINE_END_STOPPED,     /* the host asked (signal, console escape) */
	MACHINE_END_SAVED,       /* saved (machine_save), so its VMM may exit */
};

struct machine_result {
	enum machine_end end;
	int status;       /* the guest's status for EXIT_STATUS, the signal for STOPPED */
	char detail[256]; /* a sentence for failures */
};

struct machine;

/* A VM as c describes it (validated: vm_config_validate), built from r;
 * not started. Both are copied. */
struct machine *machine_create(const struct vm_config *c, const struct machine_resources *r,
			       struct nv_err *err);
/* Starts the vCPUs; a restored machine's adapters then announce
 * themselves on their switches (device_ops.announce). */
int machine_start(struct machine *m, struct nv_err *err);
/* Pauses every vCPU (each on its own thread) and then every device's work
 * off the vCPU threads; resume undoes it. Idempotent; call from one
 * controlling thread. */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
bool machine_paused(const struct machine *m);
/* The settings it was made with (the effective ones: a launch's additions
 * included). */
const struct vm_config *machine_config(const struct machine *m);
/* The device table, in creation order (for tests and `vm show`). */
struct device_table;
const struct device_table *machine_devices(const struct machine *m);
/* Readable (eventfd) once the VM has ended; poll it. */
int machine_end_fd(const struct machine *m);
/* Readable (an eventfd: read it to rearm) each time the guest said it is
 * ready for a warm start's snapshot (guest/tools/nestvm-warm.c). */
int machine_ready_fd(const struct machine *m);
/* With stdio_demux: readable each time the guest's relay grants stdin
 * room (util/stdio_mux.h), the first time when it is ready; -1 without.
 * machine_console_input then gives it no more than it granted. */
int machine_stdio_ready_fd(const struct machine *m);
/* Ends the VM from the host side; the first ending wins. */
void machine_request_end(struct machine *m, enum machine_end end, int status, const char *detail);
/* Stops all vCPUs and returns how the VM ended. */
void machine_finish(struct machine *m, struct machine_result *res);
/* Presses the ACPI power button: pulses the Generic Event Device's
 * interrupt, whose _EVT notifies \_SB.PWRB (0x80, "pressed"). A guest with
 * Linux's button driver then reports KEY_POWER to userspace, which should
 * power off (ACPI S5: MACHINE_END_POWEROFF). Only a request: the guest may
 * ignore it, and a press before its driver has unmasked the pin is lost,
 * as on real hardware (the caller retries or falls back to a hard stop).
 * Any thread may call it at any time between machine_create and
 * machine_destroy: KVM_IRQ_LINE is a VM ioctl that needs no VMM lock. */
void machine_press_power_button(struct machine *m);
/* Writes a new random VM generation ID into the guest; with notify, also
 * tells the guest (the GED's interrupt), as after a restore. */
void machine_new_generation(struct machine *m, bool notify);
/* Moves each disk i with a non-empty overlays[i] (i < n) onto a new
 * differencing disk there, over the image it used so far (which is then
 * never written again: a checkpoint's disk), with the machine paused; the
 * machine's settings (what a later save records) follow. All or none: on
 * failure every disk is back on its old image and no overlay is left.
 * 0, or -1 with err. */
int machine_disks_branch(struct machine *m, const char (*overlays)[VM_PATH_MAX], unsigned n,
			 struct nv_err *err);
/* Disk index's device (its copy during a migration), or NULL. */
struct virtio_blk;
struct virtio_blk *machine_disk(struct machine *m, unsigned index);
/* Memory through the VM's virtio-balloon (`--device balloon`, or dynamic
 * memory's): the guest should keep mib of its RAM and give the rest back.
 * An input error without a balloon or above its RAM. */
int machine_set_memory_target(struct machine *m, uint64_t mib, struct nv_err *err);

struct machine_memory {
	bool has_balloon;
	uint64_t ram_mib;      /* the guest's RAM (dynamic memory: its maximum) */
	uint64_t target_mib;   /* what it is asked to keep: RAM less the target */
	uint64_t balloon_mib;  /* what its driver says the balloon holds */
	bool have_demand;      /* the driver has sent statistics: */
	uint64_t demand_mib;   /* what the guest uses (memory_guest_demand) */
	uint64_t stats_sample; /* counts the sets of statistics received */
};
void machine_memory_status(struct machine *m, struct machine_memory *out);
/* Asks the guest's balloon driver for fresh statistics (a no-op without). */
void machine_memory_request_stats(struct machine *m);
/* Copies len bytes into guest memory at gpa, as a device writes (dirty for
 * a migration); -1 when that is not all RAM. */
int machine_guest_write(struct machine *m, uint64_t gpa, const void *data, size_t len);
/* Feeds console input to the UART; returns how many bytes it took. */
size_t machine_console_input(struct machine *m, const uint8_t *buf, size_t len);
void machine_destroy(struct machine *m);

#endif
