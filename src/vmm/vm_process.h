/* The event loop of a named VM's VMM process (`nestvm vm-daemon`): runs a
 * created machine until it ends, with its console shared on console.sock
 * (console_hub) and driven through control.sock (vm_control). The calling
 * thread becomes the I/O thread. */
#ifndef NESTVM_VMM_VM_PROCESS_H
#define NESTVM_VMM_VM_PROCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/machine.h"

struct vm_process_options {
	const char *console_sock, *control_sock, *console_log;
	/* Where `save` puts the machine (vmm/machine_state.h), and the folder
	 * `checkpoint NAME` puts NAME/ in. */
	const char *save_dir, *checkpoints_dir;
	int console_read_fd; /* the read end of the machine's console_fd pipe */
	/* Called from the loop: the vCPUs run; a shutdown or kill was asked
	 * for (first time only). May be NULL. */
	void (*on_running)(void *opaque);
	void (*on_stopping)(void *opaque);
	/* Paused (true) or resumed (false) through control.sock. May be NULL. */
	void (*on_paused)(void *opaque, bool paused);
	/* The machine has ended (also when it never started): called before
	 * the sockets close, so that a client that sees its console close finds
	 * the outcome recorded. */
	void (*on_ended)(void *opaque, const struct machine_result *res);
	void *opaque;
};

/* Kill reasons (machine_result.detail of MACHINE_END_STOPPED). */
#define VM_PROCESS_KILL_DEFAULT "forced by nestvm vm stop --force"

/* Why a named VM went Off, as its record's last_stop says it: "the guest
 * powered off", "the guest rebooted", "stopped: forced by nestvm vm stop
 * --force", "the guest kernel panicked", "VMM failure: ...". */
void vm_process_stop_reason(const struct machine_result *res, char *out, size_t size);

/* 0 when the machine ran and ended (how: res), -1 with err when the loop
 * could not be set up (res then says VMM failure). SIGTERM, SIGINT, SIGHUP
 * and SIGQUIT end the VM at once (MACHINE_END_STOPPED, status = signal). */
int vm_process_run(struct machine *m, const struct vm_process_options *o,
		   struct machine_result *res, struct nv_err *err);

#endif
