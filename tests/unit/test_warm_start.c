/* vmm/warm_start: which VMs may start warm, the snapshot's key (settings
 * and files change it; the same ones keep it), a key text that does not
 * match is refused before anything is loaded, and the console line's
 * fields (the command as nestvm.cmd carries it, a fresh seed each time). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/file_io.h"
#include "vmm/warm_start.h"

static char dir[] = "/tmp/nv-warm.XXXXXX";
static char guest[256], home[256];

static void config(struct vm_config *c)
{
	vm_config_defaults(c, "one");
}

static void test_unsupported(void **state)
{
	(void)state;
	struct vm_config c;
	config(&c);
	assert_null(warm_start_unsupported(&c));
	c.ndevices = 1;
	snprintf(c.devices[0], sizeof(c.devices[0]), "rng");
	c.expose_virtualization_extensions = true;
	assert_null(warm_start_unsupported(&c)); /* devices and nesting are in the key */
	config(&c);
	snprintf(c.kernel, sizeof(c.kernel), "/boot/vmlinuz");
	assert_string_equal(warm_start_unsupported(&c), "a kernel or initrd of its own");
	config(&c);
	c.ndisks = 1;
	assert_string_equal(warm_start_unsupported(&c), "a disk");
	config(&c);
	c.nnics = 1;
	assert_string_equal(warm_start_unsupported(&c), "a network adapter");
	/* An init or command of its own never reaches the ready point. */
	const char *own[] = { "init=/bin/sh", "quiet rdinit=/x", "nestvm.cmd=dHJ1ZQ==", "a  nestvm.warm=0" };
	for (unsigned i = 0; i < 4; i++) {
		config(&c);
		snprintf(c.append, sizeof(c.append), "%s", own[i]);
		assert_non_null(warm_start_unsupported(&c));
	}
	config(&c);
	snprintf(c.append, sizeof(c.append), "quiet nestvm_marker=1 noinit=1 loglevel=3");
	assert_null(warm_start_unsupported(&c));
}

static void prepare(struct warm_start *w, const struct vm_config *c)
{
	struct nv_err err = { 0 };
	assert_int_equal(warm_start_prepare(w, c, &err), 0);
	assert_non_null(strstr(w->key, "\nconfig {"));
	assert_non_null(strstr(w->dir, "/warm/"));
}

