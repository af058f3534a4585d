/* The seccomp filters of confine/ (each loaded in a child process, which
 * the test reads back): every kind's filter loads; what a kind needs still
 * works (a thread through clone3's ENOSYS and clone, an AF_UNIX socket, a
 * read-only open in the switch daemon); what it may not do ends the
 * process with status 125 and one line naming the call and the thread's
 * kind; /proc says Seccomp 2 and NoNewPrivs 1; log mode lets calls through;
 * off loads nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "confine/confine.h"
#include "confine/identity.h"
#include "confine/syscall_policy.h"

/* What a child does once its filter is on; its exit status is the result
 * (0 when every allowed call worked). */
typedef int (*probe_fn)(void);

/* The child's /proc/self/status, read after the filter is on. */
static int status_fd = -1;

struct child_result {
	int status; /* exit status, or 128 + signal */
	char err[1024];
};

static void run_confined(enum confine_mode mode, enum confine_kind kind, probe_fn probe, struct child_result *out)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		/* Opened before: not every kind may open. */
		status_fd = open("/proc/self/status", O_RDONLY);
		confine_set_mode(mode);
		struct nv_err err = { 0 };
		if (confine_thread(kind, &err) < 0) {
			dprintf(STDERR_FILENO, "load: %s\n", err.msg);
			_exit(90);
		}
		_exit(probe());
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while ((r = read(p[0], out->err + n, sizeof(out->err) - 1 - n)) > 0)
		n += (size_t)r;
	out->err[n] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	out->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_death(enum confine_kind kind, probe_fn probe, const char *call)
{
	struct child_result r;
	run_confined(CONFINE_ENFORCE, kind, probe, &r);
	if (r.status != 125 || !strstr(r.err, call) || !strstr(r.err, confine_kind_name(kind)))
		fail_msg("%s: expected status 125 and a line naming %s, got %d: %s", confine_kind_name(kind),
			 call, r.status, r.err);
	/* One line. */
	const char *nl = strchr(r.err, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
}

static void expect_ok(enum confine_mode mode, enum confine_kind kind, probe_fn probe)
{
	struct child_result r;
	run_confined(mode, kind, probe, &r);
	if (r.status != 0)
		fail_msg("%s: expected 0, got %d: %s", confine_kind_name(kind), r.status, r.err);
}

/* --- probes */

static int status_field(const char *field)
{
	char buf[4096];
	if (status_fd < 0 || lseek(status_fd, 0, SEEK_SET) < 0)
		return -1;
	ssize_t n = read(status_fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *p = strstr(buf, field);
	/* Capability sets are hex ("000001ffffffffff"): any non-zero digit
	 * makes the value non-zero. */
	if (p && !strncmp(field, "\nCap", 4))
		return strtoull(p + strlen(field), NULL, 16) ? 1 : 0;
	return p ? atoi(p + strlen(field)) : -1;
}

static int probe_status(void)
{
	if (status_field("\nSeccomp:") != 2 || status_field("\nNoNewPrivs:") != 1)
		return 1;
	return status_field("\nCapEff:") == 0 && status_field("\nCapPrm:") == 0 && status_field("\nCapBnd:") == 0 &&
			       status_field("\nCapAmb:") == 0
		       ? 0
		       : 2;
}

static int probe_status_unconfined(void)
{
	return status_field("\nSeccomp:") == 0 ? 0 : 1;
}

/* A thread started under the VMM main's filter adds a vCPU's. */
static void *thread_body(void *arg)
{
	struct nv_err err;
	if (confine_thread(CONFINE_VCPU, &err) < 0)
		return NULL;
	return arg;
}

static int probe_vmm_allowed(void)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (s < 0)
		return 2;
	close(s);
	pthread_t t;
	void *ret = NULL;
	if (pthread_create(&t, NULL, thread_body, (void *)0x1) != 0 || pthread_join(t, &ret) != 0 || ret != (void *)0x1)
		return 3;
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 4;
	return probe_status();
}

static int probe_inet_socket(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	return s >= 0 ? 0 : 1;
}

/* What a NAT switch does for a runtime forward (net/nat_hostfwd.c): a free
 * port of 127.0.0.1 found by binding port 0, then slirp listening on it. */
static int probe_loopback_listen(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int opt = 1;
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(s, (struct sockaddr *)&a, &alen) < 0 ||
	    listen(s, 1) < 0)
		return 1;
	close(s);
	return 0;
}

static int probe_packet_socket(void)
{
	return socket(AF_PACKET, SOCK_RAW, 0) >= 0 ? 0 : 1;
}

static int probe_fork(void)
{
	/* clone without CLONE_THREAD: a new process. */
	long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	return 0;
}

static int probe_exec(void)
{
	char *argv[] = { "true", NULL };
	execve("/bin/true", argv, NULL);
	return 1;
}

static int probe_exec_memory(void)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m != MAP_FAILED ? 0 : 1;
}

