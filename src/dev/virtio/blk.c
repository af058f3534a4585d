#include "dev/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/device_snapshot.h"
#include "util/le.h"

#define REQ_HDR_LEN 16 /* le32 type, le32 reserved, le64 sector */

struct virtio_blk {
	int fd;
	bool readonly;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CFG_LEN];
	struct virtio_mmio *t;
	/* Scratch for the request being served; the transport lock makes the
	 * device single-threaded, and it keeps 8 KiB off vCPU stacks. */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_CHAIN];
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
	struct iovec *iov = b->iov;
	off_t pos = (off_t)(sector * VIRTIO_BLK_SECTOR);
	while (n > 0) {
		ssize_t r = is_write ? pwritev(b->fd, iov, n, pos) : preadv(b->fd, iov, n, pos);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VIRTIO_BLK_S_IOERR; /* error, or the image shrank */
		*done += (uint64_t)r;
		pos += r;
		size_t left = (size_t)r;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
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
		st = b->readonly || fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
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

static int image_size(int fd, const struct stat *st, const char *path, uint64_t *size,
		      struct nv_err *err)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return nv_err_host(err, "cannot get the size of block device %s: %s", path,
					   strerror(errno));
		return 0;
	}
	return nv_err_input(err, "disk image %s is not a regular file or block device", path);
}

static void build_config(struct virtio_blk *b)
{
	le_put(b->config + VIRTIO_BLK_CFG_CAPACITY, b->capacity, 8);
	le_put(b->config + VIRTIO_BLK_CFG_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, 4);
	le_put(b->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
	le_put(b->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR, 4);
}

/* Opens, sizes and locks an image: shared for read-only users, exclusive
 * for a writer (a second VM writing the same image would corrupt it).
 * The open fd, or -1 with err. */
static int open_image(const char *path, bool readonly, struct stat *st, uint64_t *size,
		      struct nv_err *err)
{
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "cannot open disk image %s: %s", path, strerror(errno));
	if (fstat(fd, st) < 0) {
		nv_err_host(err, "cannot stat disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	if (image_size(fd, st, path, size, err) < 0)
		goto fail;
	if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			nv_err_input(err, "disk image %s is in use by another process", path);
		else
			nv_err_host(err, "cannot lock disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int virtio_blk_check_image(const char *path, bool readonly, struct nv_err *err)
{
	struct stat st;
	uint64_t size;
	int fd = open_image(path, readonly, &st, &size, err);
	if (fd < 0)
		return -1;
	close(fd); /* drops the trial lock */
	return 0;
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
	struct stat st;
	uint64_t size;
	b->fd = open_image(path, readonly, &st, &size, err);
	if (b->fd < 0)
		goto fail;
	b->capacity = size / VIRTIO_BLK_SECTOR;
	/* A stable serial for /dev/disk/by-id: the image's device and inode. */
	char id[VIRTIO_BLK_ID_BYTES + 1];
	snprintf(id, sizeof(id), "nv%llx-%llx", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	memcpy(b->id, id, VIRTIO_BLK_ID_BYTES); /* zero-padded, unterminated at 20 */
	build_config(b);
	b->t = virtio_mmio_new(mem, irq, &blk_ops, b);
	if (!b->t) {
		nv_err_host(err, "out of memory for the virtio-blk transport");
		goto fail;
	}
	return b;
fail:
	if (b->fd >= 0)
		close(b->fd);
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

void virtio_blk_free(struct virtio_blk *b)
{
	if (!b)
		return;
	virtio_mmio_free(b->t);
	close(b->fd);
	free(b);
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
