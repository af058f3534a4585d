/* disk/disk_image: raw and qcow2 images, alone and in chains. What is
 * written reads back at any offset and alignment; a differencing disk shows
 * its backing image where it holds nothing and never writes to it; commit
 * merges it down; every damaged or unsupported header is refused with one
 * line naming the file. qemu-img and qemu-io (qemu-utils) cross-check both
 * ways: the images nestvm writes pass `qemu-img check` and convert to the
 * bytes nestvm read, and images QEMU wrote (plain, v2, other cluster sizes,
 * compressed, zero clusters) read back right. Without qemu-img these tests
 * fail: they are the proof the images are qcow2 as QEMU knows it. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk/disk_chain.h"
#include "disk/disk_image.h"
#include "disk/image_backend.h" /* the image's fd, to make a flush fail */
#include "util/file_io.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define CLUSTER (64 * KiB)

static char dir[] = "/tmp/nv-disk-image.XXXXXX";

/* ---- helpers ---------------------------------------------------------- */

static char *path_of(const char *name)
{
	static char bufs[8][256];
	static unsigned next;
	char *p = bufs[next++ % 8];
	snprintf(p, sizeof(bufs[0]), "%s/%s", dir, name);
	return p;
}

/* The exit status of the shell command, or -1. */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define must_run(...)                                                           \
	do {                                                                    \
		if (run(__VA_ARGS__) != 0)                                      \
			fail_msg("command failed (is qemu-utils installed?)"); \
	} while (0)

/* The command's stdout and stderr (free it). */
__attribute__((format(printf, 1, 2))) static char *output_of(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1; echo \"exit=$?\"", sizeof(cmd) - strlen(cmd) - 1);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	size_t r;
	while ((r = fread(out + len, 1, cap - 1 - len, f)) > 0)
		len += r;
	out[len] = '\0';
	pclose(f);
	return out;
}

/* qemu-img check finds nothing wrong: no errors, no leaks. */
static void qemu_check_clean(const char *path)
{
	char *out = output_of("qemu-img check '%s'", path);
	if (!strstr(out, "No errors were found on the image.") || !strstr(out, "exit=0"))
		fail_msg("qemu-img check %s:\n%s", path, out);
	free(out);
}

static void pattern(uint8_t *b, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The file's bytes (free them). */
static uint8_t *file_bytes(const char *path, size_t *len)
{
	char *buf;
	assert_int_equal(file_read_bounded(path, 256 * MiB, &buf, len), 0);
	return (uint8_t *)buf;
}

static void assert_file_is(const char *path, const uint8_t *want, size_t len)
{
	size_t n;
	uint8_t *b = file_bytes(path, &n);
	assert_int_equal(n, len);
	assert_memory_equal(b, want, len);
	free(b);
}

static void patch_be(const char *path, off_t off, uint64_t v, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, bytes, off), (ssize_t)bytes);
	close(fd);
}

static uint64_t get_be(const char *path, off_t off, unsigned bytes)
{
	uint8_t b[8];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, bytes, off), (ssize_t)bytes);
	close(fd);
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | b[i];
	return v;
}

static struct disk_image *open_chain(const char *const *chain, size_t n, bool ro)
{
	struct nv_err err = { 0 };
	struct disk_image *img = disk_image_open(chain, n, ro, &err);
	if (!img)
		fail_msg("open %s: %s", chain[0], err.msg);
	return img;
}

static struct disk_image *open1(const char *path, bool ro)
{
	const char *chain[] = { path };
	return open_chain(chain, 1, ro);
}

/* Refused: -1, an input error, one line naming path and holding needle. */
static void open_refused(const char *const *chain, size_t n, bool ro, const char *path,
			 const char *needle)
{
	struct nv_err err = { 0 };
	struct disk_image *img = disk_image_open(chain, n, ro, &err);
	if (img) {
		disk_image_close(img);
		fail_msg("%s opened; wanted \"%s\"", chain[0], needle);
	}
	if (err.kind != NV_ERR_INPUT || !strstr(err.msg, path) || !strstr(err.msg, needle) ||
	    strchr(err.msg, '\n'))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, path, needle);
	/* disk_image_check agrees */
	assert_int_equal(disk_image_check(chain, n, ro, &err), -1);
}

static void open1_refused(const char *path, bool ro, const char *needle)
{
	const char *chain[] = { path };
	open_refused(chain, 1, ro, path, needle);
}

static int rd(struct disk_image *img, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };
	return disk_image_readv(img, &v, 1, off);
}

/* Written in two segments, split at an odd place. */
static int wr(struct disk_image *img, const void *buf, size_t len, uint64_t off)
{
	size_t a = len / 3;
	struct iovec v[2] = { { .iov_base = (void *)buf, .iov_len = a },
			      { .iov_base = (uint8_t *)buf + a, .iov_len = len - a } };
	return disk_image_writev(img, v, 2, off);
}

/* The whole virtual disk equals want, read in pieces of odd sizes
 * through three-segment iovecs. */
static void assert_disk_is(struct disk_image *img, const uint8_t *want, uint64_t size)
{
	assert_int_equal(disk_image_size(img), size);
	uint8_t *buf = malloc(300 * KiB);
	assert_non_null(buf);
	uint64_t off = 0;
	size_t step = 1;
	while (off < size) {
		size_t n = step * 4099 % (300 * KiB) + 1;
		if (n > size - off)
			n = (size_t)(size - off);
		size_t a = n / 4, b = n / 2;
		struct iovec v[3] = { { buf, a }, { buf + a, b }, { buf + a + b, n - a - b } };
		assert_int_equal(disk_image_readv(img, v, 3, off), 0);
		if (memcmp(buf, want + off, n)) {
			size_t i = 0;
			while (buf[i] == want[off + i])
				i++;
			fail_msg("byte %llu: read 0x%02x, want 0x%02x",
				 (unsigned long long)(off + i), buf[i], want[off + i]);
		}
		off += n;
		step = step * 7 + 3;
	}
	free(buf);
}

/* qemu-img's own reading of the image (through its backing chain, by the
 * names in the headers) equals want. */