static int probe_open(void)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY);
	return fd >= 0 ? 0 : 1;
}

static int probe_open_write(void)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/tmp/nv-confine-must-not-exist", O_WRONLY | O_CREAT, 0600);
	return fd >= 0 ? 0 : 1;
}

static int probe_tty_inject(void)
{
	char c = 'x';
	ioctl(STDIN_FILENO, TIOCSTI, &c);
	return 0;
}

static int probe_ptrace(void)
{
	syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
	return 0;
}

static int probe_kill_other(void)
{
	/* tgkill to another process (1): only our own threads. */
	syscall(SYS_tgkill, 1, 1, 0);
	return 0;
}

/* --- tests */

static void test_every_kind_loads_and_shows_in_proc(void **state)
{
	(void)state;
	for (int k = 0; k < CONFINE_KINDS; k++)
		expect_ok(CONFINE_ENFORCE, (enum confine_kind)k, probe_status);
}

static void test_vmm_main_keeps_what_it_needs(void **state)
{
	(void)state;
	expect_ok(CONFINE_ENFORCE, CONFINE_VMM_MAIN, probe_vmm_allowed);
	expect_ok(CONFINE_ENFORCE, CONFINE_VMM_MAIN, probe_open);
}

static void test_vmm_main_refuses_processes_networks_and_code(void **state)
{
	(void)state;
	expect_death(CONFINE_VMM_MAIN, probe_inet_socket, "socket");
	expect_death(CONFINE_VMM_MAIN, probe_fork, "clone");
	expect_death(CONFINE_VMM_MAIN, probe_exec, "execve");
	expect_death(CONFINE_VMM_MAIN, probe_exec_memory, "mmap");
	expect_death(CONFINE_VMM_MAIN, probe_ptrace, "ptrace");
	expect_death(CONFINE_VMM_MAIN, probe_tty_inject, "ioctl");
	expect_death(CONFINE_VMM_MAIN, probe_kill_other, "tgkill");
}

static void test_vcpu_cannot_open_or_connect(void **state)
{
	(void)state;
	expect_death(CONFINE_VCPU, probe_open, "openat");
	expect_death(CONFINE_VCPU, probe_inet_socket, "socket");
	expect_death(CONFINE_VCPU, probe_tty_inject, "ioctl");
}

static void test_device_io_only_unix_sockets(void **state)
{
	(void)state;
	expect_death(CONFINE_DEVICE_IO, probe_inet_socket, "socket");
	expect_death(CONFINE_DEVICE_IO, probe_open, "openat");
	expect_death(CONFINE_DEVICE_IO, probe_exec, "execve");
}

static void test_switch_reads_but_never_writes_files(void **state)
{
	(void)state;
	expect_ok(CONFINE_ENFORCE, CONFINE_SWITCH, probe_open);
	expect_ok(CONFINE_ENFORCE, CONFINE_SWITCH, probe_inet_socket);
	expect_ok(CONFINE_ENFORCE, CONFINE_SWITCH, probe_loopback_listen);
	expect_death(CONFINE_SWITCH, probe_open_write, "openat");
	expect_death(CONFINE_SWITCH, probe_packet_socket, "socket");
	expect_death(CONFINE_SWITCH, probe_fork, "clone");
	expect_death(CONFINE_SWITCH, probe_exec, "execve");
	assert_int_equal(access("/tmp/nv-confine-must-not-exist", F_OK), -1);
}

static void test_log_mode_lets_calls_through(void **state)
{
	(void)state;
	expect_ok(CONFINE_LOG, CONFINE_VCPU, probe_open);
}

static void test_off_loads_nothing(void **state)
{
	(void)state;
	expect_ok(CONFINE_OFF, CONFINE_VCPU, probe_status_unconfined);
}

/* Rules name real calls, and ioctl rules have requests. */
static void test_policy_tables_are_whole(void **state)
{
	(void)state;
	size_t n;
	assert_true(syscall_policy_common(&n) && n > 10);
	for (int k = 0; k < CONFINE_KINDS; k++) {
		const struct confine_rule *r = syscall_policy_rules((enum confine_kind)k, &n);
		assert_non_null(r);
		for (size_t i = 0; i < n; i++) {
			if (r[i].arg == ARG_IOCTL_VMM || r[i].arg == ARG_IOCTL_VCPU || r[i].arg == ARG_IOCTL_SWITCH ||
			    r[i].arg == ARG_IOCTL_IRQ) {
				size_t m;
				assert_non_null(syscall_policy_ioctls(r[i].arg, &m));
				assert_true(m > 0);
			}
		}
	}
}

