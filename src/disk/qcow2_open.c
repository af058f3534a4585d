/* The qcow2 header: every field checked and every size capped before any
 * table is read, since the file is untrusted (a guest could have written
 * it while it was its raw disk). */
#include "disk/qcow2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk/image_backend.h"
#include "disk/qcow2_private.h"

/* One line: "disk image PATH: REASON" (NV_ERR_INPUT). */
__attribute__((format(printf, 3, 4))) static int refuse(const struct disk_image *img,
							 struct nv_err *err, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return nv_err_input(err, "disk image %s: %s", img->path, why);
}

/* Whether [off, off + len) lies inside a file of file_size bytes. */
static bool inside(uint64_t off, uint64_t len, uint64_t file_size)
{
	return off <= file_size && len <= file_size - off;
}

static int check_features(const struct disk_image *img, uint64_t incompat, struct nv_err *err)
{
	if (incompat & QCOW2_INCOMPAT_DIRTY)
		return refuse(img, err, "qcow2 image was not closed cleanly (dirty bit set); "
					"run qemu-img check -r all on it");
	if (incompat & QCOW2_INCOMPAT_CORRUPT)
		return refuse(img, err, "qcow2 image is marked corrupt; run qemu-img check -r all on it");
	if (incompat & QCOW2_INCOMPAT_DATA_FILE)
		return refuse(img, err, "qcow2 image keeps its data in an external data file (unsupported)");
	if (incompat & QCOW2_INCOMPAT_COMPRESSION)
		return refuse(img, err, "qcow2 image uses a compression type other than zlib (unsupported)");
	if (incompat & QCOW2_INCOMPAT_EXTL2)
		return refuse(img, err, "qcow2 image uses extended L2 entries (unsupported)");
	if (incompat)
		return refuse(img, err, "qcow2 image has unknown incompatible features 0x%" PRIx64,
			      incompat);
	return 0;
}

/* The header extensions in hdr[start, end): the backing format is kept,
 * an external data file refused, the rest (feature names, bitmaps) need
 * nothing from a reader and a writer that clears the autoclear bits. */
