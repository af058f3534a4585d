/* Runs a started machine in the foreground: the calling thread becomes the
 * I/O thread (console input, signals) until the VM ends. */
#ifndef NESTVM_VMM_RUNNER_H
#define NESTVM_VMM_RUNNER_H

#include <stdbool.h>

#include "vmm/machine.h"

struct runner_options {
	int input_fd;       /* -1 for none */
	bool escape_keys;   /* honour Ctrl-A x (when the input is a terminal) */
	/* The input goes escaped (util/stdio_mux.h), its end as the end
	 * marker: a container relay's stdin. */
	bool stdio_mux;
	/* Leave the machine paused when it ends, so that a host-side stop
	 * (MACHINE_END_STOPPED) can still be saved (machine_save). */
	bool keep_for_save;
	/* Printed (with a newline) on stderr once the vCPUs run; NULL: none. */
	const char *running_note;
	/* Called once the vCPUs run (NULL: nothing), with opaque. */
	void (*on_running)(void *opaque);
	void *opaque;
	/* Given to the guest's console before anything read from input_fd:
	 * at the start, or with on_ready once the guest says it is ready. */
	const char *first_input;
	/* Non-zero: first_input goes to guest memory there instead (with its
	 * NUL, when it fits in first_input_room bytes), and the console gets
	 * one newline to wake the reader (a warm start's mailbox). */
	uint64_t first_input_at;
	size_t first_input_room;
	/* Non-NULL: when the guest says it is ready for a warm start's
	 * snapshot (machine_ready_fd), called once with the machine paused
	 * (it saves it); the machine then resumes, gets first_input, and
	 * input_fd is read from then on. */
	void (*on_ready)(struct machine *m, void *opaque);
	/* SIGTERM presses the VM's power button instead of ending it (a
	 * container's VM: its init hands the container SIGTERM). */
	bool term_presses_power_button;
	void *ready_opaque;
};

int runner_run(struct machine *m, const struct runner_options *opt,
	       struct machine_result *res, struct nv_err *err);

#endif
