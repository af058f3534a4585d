/* qcow2_set_backing: the backing file name in a qcow2 header, rewritten in
 * place. The name and the header extensions share the header's cluster
 * after the fixed fields; they are written again there, the backing
 * format extension first, so nothing else in the image moves. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/disk_image.h"

#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define NAME_MAX_BYTES 1023

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int qcow2_set_backing(const char *path, const char *backing_name, enum disk_format backing_format,
		      struct nv_err *err)
{
	size_t name_len = strlen(backing_name);
	if (name_len == 0 || name_len > NAME_MAX_BYTES)
		return nv_err_input(err, "backing file name for %s: 1 to %d bytes", path, NAME_MAX_BYTES);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "cannot open disk image %s: %s", path, strerror(errno));
	uint8_t *c = NULL, *tail = NULL;
	int rc = -1;
	uint8_t h[112];
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4)) {
		nv_err_input(err, "disk image %s is not a qcow2 image", path);
		goto out;
	}
	uint32_t version = (uint32_t)be(h + 4, 4), cluster_bits = (uint32_t)be(h + 20, 4);
	uint64_t hlen = version >= 3 ? be(h + 100, 4) : 72;
	uint64_t l1 = be(h + 40, 8), rt = be(h + 48, 8), snaps = be(h + 64, 8);
	uint64_t cs = 1ull << (cluster_bits < 9 || cluster_bits > 21 ? 9 : cluster_bits);
	/* Only when the header has its cluster to itself. */
	if (version < 2 || version > 3 || cluster_bits < 9 || cluster_bits > 21 || hlen < 72 || hlen > cs - 8 ||
	    l1 < cs || rt < cs || (be(h + 60, 4) && snaps < cs)) {
		nv_err_input(err, "disk image %s: its qcow2 header cannot be rewritten in place", path);
		goto out;
	}
	c = calloc(1, cs);
	tail = calloc(1, cs);
	if (!c || !tail) {
		nv_err_host(err, "out of memory");
		goto out;
	}
	if (pread(fd, c, cs, 0) != (ssize_t)cs) {
		nv_err_input(err, "disk image %s is truncated", path);
		goto out;
	}
	/* The new tail: backing format, the other extensions, end, name. */
	const char *fmt = backing_format == DISK_FORMAT_QCOW2 ? "qcow2" : "raw";
	size_t t = 0, flen = strlen(fmt);
	put_be(tail, EXT_BACKING_FORMAT, 4);
	put_be(tail + 4, flen, 4);
	memcpy(tail + 8, fmt, flen);
	t = 8 + pad8(flen);
	for (size_t off = hlen;;) {
		if (off + 8 > cs) {
			nv_err_input(err, "disk image %s: its header extensions run past the header's cluster", path);
			goto out;
		}
		uint32_t type = (uint32_t)be(c + off, 4), len = (uint32_t)be(c + off + 4, 4);
		if (type == EXT_END)
			break;
		if (len > cs || off + 8 + pad8(len) > cs) {
			nv_err_input(err, "disk image %s: a header extension runs past the header's cluster", path);
			goto out;
		}
		if (type != EXT_BACKING_FORMAT) {
			if (hlen + t + 8 + pad8(len) + 8 + name_len > cs)
				goto too_long;
			memcpy(tail + t, c + off, 8 + pad8(len));
			t += 8 + pad8(len);
		}
		off += 8 + pad8(len);
	}
	if (hlen + t + 8 + name_len > cs)
		goto too_long;
	t += 8; /* the end extension: zeros */
	memcpy(tail + t, backing_name, name_len);
	size_t name_off = hlen + t;
	t += name_len;
	/* Everything after the fixed header in the cluster is ours to write:
	 * the new tail, then zeros over what the old one left. */
	memset(c + hlen, 0, cs - hlen);
	memcpy(c + hlen, tail, t);
	put_be(c + 8, name_off, 8);
	put_be(c + 16, name_len, 4);
	if (pwrite(fd, c, cs, 0) != (ssize_t)cs || fdatasync(fd) < 0) {
		nv_err_host(err, "cannot write the header of %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
too_long:
	nv_err_input(err, "disk image %s: the backing file name %s does not fit in its header", path,
		     backing_name);
out:
	free(c);
	free(tail);
	close(fd);
	return rc;
}