static void test_key(void **state)
{
	(void)state;
	struct vm_config c;
	struct warm_start a, b;
	config(&c);
	prepare(&a, &c);
	struct stat st;
	assert_int_equal(stat(a.root, &st), 0); /* <home>/warm made */
	assert_int_equal(st.st_mode & 0777, 0700);
	/* The name does not count: one snapshot serves every VM. */
	snprintf(c.name, sizeof(c.name), "two");
	prepare(&b, &c);
	assert_string_equal(a.dir, b.dir);
	assert_string_equal(a.key, b.key);
	warm_start_free(&b);
	/* Memory, vCPUs, the command line: another key. */
	const char *changed[] = { "memory", "cpus", "append" };
	for (unsigned i = 0; i < 3; i++) {
		config(&c);
		if (i == 0)
			c.memory_mib = 300;
		else if (i == 1)
			c.cpus = 2;
		else
			snprintf(c.append, sizeof(c.append), "quiet");
		prepare(&b, &c);
		if (!strcmp(a.dir, b.dir))
			fail_msg("a change of %s kept the folder", changed[i]);
		warm_start_free(&b);
	}
	/* A rewritten initrd (a new time): another key. */
	char p[300];
	snprintf(p, sizeof(p), "%s/initrd.img", guest);
	struct timespec times[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	config(&c);
	prepare(&b, &c);
	assert_string_not_equal(a.dir, b.dir);
	warm_start_free(&b);
	warm_start_free(&a);
}

static void test_load_checks_key(void **state)
{
	(void)state;
	struct vm_config c;
	struct warm_start w;
	struct machine_saved s = { .memory_fd = -1 };
	struct nv_err err = { 0 };
	config(&c);
	prepare(&w, &c);
	assert_false(warm_start_exists(&w));
	assert_false(warm_start_seen(&w)); /* the first run: marked */
	assert_true(warm_start_seen(&w));
	assert_false(warm_start_exists(&w)); /* a mark is not a snapshot */
	assert_int_equal(mkdir(w.dir, 0700), 0);
	assert_true(warm_start_exists(&w));
	assert_int_equal(warm_start_load(&w, &s, &err), -1);
	assert_non_null(strstr(err.msg, "no readable key file"));
	char p[1100];
	snprintf(p, sizeof(p), "%s/key", w.dir);
	assert_int_equal(file_write_atomic(p, "nestvm warm-start key 1\nother\n", 30), 0);
	assert_int_equal(warm_start_load(&w, &s, &err), -1);
	assert_non_null(strstr(err.msg, "made for other files or settings"));
	/* The right key, but no state: the state file's own error. */
	assert_int_equal(file_write_atomic(p, w.key, strlen(w.key)), 0);
	assert_int_equal(warm_start_load(&w, &s, &err), -1);
	assert_non_null(strstr(err.msg, "vm.state"));
	warm_start_discard(&w);
	assert_false(warm_start_exists(&w));
	warm_start_free(&w);
}

/* Nine snapshot folders, used at nine times: pruning to 8 removes the
 * least recently used one, and leaves files and dot-folders alone. */
static void test_prune(void **state)
{
	(void)state;
	char root[300], p[400];
	snprintf(root, sizeof(root), "%s/prune", dir);
	assert_int_equal(mkdir(root, 0700), 0);
	for (int i = 0; i < 9; i++) {
		snprintf(p, sizeof(p), "%s/snap%d", root, i);
		assert_int_equal(mkdir(p, 0700), 0);
		snprintf(p, sizeof(p), "%s/snap%d/memory", root, i);
		assert_int_equal(file_write_atomic(p, "m", 1), 0);
		snprintf(p, sizeof(p), "%s/snap%d", root, i);
		/* snap4 the oldest */
		struct timespec t[2] = { { .tv_sec = 2000000000 - (i == 4 ? 1000 : i) }, { .tv_sec = 2000000000 - (i == 4 ? 1000 : i) } };
		assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
	}
	snprintf(p, sizeof(p), "%s/snap0.seen", root);
	assert_int_equal(file_write_atomic(p, "", 0), 0);
	snprintf(p, sizeof(p), "%s/.new-x-1", root);
	assert_int_equal(mkdir(p, 0700), 0);
	warm_start_prune(root, 8);
	struct stat st;
	for (int i = 0; i < 9; i++) {
		snprintf(p, sizeof(p), "%s/snap%d", root, i);
		if ((stat(p, &st) == 0) != (i != 4))
			fail_msg("snap%d %s", i, i == 4 ? "kept" : "removed");
	}
	snprintf(p, sizeof(p), "%s/snap0.seen", root);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/.new-x-1", root);
	assert_int_equal(stat(p, &st), 0);
	warm_start_prune(root, 8); /* at the bound: nothing more */
	snprintf(p, sizeof(p), "%s/snap8", root);
	assert_int_equal(stat(p, &st), 0);
}

static const char *field(const char *line, const char *name)
{
	static char v[9000];
	const char *p = strstr(line, name);
	if (!p)
		return NULL;
	p += strlen(name);
	size_t n = strcspn(p, " \n");
	snprintf(v, sizeof(v), "%.*s", (int)n, p);
	return v;
}

static void test_line(void **state)
{
	(void)state;
	char a[WARM_START_LINE_MAX + 1], b[WARM_START_LINE_MAX + 1];
	struct nv_err err = { 0 };
	char *argv[] = { "printf", "%s|", "a b", "" };
	assert_int_equal(warm_start_line(a, sizeof(a), true, argv, 4, &err), 0);
	assert_int_equal(strncmp(a, "nestvm-warm 1 start=warm cmd=", 29), 0);
	assert_int_equal(a[strlen(a) - 1], '\n');
	/* "printf\0%s|\0a b\0" */
	assert_string_equal(field(a, "cmd="), "cHJpbnRmACVzfABhIGIA");
	char seed_a[65];
	snprintf(seed_a, sizeof(seed_a), "%s", field(a, "seed="));
	assert_int_equal(strlen(seed_a), 64);
	assert_int_equal(strspn(seed_a, "0123456789abcdef"), 64);
	long long t = atoll(field(a, "time="));
	assert_true(llabs(t - (long long)time(NULL)) <= 2);
	assert_int_equal(strlen(strchr(field(a, "time="), '.') + 1), 9);
	/* No command: no cmd=; a boot says cold; a new seed each time. */
	assert_int_equal(warm_start_line(b, sizeof(b), false, NULL, 0, &err), 0);
	assert_null(strstr(b, "cmd="));
	assert_non_null(strstr(b, " start=cold "));
	assert_string_not_equal(field(b, "seed="), seed_a);
	/* Too long for the guest's line: refused. */
	char *big = malloc(7000);
	assert_non_null(big);
	memset(big, 'x', 6999);
	big[6999] = '\0';
	char *longv[] = { big };
	assert_int_equal(warm_start_line(b, sizeof(b), false, longv, 1, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
	free(big);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(guest, sizeof(guest), "%s/guest", dir);
	snprintf(home, sizeof(home), "%s/home", dir);
	char p[300];
	if (mkdir(guest, 0755) < 0 || mkdir(home, 0700) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/vmlinuz", guest);
	if (file_write_atomic(p, "kernel", 6) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/initrd.img", guest);
	if (file_write_atomic(p, "initrd", 6) < 0)
		return -1;
	setenv("NESTVM_GUEST_DIR", guest, 1);
	setenv("NESTVM_HOME", home, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_load_checks_key),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_prune),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
