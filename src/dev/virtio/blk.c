#include "dev/virtio/blk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_snapshot.h"
#include "disk/disk_chain.h"
#include "disk/disk_image.h"
#include "util/le.h"

#define REQ_HDR_LEN 16 /* le32 type, le32 reserved, le64 sector */

struct virtio_blk {
	struct disk_image *img; /* NULL only if a reopen failed twice */
	char top[DISK_PATH_MAX]; /* the image img was opened from */
	bool readonly;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CFG_LEN];
	struct virtio_mmio *t;
	/* Scratch for the request being served; the transport lock makes the
	 * device single-threaded, and it keeps 8 KiB off vCPU stacks. */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
	/* While a migration copies the disk: a bit per block the guest wrote
	 * (NULL otherwise); under the transport lock like the requests. */
	uint64_t *written;
	unsigned block_shift;
	uint64_t nblocks;
};

static uint64_t blk_features(void *dev)
{
	struct virtio_blk *b = dev;
	uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	return f;
}

static void blk_config_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *b = dev;
	/* Bytes past our config read as zero (data arrives zeroed). */
	if (off >= sizeof(b->config))
		return;
	uint64_t n = sizeof(b->config) - off;
	memcpy(data, b->config + off, n < len ? n : len);
}

/* Move len bytes between the image at sector and the chain's data area:
 * the writable stream from 0 for reads, the readable one after the header for
 * writes. *done receives the bytes transferred. */
static uint8_t blk_rw(struct virtio_blk *b, bool is_write, uint64_t sector, uint64_t len,
		      uint64_t *done)
{
	*done = 0;
	if (len % VIRTIO_BLK_SECTOR)
		return VIRTIO_BLK_S_IOERR;
	uint64_t nsec = len / VIRTIO_BLK_SECTOR;
	if (sector > b->capacity || nsec > b->capacity - sector)
		return VIRTIO_BLK_S_IOERR;
	int n = virtq_chain_iov(&b->chain, !is_write, is_write ? REQ_HDR_LEN : 0, len, b->iov,
				VIRTQ_MAX_CHAIN);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	uint64_t pos = sector * VIRTIO_BLK_SECTOR;
	if (!b->img)
		return VIRTIO_BLK_S_IOERR;
	if (is_write && b->written && len) /* even a failed write may have changed blocks */
		for (uint64_t k = pos >> b->block_shift; k <= (pos + len - 1) >> b->block_shift; k++)
			b->written[k / 64] |= 1ULL << (k % 64);
	int r = is_write ? disk_image_writev(b->img, b->iov, n, pos) : disk_image_readv(b->img, b->iov, n, pos);
	if (r < 0)
		return VIRTIO_BLK_S_IOERR;
	*done = len;
	return VIRTIO_BLK_S_OK;
}

/* Serve the popped chain. Returns the used length (bytes written to the
 * guest, status included), or -1 if the chain cannot carry a request. */
static int64_t blk_request(struct virtio_blk *b)
{
	const struct virtq_chain *c = &b->chain;
	/* Without a full header or a status byte there is no way to answer. */
	if (c->readable_len < REQ_HDR_LEN || c->writable_len < 1)
		return -1;
	uint8_t hdr[REQ_HDR_LEN];
	virtq_chain_read(c, 0, hdr, sizeof(hdr)); /* one copy: no TOCTOU */
	uint32_t type = (uint32_t)le_get(hdr, 4);
	uint64_t sector = le_get(hdr + 8, 8);
	/* Writable buffers come last, so the status byte ends the last one. */
	const struct virtq_buf *last = &c->bufs[c->nbufs - 1];
	uint8_t *status = last->host + last->len - 1;
	uint64_t in_len = c->writable_len - 1;
	uint64_t out_len = c->readable_len - REQ_HDR_LEN;
	uint64_t written = 0;
	uint8_t st;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		st = blk_rw(b, false, sector, in_len, &written);
		break;
	case VIRTIO_BLK_T_OUT: {
		uint64_t ignored;
		st = b->readonly ? VIRTIO_BLK_S_IOERR : blk_rw(b, true, sector, out_len, &ignored);
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		st = b->readonly || (b->img && disk_image_flush(b->img) == 0) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = in_len < VIRTIO_BLK_ID_BYTES ? (size_t)in_len : VIRTIO_BLK_ID_BYTES;
		written = virtq_chain_write(c, 0, b->id, n);
		st = VIRTIO_BLK_S_OK;
		break;
	}
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status = st;
	return (int64_t)(written + 1);
}

