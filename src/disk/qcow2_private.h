/* The qcow2 format's on-disk layout (QEMU's docs/interop/qcow2.txt; all
 * fields big-endian) and the state its files share: the header parser
 * (qcow2_open.c), the cluster mapping with its reads and writes (qcow2.c),
 * the refcounts (qcow2_refcount.c) and the creator (qcow2_create.c). */
#ifndef NESTVM_DISK_QCOW2_PRIVATE_H
#define NESTVM_DISK_QCOW2_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

struct disk_image;
struct image_ops;

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* Header fields: byte offsets. Version 2 ends at 72, version 3 at 104 or
 * more (header_length). */
#define QH_MAGIC 0
#define QH_VERSION 4
#define QH_BACKING_OFFSET 8
#define QH_BACKING_SIZE 16
#define QH_CLUSTER_BITS 20
#define QH_SIZE 24
#define QH_CRYPT 32
#define QH_L1_SIZE 36
#define QH_L1_OFFSET 40
#define QH_RT_OFFSET 48
#define QH_RT_CLUSTERS 56
#define QH_NB_SNAPSHOTS 60
#define QH_SNAPSHOTS_OFFSET 64
#define QH_INCOMPAT 72
#define QH_COMPAT 80
#define QH_AUTOCLEAR 88
#define QH_REFCOUNT_ORDER 96
#define QH_HEADER_LENGTH 100
#define QH_COMPRESSION_TYPE 104
#define QH_V2_LENGTH 72u
#define QH_V3_LENGTH 104u
#define QH_V3_LENGTH_COMPRESSION 112u /* with the compression-type byte, padded */

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

/* Header extensions: type, length (4 bytes each), data padded to 8. */
#define QEXT_END 0x00000000u
#define QEXT_BACKING_FORMAT 0xe2792acau
#define QEXT_DATA_FILE 0x44415441u

#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MIN_CLUSTER_BITS 9u
#define QCOW2_MAX_CLUSTER_BITS 21u
/* QEMU's own limits on the tables it keeps in memory: an image past them
 * is not one qemu-img made, and nestvm will not allocate more for it. */
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)

/* L1 and L2 entries, refcount table entries. */
#define QCOW2_OFLAG_COPIED (1ull << 63) /* refcount exactly 1: write in place */
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull /* v3: the cluster reads as zeros */
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9..55 */
#define QCOW2_RT_OFFSET_MASK 0xfffffffffffffe00ull /* bits 9..63 */

/* Created images: 64 KiB clusters, 16-bit refcounts. */
#define QCOW2_CREATE_CLUSTER_BITS 16u
#define QCOW2_REFCOUNT_ORDER 4u

/* A guest cluster, as its L2 entry describes it. */
enum qcow2_kind {
	QCOW2_UNALLOCATED, /* the backing image's bytes, or zeros */
	QCOW2_ZERO, /* zeros (maybe with a preallocated host cluster) */
	QCOW2_NORMAL, /* a host cluster */
	QCOW2_COMPRESSED, /* zlib data somewhere in the file */
};

struct qcow2_map {
	enum qcow2_kind kind;
	uint64_t entry; /* the L2 entry as read (0 when the L2 table is absent) */
	uint64_t host; /* NORMAL/ZERO: host cluster offset (0: none) */
	uint64_t l1_index, l2_index;
};

#define QCOW2_L2_CACHE 4

struct qcow2 {
	uint32_t version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits; /* log2 of the entries in one L2 table */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t *l1; /* host order */
	uint32_t nb_snapshots;
	unsigned refcount_order;
	bool has_backing; /* the header names a backing file */
	char backing_format[16]; /* from its header extension, "" if none */
	/* Compressed clusters: x = 62 - (cluster_bits - 8). */
	uint64_t comp_offset_mask;
	unsigned comp_sectors_shift;
	uint64_t comp_sectors_mask;

	/* Where the next cluster goes: the end of the file, rounded up to a
	 * cluster; never below what any table was found to use. */
	uint64_t file_end;

	/* Writable images only: the refcount table (host order). */
	uint64_t rt_offset;
	uint64_t rt_entries;
	uint64_t *rt;

	/* A few L2 tables (raw big-endian bytes), replaced round robin. */
	struct {
		uint64_t offset; /* 0: the slot is empty */
		uint8_t *data;
	} l2c[QCOW2_L2_CACHE];
	unsigned l2c_next;
	/* One refcount block (raw bytes). */
	uint64_t rb_offset;
	uint8_t *rb;
	/* The last decompressed cluster, by its L2 entry. */
	uint64_t zc_entry;
	bool zc_valid;
	uint8_t *zc; /* cluster_size */
	uint8_t *zin; /* compressed bytes: at most 2 clusters + a sector */
	z_stream z;
	bool z_ready;
	/* One cluster for copy-on-write. */
	uint8_t *cow;
};

extern const struct image_ops qcow2_ops;

static inline uint64_t be_get(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void be_put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* qcow2.c: the L2 entry of the guest cluster at off. 0, or -1 for a
 * corrupt image (bad table offset) or an I/O error. */
int qcow2_map(struct disk_image *img, uint64_t off, struct qcow2_map *m);
/* Frees the state made by qcow2_attach. */
void qcow2_state_free(struct qcow2 *q);

/* qcow2_refcount.c (writable images only). */
/* The refcount of the host cluster at off (0 when no block covers it). */
int qcow2_refcount_get(struct disk_image *img, uint64_t off, uint64_t *count);
/* Sets it; its refcount block must exist (qcow2_alloc_cluster makes it). */
int qcow2_refcount_set(struct disk_image *img, uint64_t off, uint64_t count);
/* Decrements the refcounts of the host clusters [off, off + len). */
int qcow2_refcount_drop(struct disk_image *img, uint64_t off, uint64_t len);
/* A new host cluster at the end of the file, whose refcount block exists
 * (allocating one when needed); its refcount is still 0. The offset, or 0
 * when the refcount table is full or an I/O failed. */
uint64_t qcow2_alloc_cluster(struct disk_image *img);

#endif
