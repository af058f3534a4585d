/* The VM store in a temporary NESTVM_HOME: create, load, save, list and
 * delete; atomic saves leave no temporary files; one corrupt record errors
 * (naming file and field) while the others load and list; the record lock
 * excludes a second locker; reaping a VM whose VMM is gone, and not one
 * whose vmm.lock is held. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/vm_store.h"

static char home[256];

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("'%s' does not contain '%s'", s, sub);
}

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof(home), "/tmp/nestvm-test-store.XXXXXX");
	if (!mkdtemp(home))
		return -1;
	setenv("NESTVM_HOME", home, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

static void make_vm(const char *name, unsigned cpus)
{
	struct vm_record r;
	struct nv_err e = { 0 };
	memset(&r, 0, sizeof(r));
	vm_config_defaults(&r.config, name);
	r.config.cpus = cpus;
	strcpy(r.config.nics[0].switch_name, "wan");
	mac_generate(name, 0, &r.config.nics[0].mac);
	r.config.nnics = 1;
	if (vm_store_create(&r, &e) < 0)
		fail_msg("create %s: %s", name, e.msg);
}

static void write_file(const char *name, const char *file, const char *text)
{
	char p[512];
	assert_int_equal(vm_store_path(name, file, p, sizeof(p), NULL), 0);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_create_load_save_list_delete(void **state)
{
	(void)state;
	struct vm_record r;
	struct nv_err e = { 0 };
	make_vm("web1", 2);
	make_vm("db", 1);
	make_vm("a-b.c_d", 3);
	assert_true(vm_store_exists("web1"));
	assert_false(vm_store_exists("nope"));

	struct vm_record dup;
	memset(&dup, 0, sizeof(dup));
	vm_config_defaults(&dup.config, "web1");
	assert_int_equal(vm_store_create(&dup, &e), -1);
	assert_int_equal(e.kind, NV_ERR_INPUT);
	assert_contains(e.msg, "already exists");

	assert_int_equal(vm_store_load("web1", &r, &e), 0);
	assert_int_equal(r.config.cpus, 2);
	assert_int_equal(r.runtime.state, VM_STATE_OFF);
	r.config.cpus = 7;
	assert_int_equal(vm_store_save(&r, &e), 0);
	assert_int_equal(vm_store_load("web1", &r, &e), 0);
	assert_int_equal(r.config.cpus, 7);

	assert_int_equal(vm_store_load("nope", &r, &e), -1);
	assert_contains(e.msg, "no VM named 'nope'");
	assert_int_equal(vm_store_load("../etc", &r, &e), -1);
	assert_contains(e.msg, "not a valid VM name");

	/* Things in vms/ that are not VMs are skipped. */
	char p[512];
	snprintf(p, sizeof(p), "%s/vms/.new.x.1", home);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/vms/stray-file", home);
	fclose(fopen(p, "w"));

	char **names;
	size_t n;
	assert_int_equal(vm_store_list(&names, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a-b.c_d");
	assert_string_equal(names[1], "db");
	assert_string_equal(names[2], "web1");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	struct vm_lock lk;
	assert_int_equal(vm_store_lock("db", &lk, &e), 0);
	assert_int_equal(vm_store_delete("db", &e), 0);
	vm_store_unlock(&lk);
	assert_false(vm_store_exists("db"));
	assert_int_equal(vm_store_lock("db", &lk, &e), -1);
	assert_contains(e.msg, "no VM named 'db'");
}

static void test_atomic_save_leaves_no_temp_files(void **state)
{
	(void)state;
	struct vm_record r;
	struct nv_err e = { 0 };
	make_vm("web1", 1);
	assert_int_equal(vm_store_load("web1", &r, &e), 0);
	for (unsigned i = 1; i <= 20; i++) {
		r.config.cpus = i;
		assert_int_equal(vm_store_save(&r, &e), 0);
	}
	char dir[512];
	assert_int_equal(vm_store_path("web1", NULL, dir, sizeof(dir), NULL), 0);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp"))
			fail_msg("temporary file left: %s", de->d_name);
	closedir(d);
	snprintf(dir, sizeof(dir), "%s/vms", home);
	d = opendir(dir);
	while ((de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fail_msg("temporary directory left: %s", de->d_name);
	closedir(d);
	/* An invalid config is never written. */
	r.config.cpus = 0;
	assert_int_equal(vm_store_save(&r, &e), -1);
	assert_int_equal(vm_store_load("web1", &r, &e), 0);
	assert_int_equal(r.config.cpus, 20);
}

static void test_corrupt_record_alone_fails(void **state)
{
	(void)state;
	struct vm_record r;
	struct nv_err e = { 0 };
	make_vm("good", 1);
	make_vm("bad", 1);
	make_vm("trunc", 1);
	make_vm("other", 1);
	char text[4096];
	char p[512];
	assert_int_equal(vm_store_path("bad", VM_RECORD_FILE, p, sizeof(p), NULL), 0);
	FILE *f = fopen(p, "r");
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	char *cpus = strstr(text, "\"cpus\": 1,");
	assert_non_null(cpus);
	memcpy(cpus, "\"cpus\":\"\"", 9); /* "cpus": "" */
	write_file("bad", VM_RECORD_FILE, text);
	write_file("trunc", VM_RECORD_FILE, "{\"version\": 1, \"config\": {\"na");

	assert_int_equal(vm_store_load("bad", &r, &e), -1);
	assert_contains(e.msg, "/vms/bad/vm.json: config.cpus: must be an integer");
	assert_int_equal(vm_store_load("trunc", &r, &e), -1);
	assert_contains(e.msg, "/vms/trunc/vm.json: not valid JSON");
	assert_int_equal(vm_store_load("good", &r, &e), 0);

	char **names;
	size_t n;
	assert_int_equal(vm_store_list(&names, &n, &e), 0);
	assert_int_equal(n, 4); /* broken records still listed */
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void test_name_must_match_directory(void **state)
{
	(void)state;
	struct vm_record r;
	struct nv_err e = { 0 };
	make_vm("one", 1);
	make_vm("two", 1);
	char p[512], text[4096];
	assert_int_equal(vm_store_path("one", VM_RECORD_FILE, p, sizeof(p), NULL), 0);
	FILE *f = fopen(p, "r");
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	write_file("two", VM_RECORD_FILE, text);
	assert_int_equal(vm_store_load("two", &r, &e), -1);
	assert_contains(e.msg, "/vms/two/vm.json: config.name: 'one' is not the VM's directory name 'two'");
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child that holds file (of VM name) with flock until killed; returns its
 * pid once it holds it. */
static pid_t child_holding(const char *name, const char *file)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char p[512];
		vm_store_path(name, file, p, sizeof(p), NULL);
		int fd = open(p, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	char c;
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_lock_excludes(void **state)
{
	(void)state;
	struct vm_lock lk;
	struct nv_err e = { 0 };
	make_vm("web1", 1);
	assert_int_equal(vm_store_lock("web1", &lk, &e), 0);
	vm_store_unlock(&lk);

	pid_t holder = child_holding("web1", VM_LOCK_FILE);
	long long t0 = now_ms();
	assert_int_equal(vm_store_lock("web1", &lk, &e), -1);
	long long waited = now_ms() - t0;
	assert_true(waited >= 9000 && waited < 15000);
	assert_contains(e.msg, "VM web1 is locked by another nestvm command");
	kill_child(holder);
	assert_int_equal(vm_store_lock("web1", &lk, &e), 0);
	vm_store_unlock(&lk);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct lock_attempt {
	const char *name;
	struct vm_lock lk;
	int rc;
};

static void *lock_in_thread(void *arg)
{
	struct lock_attempt *a = arg;
	struct nv_err e = { 0 };
	a->rc = vm_store_lock(a->name, &a->lk, &e);
	return NULL;
}

/* A command waiting for a VM's lock while `vm delete` takes the VM away
 * and `vm create` makes a new one of the same name: what it gets at last
 * is the new VM's lock (or no VM), never the dead lock file's, which would
 * let it write into the new VM beside that VM's real lock holder (issue
 * 16, point 6). */
static void test_lock_survives_delete_and_recreate(void **state)
{
	(void)state;
	struct vm_lock held;
	struct nv_err e = { 0 };
	make_vm("web2", 1);
	assert_int_equal(vm_store_lock("web2", &held, &e), 0);
	struct lock_attempt a = { .name = "web2", .rc = 99 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, lock_in_thread, &a), 0);
	sleep_ms(300); /* the thread has opened the lock file and waits */
	assert_int_equal(vm_store_delete("web2", &e), 0);
	make_vm("web2", 2);
	vm_store_unlock(&held);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	char p[512];
	struct stat now, locked;
	assert_int_equal(vm_store_path("web2", VM_LOCK_FILE, p, sizeof(p), NULL), 0);
	assert_int_equal(stat(p, &now), 0);
	assert_int_equal(fstat(a.lk.fd, &locked), 0);
	assert_true(now.st_ino == locked.st_ino && now.st_dev == locked.st_dev);
	vm_store_unlock(&a.lk);
}

static void set_running(const char *name, pid_t pid, const char *last_stop)
{
	struct vm_record r;
	struct nv_err e = { 0 };
	assert_int_equal(vm_store_load(name, &r, &e), 0);
	r.runtime.state = VM_STATE_RUNNING;
	r.runtime.pid = pid;
	r.runtime.started_at = (int64_t)time(NULL);
	snprintf(r.runtime.last_stop, sizeof(r.runtime.last_stop), "%s", last_stop);
	assert_int_equal(vm_store_save(&r, &e), 0);
}

static void test_reap(void **state)
{
	(void)state;
	struct vm_record r;
	struct vm_lock lk;
	struct nv_err e = { 0 };
	make_vm("dead", 1);
	make_vm("alive", 1);
	make_vm("said", 1);

	set_running("dead", 999999, "");
	assert_false(vm_store_vmm_alive("dead"));
	assert_int_equal(vm_store_lock("dead", &lk, &e), 0);
	assert_int_equal(vm_store_load("dead", &r, &e), 0);
	assert_int_equal(vm_store_reap(&r, &e), 1);
	vm_store_unlock(&lk);
	assert_int_equal(vm_store_load("dead", &r, &e), 0);
	assert_int_equal(r.runtime.state, VM_STATE_OFF);
	assert_int_equal(r.runtime.pid, 0);
	assert_string_equal(r.runtime.last_stop, "the VMM process (pid 999999) died");
	assert_int_equal(vm_store_reap(&r, &e), 0); /* Off stays Off */

	set_running("said", 999998, "guest powered off");
	assert_int_equal(vm_store_load("said", &r, &e), 0);
	assert_int_equal(vm_store_reap(&r, &e), 1);
	assert_string_equal(r.runtime.last_stop, "guest powered off");

	pid_t vmm = child_holding("alive", VM_VMM_LOCK_FILE);
	set_running("alive", vmm, "");
	assert_true(vm_store_vmm_alive("alive"));
	assert_int_equal(vm_store_load("alive", &r, &e), 0);
	assert_int_equal(vm_store_reap(&r, &e), 0);
	assert_int_equal(vm_store_load("alive", &r, &e), 0);
	assert_int_equal(r.runtime.state, VM_STATE_RUNNING);
	kill_child(vmm);
	assert_false(vm_store_vmm_alive("alive"));
	assert_int_equal(vm_store_reap(&r, &e), 1);
	assert_int_equal(r.runtime.state, VM_STATE_OFF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_load_save_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_save_leaves_no_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_record_alone_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_must_match_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_excludes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_survives_delete_and_recreate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
