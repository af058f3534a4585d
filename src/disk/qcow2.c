/* qcow2 reads and writes: guest offset -> L1 -> L2 entry -> host cluster,
 * the backing image, zeros, or a compressed cluster. A write that cannot go
 * in place copies the cluster as the guest saw it into a new one at the
 * end of the file, then points the L2 entry at it. Every offset taken from
 * the file is checked (aligned, inside the file) before use: a bad one is
 * a corrupt image, -1, never a wild access. */
#include "disk/qcow2.h"

#include <stdlib.h>
#include <string.h>

#include "disk/image_backend.h"
#include "disk/qcow2_private.h"

/* The L2 table at l2_off (cached), or NULL: a misaligned or out-of-file
 * offset, or an I/O error. */
static uint8_t *l2_load(struct disk_image *img, uint64_t l2_off)
{
	struct qcow2 *q = img->state;
	for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
		if (q->l2c[i].offset == l2_off && q->l2c[i].data)
			return q->l2c[i].data;
	if (l2_off == 0 || (l2_off & (q->cluster_size - 1)) || l2_off >= q->file_end)
		return NULL;
	unsigned slot = q->l2c_next++ % QCOW2_L2_CACHE;
	if (!q->l2c[slot].data && !(q->l2c[slot].data = malloc(q->cluster_size)))
		return NULL;
	q->l2c[slot].offset = 0;
	ssize_t r = image_pread_upto(img->fd, q->l2c[slot].data, q->cluster_size, l2_off);
	if (r < 0)
		return NULL;
	memset(q->l2c[slot].data + r, 0, q->cluster_size - (size_t)r);
	q->l2c[slot].offset = l2_off;
	return q->l2c[slot].data;
}

int qcow2_map(struct disk_image *img, uint64_t off, struct qcow2_map *m)
{
	struct qcow2 *q = img->state;
	memset(m, 0, sizeof(*m));
	m->kind = QCOW2_UNALLOCATED;
	m->l1_index = off >> (q->cluster_bits + q->l2_bits);
	m->l2_index = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
	if (m->l1_index >= q->l1_size)
		return 0;
	uint64_t l2_off = q->l1[m->l1_index] & QCOW2_OFFSET_MASK;
	if (!l2_off)
		return 0;
	const uint8_t *l2 = l2_load(img, l2_off);
	if (!l2)
		return -1;
	uint64_t e = be_get(l2 + m->l2_index * 8, 8);
	m->entry = e;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		m->kind = QCOW2_COMPRESSED;
		return 0;
	}
	m->host = e & QCOW2_OFFSET_MASK;
	if (m->host & (q->cluster_size - 1))
		return -1;
	if (e & QCOW2_OFLAG_ZERO) {
		if (q->version < 3)
			return -1; /* no zero flag before version 3 */
		m->kind = QCOW2_ZERO;
	} else if (m->host) {
		m->kind = QCOW2_NORMAL;
	}
	return 0;
}

/* A compressed cluster's bytes in the file: [*start, *start + *len). */
static void compressed_extent(const struct qcow2 *q, uint64_t entry, uint64_t *start,
			      uint64_t *len)
{
	uint64_t off = entry & q->comp_offset_mask;
	uint64_t sectors = ((entry >> q->comp_sectors_shift) & q->comp_sectors_mask) + 1;
	*start = off;
	*len = sectors * 512 - (off & 511);
}

/* The cluster the compressed entry describes, into q->zc. */
static int decompress(struct disk_image *img, uint64_t entry)
{
	struct qcow2 *q = img->state;
	if (q->zc_valid && q->zc_entry == entry)
		return 0;
	q->zc_valid = false;
	uint64_t start, len;
	compressed_extent(q, entry, &start, &len);
	if (start >= q->file_end)
		return -1;
	size_t in_cap = 2 * q->cluster_size + 512; /* the most len can be */
	if (!q->zin && !(q->zin = malloc(in_cap)))
		return -1;
	if (!q->zc && !(q->zc = malloc(q->cluster_size)))
		return -1;
	ssize_t got = image_pread_upto(img->fd, q->zin, (size_t)len, start);
	if (got <= 0)
		return -1;
	if (!q->z_ready) {
		/* QEMU writes raw deflate with a 4 KiB window. */
		if (inflateInit2(&q->z, -12) != Z_OK)
			return -1;
		q->z_ready = true;
	} else if (inflateReset(&q->z) != Z_OK) {
		return -1;
	}
	q->z.next_in = q->zin;
	q->z.avail_in = (uInt)got;
	q->z.next_out = q->zc;
	q->z.avail_out = (uInt)q->cluster_size;
	int r = inflate(&q->z, Z_FINISH);
	/* Done when a whole cluster came out; the stream may go on (another
	 * cluster's bytes can share the last sector). */
	if ((r != Z_STREAM_END && r != Z_OK && r != Z_BUF_ERROR) || q->z.avail_out != 0)
		return -1;
	q->zc_entry = entry;
	q->zc_valid = true;
	return 0;
}

