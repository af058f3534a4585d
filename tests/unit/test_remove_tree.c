/* util/remove_tree and confine/identity's file-system identity, the two
 * things root relies on in a named VM's folder whose user/ part another
 * user owns: a link is removed, never followed; a folder someone else owns
 * is not entered; acting as the user, root can do only what the user can,
 * and is root again after. Parts need root (tests/run runs as root). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine/identity.h"
#include "util/remove_tree.h"

#define USER_UID 4243
#define USER_GID 4244

static char top[] = "/tmp/nv-remove-tree.XXXXXX";

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", top, name);
}

static void touch(const char *name, mode_t mode)
{
	char p[256];
	path_of(p, sizeof(p), name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static bool exists(const char *name)
{
	char p[256];
	struct stat st;
	path_of(p, sizeof(p), name);
	return lstat(p, &st) == 0;
}

static void make_dir(const char *name)
{
	char p[256];
	path_of(p, sizeof(p), name);
	assert_int_equal(mkdir(p, 0700), 0);
}

/* A link to a folder outside, and a link to a file outside, are removed:
 * what they point to stays. */
static void test_links_not_followed(void **state)
{
	(void)state;
	char p[256], target[256];
	make_dir("outside");
	touch("outside/keep", 0600);
	make_dir("vm");
	make_dir("vm/saved");
	touch("vm/saved/memory", 0600);
	path_of(target, sizeof(target), "outside");
	path_of(p, sizeof(p), "vm/checkpoints");
	assert_int_equal(symlink(target, p), 0);
	path_of(target, sizeof(target), "outside/keep");
	path_of(p, sizeof(p), "vm/saved/vm.state");
	assert_int_equal(symlink(target, p), 0);
	path_of(p, sizeof(p), "vm");
	assert_int_equal(remove_tree(p, 2), 0);
	assert_false(exists("vm"));
	assert_true(exists("outside/keep"));
}

/* depth bounds the descent: deeper folders stay, and so does the top. */
static void test_depth(void **state)
{
	(void)state;
	char p[256];
	make_dir("d");
	make_dir("d/a");
	make_dir("d/a/b");
	touch("d/a/b/f", 0600);
	path_of(p, sizeof(p), "d");
	assert_int_equal(remove_tree(p, 1), -1);
	assert_true(exists("d/a/b/f"));
	assert_int_equal(remove_tree_contents(p, 2), 0);
	assert_true(exists("d"));
	assert_false(exists("d/a"));
	assert_int_equal(remove_tree(p, 0), 0);
	assert_false(exists("d"));
}

/* Root does not enter a folder the user owns (the user could swap what is
 * in it); acting as the user, it empties it. */
static void test_foreign_folder_not_entered(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[256];
	make_dir("vm2");
	make_dir("vm2/user");
	touch("vm2/user/status.json", 0600);
	path_of(p, sizeof(p), "vm2/user");
	assert_int_equal(chown(p, USER_UID, USER_GID), 0);
	path_of(p, sizeof(p), "vm2/user/status.json");
	assert_int_equal(chown(p, USER_UID, USER_GID), 0);
	path_of(p, sizeof(p), "vm2");
	assert_int_equal(remove_tree(p, 2), -1);
	assert_true(exists("vm2/user/status.json"));
	assert_int_equal(chmod(top, 0711), 0); /* the user passes through to its part */
	assert_int_equal(chmod(p, 0711), 0);
	struct identity who = { .uid = USER_UID, .gid = USER_GID, .name = "4243:4244" };
	struct identity_fs_saved saved;
	struct nv_err err = { 0 };
	assert_int_equal(identity_fs_enter(&who, &saved, &err), 0);
	path_of(p, sizeof(p), "vm2/user");
	int rc = remove_tree_contents(p, 2);
	int e = errno;
	identity_fs_leave(&saved);
	if (rc)
		fail_msg("as the user: %s", strerror(e));
	assert_int_equal(rc, 0);
	assert_false(exists("vm2/user/status.json"));
	path_of(p, sizeof(p), "vm2");
	assert_int_equal(remove_tree(p, 2), -1); /* user/ is still not root's to enter */
	path_of(p, sizeof(p), "vm2/user");
	assert_int_equal(rmdir(p), 0); /* empty: root removes it from its own folder */
	path_of(p, sizeof(p), "vm2");
	assert_int_equal(remove_tree(p, 2), 0);
	assert_false(exists("vm2"));
}

/* As the user, root reads only what the user may (its own file, not a
 * root-only one), makes files the user owns, and is root again after,
 * with its own groups. */
static void test_fs_identity(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[256];
	assert_int_equal(chmod(top, 0711), 0);
	touch("root-only", 0600);
	touch("users", 0600);
	path_of(p, sizeof(p), "users");
	assert_int_equal(chown(p, USER_UID, USER_GID), 0);
	gid_t before[64];
	int nbefore = getgroups(64, before);
	struct identity who = { .uid = USER_UID, .gid = USER_GID, .name = "4243:4244" };
	struct identity_fs_saved saved;
	struct nv_err err = { 0 };
	assert_int_equal(identity_fs_enter(&who, &saved, &err), 0);
	path_of(p, sizeof(p), "root-only");
	int fd = open(p, O_RDONLY);
	int e = errno;
	path_of(p, sizeof(p), "users");
	int fd2 = open(p, O_RDONLY);
	char made[256];
	path_of(made, sizeof(made), "made");
	int fd3 = open(made, O_WRONLY | O_CREAT, 0600); /* top is root's 0711: no */
	int e3 = errno;
	identity_fs_leave(&saved);
	assert_int_equal(fd, -1);
	assert_int_equal(e, EACCES);
	assert_true(fd2 >= 0);
	close(fd2);
	assert_int_equal(fd3, -1);
	assert_int_equal(e3, EACCES);
	path_of(p, sizeof(p), "root-only");
	fd = open(p, O_RDONLY); /* root again */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(setfsuid((uid_t)-1), 0);
	gid_t after[64];
	assert_int_equal(getgroups(64, after), nbefore);
	assert_memory_equal(before, after, (size_t)nbefore * sizeof(gid_t));
	unlink(p);
	path_of(p, sizeof(p), "users");
	unlink(p);
}

static void test_fs_identity_needs_root(void **state)
{
	(void)state;
	if (geteuid() == 0)
		skip(); /* the refusal is what a non-root run sees */
	struct identity who = { .uid = USER_UID, .gid = USER_GID, .name = "4243:4244" };
	struct identity_fs_saved saved;
	struct nv_err err = { 0 };
	assert_int_equal(identity_fs_enter(&who, &saved, &err), -1);
	assert_non_null(strstr(err.msg, "needs root"));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_not_followed),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_foreign_folder_not_entered),
		cmocka_unit_test(test_fs_identity),
		cmocka_unit_test(test_fs_identity_needs_root),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
