/* Starting another process the way nestvm starts itself (util/self_exec),
 * with /bin/sh in place of /proc/self/exe: a detached one is in its own
 * session and not our child; stdin is /dev/null; stdout and stderr go to
 * the log (emptied or appended to) or stay ours; the kept fds are 3, 4, ...
 * in order (also when they sit on each other's places) and nothing else we
 * have open gets through; an exec that fails says so in the log, with the
 * status asked for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/self_exec.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nv-self-exec-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in_dir(char *out, size_t len, const char *file)
{
	snprintf(out, len, "%s/%s", dir, file);
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void read_file(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

/* Everything written to fd until every writer has closed it (5 s at most). */
static void read_to_eof(int fd, char *out, size_t len)
{
	size_t n = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		assert_int_equal(poll(&p, 1, 5000), 1);
		ssize_t r = read(fd, out + n, len - 1 - n);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
		assert_true(n < len - 1);
	}
	out[n] = '\0';
}

/* The number after "key " at the start of a line of s. */
static long field(const char *s, const char *key)
{
	size_t k = strlen(key);
	for (const char *line = s; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "")
		if (!strncmp(line, key, k) && line[k] == ' ')
			return strtol(line + k + 1, NULL, 10);
	fail_msg("no '%s' in: %s", key, s);
	return -1;
}

/* The script's facts: its pid and session, where its stdin is, whether
 * fd 9 (open in the test, not close-on-exec; dash knows fds 0-9 only) got
 * through. */
#define FACTS \
	"echo \"pid $$\"; echo \"sid $(cut -d' ' -f6 /proc/$$/stat)\"; " \
	"echo \"stdin $(readlink /proc/$$/fd/0)\"; " \
	"if { true >&9; } 2>/dev/null; then echo 'fd9 open'; else echo 'fd9 closed'; fi; "

static void test_detached(void **state)
{
	(void)state;
	char log[128], buf[4096];
	path_in_dir(log, sizeof(log), "daemon.log");
	write_file(log, "from before\n");
	/* Open and inheritable on fd 9 (what the test had there put aside
	 * first): must not reach the daemon. */
	int saved9 = fcntl(9, F_DUPFD_CLOEXEC, 30);
	int leak = open("/dev/null", O_RDONLY);
	assert_true(leak >= 0);
	assert_int_equal(dup2(leak, 9), 9);
	close(leak);
	int a[2], b[2];
	assert_int_equal(pipe2(a, O_CLOEXEC), 0);
	assert_int_equal(pipe2(b, O_CLOEXEC), 0);

	char *argv[] = { "sh", "-c", FACTS "echo to-stderr >&2; echo hello >&3; echo world >&4", NULL };
	int keep[] = { a[1], b[1] };
	struct self_exec_options o = {
		.argv = argv, .path = "/bin/sh", .detach = true, .log = log, .keep_fds = keep, .nkeep = 2,
		.exec_error = "cannot run sh", .fail_status = 127,
	};
	pid_t pid = self_exec_start(&o);
	if (saved9 >= 0) {
		dup2(saved9, 9);
		close(saved9);
	} else {
		close(9);
	}
	assert_true(pid > 0);
	/* Not our child, whether it still runs or not. */
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	close(a[1]);
	close(b[1]);
	read_to_eof(a[0], buf, sizeof(buf));
	assert_string_equal(buf, "hello\n");
	read_to_eof(b[0], buf, sizeof(buf));
	assert_string_equal(buf, "world\n");
	close(a[0]);
	close(b[0]);

	read_file(log, buf, sizeof(buf));
	assert_null(strstr(buf, "from before")); /* emptied */
	assert_int_equal(field(buf, "pid"), pid);
	/* A session of its own, whose leader (the middle process) is gone:
	 * the daemon can never get a controlling terminal. */
	assert_true(field(buf, "sid") != getsid(0));
	assert_true(field(buf, "sid") != pid);
	assert_non_null(strstr(buf, "\nstdin /dev/null\n"));
	assert_non_null(strstr(buf, "\nfd9 closed\n"));
	assert_non_null(strstr(buf, "\nto-stderr\n")); /* stderr: the log too */
}

static void test_log_appended(void **state)
{
	(void)state;
	char log[128], buf[512];
	path_in_dir(log, sizeof(log), "append.log");
	write_file(log, "from before\n");
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	char *argv[] = { "sh", "-c", "echo now; echo done >&3", NULL };
	int keep[] = { p[1] };
	struct self_exec_options o = {
		.argv = argv, .path = "/bin/sh", .detach = true, .log = log, .log_append = true,
		.keep_fds = keep, .nkeep = 1, .fail_status = 127,
	};
	assert_true(self_exec_start(&o) > 0);
	close(p[1]);
	read_to_eof(p[0], buf, sizeof(buf));
	close(p[0]);
	assert_string_equal(buf, "done\n");
	read_file(log, buf, sizeof(buf));
	assert_string_equal(buf, "from before\nnow\n");
}

