/* The allow-lists of confine/confine.h, as data: a system call by name and
 * what its arguments may be. A kind's filter is the common list plus its
 * own; anything else is refused. */
#ifndef NESTVM_CONFINE_SYSCALL_POLICY_H
#define NESTVM_CONFINE_SYSCALL_POLICY_H

#include <stddef.h>

#include "confine/thread_kind.h"

enum confine_arg {
	ARG_ANY,
	ARG_IOCTL_VMM,    /* KVM's run-time requests, and the terminal's */
	ARG_IOCTL_VCPU,   /* KVM's run-time requests */
	ARG_IOCTL_SWITCH, /* FIONREAD, FIONBIO and interface queries */
	ARG_IOCTL_IRQ,    /* KVM_IRQ_LINE: a device thread's interrupt */
	ARG_SOCKET_UNIX,  /* socket/socketpair: AF_UNIX only */
	ARG_SOCKET_IP,    /* socket: AF_INET or AF_INET6 (libslirp's flows) */
	ARG_CLONE_THREAD, /* clone: threads only, never a new process */
	ARG_NO_EXEC,      /* mmap/mprotect: never PROT_EXEC */
	ARG_OPENAT_READ,  /* openat: cannot write, create or truncate */
	ARG_SELF,         /* tgkill: to this process's own threads */
	ARG_ENOSYS,       /* refused with ENOSYS (clone3: glibc then uses clone) */
	ARG_PRCTL_FILTER, /* prctl: no_new_privs, seccomp and dropping capabilities */
};

struct confine_rule {
	const char *syscall;
	enum confine_arg arg;
};

/* kind's own rules (n set); the common list is syscall_policy_common. */
const struct confine_rule *syscall_policy_rules(enum confine_kind kind, size_t *n);
/* What every kind of thread needs: memory, locks, time, its own exit. */
const struct confine_rule *syscall_policy_common(size_t *n);
/* The ioctl requests an ARG_IOCTL_* rule allows (n set). */
const unsigned long *syscall_policy_ioctls(enum confine_arg arg, size_t *n);

#endif
