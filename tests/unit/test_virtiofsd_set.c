/* One virtiofsd per shared folder (vmm/virtiofsd_set.h), with a stand-in
 * for virtiofsd (NESTVM_VIRTIOFSD: a script that logs its pid and the
 * folder it was given, and exits): share i's process serves share i's
 * folder, with a socket each;
 * when the third cannot start (its folder is gone) the first two are
 * ended and reaped, no socket is left and the error names the third's
 * folder; stopping ends them all. No root or virtiofsd needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/virtiofsd_set.h"

static char tmp[64], logpath[96];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/nestvm-vfs-set-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	char fake[96];
	snprintf(fake, sizeof(fake), "%s/fake-virtiofsd", tmp);
	snprintf(logpath, sizeof(logpath), "%s/started", tmp);
	FILE *f = fopen(fake, "w");
	if (!f)
		return -1;
	/* argv: --fd=3 -o source=DIR ...: $3 is source=DIR. */
	fprintf(f, "#!/bin/sh\necho \"$$ $3\" >>'%s'\n", logpath);
	fclose(f);
	chmod(fake, 0755);
	setenv("NESTVM_VIRTIOFSD", fake, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	unsetenv("NESTVM_VIRTIOFSD");
	return system(cmd) == 0 ? 0 : -1;
}

/* Share i: folder tmp/sI (made when present), tag tI. */
static void make_share(struct vm_share *s, unsigned i, bool present)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/s%u", tmp, i);
	snprintf(s->tag, sizeof(s->tag), "t%u", i);
	s->readonly = false;
	if (present)
		assert_int_equal(mkdir(s->dir, 0755), 0);
}

/* What the stand-ins logged, "PID source=DIR" a line, in the order they
 * ran (not the order they were started: they run at once). */
static void read_log(char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = fopen(logpath, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Did a stand-in (pid, or any when 0) run on dir? */
static bool logged(const char *log, pid_t pid, const char *dir)
{
	char line[VM_PATH_MAX + 64];
	if (pid)
		snprintf(line, sizeof(line), "%d source=%s\n", (int)pid, dir);
	else
		snprintf(line, sizeof(line), " source=%s\n", dir);
	return strstr(log, line) != NULL;
}

/* The stand-ins log before they exit; the set only waits for the exit. */
static void no_children_left(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_all_started_in_order(void **state)
{
	(void)state;
	struct vm_share shares[3];
	int socks[3];
	struct virtiofsd_set set;
	struct nv_err err = { 0 };
	for (unsigned i = 0; i < 3; i++)
		make_share(&shares[i], i, true);
	if (virtiofsd_set_start(&set, shares, 3, socks, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(set.n, 3);
	pid_t pids[3];
	for (unsigned i = 0; i < 3; i++) {
		assert_true(socks[i] >= 0);
		assert_true(set.d[i].pid > 0);
		pids[i] = set.d[i].pid;
		for (unsigned j = 0; j < i; j++) {
			assert_int_not_equal(socks[i], socks[j]);
			assert_int_not_equal(set.d[i].pid, set.d[j].pid);
		}
	}
	for (unsigned i = 0; i < 3; i++)
		close(socks[i]);
	virtiofsd_set_stop(&set);
	assert_int_equal(set.n, 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(set.d[i].pid, 0);
	no_children_left();
	virtiofsd_set_stop(&set); /* idempotent */
	char log[4 * VM_PATH_MAX];
	read_log(log, sizeof(log));
	assert_int_equal(count_lines(log), 3);
	for (unsigned i = 0; i < 3; i++)
		if (!logged(log, pids[i], shares[i].dir))
			fail_msg("process %u (pid %d) did not serve %s: %s", i, (int)pids[i], shares[i].dir, log);
}

static void test_third_fails(void **state)
{
	(void)state;
	struct vm_share shares[3];
	int socks[3];
	struct virtiofsd_set set;
	struct nv_err err = { 0 };
	unlink(logpath);
	for (unsigned i = 0; i < 3; i++)
		make_share(&shares[i], 10 + i, i < 2);
	assert_int_equal(virtiofsd_set_start(&set, shares, 3, socks, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	char want[4 * VM_PATH_MAX];
	snprintf(want, sizeof(want), "shared folder %s (tag t12): not an existing folder", shares[2].dir);
	assert_string_equal(err.msg, want);
	assert_int_equal(set.n, 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(socks[i], -1);
		assert_int_equal(set.d[i].pid, 0);
	}
	no_children_left();
	/* The first two had been started (and have ended: none is left). */
	char log[4 * VM_PATH_MAX];
	read_log(log, sizeof(log));
	assert_int_equal(count_lines(log), 2);
	assert_true(logged(log, 0, shares[0].dir));
	assert_true(logged(log, 0, shares[1].dir));
}

static void test_none(void **state)
{
	(void)state;
	struct virtiofsd_set set;
	struct nv_err err = { 0 };
	assert_int_equal(virtiofsd_set_start(&set, NULL, 0, NULL, &err), 0);
	assert_int_equal(set.n, 0);
	virtiofsd_set_stop(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_started_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