static void assert_qemu_reads(const char *path, const uint8_t *want, uint64_t size)
{
	char *out = path_of("qemu-view.raw");
	unlink(out);
	must_run("qemu-img convert -O raw '%s' '%s'", path, out);
	assert_file_is(out, want, (size_t)size);
	unlink(out);
}

/* Writes of awkward sizes and offsets, the same into shadow. */
static void scribble(struct disk_image *img, uint8_t *shadow, uint64_t size, uint32_t seed)
{
	const struct {
		uint64_t off, len;
	} w[] = {
		{ 0, 1 },
		{ CLUSTER - 100, 200 }, /* across a cluster boundary */
		{ 3 * CLUSTER + 7, 3 * CLUSTER + 11 }, /* several clusters, unaligned */
		{ 8 * CLUSTER, CLUSTER }, /* exactly one */
		{ 8 * CLUSTER + 500, 1000 }, /* again, in place */
		{ size - 1000, 1000 }, /* the last bytes */
		{ size / 2 + 3, 70000 },
		{ CLUSTER - 100, 50 }, /* over an earlier write */
	};
	uint8_t *buf = malloc(4 * CLUSTER);
	assert_non_null(buf);
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		if (w[i].off + w[i].len > size)
			continue;
		pattern(buf, (size_t)w[i].len, seed + (uint32_t)i);
		assert_int_equal(wr(img, buf, (size_t)w[i].len, w[i].off), 0);
		memcpy(shadow + w[i].off, buf, (size_t)w[i].len);
	}
	free(buf);
}

static uint8_t *make_raw(const char *path, size_t size, uint32_t seed)
{
	uint8_t *b = malloc(size);
	assert_non_null(b);
	pattern(b, size, seed);
	write_file(path, b, size);
	return b;
}

static void create_ok(const char *path, uint64_t size, const char *backing,
		      enum disk_format fmt)
{
	struct nv_err err = { 0 };
	unlink(path);
	if (qcow2_create(path, size, backing, fmt, &err) < 0)
		fail_msg("qcow2_create %s: %s", path, err.msg);
}

/* ---- tests ------------------------------------------------------------ */

static void test_qemu_img_present(void **state)
{
	(void)state;
	if (run("qemu-img --version >/dev/null 2>&1") != 0 ||
	    run("qemu-io --version >/dev/null 2>&1") != 0)
		fail_msg("qemu-img/qemu-io are missing: install qemu-utils (scripts/setup)");
}

static void test_raw_round_trip(void **state)
{
	(void)state;
	const char *p = path_of("disk.raw");
	size_t size = MiB + 512 + 3;
	uint8_t *shadow = make_raw(p, size, 1);
	struct disk_image *img = open1(p, false);
	assert_int_equal(disk_image_format(img), DISK_FORMAT_RAW);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(disk_image_dev(img) == st.st_dev);
	assert_true(disk_image_ino(img) == st.st_ino);
	assert_disk_is(img, shadow, size);
	scribble(img, shadow, size, 10);
	assert_disk_is(img, shadow, size);

	/* Bounds: the range must lie inside, nothing is written otherwise. */
	uint8_t b[16] = { 0 };
	assert_int_equal(rd(img, b, 10, size - 10), 0);
	assert_memory_equal(b, shadow + size - 10, 10);
	assert_int_equal(rd(img, b, 11, size - 10), -1);
	assert_int_equal(rd(img, b, 1, size), -1);
	assert_int_equal(rd(img, b, 0, size), 0);
	assert_int_equal(rd(img, b, 1, UINT64_MAX), -1);
	assert_int_equal(wr(img, b, 11, size - 10), -1);
	struct iovec huge[2] = { { b, 8 }, { b, SIZE_MAX - 4 } };
	assert_int_equal(disk_image_readv(img, huge, 2, 0), -1);
	assert_int_equal(disk_image_readv(img, huge, -1, 0), -1);
	assert_int_equal(disk_image_flush(img), 0);
	disk_image_close(img);
	assert_file_is(p, shadow, size);

	/* Read-only: reads work, writes fail. */
	img = open1(p, true);
	assert_int_equal(rd(img, b, 16, 100), 0);
	assert_memory_equal(b, shadow + 100, 16);
	assert_int_equal(wr(img, b, 16, 100), -1);
	assert_int_equal(disk_image_flush(img), 0);
	disk_image_close(img);
	assert_file_is(p, shadow, size);
	disk_image_close(NULL);
	free(shadow);
}

/* A flush that failed once fails every time after: Linux reports a
 * writeback error to one fdatasync only, and a guest's next FLUSH must not
 * hear that its lost data is safe (issue 16, point 6). */
static void test_failed_flush_stays_failed(void **state)
{
	(void)state;
	const char *p = path_of("flush.raw");
	uint8_t *shadow = make_raw(p, MiB, 2);
	struct disk_image *img = open1(p, false);
	assert_int_equal(disk_image_flush(img), 0);
	int real = dup(img->fd), pp[2];
	assert_true(real >= 0);
	assert_int_equal(pipe(pp), 0);
	assert_true(dup2(pp[0], img->fd) >= 0); /* fdatasync on a pipe: EINVAL */
	assert_int_equal(disk_image_flush(img), -1);
	assert_true(dup2(real, img->fd) >= 0); /* the file again: its fdatasync works */
	close(real);
	close(pp[0]);
	close(pp[1]);
	assert_int_equal(disk_image_flush(img), -1);
	disk_image_close(img);
	free(shadow);
}

static void test_locks(void **state)
{
	(void)state;
	const char *p = path_of("locked.raw");
	free(make_raw(p, 4096, 2));
	const char *chain[] = { p };
	struct disk_image *w = open1(p, false);
	open1_refused(p, false, "is in use by another process");
	open1_refused(p, true, "is in use by another process");
	disk_image_close(w);
	struct disk_image *r1 = open1(p, true), *r2 = open1(p, true); /* shared */
	open1_refused(p, false, "is in use by another process");
	disk_image_close(r1);
	disk_image_close(r2);
	struct nv_err err = { 0 };
	assert_int_equal(disk_image_check(chain, 1, false, &err), 0);
	disk_image_close(open1(p, false)); /* the check kept no lock */

	/* A backing image is locked shared: no writer while it is read. */
	const char *ovl = path_of("locked.qcow2");
	create_ok(ovl, 4096, p, DISK_FORMAT_RAW);
	const char *c2[] = { ovl, p };
	struct disk_image *top = open_chain(c2, 2, false);
	open1_refused(p, false, "is in use by another process");
	disk_image_close(open1(p, true));
	disk_image_close(top);
	disk_image_close(open1(p, false));

	open1_refused(path_of("missing.raw"), false, "cannot open disk image");
	open1_refused(dir, true, "not a regular file or block device");
	open_refused(chain, 0, false, "", "no disk image given");
}

