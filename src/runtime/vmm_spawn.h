/* The container's VMM: `nestvm container run --oci-state DIR [-i] [-t]
 * BUNDLE`, in a session of its own, with NESTVM_OCI_READY_FD naming the
 * write end of a pipe on which it says "ok" once the VM is built, or
 * "error: MESSAGE" before it exits non-zero. */
#ifndef NESTVM_RUNTIME_VMM_SPAWN_H
#define NESTVM_RUNTIME_VMM_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define VMM_READY_TIMEOUT_MS 60000

struct vmm_spawn {
	const char *nestvm; /* the program */
	const char *dir;    /* --oci-state */
	const char *bundle;
	bool interactive, tty;
	int stdio_fd;       /* >= 0: the VMM's stdin, stdout, stderr and controlling terminal */
};

/* nestvm for the runtime running now: $NESTVM if set, else the nestvm in the
 * same folder as this program. */
int vmm_program(char *out, size_t size, struct nv_err *err);

/* Starts the VMM. Its pid, with *ready_fd the pipe's read end
 * (close-on-exec); or -1 with err. */
pid_t vmm_spawn(const struct vmm_spawn *s, int *ready_fd, struct nv_err *err);

/* Waits up to timeout_ms for the VMM's line. 0 on "ok"; else -1 with err
 * (its message, its end, or the timeout), the VMM killed if still there and
 * reaped. ready_fd is closed either way. */
int vmm_wait_ready(pid_t pid, int ready_fd, int timeout_ms, struct nv_err *err);

#endif
