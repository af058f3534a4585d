/* New qcow2 images, laid out as qemu-img would: the header cluster (header,
 * backing-format extension, end of extensions, backing file name), one
 * refcount table cluster, one refcount block, then the L1 table. Every
 * cluster so far is counted once; everything else is unallocated. */
#include "disk/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/image_backend.h"
#include "disk/qcow2_private.h"

#define CB QCOW2_CREATE_CLUSTER_BITS
#define CS (1ull << CB)
#define L2_BITS (CB - 3)
#define RT_CLUSTER 1ull
#define RB_CLUSTER 2ull
#define L1_CLUSTER 3ull

/* Header, extensions and backing file name into the zeroed cluster hdr.
 * The bytes used. */
static size_t build_header(uint8_t *hdr, uint64_t size, uint32_t l1_size, const char *backing,
			   const char *format)
{
	be_put(hdr + QH_MAGIC, QCOW2_MAGIC, 4);
	be_put(hdr + QH_VERSION, 3, 4);
	be_put(hdr + QH_CLUSTER_BITS, CB, 4);
	be_put(hdr + QH_SIZE, size, 8);
	be_put(hdr + QH_L1_SIZE, l1_size, 4);
	be_put(hdr + QH_L1_OFFSET, L1_CLUSTER * CS, 8);
	be_put(hdr + QH_RT_OFFSET, RT_CLUSTER * CS, 8);
	be_put(hdr + QH_RT_CLUSTERS, 1, 4);
	be_put(hdr + QH_REFCOUNT_ORDER, QCOW2_REFCOUNT_ORDER, 4);
	be_put(hdr + QH_HEADER_LENGTH, QH_V3_LENGTH_COMPRESSION, 4);
	/* compression_type 0 (zlib) and its padding: already zero */
	size_t pos = QH_V3_LENGTH_COMPRESSION;
	if (backing) {
		size_t flen = strlen(format);
		be_put(hdr + pos, QEXT_BACKING_FORMAT, 4);
		be_put(hdr + pos + 4, flen, 4);
		memcpy(hdr + pos + 8, format, flen);
		pos += 8 + ((flen + 7) & ~(size_t)7);
	}
	pos += 8; /* QEXT_END, length 0 */
	if (backing) {
		size_t blen = strlen(backing);
		be_put(hdr + QH_BACKING_OFFSET, pos, 8);
		be_put(hdr + QH_BACKING_SIZE, blen, 4);
		memcpy(hdr + pos, backing, blen);
		pos += blen;
	}
	return pos;
}

int qcow2_create(const char *path, uint64_t size, const char *backing_name,
		 enum disk_format backing_format, struct nv_err *err)
{
	const char *format = NULL;
	if (backing_name) {
		if (backing_format != DISK_FORMAT_RAW && backing_format != DISK_FORMAT_QCOW2)
			return nv_err_input(err, "cannot create %s: unknown backing format", path);
		format = backing_format == DISK_FORMAT_RAW ? "raw" : "qcow2";
		size_t blen = strlen(backing_name);
		if (blen == 0 || blen > QCOW2_MAX_BACKING_NAME)
			return nv_err_input(err,
					    "cannot create %s: the backing file name must be 1 to %u bytes",
					    path, QCOW2_MAX_BACKING_NAME);
	}
	uint64_t per_l1 = 1ull << (CB + L2_BITS); /* bytes one L1 entry maps */
	uint64_t l1_size = size / per_l1 + (size % per_l1 != 0);
	if (l1_size == 0)
		l1_size = 1;
	if (l1_size > QCOW2_MAX_L1_BYTES / 8)
		return nv_err_input(err, "cannot create %s: size %" PRIu64 " is too large", path,
				    size);
	uint64_t l1_clusters = (l1_size * 8 + CS - 1) / CS;
	uint64_t clusters = L1_CLUSTER + l1_clusters; /* all in the one block: 32768 */

	uint8_t *buf = calloc(3, CS); /* header, refcount table, refcount block */
	if (!buf)
		return nv_err_host(err, "out of memory creating %s", path);
	build_header(buf, size, (uint32_t)l1_size, backing_name, format);
	be_put(buf + RT_CLUSTER * CS, RB_CLUSTER * CS, 8);
	for (uint64_t c = 0; c < clusters; c++)
		be_put(buf + RB_CLUSTER * CS + c * 2, 1, 2);

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		free(buf);
		if (e == EEXIST)
			return nv_err_input(err, "cannot create %s: it already exists", path);
		return nv_err_input(err, "cannot create %s: %s", path, strerror(e));
	}
	/* The L1 table is zeros: the file's size covers it, holes do. */
	int rc = image_pwrite_all(fd, buf, 3 * CS, 0);
	if (rc == 0)
		rc = ftruncate(fd, (off_t)(clusters * CS));
	if (rc == 0)
		rc = fsync(fd);
	int e = errno;
	free(buf);
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(path);
		return nv_err_host(err, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}
