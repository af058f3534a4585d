/* qcow2 refcounts (16-bit, the only width nestvm writes): a table in
 * memory pointing at refcount blocks of one cluster each. New clusters are
 * only ever taken from the end of the file, so freed ones stay holes; a
 * block a new cluster needs is itself put at the end and counts itself. */
#include <stdlib.h>
#include <string.h>

#include "disk/image_backend.h"
#include "disk/qcow2_private.h"

#define REFCOUNT_BYTES 2 /* refcount_order 4 */

/* log2 of the refcounts one block holds. */
static unsigned block_bits(const struct qcow2 *q)
{
	return q->cluster_bits + 3 - QCOW2_REFCOUNT_ORDER;
}

/* Where the refcount of the host cluster at off lives: the block's offset
 * (0: none yet) and the index in it. */
static void locate(const struct qcow2 *q, uint64_t off, uint64_t *block, uint64_t *index)
{
	uint64_t cluster = off >> q->cluster_bits;
	uint64_t t = cluster >> block_bits(q);
	*index = cluster & ((1ull << block_bits(q)) - 1);
	*block = t < q->rt_entries ? q->rt[t] & QCOW2_RT_OFFSET_MASK : 0;
}

/* The refcount block at off (cached), or NULL: misaligned, outside the
 * file, or unreadable. */
static uint8_t *block_load(struct disk_image *img, uint64_t off)
{
	struct qcow2 *q = img->state;
	if (q->rb && q->rb_offset == off)
		return q->rb;
	if (off == 0 || (off & (q->cluster_size - 1)) || off >= q->file_end)
		return NULL;
	if (!q->rb && !(q->rb = malloc(q->cluster_size)))
		return NULL;
	q->rb_offset = 0;
	ssize_t r = image_pread_upto(img->fd, q->rb, q->cluster_size, off);
	if (r < 0)
		return NULL;
	memset(q->rb + r, 0, q->cluster_size - (size_t)r);
	q->rb_offset = off;
	return q->rb;
}

int qcow2_refcount_get(struct disk_image *img, uint64_t off, uint64_t *count)
{
	uint64_t block, index;
	locate(img->state, off, &block, &index);
	*count = 0;
	if (!block)
		return 0;
	const uint8_t *rb = block_load(img, block);
	if (!rb)
		return -1;
	*count = be_get(rb + index * REFCOUNT_BYTES, REFCOUNT_BYTES);
	return 0;
}

int qcow2_refcount_set(struct disk_image *img, uint64_t off, uint64_t count)
{
	uint64_t block, index;
	locate(img->state, off, &block, &index);
	if (!block || count >> (8 * REFCOUNT_BYTES))
		return -1;
	uint8_t *rb = block_load(img, block);
	if (!rb)
		return -1;
	uint8_t be[REFCOUNT_BYTES];
	be_put(be, count, REFCOUNT_BYTES);
	if (image_pwrite_all(img->fd, be, REFCOUNT_BYTES, block + index * REFCOUNT_BYTES) < 0)
		return -1;
	memcpy(rb + index * REFCOUNT_BYTES, be, REFCOUNT_BYTES);
	return 0;
}

int qcow2_refcount_drop(struct disk_image *img, uint64_t off, uint64_t len)
{
	const struct qcow2 *q = img->state;
	if (len == 0)
		return 0;
	uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		uint64_t count;
		if (qcow2_refcount_get(img, c << q->cluster_bits, &count) < 0 || count == 0)
			return -1; /* a reference nobody counted: corrupt */
		if (qcow2_refcount_set(img, c << q->cluster_bits, count - 1) < 0)
			return -1;
	}
	return 0;
}

uint64_t qcow2_alloc_cluster(struct disk_image *img)
{
	struct qcow2 *q = img->state;
	for (;;) {
		uint64_t off = q->file_end;
		uint64_t t = (off >> q->cluster_bits) >> block_bits(q);
		if (t >= q->rt_entries)
			return 0; /* growing the refcount table: not supported */
		if (q->rt[t] & QCOW2_RT_OFFSET_MASK) {
			q->file_end += q->cluster_size;
			return off;
		}
		/* No block counts this part of the file yet: this cluster
		 * becomes one, its own refcount 1, then the table points at
		 * it. The loop goes on to the cluster after it. */
		if (!q->rb && !(q->rb = malloc(q->cluster_size)))
			return 0;
		q->rb_offset = 0;
		memset(q->rb, 0, q->cluster_size);
		uint64_t index = (off >> q->cluster_bits) & ((1ull << block_bits(q)) - 1);
		be_put(q->rb + index * REFCOUNT_BYTES, 1, REFCOUNT_BYTES);
		if (image_pwrite_all(img->fd, q->rb, q->cluster_size, off) < 0)
			return 0;
		q->rb_offset = off;
		q->file_end += q->cluster_size;
		uint8_t be[8];
		be_put(be, off, 8);
		if (image_pwrite_all(img->fd, be, 8, q->rt_offset + t * 8) < 0)
			return 0;
		q->rt[t] = off;
	}
}
