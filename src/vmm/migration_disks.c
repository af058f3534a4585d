#include "vmm/migration_disks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dev/virtio/blk.h"
#include "state/migration_channel.h"
#include "state/migration_stream.h"

#define BLOCK (1u << MIG_DISK_BLOCK_SHIFT)
#define PRECOPY_ROUNDS 10
#define FEW_BLOCKS 64 /* 4 MiB: left for the paused round */

struct copied_disk {
	unsigned index;
	struct virtio_blk *b;
	uint64_t size, nblocks;
	uint64_t *dirty; /* this round's blocks */
};

struct mig_disks {
	int fd;
	struct mig_disks_pace pace;
	struct copied_disk disks[MIG_MAX_DISKS];
	unsigned n;
	uint64_t sent;
	uint64_t again; /* blocks sent again because the guest wrote them */
	uint8_t *buf; /* one block */
};

struct mig_disks *mig_disks_new(struct machine *m, int fd, struct mig_disks_pace pace, struct nv_err *err)
{
	struct mig_disks *d = calloc(1, sizeof(*d));
	if (!d || !(d->buf = malloc(BLOCK))) {
		free(d);
		nv_err_host(err, "out of memory");
		return NULL;
	}
	d->fd = fd;
	d->pace = pace;
	const struct vm_config *c = machine_config(m);
	for (unsigned i = 0; i < c->ndisks && i < MIG_MAX_DISKS; i++) {
		struct virtio_blk *b = machine_disk(m, i);
		if (!b || virtio_blk_readonly(b))
			continue; /* stays where it is: the target opens the same path */
		struct copied_disk *cd = &d->disks[d->n];
		cd->index = i;
		cd->b = b;
		cd->size = virtio_blk_capacity(b) * VIRTIO_BLK_SECTOR;
		cd->nblocks = (cd->size + BLOCK - 1) / BLOCK;
		cd->dirty = calloc((cd->nblocks + 63) / 64 + 1, 8);
		if (!cd->dirty || virtio_blk_track_writes(b, MIG_DISK_BLOCK_SHIFT) < 0) {
			free(cd->dirty);
			mig_disks_free(d);
			nv_err_host(err, "out of memory");
			return NULL;
		}
		d->n++;
	}
	return d;
}

int mig_disks_announce(struct mig_disks *d, struct nv_err *err)
{
	for (unsigned i = 0; i < d->n; i++) {
		const struct copied_disk *cd = &d->disks[i];
		uint8_t head[MIG_DISK_HEAD];
		mig_diskinfo_put(head, cd->index, virtio_blk_is_qcow2(cd->b) ? MIG_DISK_QCOW2 : MIG_DISK_RAW, cd->size);
		if (mig_send(d->fd, MIG_DISKINFO, head, sizeof(head), NULL, 0, err) < 0)
			return -1;
		d->pace.fn(d->pace.opaque, MIG_HEADER_BYTES + sizeof(head));
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Block k of cd; a zero block only when asked (a block written since). */
static int send_block(struct mig_disks *d, struct copied_disk *cd, uint64_t k, bool zeros_too, struct nv_err *err)
{
	uint64_t off = k * BLOCK;
	size_t len = cd->size - off < BLOCK ? (size_t)(cd->size - off) : BLOCK;
	if (virtio_blk_copy_read(cd->b, off, d->buf, len) < 0)
		return nv_err_host(err, "disk %u: cannot read %zu bytes at %llu to copy them", cd->index, len,
				   (unsigned long long)off);
	if (!zeros_too && all_zero(d->buf, len))
		return 0;
	uint8_t head[MIG_DISK_HEAD];
	mig_disk_put(head, cd->index, off);
	if (mig_send(d->fd, MIG_DISK, head, sizeof(head), d->buf, len, err) < 0)
		return -1;
	d->sent += len;
	d->pace.fn(d->pace.opaque, MIG_HEADER_BYTES + sizeof(head) + len);
	return 0;
}

/* Takes the marks into each disk's dirty map; the count of blocks. */
static uint64_t take(struct mig_disks *d)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < d->n; i++)
		n += virtio_blk_take_written(d->disks[i].b, d->disks[i].dirty, d->disks[i].nblocks);
	return n;
}

static int send_dirty(struct mig_disks *d, struct nv_err *err)
{
	for (unsigned i = 0; i < d->n; i++) {
		struct copied_disk *cd = &d->disks[i];
		for (uint64_t k = 0; k < cd->nblocks; k++) {
			if (!(cd->dirty[k / 64] >> (k % 64) & 1))
				continue;
			cd->dirty[k / 64] &= ~(1ULL << (k % 64));
			if (send_block(d, cd, k, true, err) < 0)
				return -1;
			d->again++;
		}
	}
	return 0;
}

int mig_disks_precopy(struct mig_disks *d, struct nv_err *err)
{
	for (unsigned i = 0; i < d->n; i++)
		for (uint64_t k = 0; k < d->disks[i].nblocks; k++)
			if (send_block(d, &d->disks[i], k, false, err) < 0)
				return -1;
	for (unsigned r = 0; r < PRECOPY_ROUNDS && take(d) > FEW_BLOCKS; r++)
		if (send_dirty(d, err) < 0)
			return -1;
	return 0; /* what take() found last stays marked for the next round */
}

int mig_disks_round(struct mig_disks *d, struct nv_err *err)
{
	take(d);
	return send_dirty(d, err);
}

int mig_disks_write(struct machine *m, unsigned index, uint64_t off, const void *data, size_t len,
		    struct nv_err *err)
{
	struct virtio_blk *b = m ? machine_disk(m, index) : NULL;
	if (!b || virtio_blk_readonly(b))
		return nv_err_input(err, "migration stream: DISK: the VM has no writable disk %u", index);
	if (virtio_blk_copy_write(b, off, data, len) < 0)
		return nv_err_host(err, "disk %u: cannot write %zu bytes at %llu of its copy", index, len,
				   (unsigned long long)off);
	return 0;
}

uint64_t mig_disks_sent(const struct mig_disks *d)
{
	return d ? d->sent : 0;
}

uint64_t mig_disks_again(const struct mig_disks *d)
{
	return d ? d->again : 0;
}

void mig_disks_free(struct mig_disks *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->n; i++) {
		virtio_blk_track_writes(d->disks[i].b, 0);
		free(d->disks[i].dirty);
	}
	free(d->buf);
	free(d);
}
