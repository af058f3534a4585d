/* qcow2_set_backing: the backing file name in a qcow2 header, rewritten in
 * place. The name and the header extensions share the header's cluster
 * after the fixed fields; they are written again there, the backing
 * format extension first, so nothing else in the image moves. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/disk_image.h"
#include "disk/qcow2_private.h"

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int qcow2_set_backing(const char *path, const char *backing_name, enum disk_format backing_format,
		      struct nv_err *err)
{
	size_t name_len = strlen(backing_name);
	if (name_len == 0 || name_len > QCOW2_MAX_BACKING_NAME)
		return nv_err_input(err, "backing file name for %s: 1 to %d bytes", path, QCOW2_MAX_BACKING_NAME);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "cannot open disk image %s: %s", path, strerror(errno));
	uint8_t *c = NULL, *tail = NULL;
	int rc = -1;
	uint8_t h[112];
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || be_get(h + QH_MAGIC, 4) != QCOW2_MAGIC) {
		nv_err_input(err, "disk image %s is not a qcow2 image", path);
		goto out;
	}
	uint32_t version = (uint32_t)be_get(h + QH_VERSION, 4);
	uint32_t cluster_bits = (uint32_t)be_get(h + QH_CLUSTER_BITS, 4);
	bool bits_ok = cluster_bits >= QCOW2_MIN_CLUSTER_BITS && cluster_bits <= QCOW2_MAX_CLUSTER_BITS;
	uint64_t cs = 1ull << (bits_ok ? cluster_bits : QCOW2_MIN_CLUSTER_BITS);
	uint64_t hlen = version >= 3 ? be_get(h + QH_HEADER_LENGTH, 4) : QH_V2_LENGTH;
	bool snapshots_below = be_get(h + QH_NB_SNAPSHOTS, 4) && be_get(h + QH_SNAPSHOTS_OFFSET, 8) < cs;
	/* Only when the header has its cluster to itself. */
	if (version < 2 || version > 3 || !bits_ok || hlen < QH_V2_LENGTH || hlen > cs - 8 ||
	    be_get(h + QH_L1_OFFSET, 8) < cs || be_get(h + QH_RT_OFFSET, 8) < cs || snapshots_below) {
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
	be_put(tail, QEXT_BACKING_FORMAT, 4);
	be_put(tail + 4, flen, 4);
	memcpy(tail + 8, fmt, flen);
	t = 8 + pad8(flen);
	for (size_t off = hlen;;) {
		if (off + 8 > cs) {
			nv_err_input(err, "disk image %s: its header extensions run past the header's cluster", path);
			goto out;
		}
		uint32_t type = (uint32_t)be_get(c + off, 4), len = (uint32_t)be_get(c + off + 4, 4);
		if (type == QEXT_END)
			break;
		if (len > cs || off + 8 + pad8(len) > cs) {
			nv_err_input(err, "disk image %s: a header extension runs past the header's cluster", path);
			goto out;
		}
		if (type != QEXT_BACKING_FORMAT) {
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
	be_put(c + QH_BACKING_OFFSET, name_off, 8);
	be_put(c + QH_BACKING_SIZE, name_len, 4);
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
