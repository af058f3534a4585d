/* The seccomp filters as BPF programs, one per kind of thread and mode,
 * compiled from confine/syscall_policy.c when nestvm is built
 * (scripts/seccomp_gen.c, with libseccomp) into build/gen/confine_bpf.c:
 * loading one costs a copy and a system call, not libseccomp's compiler
 * on every start (about 20 ms for the VMM's main thread on our CI host,
 * many times that in the lab's emulated CPU). Firecracker compiles its
 * filters at build time too. */
#ifndef NESTVM_CONFINE_CONFINE_BPF_H
#define NESTVM_CONFINE_CONFINE_BPF_H

#include <linux/filter.h>

#include "confine/thread_kind.h"

/* Where a rule compares with the process's own pid (tgkill to its own
 * threads), the program holds this value; the loader puts getpid() there. */
#define CONFINE_BPF_PID_PLACEHOLDER 0x7ffe5eedu

struct confine_bpf {
	const struct sock_filter *insns;
	unsigned short len;
};

/* Refused calls trap (SIGSYS), or are logged and allowed. */
extern const struct confine_bpf confine_bpf_enforce[CONFINE_KINDS];
extern const struct confine_bpf confine_bpf_log[CONFINE_KINDS];

/* System call names by number, for the report of a refused one. */
#define CONFINE_SYSCALL_NAMES 512
extern const char *const confine_syscall_names[CONFINE_SYSCALL_NAMES];

#endif
