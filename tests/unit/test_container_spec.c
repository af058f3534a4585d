/* A container's VM from its bundle (mgmt/container_config.h,
 * mgmt/container_spec.h, util/cpio_newc.h): the cpio archive appended to
 * the guest's initrd is well formed newc, its spec holds the process and
 * the mounts in order, a folder bind becomes a share and a file bind a
 * copy, and what a VM cannot give is refused in one line naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/container_config.h"
#include "mgmt/container_spec.h"

static char dir[64], rootfs[128], data_dir[128], file[128];

static int set_up(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nv-ctr-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
	snprintf(file, sizeof(file), "%s/hosts", dir);
	assert_int_equal(mkdir(rootfs, 0755), 0);
	assert_int_equal(mkdir(data_dir, 0755), 0);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("127.0.0.1 localhost\n", f);
	fclose(f);
	return 0;
}

static int tear_down(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned long hex8(const uint8_t *p)
{
	char s[9];
	memcpy(s, p, 8);
	s[8] = '\0';
	return strtoul(s, NULL, 16);
}

/* Walks a newc archive as the kernel does; returns the named file's data
 * (and its length), checking every header and the trailer on the way. */
static const uint8_t *cpio_find(const struct cpio_newc *a, const char *want, size_t *len, unsigned *count)
{
	size_t off = 0;
	const uint8_t *found = NULL;
	*count = 0;
	for (;;) {
		assert_true(off + 110 <= a->len);
		assert_memory_equal(a->data + off, "070701", 6);
		unsigned long size = hex8(a->data + off + 54), namesize = hex8(a->data + off + 94);
		const char *name = (const char *)a->data + off + 110;
		assert_int_equal(name[namesize - 1], '\0');
		size_t data_at = (off + 110 + namesize + 3) & ~(size_t)3;
		if (!strcmp(name, "TRAILER!!!")) {
			assert_int_equal(size, 0);
			assert_int_equal(a->len % 4, 0);
			assert_int_equal(data_at, a->len);
			return found;
		}
		(*count)++;
		if (!strcmp(name, want)) {
			found = a->data + data_at;
			*len = size;
		}
		off = (data_at + size + 3) & ~(size_t)3;
	}
}

/* The spec's records as one line: fields joined by '|', records by ';'. */
static void spec_text(const uint8_t *spec, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 2 < size; i++)
		out[o++] = spec[i] ? (char)spec[i] : '|';
	out[o] = '\0';
}

static int plan(struct container_request *r, bool stdin_open, struct container_plan *p, char *text, size_t size,
		struct nv_err *err)
{
	struct oci_config c = { 0 };
	char bundle[256];
	if (container_config_make(r, &c, bundle, sizeof(bundle), err) < 0)
		return -1;
	int rc = container_plan_make(&c, bundle, stdin_open, p, err);
	oci_config_free(&c);
	if (rc == 0) {
		size_t len = 0;
		unsigned n;
		const uint8_t *spec = cpio_find(&p->initramfs, CONTAINER_SPEC_PATH, &len, &n);
		assert_non_null(spec);
		spec_text(spec, len, text, size);
	}
	return rc;
}

static void test_rootfs_defaults(void **state)
{
	(void)state;
	char *cmd[] = { "sh", "-c", "echo hi; exit 3" };
	struct container_request r = { .path = rootfs, .command = cmd, .command_argc = 3 };
	struct container_plan p;
	struct nv_err err = { 0 };
	static char text[65536];
	assert_int_equal(plan(&r, false, &p, text, sizeof(text), &err), 0);
	assert_non_null(strstr(text, "nestvm-container-spec|1|"));
	assert_non_null(strstr(text, "arg|sh|arg|-c|arg|echo hi; exit 3|"));
	assert_non_null(strstr(text, "env|PATH=/usr/local/sbin:"));
	assert_non_null(strstr(text, "cwd|/|user|0|0|-|"));
	assert_non_null(strstr(text, "hostname|nestvm|"));
	assert_non_null(strstr(text, "stdin|0|"));
	assert_non_null(strstr(text, "root|rootfs|0|"));
	assert_non_null(strstr(text, "mount|/proc|proc|proc|nosuid,noexec,nodev|"));
	assert_non_null(strstr(text, "mount|/dev/pts|devpts|devpts|"));
	/* the end record closes it */
	size_t n = strlen(text);
	assert_true(n > 4 && !strcmp(text + n - 4, "end|"));
	assert_int_equal(p.nshares, 1);
	assert_string_equal(p.shares[0].tag, CONTAINER_ROOT_TAG);
	char real[256];
	assert_non_null(realpath(rootfs, real));
	assert_string_equal(p.shares[0].dir, real);
	container_plan_free(&p);
}

static void test_volumes(void **state)
{
	(void)state;
	char v1[160], v2[160];
	snprintf(v1, sizeof(v1), "%s:/data:ro", data_dir);
	snprintf(v2, sizeof(v2), "%s:/etc/hosts", file);
	struct container_request r = { .path = rootfs, .terminal = true, .hostname = "box", .nvolumes = 2,
				       .volumes = { v1, v2 } };
	struct container_plan p;
	struct nv_err err = { 0 };
	static char text[65536];
	assert_int_equal(plan(&r, true, &p, text, sizeof(text), &err), 0);
	assert_int_equal(p.nshares, 2);
	assert_string_equal(p.shares[1].tag, "v1");
	assert_true(p.shares[1].readonly);
	assert_non_null(strstr(text, "mount|/data|virtiofs|v1|ro|"));
	assert_non_null(strstr(text, "terminal|1|"));
	assert_non_null(strstr(text, "stdin|1|"));
	assert_non_null(strstr(text, "hostname|box|"));
	assert_non_null(strstr(text, "env|TERM=xterm|"));
	/* the file is copied in, and the mount names the copy */
	const char *m = strstr(text, "mount|/etc/hosts|nestvm-file|/etc/nestvm/files/");
	assert_non_null(m);
	char name[64];
	assert_int_equal(sscanf(m, "mount|/etc/hosts|nestvm-file|/%63[^|]", name), 1);
	size_t len = 0;
	unsigned count;
	const uint8_t *copy = cpio_find(&p.initramfs, name, &len, &count);
	assert_non_null(copy);
	assert_int_equal(len, strlen("127.0.0.1 localhost\n"));
	assert_memory_equal(copy, "127.0.0.1 localhost\n", len);
	container_plan_free(&p);
}