/* Not detached: our child, in our session, with our stdout. */
static void test_child(void **state)
{
	(void)state;
	char buf[4096], out[256];
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	char *argv[] = { "sh", "-c", "o=$(readlink /proc/$$/fd/1); { " FACTS "echo \"stdout $o\"; } >&3; exit 7", NULL };
	int keep[] = { p[1] };
	struct self_exec_options o = {
		.argv = argv, .path = "/bin/sh", .keep_fds = keep, .nkeep = 1, .fail_status = 127,
	};
	pid_t pid = self_exec_start(&o);
	assert_true(pid > 0);
	close(p[1]);
	read_to_eof(p[0], buf, sizeof(buf));
	close(p[0]);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 7);
	assert_int_equal(field(buf, "pid"), pid);
	assert_int_equal(field(buf, "sid"), getsid(0));
	assert_non_null(strstr(buf, "\nstdin /dev/null\n"));
	ssize_t n = readlink("/proc/self/fd/1", out, sizeof(out) - 1);
	assert_true(n > 0);
	out[n] = '\0';
	char want[300];
	snprintf(want, sizeof(want), "\nstdout %s\n", out);
	assert_non_null(strstr(buf, want));
}

/* Kept fds that sit on each other's places (3 and 4, swapped). */
static void test_keep_swapped(void **state)
{
	(void)state;
	char buf[64];
	/* Whatever the test process has on 3 and 4, put aside. */
	int saved[2];
	for (int i = 0; i < 2; i++)
		saved[i] = fcntl(3 + i, F_DUPFD_CLOEXEC, 30);
	int x[2], y[2];
	assert_int_equal(pipe2(x, O_CLOEXEC), 0);
	assert_int_equal(pipe2(y, O_CLOEXEC), 0);
	for (int i = 0; i < 2; i++) { /* all of them away from 3 and 4 */
		int nx = fcntl(x[i], F_DUPFD_CLOEXEC, 40), ny = fcntl(y[i], F_DUPFD_CLOEXEC, 40);
		assert_true(nx >= 40 && ny >= 40);
		close(x[i]);
		close(y[i]);
		x[i] = nx;
		y[i] = ny;
	}
	assert_int_equal(dup2(x[1], 3), 3);
	assert_int_equal(dup2(y[1], 4), 4);
	close(x[1]);
	close(y[1]);
	char *argv[] = { "sh", "-c", "echo three >&3; echo four >&4", NULL };
	int keep[] = { 4, 3 }; /* y becomes 3, x becomes 4 */
	struct self_exec_options o = { .argv = argv, .path = "/bin/sh", .keep_fds = keep, .nkeep = 2, .fail_status = 127 };
	pid_t pid = self_exec_start(&o);
	for (int i = 0; i < 2; i++) {
		if (saved[i] >= 0) {
			dup2(saved[i], 3 + i);
			close(saved[i]);
		} else {
			close(3 + i);
		}
	}
	assert_true(pid > 0);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_int_equal(ws, 0);
	read_to_eof(y[0], buf, sizeof(buf));
	assert_string_equal(buf, "three\n");
	read_to_eof(x[0], buf, sizeof(buf));
	assert_string_equal(buf, "four\n");
	close(x[0]);
	close(y[0]);
}

/* An exec that fails: the line in the log, the status asked for. */
static void test_exec_fails(void **state)
{
	(void)state;
	char log[128], buf[512];
	path_in_dir(log, sizeof(log), "fail.log");
	char *argv[] = { "nestvm", "switch-daemon", "x", NULL };
	struct self_exec_options o = {
		.argv = argv, .path = "/nonexistent/nestvm", .log = log,
		.exec_error = "cannot run nestvm switch-daemon", .fail_status = 99,
	};
	pid_t pid = self_exec_start(&o);
	assert_true(pid > 0);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 99);
	read_file(log, buf, sizeof(buf));
	assert_string_equal(buf, "cannot run nestvm switch-daemon: No such file or directory\n");
}

/* A log that cannot be opened: said on the stderr it still has (ours). */
static void test_log_fails(void **state)
{
	(void)state;
	char log[128], err_path[128], buf[512];
	path_in_dir(log, sizeof(log), "missing/dir/x.log");
	path_in_dir(err_path, sizeof(err_path), "stderr");
	int saved = dup(2);
	int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && e >= 0);
	dup2(e, 2);
	close(e);
	char *argv[] = { "sh", "-c", "exit 0", NULL };
	struct self_exec_options o = {
		.argv = argv, .path = "/bin/sh", .log = log, .exec_error = "cannot run sh", .fail_status = 98,
	};
	pid_t pid = self_exec_start(&o);
	dup2(saved, 2);
	close(saved);
	assert_true(pid > 0);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 98);
	read_file(err_path, buf, sizeof(buf));
	assert_string_equal(buf, "cannot run sh: No such file or directory\n");
}

static void test_bad_options(void **state)
{
	(void)state;
	char *argv[] = { "sh", NULL }, *none[] = { NULL };
	int keep[SELF_EXEC_MAX_KEEP + 1] = { 0 };
	struct self_exec_options o = { .argv = NULL };
	assert_int_equal(self_exec_start(&o), -EINVAL);
	o.argv = none;
	assert_int_equal(self_exec_start(&o), -EINVAL);
	o = (struct self_exec_options){ .argv = argv, .keep_fds = keep, .nkeep = SELF_EXEC_MAX_KEEP + 1 };
	assert_int_equal(self_exec_start(&o), -EINVAL);
	o = (struct self_exec_options){ .argv = argv, .nkeep = 1 };
	assert_int_equal(self_exec_start(&o), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detached),
		cmocka_unit_test(test_log_appended),
		cmocka_unit_test(test_child),
		cmocka_unit_test(test_keep_swapped),
		cmocka_unit_test(test_exec_fails),
		cmocka_unit_test(test_log_fails),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
