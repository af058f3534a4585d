#include "confine/syscall_policy.h"

#include <linux/kvm.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Every thread: memory (never made executable: nothing is loaded once a
 * filter is on), locks, time, signals' return, its own exit, and I/O on
 * descriptors it already holds. */
static const struct confine_rule common[] = {
	{ "read", ARG_ANY },
	{ "write", ARG_ANY },
	{ "readv", ARG_ANY },
	{ "writev", ARG_ANY },
	{ "close", ARG_ANY },
	{ "fstat", ARG_ANY },
	{ "newfstatat", ARG_ANY },
	{ "lseek", ARG_ANY },
	{ "fcntl", ARG_ANY },
	{ "poll", ARG_ANY },
	{ "ppoll", ARG_ANY },
	{ "futex", ARG_ANY },
	{ "brk", ARG_ANY },
	{ "mmap", ARG_NO_EXEC },
	{ "mprotect", ARG_NO_EXEC },
	{ "munmap", ARG_ANY },
	{ "mremap", ARG_ANY },
	{ "madvise", ARG_ANY }, /* also the balloon's MADV_DONTNEED */
	{ "rt_sigreturn", ARG_ANY },
	{ "rt_sigprocmask", ARG_ANY },
	{ "sigaltstack", ARG_ANY }, /* a thread's end */
	{ "restart_syscall", ARG_ANY },
	{ "clock_gettime", ARG_ANY },
	{ "gettimeofday", ARG_ANY },
	{ "clock_nanosleep", ARG_ANY },
	{ "nanosleep", ARG_ANY },
	{ "sched_yield", ARG_ANY },
	{ "sched_getaffinity", ARG_ANY }, /* malloc sizing a new arena */
	{ "getpid", ARG_ANY },
	{ "gettid", ARG_ANY },
	{ "tgkill", ARG_SELF }, /* pthread_kill: a vCPU's kick, abort() */
	{ "getrandom", ARG_ANY }, /* virtio-rng, json-c's hash seed */
	{ "exit", ARG_ANY },
	{ "exit_group", ARG_ANY },
};

/* I/O on sockets a thread has or connects (the socket rule checks the
 * domain; getsockopt is how SO_PEERCRED is read), and what serving a
 * listening socket adds. */
#define SOCKET_IO_RULES                                                                    \
	{ "connect", ARG_ANY }, { "sendto", ARG_ANY }, { "recvfrom", ARG_ANY },            \
	{ "sendmsg", ARG_ANY }, { "recvmsg", ARG_ANY }, { "shutdown", ARG_ANY },           \
	{ "getsockopt", ARG_ANY }, { "setsockopt", ARG_ANY }
#define SOCKET_SERVE_RULES                                                                 \
	{ "bind", ARG_ANY }, { "listen", ARG_ANY }, { "accept", ARG_ANY },                 \
	{ "accept4", ARG_ANY }, { "getsockname", ARG_ANY }, { "getpeername", ARG_ANY }

/* The event loop: console, control and console sockets (AF_UNIX only),
 * signals, threads (never processes), and what save and checkpoint write
 * (state, memory and overlay files, the VM's record). */