/* --run-as: names, numbers, and what is refused. */
static void test_identity_parse(void **state)
{
	struct identity id;
	struct nv_err err = { 0 };
	assert_int_equal(identity_parse("65534:100", &id, &err), 0);
	assert_int_equal(id.uid, 65534);
	assert_int_equal(id.gid, 100);
	assert_int_equal(identity_parse("4242999", &id, &err), 0); /* no passwd entry: its number as group */
	assert_int_equal(id.uid, 4242999);
	assert_int_equal(id.gid, 4242999);
	if (identity_parse("nobody", &id, &err) == 0) /* Debian's; not every system has it */
		assert_true(id.uid != 0);
	const char *bad[] = { "root", "0", "0:0", "", "12x", "1:", ":1", "1:x", "-1", "a:1",
			      "no-such-user-here", "4294967295", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (identity_parse(bad[i], &id, &err) == 0)
			fail_msg("'%s' accepted as uid %u", bad[i], (unsigned)id.uid);
		assert_true(err.msg[0] && !strchr(err.msg, '\n'));
	}
}

struct cred_report {
	unsigned before, after, gid, ngroups;
};

static int ready_fds[2], go_fds[2];

static void report_creds(struct cred_report *r)
{
	gid_t groups[8];
	r->after = (unsigned)syscall(SYS_getuid);
	r->gid = (unsigned)syscall(SYS_getgid);
	r->ngroups = (unsigned)syscall(SYS_getgroups, 8, groups);
}

/* Started before the main thread changes: still root until it assumes. */
static void *early_thread(void *arg)
{
	struct cred_report *r = arg;
	char c;
	if (write(ready_fds[1], "r", 1) != 1 || read(go_fds[0], &c, 1) != 1)
		return NULL;
	r->before = (unsigned)syscall(SYS_getuid);
	struct nv_err err = { 0 };
	if (identity_assume(&err) == 0)
		report_creds(r);
	return NULL;
}

/* Started after: the user already, without asking. */
static void *late_thread(void *arg)
{
	struct cred_report *r = arg;
	r->before = (unsigned)syscall(SYS_getuid);
	report_creds(r);
	return NULL;
}

/* Each thread changes its own credentials (raw system calls, no glibc
 * broadcast that a filtered thread would die of): in a child process, so
 * the test itself stays root. */
static void test_identity_per_thread(void **state)
{
	if (geteuid() != 0)
		skip(); /* only root can leave root: tests/run runs as root */
	int out[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(ready_fds), 0);
	assert_int_equal(pipe(go_fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cred_report rep[3] = { { 0 } };
		struct identity id = { .uid = 4243, .gid = 4244 };
		snprintf(id.name, sizeof(id.name), "4243:4244");
		struct nv_err err = { 0 };
		pthread_t early, late;
		char c;
		if (identity_set(&id, &err) < 0 || pthread_create(&early, NULL, early_thread, &rep[1]) ||
		    read(ready_fds[0], &c, 1) != 1)
			_exit(1);
		rep[0].before = (unsigned)syscall(SYS_getuid);
		if (identity_assume(&err) < 0)
			_exit(2);
		report_creds(&rep[0]);
		if (write(go_fds[1], "g", 1) != 1 || pthread_join(early, NULL) ||
		    pthread_create(&late, NULL, late_thread, &rep[2]) || pthread_join(late, NULL))
			_exit(3);
		_exit(write(out[1], rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 4);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	struct cred_report rep[3];
	assert_int_equal(read(out[0], rep, sizeof(rep)), (ssize_t)sizeof(rep));
	assert_int_equal(rep[0].before, 0); /* main: root, then the user */
	assert_int_equal(rep[0].after, 4243);
	assert_int_equal(rep[1].before, 0); /* the early thread: still root after main changed */
	assert_int_equal(rep[1].after, 4243);
	assert_int_equal(rep[2].before, 4243); /* the late one: the user from its start */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rep[i].gid, 4244);
		assert_int_equal(rep[i].ngroups, 1); /* only its group */
	}
	close(out[0]);
	close(out[1]);
}

/* Only root can hand its processes to a user: a process that left root
 * (a child here, so the test stays root) is told so. */
static void test_identity_needs_root(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(1);
		struct identity id = { .uid = 4243, .gid = 4243 };
		struct nv_err err = { 0 };
		_exit(identity_set(&id, &err) == -1 && strstr(err.msg, "needs root") ? 0 : 2);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_tables_are_whole),
		cmocka_unit_test(test_every_kind_loads_and_shows_in_proc),
		cmocka_unit_test(test_vmm_main_keeps_what_it_needs),
		cmocka_unit_test(test_vmm_main_refuses_processes_networks_and_code),
		cmocka_unit_test(test_vcpu_cannot_open_or_connect),
		cmocka_unit_test(test_device_io_only_unix_sockets),
		cmocka_unit_test(test_switch_reads_but_never_writes_files),
		cmocka_unit_test(test_log_mode_lets_calls_through),
		cmocka_unit_test(test_off_loads_nothing),
		cmocka_unit_test(test_identity_parse),
		cmocka_unit_test(test_identity_per_thread),
		cmocka_unit_test(test_identity_needs_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