static void blk_queue_notify(void *dev, struct virtio_mmio *t, uint16_t qidx)
{
	struct virtio_blk *b = dev;
	struct virtq *q = virtio_mmio_queue(t, qidx);
	if (!q)
		return;
	/* Drain the ring: with EVENT_IDX the driver will not kick again for
	 * entries it published before our last avail_event update. */
	/* At most a ring's worth per kick (the driver cannot have more out,
	 * and sees completions only after notify_used below): a hostile ring
	 * whose buffers overlap the ring cannot keep us here (see rng.c). */
	for (unsigned n = 0; n < q->size && virtq_pop(q, &b->chain) == 1; n++) {
		int64_t used = blk_request(b);
		if (used < 0) {
			/* Malformed request: nothing to write a status into, so
			 * treat it as a broken ring (NEEDS_RESET), as QEMU does. */
			virtq_mark_broken(q);
			break;
		}
		uint32_t u = used > UINT32_MAX ? UINT32_MAX : (uint32_t)used;
		virtq_push(q, b->chain.head, u);
	}
	virtio_mmio_notify_used(t, qidx);
}

static const struct virtio_device_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.features = blk_features,
	.config_read = blk_config_read,
	.config_write = NULL, /* nothing writable (no CONFIG_WCE) */
	.queue_notify = blk_queue_notify,
	.reset = NULL, /* requests complete synchronously: nothing in flight */
};

static void build_config(struct virtio_blk *b)
{
	le_put(b->config + VIRTIO_BLK_CFG_CAPACITY, b->capacity, 8);
	le_put(b->config + VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	le_put(b->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
	le_put(b->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR, 4);
}

/* The image at path with its backing images from nestvm's records
 * (disk/disk_chain.h), opened (and locked) by disk_image_open. */
static struct disk_image *open_chain(const char *path, bool readonly, struct nv_err *err)
{
	struct disk_chain *c = malloc(sizeof(*c));
	if (!c) {
		nv_err_host(err, "out of memory for a disk chain");
		return NULL;
	}
	struct disk_image *img = NULL;
	if (disk_chain_resolve(path, c, err) == 0) {
		const char *paths[DISK_CHAIN_MAX];
		disk_chain_array(c, paths);
		img = disk_image_open(paths, c->n, readonly, err);
	}
	free(c);
	return img;
}

int virtio_blk_check_image(const char *path, bool readonly, struct nv_err *err)
{
	struct disk_image *img = open_chain(path, readonly, err);
	disk_image_close(img); /* drops the trial locks */
	return img ? 0 : -1;
}

struct virtio_blk *virtio_blk_new(const struct guest_mem *mem, struct irq_line irq,
				  const char *path, bool readonly, struct nv_err *err)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b) {
		nv_err_host(err, "out of memory for virtio-blk");
		return NULL;
	}
	b->readonly = readonly;
	b->img = open_chain(path, readonly, err);
	if (!b->img)
		goto fail;
	snprintf(b->top, sizeof(b->top), "%s", path);
	b->capacity = disk_image_size(b->img) / VIRTIO_BLK_SECTOR;
	/* A stable serial for /dev/disk/by-id: the image's device and inode
	 * (kept when a checkpoint moves the disk onto an overlay). */
	char id[VIRTIO_BLK_ID_BYTES + 1];
	snprintf(id, sizeof(id), "nv%llx-%llx", (unsigned long long)disk_image_dev(b->img),
		 (unsigned long long)disk_image_ino(b->img));
	memcpy(b->id, id, VIRTIO_BLK_ID_BYTES); /* zero-padded, unterminated at 20 */
	build_config(b);
	b->t = virtio_mmio_new(mem, irq, &blk_ops, b);
	if (!b->t) {
		nv_err_host(err, "out of memory for the virtio-blk transport");
		goto fail;
	}
	return b;
fail:
	disk_image_close(b->img);
	free(b);
	return NULL;
}

struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b)
{
	return b->t;
}

uint64_t virtio_blk_capacity(const struct virtio_blk *b)
{
	return b->capacity;
}

bool virtio_blk_readonly(const struct virtio_blk *b)
{
	return b->readonly;
}

bool virtio_blk_is_qcow2(const struct virtio_blk *b)
{
	return b->img && disk_image_format(b->img) == DISK_FORMAT_QCOW2;
}

/* The migration's copy reads and writes whole ranges under the transport
 * lock, so a request never runs beside them (qcow2's tables stay whole). */
static int copy_io(struct virtio_blk *b, bool is_write, uint64_t off, void *buf, size_t len)
{
	uint64_t size = b->capacity * VIRTIO_BLK_SECTOR;
	if (off > size || len > size - off)
		return -1;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	virtio_mmio_lock(b->t);
	int r = !b->img ? -1 : is_write ? disk_image_writev(b->img, &iov, 1, off) : disk_image_readv(b->img, &iov, 1, off);
	virtio_mmio_unlock(b->t);
	return r;
}

int virtio_blk_copy_read(struct virtio_blk *b, uint64_t off, void *buf, size_t len)
{
	return copy_io(b, false, off, buf, len);
}

int virtio_blk_copy_write(struct virtio_blk *b, uint64_t off, const void *buf, size_t len)
{
	return copy_io(b, true, off, (void *)buf, len);
}