static const struct confine_rule vmm_main[] = {
	{ "pread64", ARG_ANY },
	{ "pwrite64", ARG_ANY },
	{ "preadv", ARG_ANY },
	{ "pwritev", ARG_ANY },
	{ "fsync", ARG_ANY },
	{ "fdatasync", ARG_ANY },
	{ "ftruncate", ARG_ANY },
	{ "fallocate", ARG_ANY },
	{ "openat", ARG_ANY },
	{ "statx", ARG_ANY },
	{ "faccessat", ARG_ANY },
	{ "faccessat2", ARG_ANY },
	{ "readlinkat", ARG_ANY },
	{ "getdents64", ARG_ANY },
	{ "mkdirat", ARG_ANY },
	{ "unlinkat", ARG_ANY },
	{ "renameat", ARG_ANY },
	{ "renameat2", ARG_ANY },
	{ "rename", ARG_ANY },
	{ "unlink", ARG_ANY },
	{ "mkdir", ARG_ANY },
	{ "rmdir", ARG_ANY },
	{ "fchmod", ARG_ANY },
	{ "flock", ARG_ANY },
	{ "umask", ARG_ANY },
	{ "copy_file_range", ARG_ANY },
	{ "fadvise64", ARG_ANY },
	{ "dup", ARG_ANY },
	{ "dup3", ARG_ANY },
	{ "pipe2", ARG_ANY },
	{ "eventfd2", ARG_ANY },
	{ "epoll_create1", ARG_ANY },
	{ "epoll_ctl", ARG_ANY },
	{ "epoll_wait", ARG_ANY },
	{ "epoll_pwait", ARG_ANY },
	{ "signalfd4", ARG_ANY },
	{ "timerfd_create", ARG_ANY },
	{ "timerfd_settime", ARG_ANY },
	{ "timerfd_gettime", ARG_ANY },
	{ "rt_sigaction", ARG_ANY },
	{ "socket", ARG_SOCKET_UNIX },
	{ "socketpair", ARG_SOCKET_UNIX },
	SOCKET_IO_RULES,
	SOCKET_SERVE_RULES,
	{ "ioctl", ARG_IOCTL_VMM },
	{ "clone", ARG_CLONE_THREAD },
	/* A thread it starts adds its own filter and drops its capabilities
	 * (none left to drop: only ever narrower). */
	{ "prctl", ARG_PRCTL_FILTER },
	{ "seccomp", ARG_ANY },
	{ "capget", ARG_ANY },
	{ "capset", ARG_ANY },
	{ "clone3", ARG_ENOSYS },
	{ "set_robust_list", ARG_ANY },
	{ "rseq", ARG_ANY },
	{ "wait4", ARG_ANY }, /* the switch starter, when it ends; virtiofsd */
	/* virtiofsd (--share), if it does not end with its connection: only a
	 * process whose pidfd the VMM holds can be signalled. */
	{ "pidfd_send_signal", ARG_ANY },
	{ "getuid", ARG_ANY },
	{ "geteuid", ARG_ANY },
	{ "getgid", ARG_ANY },
	{ "getegid", ARG_ANY },
	{ "uname", ARG_ANY },
	{ "prlimit64", ARG_ANY },
};

/* KVM_RUN and what a vCPU's exits reach: the console's write, a disk's
 * reads, writes and flushes (qcow2 grows its file), the kick of a device's
 * I/O thread, the balloon, the random numbers of virtio-rng. No open, no
 * socket, no thread. */
static const struct confine_rule vcpu[] = {
	{ "ioctl", ARG_IOCTL_VCPU },
	{ "pread64", ARG_ANY },
	{ "pwrite64", ARG_ANY },
	{ "preadv", ARG_ANY },
	{ "pwritev", ARG_ANY },
	{ "fsync", ARG_ANY },
	{ "fdatasync", ARG_ANY },
	{ "ftruncate", ARG_ANY },
	{ "fallocate", ARG_ANY },
	{ "sendto", ARG_ANY },
	/* virtio-fs hands its rings to its vhost-user back-end at DRIVER_OK
	 * and stops them at a reset (eventfds and the memfd as SCM_RIGHTS),
	 * on the socket it already holds. */
	{ "sendmsg", ARG_ANY },
	{ "recvfrom", ARG_ANY },
};

/* A device's I/O thread: frames between its queues and its switch port,
 * the queue's interrupt, and a new connection to the switch (the switch
 * starter runs a daemon that died; this thread only connects). */
static const struct confine_rule device_io[] = {
	{ "ioctl", ARG_IOCTL_IRQ },
	{ "epoll_wait", ARG_ANY },
	{ "epoll_pwait", ARG_ANY },
	{ "socket", ARG_SOCKET_UNIX },
	SOCKET_IO_RULES,
	{ "getuid", ARG_ANY },
	{ "geteuid", ARG_ANY },
	{ "statx", ARG_ANY },
};

/* A switch's daemon: its ports and control socket, libslirp's flows
 * (AF_INET and AF_INET6 sockets; /etc/resolv.conf, read only), an uplink's
 * frames; at its end, its sockets' and pid file's names. No file written,
 * no process started. */
