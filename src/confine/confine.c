#include "confine/confine.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "confine/capabilities.h"
#include "confine/identity.h"
#include "confine/confine_bpf.h"
#include "util/proc_fail.h"

static enum confine_mode mode = CONFINE_OFF;
/* The calling thread's kind, for the SIGSYS report; a thread that loaded
 * none runs under its creator's, the process's first. */
static _Thread_local int thread_kind = -1;
static int first_kind = -1;

const char *confine_kind_name(enum confine_kind kind)
{
	switch (kind) {
	case CONFINE_VMM_MAIN: return "VMM main";
	case CONFINE_VCPU: return "vCPU";
	case CONFINE_DEVICE_IO: return "device I/O";
	case CONFINE_SWITCH: return "switch daemon";
	case CONFINE_KINDS: break;
	}
	return "unknown";
}

void confine_set_mode(enum confine_mode m)
{
	mode = m;
}

int confine_init(struct nv_err *err)
{
	const char *v = getenv("NESTVM_SECCOMP");
	if (!v || !*v || !strcmp(v, "enforce"))
		mode = CONFINE_ENFORCE;
	else if (!strcmp(v, "log"))
		mode = CONFINE_LOG;
	else if (!strcmp(v, "off"))
		mode = CONFINE_OFF;
	else
		return nv_err_input(err, "NESTVM_SECCOMP is '%s': it may be enforce (the default), log or off", v);
	return 0;
}

/* Async-signal-safe pieces of the report. */
static size_t put(char *buf, size_t at, size_t size, const char *s)
{
	while (*s && at + 1 < size)
		buf[at++] = *s++;
	return at;
}

static size_t put_int(char *buf, size_t at, size_t size, int v)
{
	char d[16];
	int n = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	do
		d[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(d));
	if (v < 0 && at + 1 < size)
		buf[at++] = '-';
	while (n > 0 && at + 1 < size)
		buf[at++] = d[--n];
	return at;
}

static size_t put_hex(char *buf, size_t at, size_t size, unsigned long long v)
{
	char d[20];
	int n = 0;
	do
		d[n++] = "0123456789abcdef"[v % 16];
	while ((v /= 16) && n < (int)sizeof(d));
	at = put(buf, at, size, "0x");
	while (n > 0 && at + 1 < size)
		buf[at++] = d[--n];
	return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	char line[320];
	size_t n = 0, size = sizeof(line);
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < CONFINE_SYSCALL_NAMES && confine_syscall_names[nr] ? confine_syscall_names[nr]
												   : "an unknown call";
	n = put(line, n, size, "nestvm: seccomp: the ");
	int kind = thread_kind >= 0 ? thread_kind : first_kind;
	n = put(line, n, size, kind >= 0 ? confine_kind_name((enum confine_kind)kind) : "?");
	n = put(line, n, size, " thread made a system call it may not, ");
	n = put(line, n, size, name);
	n = put(line, n, size, " (");
	n = put_int(line, n, size, nr);
	if (nr == SYS_ioctl || nr == SYS_socket || nr == SYS_prctl) {
		/* Which request or family: the second or first argument. */
		const ucontext_t *u = uc;
		long long a = nr == SYS_ioctl ? u->uc_mcontext.gregs[REG_RSI] : u->uc_mcontext.gregs[REG_RDI];
		n = put(line, n, size, nr == SYS_ioctl ? ", request " : ", argument ");
		n = put_hex(line, n, size, (unsigned long long)a);
	}
	n = put(line, n, size, "), and the process ends (NESTVM_SECCOMP=log lets such calls through to the kernel's audit log instead)\n");
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	/* The call itself: a sanitizer's _exit may make calls we refuse. */
	syscall(SYS_exit_group, PROC_EXIT_HOST);
}

/* SIGSYS must reach the handler in every thread: the kernel turns a
 * blocked one into a silent death. */
static int sigsys_ready(struct nv_err *err)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return nv_err_host(err, "seccomp: sigaction(SIGSYS): %s", strerror(errno));
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	return 0;
}

/* kind's program with this process's pid where the policy wants it. */
static struct sock_filter *program_for(const struct confine_bpf *b)
{
	struct sock_filter *p = malloc(b->len * sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p, b->insns, b->len * sizeof(*p));
	for (unsigned i = 0; i < b->len; i++)
		if (BPF_CLASS(p[i].code) == BPF_JMP && p[i].k == CONFINE_BPF_PID_PLACEHOLDER)
			p[i].k = (uint32_t)getpid();
	return p;
}

int confine_thread(enum confine_kind kind, struct nv_err *err)
{
	/* A dedicated user (--run-as): the bounding set first, as leaving
	 * root clears the CAP_SETPCAP that needs; whatever is left after. */
	if (identity_is_set() && (capabilities_drop_bounding(err) < 0 || identity_assume(err) < 0))
		return -1;
	if (mode == CONFINE_OFF)
		return 0;
	if (kind < 0 || kind >= CONFINE_KINDS)
		return nv_err_host(err, "seccomp: no filter for thread kind %d", (int)kind);
	if (capabilities_drop_all(err) < 0 || sigsys_ready(err) < 0)
		return -1;
	const struct confine_bpf *b = &(mode == CONFINE_LOG ? confine_bpf_log : confine_bpf_enforce)[kind];
	struct sock_filter *insns = program_for(b);
	if (!insns)
		return nv_err_host(err, "seccomp: out of memory for the %s filter", confine_kind_name(kind));
	struct sock_fprog prog = { .len = b->len, .filter = insns };
	int rc = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		rc = nv_err_host(err, "seccomp: the kernel refused the %s filter: %s (NESTVM_SECCOMP=off runs without one)",
				 confine_kind_name(kind), strerror(errno));
	free(insns);
	if (rc == 0) {
		thread_kind = (int)kind;
		if (first_kind < 0)
			first_kind = (int)kind;
	}
	return rc;
}
