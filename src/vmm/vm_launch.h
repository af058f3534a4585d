/* Turning a VM's settings (struct vm_config) into a created machine: the
 * default guest lookup, the kernel command line, the nested support disk
 * and the switch ports. One path for
 * `nestvm run` and for a named VM's VMM process (vm-daemon), so that both
 * build the same machine from the same settings. */
#ifndef NESTVM_VMM_VM_LAUNCH_H
#define NESTVM_VMM_VM_LAUNCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/port_client.h"
#include "net/switch_protocol.h"
#include "vmm/kernel_cmdline.h"
#include "vmm/machine.h"
#include "vmm/switch_starter.h"
#include "vmm/virtiofsd_set.h"

/* What launching needs beyond the VM's settings (struct vm_config). */
struct vm_launch_options {
	const char *kvm_device;  /* NULL: /dev/kvm */
	bool pvm_kernel;         /* the kernel is built for a paravirtual KVM (kvm_pvm) */
	char *const *command;    /* the default guest runs it; NULL: interactive */
	int command_argc;
	int console_fd;          /* where the serial console's output goes */
	/* true: the console is a container relay's stdio stream
	 * (util/stdio_mux.h): its stderr goes to stderr_fd. */
	bool stdio_demux;
	int stderr_fd;
	/* Non-NULL: continue this saved machine instead of booting (its own
	 * settings, from the state file, replace the caller's; command and
	 * pvm_kernel are unused). Read during the call only. */
	const struct machine_saved *saved;
	/* With saved: the caller's settings say where the disks are now (a
	 * checkpoint or a merge moved them between differencing disks that
	 * show the same contents): their paths replace the saved ones, disk
	 * by disk. */
	bool disk_paths_from_caller;
	/* With saved: the VM takes the caller's name (a warm start's
	 * snapshot serves VMs of any name). */
	bool name_from_caller;
	/* A warm start's boot (vmm/warm_start.h): the guest gets
	 * KERNEL_CMDLINE_WARM and its command later, on the console. */
	bool warm_boot;
	/* A cpio archive appended to the initrd (a container's spec and
	 * files, mgmt/container_spec.h); NULL: none. Read during the call. */
	const uint8_t *initrd_extra;
	size_t initrd_extra_len;
};

/* One adapter's switch port: what its hello says, kept for reconnecting. */
struct vm_launch_port {
	char switch_name[SWITCH_NAME_MAX + 1];
	char vm_name[72];
	struct port_hello hello; /* hello.vm points to vm_name */
	struct switch_starter *starter;
};

/* What a launched machine needs to outlive it (the reconnect functions'
 * state), and what the caller may want to tell the user. The caller owns it
 * and keeps it until machine_destroy. */
struct vm_launch_state {
	/* The settings as launched: the caller's plus the nested support disk. */
	struct vm_config config;
	struct vm_launch_port ports[VM_MAX_NICS];
	/* Starts a switch's daemon again for a reconnecting adapter. */
	struct switch_starter starter;
	char append[KERNEL_CMDLINE_MAX]; /* the config's, and the support disk's name */
	char cmdline[KERNEL_CMDLINE_MAX];
	/* Non-empty: a note for the user (e.g. no nested support disk). */
	char note[256];
	/* The shared folders' back-ends (--share), one per share, while the
	 * VM lives. */
	struct virtiofsd_set shares;
};

/* Validates c (vm_config_validate), loads the files, builds the command
 * line, checks every input (kernel, initrd, command line, memory against
 * the host's, disks, switches), then the host (a usable KVM, the
 * extensions when asked, a KVM that can boot Linux), connects the adapters
 * to their switches and creates the machine (not started). Nothing opens
 * KVM before the input is known good. NULL with err: the kind says whose
 * problem it was (a bad file, a missing switch or KVM is NV_ERR_INPUT). */
struct machine *vm_launch(const struct vm_config *c, const struct vm_launch_options *o,
			  struct vm_launch_state *st, struct nv_err *err);

/* After machine_destroy: ends what the launch started beside the machine
 * (the shared folders' virtiofsd processes). */
void vm_launch_end(struct vm_launch_state *st);

/* A saved machine's first half (o->saved unused): created from the saved
 * settings with its RAM mapped from memory_fd (a memory file, used here
 * only), nothing restored yet; machine_restore gives it its state. A
 * migration's target builds it while RAM still streams into the file
 * (untouched private pages show what the file holds when first read). */
struct machine *vm_launch_saved_prepare(const struct vm_config *caller, const struct vm_launch_options *o,
					const struct vm_config *saved_config, int memory_fd,
					struct vm_launch_state *st, struct nv_err *err);

#endif