static const struct confine_rule switch_daemon[] = {
	{ "openat", ARG_OPENAT_READ },
	{ "statx", ARG_ANY },
	{ "unlink", ARG_ANY },
	{ "unlinkat", ARG_ANY },
	{ "dup", ARG_ANY },
	{ "epoll_ctl", ARG_ANY },
	{ "epoll_wait", ARG_ANY },
	{ "epoll_pwait", ARG_ANY },
	{ "timerfd_settime", ARG_ANY },
	{ "timerfd_gettime", ARG_ANY },
	{ "socket", ARG_SOCKET_IP },
	SOCKET_IO_RULES,
	SOCKET_SERVE_RULES,
	{ "ioctl", ARG_IOCTL_SWITCH },
	{ "getuid", ARG_ANY },
	{ "geteuid", ARG_ANY },
	{ "uname", ARG_ANY },
};

/* The requests src/kvm/kvm.c makes once a VM runs: a vCPU's run and its
 * state (save, restore, checkpoints; the list of MSRs to save is asked of
 * /dev/kvm then), interrupts, the clock, the in-kernel irqchip and PIT.
 * Creating VMs, vCPUs and memory slots is set-up. */
#define KVM_RUNTIME_IOCTLS                                                                   \
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_FPU,       \
		KVM_SET_FPU, KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_SET_XSAVE, KVM_GET_XCRS,       \
		KVM_SET_XCRS, KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_LAPIC, KVM_SET_LAPIC,        \
		KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_MP_STATE, KVM_SET_MP_STATE,  \
		KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, KVM_GET_NESTED_STATE,                    \
		KVM_SET_NESTED_STATE, KVM_GET_TSC_KHZ, KVM_SET_TSC_KHZ, KVM_IRQ_LINE,          \
		KVM_GET_CLOCK, KVM_SET_CLOCK, KVM_GET_IRQCHIP, KVM_SET_IRQCHIP, KVM_GET_PIT2,  \
		KVM_SET_PIT2, KVM_CHECK_EXTENSION, KVM_GET_MSR_INDEX_LIST,                     \
		KVM_GET_MSR_FEATURE_INDEX_LIST

static const unsigned long ioctls_vcpu[] = { KVM_RUNTIME_IOCTLS };
/* ... the terminal nestvm run restores when the VM ends, and a live
 * migration's dirty-page log (the RAM slots set again with logging on and
 * off, the log read; vmm/migration_send.c, on this thread, over a
 * connection `vm migrate` opened and passed in: no AF_INET socket here). */
static const unsigned long ioctls_vmm[] = { KVM_RUNTIME_IOCTLS, TCGETS, TCSETS, TCSETSW, TCSETSF,
					     TIOCGWINSZ, FIONREAD, FIONBIO, KVM_GET_DIRTY_LOG,
					     KVM_SET_USER_MEMORY_REGION };
static const unsigned long ioctls_irq[] = { KVM_IRQ_LINE };
/* A packet uplink asks its interface for its state and MTU. */
static const unsigned long ioctls_switch[] = { FIONREAD, FIONBIO, SIOCGIFFLAGS, SIOCGIFMTU,
						SIOCGIFINDEX };

const struct confine_rule *syscall_policy_rules(enum confine_kind kind, size_t *n)
{
	switch (kind) {
	case CONFINE_VMM_MAIN:
		*n = N(vmm_main);
		return vmm_main;
	case CONFINE_VCPU:
		*n = N(vcpu);
		return vcpu;
	case CONFINE_DEVICE_IO:
		*n = N(device_io);
		return device_io;
	case CONFINE_SWITCH:
		*n = N(switch_daemon);
		return switch_daemon;
	case CONFINE_KINDS:
		break;
	}
	*n = 0;
	return NULL;
}

const struct confine_rule *syscall_policy_common(size_t *n)
{
	*n = N(common);
	return common;
}

const unsigned long *syscall_policy_ioctls(enum confine_arg arg, size_t *n)
{
	switch (arg) {
	case ARG_IOCTL_VMM:
		*n = N(ioctls_vmm);
		return ioctls_vmm;
	case ARG_IOCTL_VCPU:
		*n = N(ioctls_vcpu);
		return ioctls_vcpu;
	case ARG_IOCTL_SWITCH:
		*n = N(ioctls_switch);
		return ioctls_switch;
	case ARG_IOCTL_IRQ:
		*n = N(ioctls_irq);
		return ioctls_irq;
	default:
		*n = 0;
		return NULL;
	}
}
