/* Runs a started machine in the foreground: the calling thread becomes the
 * I/O thread (console input, signals) until the VM ends. */
#ifndef NESTVM_VMM_RUNNER_H
#define NESTVM_VMM_RUNNER_H

#include <stdbool.h>

#include "vmm/machine.h"

struct runner_options {
	int input_fd;       /* -1 for none */
	bool escape_keys;   /* honour Ctrl-A x (when the input is a terminal) */
	/* Leave the machine paused when it ends, so that a host-side stop
	 * (MACHINE_END_STOPPED) can still be saved (machine_save). */
	bool keep_for_save;
	/* Printed (with a newline) on stderr once the vCPUs run; NULL: none. */
	const char *running_note;
	/* Called once the vCPUs run (NULL: nothing), with opaque. */
	void (*on_running)(void *opaque);
	void *opaque;
};

int runner_run(struct machine *m, const struct runner_options *opt,
	       struct machine_result *res, struct nv_err *err);

#endif
