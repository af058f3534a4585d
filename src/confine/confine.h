/* Seccomp confinement of nestvm's long-lived processes: the VMM (its main
 * thread, each vCPU thread, each device I/O thread) and a switch's daemon.
 * Each kind of thread has its own allow-list (confine/syscall_policy.c);
 * a thread loads its kind's filter on itself once it is set up and before
 * it touches guest data or a frame. Filters stack: a thread started after
 * its creator loaded one keeps both. no_new_privs comes with every filter.
 *
 * A forbidden call ends the whole process with one line on stderr naming
 * the call and the thread's kind (SECCOMP_RET_TRAP and a SIGSYS handler:
 * the kernel's KILL_PROCESS could not say which call it was).
 *
 * The mode is process-wide and off until confine_init: library users (unit
 * and KVM-API tests) run unconfined; the nestvm binary's VMM and switch
 * daemon call confine_init, which reads NESTVM_SECCOMP. */
#ifndef NESTVM_CONFINE_CONFINE_H
#define NESTVM_CONFINE_CONFINE_H

#include "confine/thread_kind.h"
#include "util/err.h"

enum confine_mode {
	CONFINE_OFF,     /* NESTVM_SECCOMP=off: no filter (debugging only) */
	CONFINE_ENFORCE, /* the default: a forbidden call ends the process */
	CONFINE_LOG,     /* NESTVM_SECCOMP=log: allowed, and logged by the kernel */
};

/* Reads NESTVM_SECCOMP (unset or "enforce", "log", "off") and sets the
 * process's mode. 0, or -1 with err (an unknown value). */
int confine_init(struct nv_err *err);
/* Sets the mode directly (tests). */
void confine_set_mode(enum confine_mode mode);

/* The calling thread becomes the user identity_set named (if any,
 * confine/identity.h), drops its capabilities (confine/capabilities.h)
 * and loads kind's filter on it; the filter not when the mode is off. 0,
 * or -1 with err. */
int confine_thread(enum confine_kind kind, struct nv_err *err);

/* "VMM main", "vCPU", "device I/O", "switch daemon". */
const char *confine_kind_name(enum confine_kind kind);

#endif
