/* util/file_io: bounded reads (a file at the bound is refused, not cut) and
 * atomic writes (the new content or the old, no temporary left behind). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file_io.h"

static char dir[] = "/tmp/nv-file-io.XXXXXX";

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static unsigned entries(void)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_read_bounded(void **state)
{
	(void)state;
	char p[128], *buf;
	size_t len;
	path_of(p, sizeof(p), "nine");
	assert_int_equal(file_write_atomic(p, "123456789", 9), 0);
	/* Below the bound: all of it, NUL-terminated. */
	assert_int_equal(file_read_bounded(p, 10, &buf, &len), 0);
	assert_int_equal(len, 9);
	assert_string_equal(buf, "123456789");
	free(buf);
	/* At the bound: refused whole, nothing handed out. */
	assert_int_equal(file_read_bounded(p, 9, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(file_read_bounded(p, 1, &buf, &len), -EFBIG);
	/* Missing, a folder: the errno. */
	path_of(p, sizeof(p), "missing");
	assert_int_equal(file_read_bounded(p, 10, &buf, &len), -ENOENT);
	assert_int_equal(file_read_bounded(dir, 10, &buf, &len), -EISDIR);
	/* Empty is fine. */
	path_of(p, sizeof(p), "empty");
	assert_int_equal(file_write_atomic(p, "", 0), 0);
	assert_int_equal(file_read_bounded(p, 10, &buf, &len), 0);
	assert_int_equal(len, 0);
	free(buf);
}

static void test_write_atomic(void **state)
{
	(void)state;
	char p[128], *buf;
	size_t len;
	unsigned before = entries();
	path_of(p, sizeof(p), "record");
	assert_int_equal(file_write_atomic(p, "old", 3), 0);
	assert_int_equal(file_write_atomic(p, "new content", 11), 0);
	assert_int_equal(file_read_bounded(p, 64, &buf, &len), 0);
	assert_string_equal(buf, "new content");
	free(buf);
	/* One file more, and no temporary left. */
	assert_int_equal(entries(), before + 1);
	/* Into a folder that does not exist: the errno, nothing created. */
	path_of(p, sizeof(p), "no-such-dir/record");
	assert_int_equal(file_write_atomic(p, "x", 1), -ENOENT);
	assert_int_equal(entries(), before + 1);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
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
		cmocka_unit_test(test_read_bounded),
		cmocka_unit_test(test_write_atomic),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
