/* libFuzzer: a hostile qcow2 image. A guest that once had the file as its
 * raw disk could have written any bytes into it, so whatever the header and
 * tables say may not take nestvm down. The input: one flags byte, six 4-byte
 * read/write records, then the image file's bytes. Flags bit 0 lays a sane
 * header over the file (magic, version 3, or 2 with bit 1, small clusters,
 * tables placed inside the file) so that the fuzzer reaches the tables and
 * the copy-on-write paths instead of the easy refusals; bit 2 also commits
 * the image into a raw base. The image is opened read-only, read-write, and
 * over a raw backing image; every refusal must be one line naming the file.
 * Any crash, sanitizer report, leak or hang is a bug. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/disk_image.h"

#define OPS 6
#define MAX_IO 9472
#define BASE_SIZE (64 * 1024)

static volatile unsigned sink;

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Fixes the fields that refuse an image outright; keeps the fuzzer's
 * choices (offsets, size, table contents) within reach of the file. */
static void sane_header(uint8_t *f, size_t len, bool v2)
{
	if (len < 112)
		return;
	put_be(f, 0x514649fb, 4);
	put_be(f + 4, v2 ? 2 : 3, 4);
	unsigned cb = 9 + f[23] % 4;
	put_be(f + 20, cb, 4);
	uint64_t clusters = len >> cb;
	if (clusters < 2)
		return;
	uint64_t size = get_be(f + 24, 8) % (16u << 20);
	put_be(f + 24, size, 8);
	put_be(f + 32, 0, 4); /* crypt */
	uint64_t per_l1 = 1ull << (2 * cb - 3);
	uint64_t need = (size + per_l1 - 1) / per_l1;
	put_be(f + 36, need + (f[39] & 1), 4);
	put_be(f + 40, (1 + get_be(f + 40, 8) % (clusters - 1)) << cb, 8);
	put_be(f + 48, (1 + get_be(f + 48, 8) % (clusters - 1)) << cb, 8);
	put_be(f + 56, 1, 4);
	if (f[60] & 0x80)
		put_be(f + 60, 0, 4); /* mostly no snapshots */
	if (!(f[8] & 0x80)) { /* mostly no backing file */
		put_be(f + 8, 0, 8);
		put_be(f + 16, 0, 4);
	}
	if (!v2) {
		put_be(f + 72, 0, 8); /* incompatible features */
		put_be(f + 96, 4, 4);
		put_be(f + 100, 104, 4);
	}
}

static int memfd_with(const uint8_t *data, size_t len, char *path, size_t path_len)
{
	int fd = memfd_create("fuzz_qcow2", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	snprintf(path, path_len, "/proc/self/fd/%d", fd);
	return fd;
}

static void check_refusal(const struct nv_err *err, const char *path)
{
	if (err->kind == NV_ERR_NONE || !strstr(err->msg, path) || strchr(err->msg, '\n')) {
		fprintf(stderr, "bad refusal for %s: \"%s\"\n", path, err->msg);
		abort();
	}
}

/* The records' reads and writes; a write only when writable. */
static void exercise(struct disk_image *img, const uint8_t *ops, bool writable)
{
	static uint8_t buf[MAX_IO];
	uint64_t size = disk_image_size(img);
	unsigned sum = 0;
	for (int i = 0; i < OPS; i++) {
		const uint8_t *r = ops + 4 * i;
		uint64_t off = size ? (get_be(r + 1, 2) * size) >> 16 : 0;
		size_t len = (size_t)(r[3] + 1) * 37;
		if (len > size - off)
			len = (size_t)(size - off);
		struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };
		if (writable && (r[0] & 1)) {
			memset(buf, r[0], len);
			(void)disk_image_writev(img, v, 2, off);
		} else if (disk_image_readv(img, v, 2, off) == 0) {
			for (size_t j = 0; j < len; j += 61)
				sum += buf[j];
		}
	}
	/* Out of range: always refused. */
	struct iovec one = { buf, 1 };
	if (disk_image_readv(img, &one, 1, size) != -1)
		abort();
	(void)disk_image_flush(img);
	sink = sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 + 4 * OPS)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *ops = data + 1;
	size_t len = size - 1 - 4 * OPS;
	uint8_t *file = malloc(len ? len : 1);
	if (!file)
		abort();
	memcpy(file, data + 1 + 4 * OPS, len);
	if (flags & 1)
		sane_header(file, len, flags & 2);

	static uint8_t base_bytes[BASE_SIZE];
	for (size_t i = 0; i < BASE_SIZE; i++)
		base_bytes[i] = (uint8_t)(i * 7);
	char path[64], base[64];
	struct nv_err err = { 0 };

	/* Read-only, then read-write (each on a fresh copy of the file). */
	for (int rw = 0; rw < 2; rw++) {
		int fd = memfd_with(file, len, path, sizeof(path));
		const char *chain[] = { path };
		struct disk_image *img = disk_image_open(chain, 1, !rw, &err);
		if (img) {
			exercise(img, ops, rw);
			disk_image_close(img);
		} else {
			check_refusal(&err, path);
		}
		close(fd);
	}

	/* Over a raw backing image. */
	int fd = memfd_with(file, len, path, sizeof(path));
	int bfd = memfd_with(base_bytes, BASE_SIZE, base, sizeof(base));
	const char *chain[] = { path, base };
	struct disk_image *img = disk_image_open(chain, 2, false, &err);
	if (img) {
		exercise(img, ops, true);
		disk_image_close(img);
	} else {
		check_refusal(&err, path);
	}
	if (flags & 4) {
		const char *bc[] = { base };
		if (disk_image_commit(path, bc, 1, &err) < 0)
			check_refusal(&err, path);
	}
	close(bfd);
	close(fd);
	free(file);
	return 0;
}