static void refused(struct container_request *r, const char *why)
{
	struct container_plan p;
	struct nv_err err = { 0 };
	static char text[65536];
	assert_int_equal(plan(r, false, &p, text, sizeof(text), &err), -1);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	assert_null(strchr(err.msg, '\n'));
}

static void test_refusals(void **state)
{
	(void)state;
	struct container_request r = { .path = rootfs, .nvolumes = 1, .volumes = { "/dev/null:/x" } };
	refused(&r, "neither a folder nor a regular file");
	r.volumes[0] = "/nonexistent-nv:/x";
	refused(&r, "mount /x: its source '/nonexistent-nv'");
	r.volumes[0] = "relative:/x";
	refused(&r, "both paths must be absolute");
	r.volumes[0] = "/tmp:/x:rx";
	refused(&r, "'rx' is not ro or rw");
	r.volumes[0] = "/tmp";
	refused(&r, "give HOST-FOLDER:CONTAINER-PATH");
	/* the root and seven folders fit; an eighth folder does not */
	static char vols[8][160];
	r.nvolumes = 8;
	for (unsigned i = 0; i < 8; i++) {
		snprintf(vols[i], sizeof(vols[i]), "%s:/v%u", data_dir, i);
		r.volumes[i] = vols[i];
	}
	refused(&r, "a VM has 8 shared folders at most");
	struct container_request missing = { .path = "/nonexistent-nv-root" };
	refused(&missing, "not a folder");
}

static void test_bundle(void **state)
{
	(void)state;
	char path[192];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":1000,\"gid\":100,"
		   "\"additionalGids\":[10,20]},\"args\":[\"/bin/true\"],\"env\":[\"A=1\"],\"cwd\":\"/tmp\","
		   "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200}],\"noNewPrivileges\":true},"
		   "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
		   "\"mounts\":[{\"destination\":\"/x\",\"type\":\"overlay\",\"source\":\"o\"}]}");
	fclose(f);
	struct container_request r = { .path = dir };
	refused(&r, "mount /x: the type 'overlay' cannot be mounted in a VM");
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":1000,\"gid\":100,"
		   "\"additionalGids\":[10,20]},\"args\":[\"/bin/true\"],\"env\":[\"A=1\"],\"cwd\":\"/tmp\","
		   "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200}],\"noNewPrivileges\":true},"
		   "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
		   "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864}}},"
		   "\"mounts\":[{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[\"rbind\"]}]}");
	fclose(f);
	struct container_plan p;
	struct nv_err err = { 0 };
	static char text[65536];
	char *cmd[] = { "/bin/echo", "over" };
	r.command = cmd;
	r.command_argc = 2;
	assert_int_equal(plan(&r, false, &p, text, sizeof(text), &err), 0);
	assert_non_null(strstr(text, "arg|/bin/echo|arg|over|env|A=1|cwd|/tmp|user|1000|100|-|gid|10|gid|20|"));
	assert_non_null(strstr(text, "rlimit|7|100|200|")); /* RLIMIT_NOFILE */
	assert_non_null(strstr(text, "no-new-privileges|1|"));
	/* the limit goes to the guest too: a cgroup around the process */
	assert_non_null(strstr(text, "memory-limit|67108864|"));
	assert_non_null(strstr(text, "root|rootfs|1|"));
	assert_true(p.shares[0].readonly);
	/* the engine's shared-memory folder becomes the VM's own tmpfs */
	assert_non_null(strstr(text, "mount|/dev/shm|tmpfs|shm|"));
	assert_int_equal(p.nshares, 1);
	container_plan_free(&p);
	unlink(path);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	fputs("{\"ociVersion\": 5", f);
	fclose(f);
	refused(&r, "config.json");
	unlink(path);
}

static void test_cpio_limits(void **state)
{
	(void)state;
	struct cpio_newc a;
	struct nv_err err = { 0 };
	cpio_newc_init(&a, 512);
	assert_int_equal(cpio_newc_add_dir(&a, "etc", 0755, &err), 0);
	char big[600] = { 0 };
	assert_int_equal(cpio_newc_add_file(&a, "etc/big", 0644, big, sizeof(big), &err), -1);
	assert_non_null(strstr(err.msg, "do not fit"));
	assert_int_equal(cpio_newc_add_file(&a, "/abs", 0644, "x", 1, &err), -1);
	assert_int_equal(cpio_newc_add_file(&a, "etc/a", 0644, "abc", 3, &err), 0);
	assert_int_equal(cpio_newc_finish(&a, &err), 0);
	size_t len;
	unsigned count;
	const uint8_t *d = cpio_find(&a, "etc/a", &len, &count);
	assert_int_equal(count, 2);
	assert_int_equal(len, 3);
	assert_memory_equal(d, "abc", 3);
	cpio_newc_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rootfs_defaults), cmocka_unit_test(test_volumes), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bundle),		cmocka_unit_test(test_cpio_limits),
	};
	return cmocka_run_group_tests(tests, set_up, tear_down);
}
