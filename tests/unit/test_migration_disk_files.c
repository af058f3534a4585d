/* Where a migration target puts a copied disk, and the new file: a path in
 * the storage folder under the source's file name (or the source's path),
 * a sparse raw file or a qcow2 image of the disk's size, never over an
 * existing file (untouched), and nothing left when it cannot be made. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/disk_image.h"
#include "state/migration_stream.h"
#include "vmm/migration_disk_files.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/nestvm-mdf-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void paths(void **state)
{
	char out[64];
	struct nv_err err = { 0 };
	assert_int_equal(mig_disk_file_path("/srv/vms", "/home/a/data.img", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/srv/vms/data.img");
	assert_int_equal(mig_disk_file_path(NULL, "/home/a/data.img", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/home/a/data.img");
	assert_int_equal(mig_disk_file_path("/srv/vms", "/home/a/", out, sizeof(out), &err), -1);
	assert_int_equal(mig_disk_file_path("/srv/vms", "/a/a-file-name-far-too-long-for-the-small-buffer-given-here-by-this-test.img", out,
					    sizeof(out), &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
}

static void raw_and_qcow2(void **state)
{
	char raw[128], q[128];
	struct nv_err err = { 0 };
	snprintf(raw, sizeof(raw), "%s/d.raw", dir);
	snprintf(q, sizeof(q), "%s/d.qcow2", dir);
	assert_int_equal(mig_disk_file_create(raw, MIG_DISK_RAW, 64u << 20, &err), 0);
	struct stat st;
	assert_int_equal(stat(raw, &st), 0);
	assert_int_equal(st.st_size, 64 << 20);
	assert_true(st.st_blocks * 512 < (1 << 20)); /* sparse */
	assert_int_equal(mig_disk_file_create(q, MIG_DISK_QCOW2, 3u << 20, &err), 0);
	const char *chain[] = { q };
	struct disk_image *img = disk_image_open(chain, 1, false, &err);
	assert_non_null(img);
	assert_int_equal(disk_image_format(img), DISK_FORMAT_QCOW2);
	assert_true(disk_image_size(img) == 3u << 20);
	disk_image_close(img);
}

static void never_over_a_file(void **state)
{
	char p[128], buf[16] = { 0 };
	struct nv_err err = { 0 };
	snprintf(p, sizeof(p), "%s/old", dir);
	FILE *f = fopen(p, "w");
	fputs("precious", f);
	fclose(f);
	for (unsigned fmt = MIG_DISK_RAW; fmt <= MIG_DISK_QCOW2; fmt++) {
		assert_int_equal(mig_disk_file_create(p, fmt, 1u << 20, &err), -1);
		assert_int_equal(err.kind, NV_ERR_INPUT);
		char want[200];
		snprintf(want, sizeof(want), "the copy of a disk would overwrite %s: it exists", p);
		assert_string_equal(err.msg, want);
		f = fopen(p, "r");
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "precious");
	}
	snprintf(p, sizeof(p), "%s/no/such/folder.raw", dir);
	assert_int_equal(mig_disk_file_create(p, MIG_DISK_RAW, 1u << 20, &err), -1);
	assert_int_equal(mig_disk_file_create(p, MIG_DISK_QCOW2, 1u << 20, &err), -1);
	assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(paths, setup, teardown),
		cmocka_unit_test_setup_teardown(raw_and_qcow2, setup, teardown),
		cmocka_unit_test_setup_teardown(never_over_a_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
