/* A VM's checkpoints in a temporary NESTVM_HOME (mgmt/vm_checkpoint.c):
 * descriptions round-trip, the list comes oldest first, deleting one gives
 * its children (and "current") its parent, and a damaged or hostile
 * checkpoint.json is refused with one line naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_store.h"

static char home[256];

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof(home), "/tmp/nestvm-test-cp.XXXXXX");
	if (!mkdtemp(home))
		return -1;
	setenv("NESTVM_HOME", home, 1);
	struct vm_record r;
	memset(&r, 0, sizeof(r));
	vm_config_defaults(&r.config, "v");
	struct nv_err e = { 0 };
	return vm_store_create(&r, &e);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

/* A checkpoint folder with its description, as vm checkpoint makes it. */
static void take(const char *name, const char *parent, int64_t when, bool state)
{
	struct nv_err e = { 0 };
	char dir[512];
	assert_int_equal(vm_checkpoint_path("v", NULL, dir, sizeof(dir), &e), 0);
	mkdir(dir, 0700);
	assert_int_equal(vm_checkpoint_path("v", name, dir, sizeof(dir), &e), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	struct vm_checkpoint c;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.parent, sizeof(c.parent), "%s", parent);
	c.created = when;
	c.has_state = state;
	vm_config_defaults(&c.record.config, "v");
	c.record.config.cpus = 3;
	c.record.runtime.state = state ? VM_STATE_SAVED : VM_STATE_OFF;
	assert_int_equal(vm_checkpoint_write("v", &c, &e), 0);
	assert_int_equal(vm_checkpoint_set_current("v", name, &e), 0);
}

static void test_round_trip_and_order(void **state)
{
	(void)state;
	take("b", "a", 200, true);
	take("a", "", 100, false);
	take("c", "b", 300, true);
	struct vm_checkpoint *all;
	size_t n;
	struct nv_err e = { 0 };
	assert_int_equal(vm_checkpoint_list("v", &all, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(all[0].name, "a");
	assert_string_equal(all[1].name, "b");
	assert_string_equal(all[1].parent, "a");
	assert_true(all[1].has_state);
	assert_int_equal(all[1].record.runtime.state, VM_STATE_SAVED);
	assert_int_equal(all[2].record.config.cpus, 3);
	free(all);
	char cur[80];
	vm_checkpoint_current("v", cur, sizeof(cur));
	assert_string_equal(cur, "c");
}

static void test_delete_reparents(void **state)
{
	(void)state;
	take("a", "", 100, false);
	take("b", "a", 200, true);
	take("c", "b", 300, true);
	take("d", "b", 400, true);
	struct nv_err e = { 0 };
	assert_int_equal(vm_checkpoint_set_current("v", "b", &e), 0);
	assert_int_equal(vm_checkpoint_delete("v", "b", &e), 0);
	struct vm_checkpoint c;
	assert_int_equal(vm_checkpoint_load("v", "c", &c, &e), 0);
	assert_string_equal(c.parent, "a");
	assert_int_equal(vm_checkpoint_load("v", "d", &c, &e), 0);
	assert_string_equal(c.parent, "a");
	char cur[80];
	vm_checkpoint_current("v", cur, sizeof(cur));
	assert_string_equal(cur, "a");
	assert_int_equal(vm_checkpoint_load("v", "b", &c, &e), -1);
	assert_non_null(strstr(e.msg, "VM v has no checkpoint named b"));
	/* The root goes too: its children become roots. */
	assert_int_equal(vm_checkpoint_delete("v", "a", &e), 0);
	assert_int_equal(vm_checkpoint_load("v", "c", &c, &e), 0);
	assert_string_equal(c.parent, "");
	vm_checkpoint_current("v", cur, sizeof(cur));
	assert_string_equal(cur, "");
}

static void write_info(const char *cp, const char *text)
{
	char dir[512], p[600];
	struct nv_err e = { 0 };
	assert_int_equal(vm_checkpoint_path("v", NULL, dir, sizeof(dir), &e), 0);
	mkdir(dir, 0700);
	assert_int_equal(vm_checkpoint_path("v", cp, dir, sizeof(dir), &e), 0);
	mkdir(dir, 0700);
	snprintf(p, sizeof(p), "%s/%s", dir, VM_CHECKPOINT_INFO);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void refused(const char *cp, const char *text, const char *want)
{
	write_info(cp, text);
	struct vm_checkpoint c;
	struct nv_err e = { 0 };
	assert_int_equal(vm_checkpoint_load("v", cp, &c, &e), -1);
	assert_null(strchr(e.msg, '\n'));
	if (!strstr(e.msg, VM_CHECKPOINT_INFO) || !strstr(e.msg, want))
		fail_msg("'%s' lacks the file or '%s'", e.msg, want);
}

static void test_damaged_refused(void **state)
{
	(void)state;
	refused("x1", "{", "malformed JSON");
	refused("x2", "[]", "malformed JSON");
	refused("x3", "{\"version\":2}", "version");
	refused("x4", "{\"version\":1,\"name\":\"other\"}", "name");
	refused("x5", "{\"version\":1,\"name\":\"x5\",\"parent\":\"../../etc\"}", "parent");
	refused("x6", "{\"version\":1,\"name\":\"x6\",\"parent\":\"\",\"created\":\"now\"}", "created");
	refused("x7", "{\"version\":1,\"name\":\"x7\",\"parent\":\"\",\"created\":1,\"has_state\":1}", "has_state");
	refused("x8", "{\"version\":1,\"name\":\"x8\",\"parent\":\"\",\"created\":1,\"has_state\":true}", "record");
	/* A bad name never becomes a path. */
	char dir[512];
	struct nv_err e = { 0 };
	assert_int_equal(vm_checkpoint_path("v", "../x", dir, sizeof(dir), &e), -1);
	assert_non_null(strstr(e.msg, "not a valid checkpoint name"));
	/* A damaged one makes the whole list refuse, naming it. */
	struct vm_checkpoint *all;
	size_t n;
	assert_int_equal(vm_checkpoint_list("v", &all, &n, &e), -1);
	assert_non_null(strstr(e.msg, VM_CHECKPOINT_INFO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_reparents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