/* [off, off + len), inside one guest cluster, as the guest sees it. */
static int read_chunk(struct disk_image *img, uint8_t *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = img->state;
	struct qcow2_map m;
	if (qcow2_map(img, off, &m) < 0)
		return -1;
	uint64_t in = off & (q->cluster_size - 1);
	switch (m.kind) {
	case QCOW2_UNALLOCATED:
		return image_read_clipped(img->backing, buf, len, off);
	case QCOW2_ZERO:
		memset(buf, 0, len);
		return 0;
	case QCOW2_NORMAL: {
		if (m.host >= q->file_end)
			return -1;
		ssize_t r = image_pread_upto(img->fd, buf, len, m.host + in);
		if (r < 0)
			return -1;
		memset(buf + r, 0, len - (size_t)r); /* a cluster cut short by end of file */
		return 0;
	}
	case QCOW2_COMPRESSED:
		if (decompress(img, m.entry) < 0)
			return -1;
		memcpy(buf, q->zc + in, len);
		return 0;
	}
	return -1;
}

/* Calls chunk for each piece of [off, off + len) inside one cluster. */
static int per_cluster(struct disk_image *img, uint8_t *buf, size_t len, uint64_t off,
		       int (*chunk)(struct disk_image *, uint8_t *, size_t, uint64_t))
{
	const struct qcow2 *q = img->state;
	while (len > 0) {
		uint64_t room = q->cluster_size - (off & (q->cluster_size - 1));
		size_t n = room < len ? (size_t)room : len;
		if (chunk(img, buf, n, off) < 0)
			return -1;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int qcow2_readv(struct disk_image *img, const struct iovec *iov, int iovcnt,
		       uint64_t off)
{
	for (int i = 0; i < iovcnt; i++) {
		if (per_cluster(img, iov[i].iov_base, iov[i].iov_len, off, read_chunk) < 0)
			return -1;
		off += iov[i].iov_len;
	}
	return 0;
}

/* Writes the L1 entry at index (and keeps it in memory). */
static int set_l1_entry(struct disk_image *img, uint64_t index, uint64_t value)
{
	struct qcow2 *q = img->state;
	uint8_t be[8];
	be_put(be, value, 8);
	if (image_pwrite_all(img->fd, be, 8, q->l1_offset + index * 8) < 0)
		return -1;
	q->l1[index] = value;
	return 0;
}

/* A new L2 table holding one entry, written, counted, then linked from
 * the L1 table: a crash before the link leaks the cluster, no more. */
static int new_l2_table(struct disk_image *img, const struct qcow2_map *m, uint64_t value)
{
	struct qcow2 *q = img->state;
	uint64_t l2_off = qcow2_alloc_cluster(img);
	if (!l2_off)
		return -1;
	unsigned slot = q->l2c_next++ % QCOW2_L2_CACHE;
	if (!q->l2c[slot].data && !(q->l2c[slot].data = malloc(q->cluster_size)))
		return -1;
	q->l2c[slot].offset = 0;
	uint8_t *l2 = q->l2c[slot].data;
	memset(l2, 0, q->cluster_size);
	be_put(l2 + m->l2_index * 8, value, 8);
	if (image_pwrite_all(img->fd, l2, q->cluster_size, l2_off) < 0)
		return -1;
	q->l2c[slot].offset = l2_off;
	if (qcow2_refcount_set(img, l2_off, 1) < 0)
		return -1;
	return set_l1_entry(img, m->l1_index, l2_off | QCOW2_OFLAG_COPIED);
}

/* Points the guest cluster m describes at value. */
static int set_l2_entry(struct disk_image *img, const struct qcow2_map *m, uint64_t value)
{
	struct qcow2 *q = img->state;
	if (m->l1_index >= q->l1_size)
		return -1; /* past the table (the open's checks keep writes short of it) */
	uint64_t l1e = q->l1[m->l1_index];
	uint64_t l2_off = l1e & QCOW2_OFFSET_MASK;
	if (!l2_off)
		return new_l2_table(img, m, value);
	if (!(l1e & QCOW2_OFLAG_COPIED)) {
		/* A table shared with a snapshot would need copying first;
		 * without snapshots it is only the flag that is missing. */
		uint64_t count;
		if (qcow2_refcount_get(img, l2_off, &count) < 0 || count != 1)
			return -1;
		if (set_l1_entry(img, m->l1_index, l2_off | QCOW2_OFLAG_COPIED) < 0)
			return -1;
	}
	uint8_t *l2 = l2_load(img, l2_off);
	if (!l2)
		return -1;
	uint8_t be[8];
	be_put(be, value, 8);
	if (image_pwrite_all(img->fd, be, 8, l2_off + m->l2_index * 8) < 0)
		return -1;
	memcpy(l2 + m->l2_index * 8, be, 8);
	return 0;
}

/* Gives back the reference the old entry held, if any: a cluster shared
 * or merely unflagged, or the sectors of a compressed one. */
static int drop_old(struct disk_image *img, const struct qcow2_map *m, uint64_t new_host)
{
	struct qcow2 *q = img->state;
	if (m->kind == QCOW2_COMPRESSED) {
		uint64_t start, len;
		compressed_extent(q, m->entry, &start, &len);
		return qcow2_refcount_drop(img, start, len);
	}
	if ((m->kind == QCOW2_NORMAL || m->kind == QCOW2_ZERO) && m->host && m->host != new_host &&
	    !(m->entry & QCOW2_OFLAG_COPIED))
		return qcow2_refcount_drop(img, m->host, q->cluster_size);
	return 0;
}

/* [off, off + len), inside one guest cluster, from data. */
static int write_chunk(struct disk_image *img, uint8_t *data, size_t len, uint64_t off)
{
	struct qcow2 *q = img->state;
	struct qcow2_map m;
	if (qcow2_map(img, off, &m) < 0)
		return -1;
	uint64_t in = off & (q->cluster_size - 1);
	if (m.kind == QCOW2_NORMAL && (m.entry & QCOW2_OFLAG_COPIED)) {
		if (m.host >= q->file_end)
			return -1;
		return image_pwrite_all(img->fd, data, len, m.host + in);
	}
	/* Copy-on-write: the cluster as the guest saw it, with the new bytes. */
	if (!q->cow && !(q->cow = malloc(q->cluster_size)))
		return -1;
	if (len < q->cluster_size && read_chunk(img, q->cow, q->cluster_size, off - in) < 0)
		return -1;
	memcpy(q->cow + in, data, len);
	uint64_t host;
	bool fresh = !(m.kind == QCOW2_ZERO && m.host && (m.entry & QCOW2_OFLAG_COPIED));
	if (fresh) {
		host = qcow2_alloc_cluster(img);
		if (!host)
			return -1;
	} else {
		host = m.host; /* a preallocated zero cluster: reuse it */
		if (host >= q->file_end)
			return -1;
	}
	/* Data, refcount, L2 (and L1): a crash leaks at most a cluster. */
	if (image_pwrite_all(img->fd, q->cow, q->cluster_size, host) < 0)
		return -1;
	if (fresh && qcow2_refcount_set(img, host, 1) < 0)
		return -1;
	if (set_l2_entry(img, &m, host | QCOW2_OFLAG_COPIED) < 0)
		return -1;
	if (m.kind == QCOW2_COMPRESSED)
		q->zc_valid = false;
	return drop_old(img, &m, host);
}

static int qcow2_writev(struct disk_image *img, const struct iovec *iov, int iovcnt,
			uint64_t off)
{
	for (int i = 0; i < iovcnt; i++) {
		if (per_cluster(img, iov[i].iov_base, iov[i].iov_len, off, write_chunk) < 0)
			return -1;
		off += iov[i].iov_len;
	}
	return 0;
}

int qcow2_holds(struct disk_image *img, uint64_t off, enum qcow2_holds *holds, uint64_t *span)
{
	const struct qcow2 *q = img->state;
	struct qcow2_map m;
	if (qcow2_map(img, off, &m) < 0)
		return -1;
	uint64_t unit = m.l1_index >= q->l1_size || !(q->l1[m.l1_index] & QCOW2_OFFSET_MASK) ?
				1ull << (q->cluster_bits + q->l2_bits) :
				q->cluster_size;
	*span = unit - (off & (unit - 1));
	*holds = m.kind == QCOW2_UNALLOCATED ? QCOW2_HOLDS_NOTHING :
		 m.kind == QCOW2_ZERO	     ? QCOW2_HOLDS_ZEROS :
					       QCOW2_HOLDS_DATA;
	return 0;
}

void qcow2_state_free(struct qcow2 *q)
{
	if (!q)
		return;
	free(q->l1);
	free(q->rt);
	for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
		free(q->l2c[i].data);
	free(q->rb);
	free(q->zc);
	free(q->zin);
	free(q->cow);
	if (q->z_ready)
		inflateEnd(&q->z);
	free(q);
}

static void qcow2_free(struct disk_image *img)
{
	qcow2_state_free(img->state);
	img->state = NULL;
}

const struct image_ops qcow2_ops = {
	.readv = qcow2_readv,
	.writev = qcow2_writev,
	.free = qcow2_free,
};
