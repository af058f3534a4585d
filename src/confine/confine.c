#include "confine/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine/capabilities.h"
#include "confine/syscall_policy.h"
#include "util/proc_fail.h"

static enum confine_mode mode = CONFINE_OFF;
/* The calling thread's kind, for the SIGSYS report; a thread that loaded
 * none runs under its creator's, the process's first. */
static _Thread_local int thread_kind = -1;
static int first_kind = -1;

/* System call names by number, resolved before any filter is on: the
 * SIGSYS handler may only look them up. */
#define NAMES_MAX 512
static char *names[NAMES_MAX];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_fill(void)
{
	for (int i = 0; i < NAMES_MAX; i++)
		names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
}

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

enum confine_mode confine_current_mode(void)
{
	return mode;
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

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char line[320];
	size_t n = 0, size = sizeof(line);
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < NAMES_MAX && names[nr] ? names[nr] : "an unknown call";
	n = put(line, n, size, "nestvm: seccomp: the ");
	int kind = thread_kind >= 0 ? thread_kind : first_kind;
	n = put(line, n, size, kind >= 0 ? confine_kind_name((enum confine_kind)kind) : "?");
	n = put(line, n, size, " thread made a system call it may not, ");
	n = put(line, n, size, name);
	n = put(line, n, size, " (");
	n = put_int(line, n, size, nr);
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

static int add_ioctls(scmp_filter_ctx ctx, uint32_t action, int nr, enum confine_arg arg)
{
	size_t n;
	const unsigned long *req = syscall_policy_ioctls(arg, &n);
	for (size_t i = 0; i < n; i++) {
		/* The request is an unsigned int in the kernel: compare 32 bits. */
		int r = seccomp_rule_add(ctx, action, nr, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

/* The prctl options that only ever take privilege away. */
static const int prctl_narrowing[] = { PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_CAPBSET_READ, PR_CAPBSET_DROP,
				       PR_CAP_AMBIENT };

static int add_rule(scmp_filter_ctx ctx, uint32_t allow, const struct confine_rule *r, struct nv_err *err)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);
	if (nr == __NR_SCMP_ERROR)
		return nv_err_host(err, "seccomp: no system call named %s on this architecture", r->syscall);
	int rc;
	switch (r->arg) {
	case ARG_ANY:
		rc = seccomp_rule_add(ctx, allow, nr, 0);
		break;
	case ARG_IOCTL_VMM:
	case ARG_IOCTL_VCPU:
	case ARG_IOCTL_SWITCH:
	case ARG_IOCTL_IRQ:
		rc = add_ioctls(ctx, allow, nr, r->arg);
		break;
	case ARG_SOCKET_UNIX:
		rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		break;
	case ARG_SOCKET_IP:
		rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6));
		break;
	case ARG_CLONE_THREAD:
		rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		break;
	case ARG_NO_EXEC:
		rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case ARG_OPENAT_READ:
		rc = seccomp_rule_add(ctx, allow, nr, 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | __O_TMPFILE, 0));
		break;
	case ARG_SELF:
		rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
		break;
	case ARG_PRCTL_FILTER:
		rc = 0;
		for (size_t i = 0; rc == 0 && i < sizeof(prctl_narrowing) / sizeof(prctl_narrowing[0]); i++)
			rc = seccomp_rule_add(ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, prctl_narrowing[i]));
		break;
	case ARG_ENOSYS:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc < 0)
		return nv_err_host(err, "seccomp: cannot add the rule for %s: %s", r->syscall, strerror(-rc));
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct confine_rule *rules, size_t n, struct nv_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (add_rule(ctx, SCMP_ACT_ALLOW, &rules[i], err) < 0)
			return -1;
	return 0;
}

int confine_thread(enum confine_kind kind, struct nv_err *err)
{
	if (mode == CONFINE_OFF)
		return 0;
	if (kind < 0 || kind >= CONFINE_KINDS)
		return nv_err_host(err, "seccomp: no filter for thread kind %d", (int)kind);
	pthread_once(&names_once, names_fill);
	if (capabilities_drop_all(err) < 0 || sigsys_ready(err) < 0)
		return -1;
	scmp_filter_ctx ctx = seccomp_init(mode == CONFINE_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return nv_err_host(err, "seccomp: cannot start a filter (out of memory)");
	size_t nc, nk;
	const struct confine_rule *common = syscall_policy_common(&nc);
	const struct confine_rule *own = syscall_policy_rules(kind, &nk);
	int rc = -1;
	if (add_rules(ctx, common, nc, err) == 0 && add_rules(ctx, own, nk, err) == 0) {
		/* no_new_privs is libseccomp's default (SCMP_FLTATR_CTL_NNP). */
		int r = seccomp_load(ctx);
		if (r < 0)
			nv_err_host(err, "seccomp: the kernel refused the %s filter: %s (NESTVM_SECCOMP=off runs without one)",
				    confine_kind_name(kind), strerror(-r));
		else
			rc = 0;
	}
	seccomp_release(ctx);
	if (rc == 0) {
		thread_kind = (int)kind;
		if (first_kind < 0)
			first_kind = (int)kind;
	}
	return rc;
}