static int read_extensions(struct disk_image *img, struct qcow2 *q, const uint8_t *hdr,
			   uint64_t start, uint64_t end, struct nv_err *err)
{
	uint64_t pos = start;
	while (pos + 8 <= end) {
		uint32_t type = (uint32_t)be_get(hdr + pos, 4);
		uint32_t len = (uint32_t)be_get(hdr + pos + 4, 4);
		if (type == QEXT_END)
			return 0;
		if (len > end - pos - 8)
			return refuse(img, err,
				      "qcow2 header extension 0x%08" PRIx32
				      " of %" PRIu32 " bytes runs past the header's cluster",
				      type, len);
		const uint8_t *data = hdr + pos + 8;
		if (type == QEXT_DATA_FILE)
			return refuse(img, err, "qcow2 image names an external data file (unsupported)");
		if (type == QEXT_BACKING_FORMAT) {
			if (len >= sizeof(q->backing_format))
				return refuse(img, err, "qcow2 backing format name of %" PRIu32
						       " bytes is too long",
					      len);
			/* It goes into messages: only a plain name. */
			for (uint32_t i = 0; i < len; i++)
				if (data[i] <= ' ' || data[i] > '~')
					return refuse(img, err,
						      "qcow2 backing format name holds byte 0x%02x",
						      data[i]);
			memcpy(q->backing_format, data, len);
			q->backing_format[len] = '\0';
		}
		pos += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	return 0;
}

/* The L1 table: in the file, cluster-aligned, big enough for the virtual
 * size, under the cap. */
static int check_l1(struct disk_image *img, struct qcow2 *q, uint64_t size, struct nv_err *err)
{
	unsigned shift = q->cluster_bits + q->l2_bits; /* bytes one L1 entry maps */
	uint64_t need = (size >> shift) + ((size & ((1ull << shift) - 1)) != 0);
	if (need > QCOW2_MAX_L1_BYTES / 8)
		return refuse(img, err,
			      "qcow2 virtual size %" PRIu64 " is too large for %" PRIu64 "-byte clusters",
			      size, q->cluster_size);
	if (q->l1_size < need)
		return refuse(img, err,
			      "qcow2 L1 table of %" PRIu32 " entries is too small for the virtual size %" PRIu64,
			      q->l1_size, size);
	if (q->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return refuse(img, err, "qcow2 L1 table of %" PRIu32 " entries is over the %u MiB cap",
			      q->l1_size, QCOW2_MAX_L1_BYTES >> 20);
	if (q->l1_offset & (q->cluster_size - 1))
		return refuse(img, err, "qcow2 L1 table offset 0x%" PRIx64 " is not cluster-aligned",
			      q->l1_offset);
	if (q->l1_size && !inside(q->l1_offset, (uint64_t)q->l1_size * 8, img->file_size))
		return refuse(img, err, "qcow2 L1 table at 0x%" PRIx64 " runs past the end of the file",
			      q->l1_offset);
	if (q->l1_size && q->l1_offset == 0)
		return refuse(img, err, "qcow2 L1 table overlaps the header");
	return 0;
}

static int check_refcount_table(struct disk_image *img, struct qcow2 *q, uint64_t rt_clusters,
				struct nv_err *err)
{
	if (q->rt_offset & (q->cluster_size - 1))
		return refuse(img, err,
			      "qcow2 refcount table offset 0x%" PRIx64 " is not cluster-aligned",
			      q->rt_offset);
	if (rt_clusters > QCOW2_MAX_RT_BYTES >> q->cluster_bits)
		return refuse(img, err,
			      "qcow2 refcount table of %" PRIu64 " clusters is over the %u MiB cap",
			      rt_clusters, QCOW2_MAX_RT_BYTES >> 20);
	uint64_t bytes = rt_clusters << q->cluster_bits;
	if (!inside(q->rt_offset, bytes, img->file_size))
		return refuse(img, err,
			      "qcow2 refcount table at 0x%" PRIx64 " runs past the end of the file",
			      q->rt_offset);
	if (!img->readonly && (rt_clusters == 0 || q->rt_offset == 0))
		return refuse(img, err, "qcow2 image has no refcount table");
	q->rt_entries = bytes / 8;
	return 0;
}

static int check_backing(struct disk_image *img, struct qcow2 *q, uint64_t off, uint32_t len,
			 uint64_t header_length, struct nv_err *err)
{
	q->has_backing = off != 0 && len != 0;
	if (!q->has_backing)
		return 0;
	if (len > QCOW2_MAX_BACKING_NAME)
		return refuse(img, err, "qcow2 backing file name of %" PRIu32 " bytes is over %u",
			      len, QCOW2_MAX_BACKING_NAME);
	if (off < header_length || !inside(off, len, q->cluster_size) ||
	    !inside(off, len, img->file_size))
		return refuse(img, err,
			      "qcow2 backing file name at 0x%" PRIx64 " lies outside the header's cluster",
			      off);
	return 0;
}

static int load_tables(struct disk_image *img, struct qcow2 *q, struct nv_err *err)
{
	q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
	if (!q->l1)
		return nv_err_host(err, "out of memory for the L1 table of %s", img->path);
	size_t bytes = (size_t)q->l1_size * 8;
	if (bytes) {
		ssize_t r = image_pread_upto(img->fd, q->l1, bytes, q->l1_offset);
		if (r < 0)
			return nv_err_host(err, "cannot read disk image %s: %s", img->path,
					   strerror(errno));
		if ((size_t)r != bytes)
			return refuse(img, err, "qcow2 L1 table is truncated");
		for (uint32_t i = 0; i < q->l1_size; i++)
			q->l1[i] = be_get((const uint8_t *)&q->l1[i], 8);
	}
	if (img->readonly)
		return 0;
	q->rt = calloc(q->rt_entries, 8);
	if (!q->rt)
		return nv_err_host(err, "out of memory for the refcount table of %s", img->path);
	bytes = (size_t)q->rt_entries * 8;
	ssize_t r = image_pread_upto(img->fd, q->rt, bytes, q->rt_offset);
	if (r < 0)
		return nv_err_host(err, "cannot read disk image %s: %s", img->path, strerror(errno));
	if ((size_t)r != bytes)
		return refuse(img, err, "qcow2 refcount table is truncated");
	for (uint64_t i = 0; i < q->rt_entries; i++)
		q->rt[i] = be_get((const uint8_t *)&q->rt[i], 8);
	return 0;
}

/* The header's fields, checked; hdr holds the first cluster (or the whole
 * file when shorter), got its bytes. */
static int parse_header(struct disk_image *img, struct qcow2 *q, const uint8_t *hdr, size_t got,
			struct nv_err *err)
{
	uint64_t header_length = QH_V2_LENGTH;
	uint64_t incompat = 0, autoclear = 0;
	q->refcount_order = QCOW2_REFCOUNT_ORDER;
	if (q->version == 3) {
		if (got < QH_V3_LENGTH)
			return refuse(img, err, "qcow2 header is truncated (%zu bytes)", got);
		header_length = be_get(hdr + QH_HEADER_LENGTH, 4);
		if (header_length < QH_V3_LENGTH || header_length % 8 || header_length > got)
			return refuse(img, err, "qcow2 header length %" PRIu64 " is invalid",
				      header_length);
		incompat = be_get(hdr + QH_INCOMPAT, 8);
		autoclear = be_get(hdr + QH_AUTOCLEAR, 8);
		q->refcount_order = (unsigned)be_get(hdr + QH_REFCOUNT_ORDER, 4);
		if (check_features(img, incompat, err) < 0)
			return -1;
		if (header_length > QH_COMPRESSION_TYPE && hdr[QH_COMPRESSION_TYPE] != 0)
			return refuse(img, err,
				      "qcow2 compression type %u is set without its feature bit",
				      hdr[QH_COMPRESSION_TYPE]);
	}
	if (be_get(hdr + QH_CRYPT, 4) != 0)
		return refuse(img, err, "qcow2 image is encrypted (unsupported)");
	if (q->refcount_order > 6)
		return refuse(img, err, "qcow2 refcount order %u is invalid", q->refcount_order);
	if (!img->readonly && q->refcount_order != QCOW2_REFCOUNT_ORDER)
		return refuse(img, err,
			      "qcow2 image has %u-bit refcounts; nestvm writes only 16-bit ones",
			      1u << q->refcount_order);
	q->nb_snapshots = (uint32_t)be_get(hdr + QH_NB_SNAPSHOTS, 4);
	if (!img->readonly && q->nb_snapshots)
		return refuse(img, err,
			      "qcow2 image has %" PRIu32 " internal snapshots; nestvm cannot write to"
			      " it (qemu-img snapshot -l lists them)",
			      q->nb_snapshots);

	uint64_t size = be_get(hdr + QH_SIZE, 8);
	q->l1_size = (uint32_t)be_get(hdr + QH_L1_SIZE, 4);
	q->l1_offset = be_get(hdr + QH_L1_OFFSET, 8);
	if (check_l1(img, q, size, err) < 0)
		return -1;
	q->rt_offset = be_get(hdr + QH_RT_OFFSET, 8);
	if (check_refcount_table(img, q, be_get(hdr + QH_RT_CLUSTERS, 4), err) < 0)
		return -1;
	uint64_t backing_off = be_get(hdr + QH_BACKING_OFFSET, 8);
	if (check_backing(img, q, backing_off, (uint32_t)be_get(hdr + QH_BACKING_SIZE, 4),
			  header_length, err) < 0)
		return -1;
	uint64_t ext_end = q->has_backing && backing_off < got ? backing_off : got;
	if (read_extensions(img, q, hdr, header_length, ext_end, err) < 0)
		return -1;
	img->size = size;

	/* Bits this writer does not keep up to date (bitmaps) must be
	 * cleared before the first write, as the format asks. */
	if (!img->readonly && autoclear) {
		uint8_t zero[8] = { 0 };
		if (image_pwrite_all(img->fd, zero, 8, QH_AUTOCLEAR) < 0)
			return nv_err_host(err, "cannot write disk image %s: %s", img->path,
					   strerror(errno));
	}
	return 0;
}

int qcow2_attach(struct disk_image *img, struct nv_err *err)
{
	struct qcow2 *q = calloc(1, sizeof(*q));
	uint8_t *hdr = NULL;
	if (!q)
		return nv_err_host(err, "out of memory for disk image %s", img->path);
	uint8_t start[QH_V3_LENGTH];
	ssize_t got = image_pread_upto(img->fd, start, sizeof(start), 0);
	if (got < 0) {
		nv_err_host(err, "cannot read disk image %s: %s", img->path, strerror(errno));
		goto fail;
	}
	if ((size_t)got < QH_V2_LENGTH || be_get(start, 4) != QCOW2_MAGIC) {
		const char *why = (size_t)got < 4		? "too short" :
				  (size_t)got < QH_V2_LENGTH ? "header truncated" :
							       "bad magic";
		refuse(img, err, "not a qcow2 image (%s)", why);
		goto fail;
	}
	q->version = (uint32_t)be_get(start + QH_VERSION, 4);
	if (q->version != 2 && q->version != 3) {
		refuse(img, err, "qcow2 version %" PRIu32 " is unsupported (2 and 3 are)", q->version);
		goto fail;
	}
	uint32_t cb = (uint32_t)be_get(start + QH_CLUSTER_BITS, 4);
	if (cb < QCOW2_MIN_CLUSTER_BITS || cb > QCOW2_MAX_CLUSTER_BITS) {
		refuse(img, err, "qcow2 cluster_bits %" PRIu32 " is outside %u..%u", cb,
		       QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		goto fail;
	}
	q->cluster_bits = cb;
	q->cluster_size = 1ull << cb;
	q->l2_bits = cb - 3;
	unsigned x = 62 - (cb - 8);
	q->comp_offset_mask = (1ull << x) - 1;
	q->comp_sectors_shift = x;
	q->comp_sectors_mask = (1ull << (cb - 8)) - 1;

	/* The first cluster: header, extensions, backing file name. */
	hdr = calloc(1, q->cluster_size);
	if (!hdr) {
		nv_err_host(err, "out of memory for disk image %s", img->path);
		goto fail;
	}
	got = image_pread_upto(img->fd, hdr, q->cluster_size, 0);
	if (got < 0) {
		nv_err_host(err, "cannot read disk image %s: %s", img->path, strerror(errno));
		goto fail;
	}
	if (parse_header(img, q, hdr, (size_t)got, err) < 0 || load_tables(img, q, err) < 0)
		goto fail;
	free(hdr);
	q->file_end = (img->file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	img->state = q;
	img->ops = &qcow2_ops;
	return 0;
fail:
	free(hdr);
	qcow2_state_free(q);
	return -1;
}

bool qcow2_has_backing(const struct disk_image *img)
{
	const struct qcow2 *q = img->state;
	return q->has_backing;
}

const char *qcow2_backing_format(const struct disk_image *img)
{
	const struct qcow2 *q = img->state;
	return q->backing_format;
}

uint64_t qcow2_cluster_size(const struct disk_image *img)
{
	const struct qcow2 *q = img->state;
	return q->cluster_size;
}