static void test_probe(void **state)
{
	(void)state;
	struct nv_err err = { 0 };
	enum disk_format f = DISK_FORMAT_QCOW2;
	const char *raw = path_of("probe.raw"), *q = path_of("probe.qcow2");
	free(make_raw(raw, 3, 3)); /* shorter than the magic */
	create_ok(q, MiB, NULL, DISK_FORMAT_RAW);
	assert_int_equal(disk_image_probe(raw, &f, &err), 0);
	assert_int_equal(f, DISK_FORMAT_RAW);
	assert_int_equal(disk_image_probe(q, &f, &err), 0);
	assert_int_equal(f, DISK_FORMAT_QCOW2);
	const char *none = path_of("probe-missing");
	assert_int_equal(disk_image_probe(none, &f, &err), -1);
	assert_non_null(strstr(err.msg, none));
	/* A 3-byte raw image works as a disk of 3 bytes. */
	struct disk_image *img = open1(raw, true);
	assert_int_equal(disk_image_size(img), 3);
	disk_image_close(img);
}

static void test_qcow2_create_layout(void **state)
{
	(void)state;
	struct nv_err err = { 0 };
	const char *base = path_of("layout-base.raw"), *p = path_of("layout.qcow2");
	free(make_raw(base, 10 * MiB, 4));
	create_ok(p, 10 * MiB, base, DISK_FORMAT_RAW);
	/* The header: version 3, 64 KiB clusters, 16-bit refcounts, 112 bytes. */
	assert_int_equal(get_be(p, 0, 4), 0x514649fb);
	assert_int_equal(get_be(p, 4, 4), 3);
	assert_int_equal(get_be(p, 20, 4), 16);
	assert_int_equal(get_be(p, 24, 8), 10 * MiB);
	assert_int_equal(get_be(p, 96, 4), 4);
	assert_int_equal(get_be(p, 100, 4), 112);
	assert_int_equal(get_be(p, 112, 4), 0xe2792aca);
	char *out = output_of("qemu-img info --output=json '%s'", p);
	if (!strstr(out, "\"backing-filename-format\": \"raw\"") || !strstr(out, base) ||
	    !strstr(out, "\"virtual-size\": 10485760") || !strstr(out, "\"cluster-size\": 65536") ||
	    !strstr(out, "exit=0"))
		fail_msg("qemu-img info:\n%s", out);
	free(out);
	qemu_check_clean(p);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Never over an existing file. */
	assert_int_equal(qcow2_create(p, MiB, NULL, DISK_FORMAT_RAW, &err), -1);
	assert_int_equal(err.kind, NV_ERR_INPUT);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(get_be(p, 24, 8), 10 * MiB); /* untouched */
	/* Nothing left behind by a refusal or a failure. */
	const char *q = path_of("refused.qcow2");
	char name[1100];
	memset(name, 'n', 1024);
	name[1024] = '\0';
	assert_int_equal(qcow2_create(q, MiB, name, DISK_FORMAT_RAW, &err), -1);
	assert_non_null(strstr(err.msg, "1 to 1023 bytes"));
	assert_int_equal(qcow2_create(q, MiB, base, (enum disk_format)7, &err), -1);
	assert_int_equal(qcow2_create(q, 1ull << 62, NULL, DISK_FORMAT_RAW, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	assert_int_equal(access(q, F_OK), -1);
	const char *nodir = path_of("no-such-dir/x.qcow2");
	assert_int_equal(qcow2_create(nodir, MiB, NULL, DISK_FORMAT_RAW, &err), -1);
	assert_non_null(strstr(err.msg, nodir));

	/* Of a qcow2 backing image, and without one; a size qemu-img
	 * accepts that is not a cluster multiple; a big one (L1 over one
	 * cluster). */
	const char *q2 = path_of("layout2.qcow2");
	create_ok(q2, 10 * MiB, p, DISK_FORMAT_QCOW2);
	out = output_of("qemu-img info --output=json '%s'", q2);
	if (!strstr(out, "\"backing-filename-format\": \"qcow2\""))
		fail_msg("qemu-img info:\n%s", out);
	free(out);
	qemu_check_clean(q2);
	create_ok(q2, 1000 * 512, NULL, DISK_FORMAT_RAW);
	qemu_check_clean(q2);
	create_ok(q2, 5000ull * 1024 * MiB, NULL, DISK_FORMAT_RAW);
	qemu_check_clean(q2);
	struct disk_image *img = open1(q2, false);
	assert_int_equal(disk_image_size(img), 5000ull * 1024 * MiB);
	uint8_t b[4096], z[4096] = { 0 };
	pattern(b, sizeof(b), 5);
	assert_int_equal(wr(img, b, sizeof(b), 4000ull * 1024 * MiB + 77), 0);
	assert_int_equal(rd(img, z, sizeof(z), 4000ull * 1024 * MiB + 77), 0);
	assert_memory_equal(b, z, sizeof(b));
	disk_image_close(img);
	qemu_check_clean(q2);
	unlink(q2);
}

static void test_qcow2_write_read(void **state)
{
	(void)state;
	const char *p = path_of("rw.qcow2");
	uint64_t size = 5 * MiB + 3 * 512;
	create_ok(p, size, NULL, DISK_FORMAT_RAW);
	uint8_t *shadow = calloc(1, size);
	assert_non_null(shadow);
	struct disk_image *img = open1(p, false);
	assert_int_equal(disk_image_format(img), DISK_FORMAT_QCOW2);
	assert_disk_is(img, shadow, size); /* all zeros */
	scribble(img, shadow, size, 20);
	assert_disk_is(img, shadow, size);
	scribble(img, shadow, size, 30); /* now in place */
	assert_disk_is(img, shadow, size);
	uint8_t b[8];
	assert_int_equal(rd(img, b, 8, size - 7), -1);
	assert_int_equal(wr(img, b, 8, size - 7), -1);
	assert_int_equal(disk_image_flush(img), 0);
	disk_image_close(img);

	img = open1(p, true);
	assert_disk_is(img, shadow, size);
	assert_int_equal(wr(img, b, 8, 0), -1);
	disk_image_close(img);
	qemu_check_clean(p);
	assert_qemu_reads(p, shadow, size);

	/* What qemu-io writes over ours, we read. */
	must_run("qemu-io -c 'write -P 0xab 130000 70000' -c 'write -z 2M 64k' '%s' >/dev/null", p);
	memset(shadow + 130000, 0xab, 70000);
	memset(shadow + 2 * MiB, 0, 64 * KiB);
	img = open1(p, false);
	assert_disk_is(img, shadow, size);
	/* Over clusters qemu-io turned to zeros, keeping their space (the
	 * zero flag with an offset): ours reuses the space. */
	must_run("qemu-io -c 'write -z 192k 128k' '%s' >/dev/null", p);
	disk_image_close(img);
	memset(shadow + 192 * KiB, 0, 128 * KiB);
	img = open1(p, false);
	uint8_t w[300];
	pattern(w, sizeof(w), 21);
	assert_int_equal(wr(img, w, sizeof(w), 256 * KiB - 100), 0);
	memcpy(shadow + 256 * KiB - 100, w, sizeof(w));
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	qemu_check_clean(p);
	assert_qemu_reads(p, shadow, size);
	free(shadow);
}

/* Entries without the COPIED flag (refcount not known to be 1): the data
 * cluster is copied and the old one given back, the L2 table written in
 * place once its refcount says 1 (and flagged). Internal snapshots: read,
 * never written. */
static void test_qcow2_unflagged(void **state)
{
	(void)state;
	const char *p = path_of("unflagged.qcow2");
	create_ok(p, MiB, NULL, DISK_FORMAT_RAW);
	uint8_t *shadow = calloc(1, MiB);
	struct disk_image *img = open1(p, false);
	scribble(img, shadow, MiB, 110);
	disk_image_close(img);
	uint64_t l1 = 3 * CLUSTER;
	uint64_t l1e = get_be(p, (off_t)l1, 8), l2 = l1e & 0x00fffffffffffe00ull;
	uint64_t e0 = get_be(p, (off_t)l2, 8);
	assert_true(e0 >> 63);
	patch_be(p, (off_t)l1, l1e & ~(1ull << 63), 8);
	patch_be(p, (off_t)l2, e0 & ~(1ull << 63), 8);
	img = open1(p, false);
	assert_disk_is(img, shadow, MiB);
	uint8_t w[100];
	pattern(w, sizeof(w), 111);
	assert_int_equal(wr(img, w, sizeof(w), 10), 0);
	memcpy(shadow + 10, w, sizeof(w));
	assert_disk_is(img, shadow, MiB);
	disk_image_close(img);
	assert_true(get_be(p, (off_t)l2, 8) != e0); /* moved */
	assert_true(get_be(p, (off_t)l1, 8) >> 63);
	qemu_check_clean(p);
	assert_qemu_reads(p, shadow, MiB);

	must_run("qemu-img snapshot -c snap1 '%s'", p);
	open1_refused(p, false, "has 1 internal snapshots; nestvm cannot write to it");
	img = open1(p, true);
	assert_disk_is(img, shadow, MiB);
	disk_image_close(img);
	free(shadow);
}

/* A write that lands where no refcount block counts the file yet: with
 * 512-byte clusters one block covers 128 KiB of file. Also version 2. */
static void test_qcow2_small_clusters(void **state)
{
	(void)state;
	const char *p = path_of("small.qcow2");
	uint64_t size = 2 * MiB;
	for (int v2 = 0; v2 < 2; v2++) {
		unlink(p);
		must_run("qemu-img create -q -f qcow2 -o cluster_size=512%s '%s' %llu", v2 ? ",compat=0.10" : "",
			 p, (unsigned long long)size);
		uint8_t *shadow = calloc(1, size);
		struct disk_image *img = open1(p, false);
		uint8_t buf[3000];
		for (unsigned i = 0; i < 150; i++) {
			uint64_t off = (uint64_t)i * 13331 % (size - sizeof(buf));
			pattern(buf, sizeof(buf), i);
			assert_int_equal(wr(img, buf, sizeof(buf), off), 0);
			memcpy(shadow + off, buf, sizeof(buf));
		}
		assert_disk_is(img, shadow, size);
		disk_image_close(img);
		qemu_check_clean(p);
		assert_qemu_reads(p, shadow, size);
		free(shadow);
	}
	/* 2 MiB clusters, the largest. */
	unlink(p);
	must_run("qemu-img create -q -f qcow2 -o cluster_size=2M '%s' 9M", p);
	uint8_t *shadow = calloc(1, 9 * MiB);
	struct disk_image *img = open1(p, false);
	scribble(img, shadow, 9 * MiB, 40);
	uint8_t big[5000];
	pattern(big, sizeof(big), 41);
	assert_int_equal(wr(img, big, sizeof(big), 2 * MiB - 2500), 0);
	memcpy(shadow + 2 * MiB - 2500, big, sizeof(big));
	assert_disk_is(img, shadow, 9 * MiB);
	disk_image_close(img);
	qemu_check_clean(p);
	assert_qemu_reads(p, shadow, 9 * MiB);
	free(shadow);
}

/* Images QEMU compressed (qemu-img convert -c), as cloud images ship: read
 * right, and written (copy-on-write out of the compressed cluster, whose
 * sectors are then given back) with qemu-img check still clean. */
static void test_qcow2_compressed(void **state)
{
	(void)state;
	const char *raw = path_of("comp.raw"), *p = path_of("comp.qcow2");
	size_t size = 3 * MiB + 4096;
	uint8_t *shadow = malloc(size);
	assert_non_null(shadow);
	for (size_t i = 0; i < size; i++) /* compressible, yet every cluster differs */
		shadow[i] = (uint8_t)("nestvm qcow2 "[i % 13] + (i / 5000));
	memset(shadow + MiB, 0, 2 * CLUSTER); /* clusters convert leaves out */
	write_file(raw, shadow, size);
	unlink(p);
	must_run("qemu-img convert -c -f raw -O qcow2 '%s' '%s'", raw, p);
	struct disk_image *img = open1(p, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);

	img = open1(p, false);
	scribble(img, shadow, size, 50);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	qemu_check_clean(p);
	assert_qemu_reads(p, shadow, size);
	free(shadow);
}

/* An overlay over a raw base: the base's bytes where the overlay holds
 * nothing (zeros past the base's end), the base file never written. */
static void test_chain_over_raw(void **state)
{
	(void)state;
	const char *base = path_of("chain-base.raw"), *ovl = path_of("chain.qcow2");
	size_t base_size = 3 * MiB + 700;
	uint64_t size = 4 * MiB;
	uint8_t *base_bytes = make_raw(base, base_size, 60);
	uint8_t *shadow = calloc(1, size);
	memcpy(shadow, base_bytes, base_size);
	create_ok(ovl, size, base, DISK_FORMAT_RAW);
	const char *chain[] = { ovl, base };
	struct disk_image *img = open_chain(chain, 2, false);
	assert_disk_is(img, shadow, size);
	scribble(img, shadow, size, 61);
	uint8_t b[3000];
	pattern(b, sizeof(b), 62);
	assert_int_equal(wr(img, b, sizeof(b), base_size - 1000), 0); /* across the base's end */
	memcpy(shadow + base_size - 1000, b, sizeof(b));
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	assert_file_is(base, base_bytes, base_size);

	img = open_chain(chain, 2, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	qemu_check_clean(ovl);
	assert_qemu_reads(ovl, shadow, size);
	assert_file_is(base, base_bytes, base_size);
	free(base_bytes);
	free(shadow);
}

/* Three deep: our overlay over a qcow2 QEMU wrote (data, zero clusters),
 * over a raw root. */
static void test_chain_over_qcow2(void **state)
{
	(void)state;
	const char *root = path_of("deep-root.raw"), *mid = path_of("deep-mid.qcow2"),
		   *top = path_of("deep-top.qcow2");
	size_t size = 2 * MiB;
	uint8_t *root_bytes = make_raw(root, size, 70);
	unlink(mid);
	must_run("qemu-img create -q -f qcow2 -b '%s' -F raw '%s' %zu", root, mid, size);
	must_run("qemu-io -c 'write -P 0xcd 100000 200000' -c 'write -z 512k 128k' "
		 "-c 'write -P 0x11 1M 64k' '%s' >/dev/null",
		 mid);
	uint8_t *shadow = malloc(size);
	memcpy(shadow, root_bytes, size);
	memset(shadow + 100000, 0xcd, 200000);
	memset(shadow + 512 * KiB, 0, 128 * KiB);
	memset(shadow + MiB, 0x11, 64 * KiB);
	size_t mid_len;
	uint8_t *mid_bytes = file_bytes(mid, &mid_len);

	const char *two[] = { mid, root };
	struct disk_image *img = open_chain(two, 2, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);

	create_ok(top, size, mid, DISK_FORMAT_QCOW2);
	const char *three[] = { top, mid, root };
	img = open_chain(three, 3, false);
	assert_disk_is(img, shadow, size);
	scribble(img, shadow, size, 71);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	assert_file_is(root, root_bytes, size);
	assert_file_is(mid, mid_bytes, mid_len);
	qemu_check_clean(top);
	assert_qemu_reads(top, shadow, size);
	free(root_bytes);
	free(mid_bytes);
	free(shadow);
}

/* The chain given must match what the headers say. */
static void test_chain_mismatch(void **state)
{
	(void)state;
	const char *base = path_of("mm-base.raw"), *ovl = path_of("mm-ovl.qcow2"),
		   *plain = path_of("mm-plain.qcow2"), *other = path_of("mm-other.qcow2");
	free(make_raw(base, MiB, 80));
	create_ok(ovl, MiB, base, DISK_FORMAT_RAW);
	create_ok(plain, MiB, NULL, DISK_FORMAT_RAW);
	create_ok(other, MiB, plain, DISK_FORMAT_QCOW2);

	open1_refused(ovl, false, "names a backing file, which nestvm takes only");
	open1_refused(ovl, true, "names a backing file, which nestvm takes only");
	const char *c1[] = { plain, base };
	open_refused(c1, 2, false, plain, "names no backing file, but");
	const char *c2[] = { base, plain };
	open_refused(c2, 2, true, base, "is raw, so it cannot have the backing image");
	const char *c3[] = { ovl, plain };
	open_refused(c3, 2, false, ovl, "says its backing file is raw, but");
	const char *c4[] = { other, base };
	open_refused(c4, 2, false, other, "says its backing file is qcow2, but");
	const char *c5[] = { ovl, ovl };
	open_refused(c5, 2, false, ovl, "appears twice in the chain");
	const char *c6[] = { ovl, path_of("mm-missing.raw") };
	open_refused(c6, 2, false, "mm-missing.raw", "cannot open disk image");
	/* A bad magic where the chain needs a qcow2 image: read as raw. */
	const char *bad = path_of("mm-badmagic.qcow2");
	create_ok(bad, MiB, base, DISK_FORMAT_RAW);
	patch_be(bad, 0, 0x514649fa, 4);
	const char *c7[] = { bad, base };
	open_refused(c7, 2, false, bad, "is raw, so it cannot have");
	struct nv_err err = { 0 };
	const char *bc[] = { base };
	assert_int_equal(disk_image_commit(bad, bc, 1, &err), -1);
	assert_non_null(strstr(err.msg, bad));
	assert_non_null(strstr(err.msg, "not a qcow2 image"));
	/* A failed open leaves no lock behind. */
	disk_image_close(open1(base, false));
	disk_image_close(open1(plain, false));
}

/* top, over base_chain, written (ours, then qemu-io's zero clusters) and
 * shadow updated; top's file bytes returned (free them). */
static uint8_t *commit_setup(const char *top, size_t size, const char *const *base_chain,
			     size_t n, uint8_t *shadow)
{
	const char *chain[4] = { top };
	for (size_t i = 0; i < n; i++)
		chain[i + 1] = base_chain[i];
	struct disk_image *img = open_chain(chain, n + 1, false);
	assert_disk_is(img, shadow, size);
	scribble(img, shadow, size, 90);
	disk_image_close(img);
	/* Zero clusters in top over the base's data (qemu-io follows the
	 * backing name) must become zeros in base. */
	must_run("qemu-io -c 'write -z 192k 128k' '%s' >/dev/null", top);
	memset(shadow + 192 * KiB, 0, 128 * KiB);
	img = open_chain(chain, n + 1, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	size_t len;
	return file_bytes(top, &len);
}

static void test_commit_into_raw(void **state)
{
	(void)state;
	const char *base = path_of("cr-base.raw"), *top = path_of("cr-top.qcow2");
	size_t size = 2 * MiB + 512;
	uint8_t *shadow = make_raw(base, size, 91);
	create_ok(top, size, base, DISK_FORMAT_RAW);
	const char *bc[] = { base };
	uint8_t *top_before = commit_setup(top, size, bc, 1, shadow);
	struct nv_err err = { 0 };
	if (disk_image_commit(top, bc, 1, &err) < 0)
		fail_msg("commit: %s", err.msg);
	assert_file_is(base, shadow, size); /* base now reads as the overlay did */
	size_t len;
	uint8_t *top_after = file_bytes(top, &len);
	assert_memory_equal(top_before, top_after, len); /* top left as it was */
	const char *chain[] = { top, base };
	struct disk_image *img = open_chain(chain, 2, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	free(top_before);
	free(top_after);

	/* Refusals: a top larger than its raw base, a top without backing
	 * file, a top in its own base chain, a locked base. */
	const char *big = path_of("cr-big.qcow2");
	create_ok(big, size + CLUSTER, base, DISK_FORMAT_RAW);
	assert_int_equal(disk_image_commit(big, bc, 1, &err), -1);
	assert_non_null(strstr(err.msg, "larger than its backing image"));
	const char *lone = path_of("cr-lone.qcow2");
	create_ok(lone, size, NULL, DISK_FORMAT_RAW);
	assert_int_equal(disk_image_commit(lone, bc, 1, &err), -1);
	assert_non_null(strstr(err.msg, "names no backing file"));
	const char *self[] = { top };
	assert_int_equal(disk_image_commit(top, self, 1, &err), -1);
	assert_non_null(strstr(err.msg, "its own chain"));
	struct disk_image *holder = open1(base, true);
	assert_int_equal(disk_image_commit(top, bc, 1, &err), -1);
	assert_non_null(strstr(err.msg, "in use by another process"));
	disk_image_close(holder);
	assert_file_is(base, shadow, size);
	free(shadow);
}

static void test_commit_into_qcow2(void **state)
{
	(void)state;
	const char *root = path_of("cq-root.raw"), *mid = path_of("cq-mid.qcow2"),
		   *top = path_of("cq-top.qcow2");
	size_t size = 2 * MiB;
	uint8_t *root_bytes = make_raw(root, size, 92);
	uint8_t *shadow = malloc(size);
	memcpy(shadow, root_bytes, size);
	create_ok(mid, size, root, DISK_FORMAT_RAW);
	const char *mc[] = { mid, root };
	struct disk_image *img = open_chain(mc, 2, false);
	uint8_t b[100000];
	pattern(b, sizeof(b), 93);
	assert_int_equal(wr(img, b, sizeof(b), 150 * KiB), 0); /* under the zeros to come */
	memcpy(shadow + 150 * KiB, b, sizeof(b));
	disk_image_close(img);
	create_ok(top, size, mid, DISK_FORMAT_QCOW2);
	uint8_t *top_before = commit_setup(top, size, mc, 2, shadow);
	struct nv_err err = { 0 };
	if (disk_image_commit(top, mc, 2, &err) < 0)
		fail_msg("commit: %s", err.msg);
	img = open_chain(mc, 2, true);
	assert_disk_is(img, shadow, size);
	disk_image_close(img);
	assert_file_is(root, root_bytes, size);
	qemu_check_clean(mid);
	assert_qemu_reads(mid, shadow, size);
	size_t len;
	uint8_t *top_after = file_bytes(top, &len);
	assert_memory_equal(top_before, top_after, len);
	free(top_before);
	free(top_after);
	free(root_bytes);
	free(shadow);
}

/* A fresh 1 MiB image with one cluster written at 0, for patching. */
static const char *victim(void)
{
	const char *p = path_of("victim.qcow2");
	create_ok(p, MiB, NULL, DISK_FORMAT_RAW);
	struct disk_image *img = open1(p, false);
	uint8_t b[512];
	pattern(b, sizeof(b), 100);
	assert_int_equal(wr(img, b, sizeof(b), 0), 0);
	disk_image_close(img);
	return p;
}

static void test_corrupt_headers(void **state)
{
	(void)state;
	const char *p;
	/* Short files with the magic. */
	p = victim();
	assert_int_equal(truncate(p, 50), 0);
	open1_refused(p, true, "header truncated");
	p = victim();
	assert_int_equal(truncate(p, 100), 0);
	open1_refused(p, true, "header is truncated");
	p = victim();
	assert_int_equal(truncate(p, 3 * CLUSTER + 4), 0); /* the L1 table cut off */
	open1_refused(p, true, "L1 table at 0x30000 runs past the end of the file");

	const struct {
		unsigned off, bytes;
		uint64_t value;
		bool ro; /* refused read-only too */
		const char *needle;
		unsigned pre_off, pre_bytes; /* another field set first, if pre_bytes */
		uint64_t pre_value;
	} bad[] = {
		{ 4, 4, 4, true, "qcow2 version 4 is unsupported", 0, 0, 0 },
		{ 4, 4, 1, true, "qcow2 version 1 is unsupported", 0, 0, 0 },
		{ 20, 4, 8, true, "cluster_bits 8 is outside 9..21", 0, 0, 0 },
		{ 20, 4, 22, true, "cluster_bits 22 is outside 9..21", 0, 0, 0 },
		{ 32, 4, 1, true, "encrypted", 0, 0, 0 },
		{ 72, 8, 1, true, "run qemu-img check -r all", 0, 0, 0 },
		{ 72, 8, 2, true, "marked corrupt", 0, 0, 0 },
		{ 72, 8, 4, true, "external data file", 0, 0, 0 },
		{ 72, 8, 8, true, "compression type other than zlib", 0, 0, 0 },
		{ 72, 8, 16, true, "extended L2 entries", 0, 0, 0 },
		{ 72, 8, 1ull << 40, true, "unknown incompatible features 0x10000000000", 0, 0, 0 },
		{ 96, 4, 5, false, "32-bit refcounts", 0, 0, 0 },
		{ 96, 4, 7, true, "refcount order 7", 0, 0, 0 },
		{ 100, 4, 100, true, "header length 100", 0, 0, 0 },
		{ 100, 4, 108, true, "header length 108", 0, 0, 0 },
		{ 100, 4, 2 * CLUSTER, true, "header length 131072", 0, 0, 0 },
		{ 104, 1, 1, true, "compression type 1 is set without its feature bit", 0, 0, 0 },
		{ 60, 4, 1, false, "internal snapshots", 0, 0, 0 },
		{ 36, 4, 0x7fffffff, true, "L1 table of 2147483647 entries is over the 32 MiB cap", 0,
		  0, 0 },
		{ 36, 4, 0, true, "too small for the virtual size", 0, 0, 0 },
		{ 24, 8, 1ull << 62, true, "too large for 65536-byte clusters", 0, 0, 0 },
		{ 40, 8, 1ull << 40, true, "L1 table at 0x10000000000 runs past the end", 0, 0, 0 },
		{ 40, 8, 0x30200, true, "L1 table offset 0x30200 is not cluster-aligned", 0, 0, 0 },
		{ 48, 8, 1ull << 40, true, "refcount table at 0x10000000000 runs past the end", 0, 0,
		  0 },
		{ 48, 8, 0x10100, true, "refcount table offset 0x10100 is not cluster-aligned", 0, 0,
		  0 },
		{ 56, 4, 0xffffffff, true, "refcount table of 4294967295 clusters is over", 0, 0, 0 },
		{ 56, 4, 6, true, "refcount table at 0x10000 runs past the end", 0, 0, 0 },
		{ 56, 4, 0, false, "has no refcount table", 0, 0, 0 },
		{ 16, 4, 1024, true, "backing file name of 1024 bytes is over 1023", 8, 8, 200 },
		{ 8, 8, 65534, true, "backing file name at 0xfffe", 16, 4, 5 },
		{ 8, 8, 50, true, "backing file name at 0x32", 16, 4, 5 },
		{ 116, 4, 70000, true, "header extension 0x12345678 of 70000 bytes runs past", 112, 4,
		  0x12345678 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = victim();
		if (bad[i].pre_bytes)
			patch_be(p, bad[i].pre_off, bad[i].pre_value, bad[i].pre_bytes);
		patch_be(p, bad[i].off, bad[i].value, bad[i].bytes);
		open1_refused(p, false, bad[i].needle);
		if (bad[i].ro)
			open1_refused(p, true, bad[i].needle);
		else
			disk_image_close(open1(p, true));
	}

	/* Header extensions: an external data file name is refused, an
	 * unknown one skipped, a backing format name capped. */
	p = victim();
	patch_be(p, 112, 0x44415441, 4);
	patch_be(p, 116, 4, 4);
	open1_refused(p, true, "names an external data file");
	p = victim();
	patch_be(p, 112, 0x0badcafe, 4);
	patch_be(p, 116, 3, 4);
	patch_be(p, 128, 0, 8);
	disk_image_close(open1(p, false));
	p = victim();
	patch_be(p, 112, 0xe2792aca, 4);
	patch_be(p, 116, 40, 4);
	open1_refused(p, true, "backing format name of 40 bytes is too long");
	/* A v2 header over it (72 bytes; its v3 fields are ignored). */
	p = victim();
	patch_be(p, 4, 2, 4);
	patch_be(p, 72, 0xff, 8);
	disk_image_close(open1(p, false));
}

/* Damaged tables past the header: reads and writes fail (-1), the VMM
 * goes on; nothing crashes. */
static void test_corrupt_tables(void **state)
{
	(void)state;
	uint64_t l1 = 3 * CLUSTER; /* where qcow2_create puts it */
	uint8_t b[512], z[512] = { 0 };
	const struct {
		const char *what;
		uint64_t l1e; /* 0: leave it */
		uint64_t l2e; /* 0: leave it */
	} cases[] = {
		{ "L2 table past the end of the file", (1ull << 40) | (1ull << 63), 0 },
		{ "L2 table misaligned", 0x40200 | (1ull << 63), 0 },
		{ "data cluster past the end of the file", 0, (1ull << 40) | (1ull << 63) },
		{ "data cluster misaligned", 0, 0x50200 | (1ull << 63) },
		{ "compressed data past the end of the file", 0, (1ull << 62) | (1ull << 40) },
		{ "compressed garbage", 0, (1ull << 62) | 100 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = victim();
		uint64_t l2 = get_be(p, (off_t)l1, 8) & 0x00fffffffffffe00ull;
		assert_true(l2 != 0);
		if (cases[i].l1e)
			patch_be(p, (off_t)l1, cases[i].l1e, 8);
		if (cases[i].l2e)
			patch_be(p, (off_t)l2, cases[i].l2e, 8);
		struct disk_image *img = open1(p, false);
		if (rd(img, b, sizeof(b), 0) != -1)
			fail_msg("%s: read did not fail", cases[i].what);
		if (wr(img, b, 100, 10) != -1)
			fail_msg("%s: write did not fail", cases[i].what);
		/* The rest of the L2 table still works. */
		if (cases[i].l2e) {
			memset(b, 1, sizeof(b));
			assert_int_equal(rd(img, b, sizeof(b), 600 * KiB), 0);
			assert_memory_equal(b, z, sizeof(b));
		}
		disk_image_close(img);
	}
}

/* nestvm's records: the chain comes from them, and bad ones are named. */
static void test_chain_records(void **state)
{
	(void)state;
	struct nv_err err = { 0 };
	struct disk_chain *c = malloc(sizeof(*c));
	assert_non_null(c);
	const char *a = path_of("rec-a.qcow2"), *b = path_of("rec-b.qcow2"), *base = path_of("rec-base.img");
	assert_int_equal(disk_chain_resolve(a, c, &err), 0); /* no record: a chain of one */
	assert_int_equal(c->n, 1);
	assert_int_equal(disk_chain_record(a, b, &err), 0);
	assert_int_equal(disk_chain_record(b, base, &err), 0);
	assert_int_equal(disk_chain_resolve(a, c, &err), 0);
	assert_int_equal(c->n, 3);
	assert_string_equal(c->paths[1], b);
	assert_string_equal(c->paths[2], base);
	assert_int_equal(disk_chain_record(a, "relative.img", &err), -1);
	assert_int_equal(disk_chain_record(base, a, &err), 0); /* a loop */
	assert_int_equal(disk_chain_resolve(a, c, &err), -1);
	assert_non_null(strstr(err.msg, "loop"));
	char rec[512];
	snprintf(rec, sizeof(rec), "%s.backing", b);
	write_file(rec, "x\n", 2);
	assert_int_equal(disk_chain_resolve(a, c, &err), -1);
	assert_non_null(strstr(err.msg, "not one absolute path"));
	assert_non_null(strstr(err.msg, rec));
	disk_chain_forget(a);
	disk_chain_forget(b);
	disk_chain_forget(base);
	assert_int_equal(disk_chain_resolve(a, c, &err), 0);
	assert_int_equal(c->n, 1);
	free(c);
}

/* A branch over raw, then its backing name rewritten (after a merge): the
 * data stays, qemu-img follows the new name, and check passes. */
static void test_branch_and_set_backing(void **state)
{
	(void)state;
	struct nv_err err = { 0 };
	const char *base = path_of("sb-base.img"), *other = path_of("sb-other-base-with-a-longer-name.img");
	const char *top = path_of("sb-top.qcow2");
	uint8_t *want = make_raw(base, 1 * MiB, 7);
	free(make_raw(other, 1 * MiB, 7)); /* the same bytes: a merged base */
	unlink(top);
	assert_int_equal(disk_chain_branch(base, 1 * MiB, top, &err), 0);
	assert_int_equal(disk_chain_branch(base, 1 * MiB, top, &err), -1); /* never over a file */
	uint8_t buf[4096];
	memset(buf, 0xab, sizeof(buf));
	struct disk_image *img = open_chain((const char *[]){ top, base }, 2, false);
	assert_int_equal(wr(img, buf, sizeof(buf), 4096), 0);
	disk_image_close(img);
	memcpy(want + 4096, buf, sizeof(buf));
	assert_int_equal(qcow2_set_backing(top, other, DISK_FORMAT_RAW, &err), 0);
	char *out = output_of("qemu-img info '%s'", top);
	if (!strstr(out, other))
		fail_msg("qemu-img info does not name the new backing file:\n%s", out);
	free(out);
	qemu_check_clean(top);
	assert_qemu_reads(top, want, 1 * MiB);
	assert_int_equal(qcow2_set_backing(base, other, DISK_FORMAT_RAW, &err), -1); /* raw */
	free(want);
}

/* A guest cannot make its raw disk (or the raw base under its overlay)
 * look like qcow2: the magic at offset 0 is refused, elsewhere it is data. */
static void test_raw_refuses_qcow2_magic(void **state)
{
	(void)state;
	const char *base = path_of("magic-base.img"), *top = path_of("magic-top.qcow2");
	free(make_raw(base, 1 * MiB, 3));
	uint8_t m[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
	struct disk_image *img = open1(base, false);
	assert_int_equal(wr(img, m, sizeof(m), 0), -1);
	assert_int_equal(wr(img, m + 1, 3, 1), -1); /* the magic's tail where it would land */
	assert_int_equal(wr(img, m, sizeof(m), 512), 0);
	uint8_t other[8] = { 'Q', 'F', 'I', 0 };
	assert_int_equal(wr(img, other, sizeof(other), 0), 0);
	disk_image_close(img);
	enum disk_format f;
	struct nv_err err = { 0 };
	assert_int_equal(disk_image_probe(base, &f, &err), 0);
	assert_int_equal(f, DISK_FORMAT_RAW);
	create_ok(top, 1 * MiB, base, DISK_FORMAT_RAW);
	img = open_chain((const char *[]){ top, base }, 2, false);
	assert_int_equal(wr(img, m, sizeof(m), 0), -1);
	disk_image_close(img);
	/* A qcow2 disk all the way down may hold anything. */
	const char *q = path_of("magic-q.qcow2");
	create_ok(q, 1 * MiB, NULL, DISK_FORMAT_RAW);
	img = open1(q, false);
	assert_int_equal(wr(img, m, sizeof(m), 0), 0);
	disk_image_close(img);
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
		cmocka_unit_test(test_qemu_img_present),
		cmocka_unit_test(test_raw_round_trip),
		cmocka_unit_test(test_locks),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_qcow2_create_layout),
		cmocka_unit_test(test_qcow2_write_read),
		cmocka_unit_test(test_qcow2_unflagged),
		cmocka_unit_test(test_qcow2_small_clusters),
		cmocka_unit_test(test_qcow2_compressed),
		cmocka_unit_test(test_chain_over_raw),
		cmocka_unit_test(test_chain_over_qcow2),
		cmocka_unit_test(test_chain_mismatch),
		cmocka_unit_test(test_commit_into_raw),
		cmocka_unit_test(test_commit_into_qcow2),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_corrupt_tables),
		cmocka_unit_test(test_chain_records),
		cmocka_unit_test(test_branch_and_set_backing),
		cmocka_unit_test(test_raw_refuses_qcow2_magic),
		cmocka_unit_test(test_failed_flush_stays_failed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