int virtio_blk_track_writes(struct virtio_blk *b, unsigned block_shift)
{
	uint64_t nblocks = block_shift ? ((b->capacity * VIRTIO_BLK_SECTOR) >> block_shift) + 1 : 0;
	uint64_t *bits = block_shift ? calloc((nblocks + 63) / 64, 8) : NULL;
	if (block_shift && !bits)
		return -1;
	virtio_mmio_lock(b->t);
	uint64_t *old = b->written;
	b->written = bits;
	b->block_shift = block_shift;
	b->nblocks = nblocks;
	virtio_mmio_unlock(b->t);
	free(old);
	return 0;
}

uint64_t virtio_blk_take_written(struct virtio_blk *b, uint64_t *out, uint64_t nblocks)
{
	uint64_t n = 0;
	virtio_mmio_lock(b->t);
	if (b->written) {
		uint64_t words = ((nblocks < b->nblocks ? nblocks : b->nblocks) + 63) / 64;
		for (uint64_t i = 0; i < words; i++) {
			n += (uint64_t)__builtin_popcountll(b->written[i] & ~out[i]);
			out[i] |= b->written[i];
			b->written[i] = 0;
		}
	}
	virtio_mmio_unlock(b->t);
	return n;
}

void virtio_blk_free(struct virtio_blk *b)
{
	if (!b)
		return;
	free(b->written);
	virtio_mmio_free(b->t);
	disk_image_close(b->img);
	free(b);
}

int virtio_blk_reopen(struct virtio_blk *b, const char *top, struct nv_err *err)
{
	virtio_mmio_lock(b->t);
	int rc = -1;
	if (!b->img || strlen(top) >= sizeof(b->top)) {
		nv_err_input(err, "disk image %s cannot replace the disk", top);
		goto out;
	}
	if (b->readonly) {
		nv_err_input(err, "a read-only disk keeps its image");
		goto out;
	}
	/* The old top becomes a read-only backing image of the new one, and
	 * its exclusive lock would refuse that shared one: let it go first. */
	if (disk_image_flush(b->img) < 0) {
		nv_err_host(err, "cannot flush the disk before moving it to %s", top);
		goto out;
	}
	disk_image_close(b->img);
	b->img = open_chain(top, false, err);
	if (b->img && disk_image_size(b->img) / VIRTIO_BLK_SECTOR != b->capacity) {
		nv_err_input(err, "disk image %s is not the size of the disk it replaces", top);
		disk_image_close(b->img);
		b->img = NULL;
	}
	if (b->img)
		snprintf(b->top, sizeof(b->top), "%s", top);
	else
		b->img = open_chain(b->top, false, NULL); /* back to where it was */
	rc = b->img && !strcmp(b->top, top) ? 0 : -1;
	rc = b->img ? 0 : -1;
out:
	virtio_mmio_unlock(b->t);
	return rc;
}

static void *blk_create(const struct guest_mem *mem, struct irq_line irq, const void *spec,
			struct nv_err *err)
{
	const struct virtio_blk_spec *s = spec;
	return virtio_blk_new(mem, irq, s->path, s->readonly, err);
}

static void blk_destroy(void *dev)
{
	virtio_blk_free(dev);
}

static struct virtio_mmio *blk_transport(void *dev)
{
	return virtio_blk_transport(dev);
}

/* Requests complete on the kicking vCPU, under the transport lock, before
 * it returns to the guest: with the vCPUs paused nothing is in flight, so
 * the state is the transport's. The config space is built from the image
 * (capacity) and the settings (read-only): both are saved to refuse a
 * restore over a different disk, which the guest's cached view would not
 * match. The serial (GET_ID) comes from the image's inode, which a copied
 * image does not keep: the saved one is restored, so the guest's disk keeps
 * its id. The image's contents are the user's file, not device state. */
static int blk_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	struct virtio_blk *b = dev;
	virtio_mmio_lock(b->t);
	uint64_t capacity = b->capacity;
	bool readonly = b->readonly;
	uint8_t serial[VIRTIO_BLK_ID_BYTES];
	memcpy(serial, b->id, sizeof(serial));

	snapshot_version(s, 1);
	virtio_mmio_snapshot(b->t, s);
	SNAPSHOT_U64(s, capacity);
	snapshot_check(s, capacity == b->capacity, "capacity");
	SNAPSHOT_BOOL(s, readonly);
	snapshot_check(s, readonly == b->readonly, "readonly");
	SNAPSHOT_BYTES(s, serial);
	bool ok = snapshot_done(s);
	if (ok && s->dir == SNAPSHOT_RESTORE)
		memcpy(b->id, serial, sizeof(serial));
	virtio_mmio_unlock(b->t);
	return ok ? 0 : -1;
}

/* No pause hooks: nothing runs off the vCPU threads (see blk_snapshot). */
static const struct device_ops blk_device_ops = {
	.kind = "virtio-blk",
	.snapshot = blk_snapshot,
	.destroy = blk_destroy,
};

const struct virtio_device_type virtio_blk_type = {
	.name = "blk",
	.configured_by = "--disk",
	.ops = &blk_device_ops,
	.create = blk_create,
	.transport = blk_transport,
};
