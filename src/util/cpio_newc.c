/* cpio "newc": a 110-byte header of ASCII hex fields, the name with its
 * NUL, the data, each padded to 4 bytes. Written here rather than through
 * libarchive: the format is fixed and a page long, the kernel is its only
 * reader, and a static VMM would carry libarchive's codecs for nothing. */
#include "util/cpio_newc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HEADER_LEN 110

void cpio_newc_init(struct cpio_newc *a, size_t max_len)
{
	*a = (struct cpio_newc){ .next_ino = 1, .max_len = max_len };
}

void cpio_newc_free(struct cpio_newc *a)
{
	free(a->data);
	*a = (struct cpio_newc){ 0 };
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int grow(struct cpio_newc *a, size_t more, struct nv_err *err)
{
	if (more > a->max_len - a->len)
		return nv_err_input(err, "the guest's files do not fit in %zu KiB", a->max_len >> 10);
	if (a->len + more <= a->cap)
		return 0;
	size_t cap = a->cap ? a->cap : 4096;
	while (cap < a->len + more)
		cap *= 2;
	uint8_t *d = realloc(a->data, cap);
	if (!d)
		return nv_err_host(err, "out of memory for the guest's files");
	a->data = d;
	a->cap = cap;
	return 0;
}

static int add(struct cpio_newc *a, const char *name, unsigned mode, const void *data, size_t len,
	       struct nv_err *err)
{
	size_t name_len = strlen(name) + 1;
	if (name_len > 4096 || name[0] == '/' || len > UINT32_MAX)
		return nv_err_input(err, "'%.64s': not a usable name or size for the guest's files", name);
	size_t total = pad4(HEADER_LEN + name_len) + pad4(len);
	if (grow(a, total, err) < 0)
		return -1;
	uint8_t *p = a->data + a->len;
	memset(p, 0, total);
	char hdr[HEADER_LEN + 1];
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	 * devminor, rdevmajor, rdevminor, namesize, check */
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 a->next_ino++, mode, 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u, (unsigned)len, 0u, 0u, 0u,
		 0u, (unsigned)name_len, 0u);
	memcpy(p, hdr, HEADER_LEN);
	memcpy(p + HEADER_LEN, name, name_len);
	if (len)
		memcpy(p + pad4(HEADER_LEN + name_len), data, len);
	a->len += total;
	return 0;
}

int cpio_newc_add_dir(struct cpio_newc *a, const char *name, unsigned mode, struct nv_err *err)
{
	return add(a, name, S_IFDIR | (mode & 07777), NULL, 0, err);
}

int cpio_newc_add_file(struct cpio_newc *a, const char *name, unsigned mode, const void *data, size_t len,
		       struct nv_err *err)
{
	return add(a, name, S_IFREG | (mode & 07777), data, len, err);
}

int cpio_newc_finish(struct cpio_newc *a, struct nv_err *err)
{
	return add(a, "TRAILER!!!", 0, NULL, 0, err);
}
