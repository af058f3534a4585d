/* virtio-blk (virtio 1.1, section 5.2) over a disk image (disk/disk_image.h:
 * raw, a block device, or qcow2 with its chain of differencing disks),
 * on a virtio-mmio transport. One request queue; requests are served
 * synchronously on the vCPU thread that kicked the queue. */
#ifndef NESTVM_DEV_VIRTIO_BLK_H
#define NESTVM_DEV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/irq.h"
#include "dev/virtio/mmio.h"
#include "dev/virtio/virtio_device.h"
#include "util/err.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_SIZE_MAX (1u << 20) /* advertised max segment size */
#define VIRTIO_BLK_SEG_MAX (VIRTQ_MAX_SIZE - 2) /* header and status take two */

/* Config space offsets (struct virtio_blk_config). */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_LEN 60

struct virtio_blk;

/* One disk's settings, the spec virtio_blk_type.create takes. */
struct virtio_blk_spec {
	const char *path;
	bool readonly;
};

extern const struct virtio_device_type virtio_blk_type;

/* Opens the image at path and its backing images (disk_image_open: locked
 * so two VMs cannot write one image). An unopenable, unsupported, corrupt
 * or locked image is an NV_ERR_INPUT naming the path. Capacity is the
 * virtual size rounded down to 512-byte sectors. */
struct virtio_blk *virtio_blk_new(const struct guest_mem *mem, struct irq_line irq,
				  const char *path, bool readonly, struct nv_err *err);
/* The checks virtio_blk_new makes of an image (it opens in that mode, is a
 * regular file or block device, no writer holds it), without keeping it:
 * a bad --disk is named before the VM exists. 0, or -1 with err. */
int virtio_blk_check_image(const char *path, bool readonly, struct nv_err *err);
/* Moves a writable disk onto image top (while the vCPUs are paused): a
 * differencing disk whose chain (from nestvm's records) ends in the image
 * used so far, of the same size. The guest sees the same disk. On failure
 * the disk stays on its old image. 0, or -1 with err. */
int virtio_blk_reopen(struct virtio_blk *b, const char *top, struct nv_err *err);
/* Register this on the MMIO bus with virtio_mmio_access, VIRTIO_MMIO_WINDOW. */
struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b);
/* Capacity in 512-byte sectors. */
uint64_t virtio_blk_capacity(const struct virtio_blk *b);
bool virtio_blk_readonly(const struct virtio_blk *b);
bool virtio_blk_is_qcow2(const struct virtio_blk *b);
/* A live migration's copy of the disk (any thread; serialized with the
 * guest's requests): len bytes at byte offset off, inside the disk. 0 or -1. */
int virtio_blk_copy_read(struct virtio_blk *b, uint64_t off, void *buf, size_t len);
int virtio_blk_copy_write(struct virtio_blk *b, uint64_t off, const void *buf, size_t len);
/* From now on every block (2^block_shift bytes) a guest write touches is
 * marked; 0 stops it. 0, or -1 out of memory. */
int virtio_blk_track_writes(struct virtio_blk *b, unsigned block_shift);
/* ORs the blocks marked since the last take into out (a bitmap of nblocks
 * bits) and clears them; returns how many bits were newly set in out. */
uint64_t virtio_blk_take_written(struct virtio_blk *b, uint64_t *out, uint64_t nblocks);
/* Frees the transport too and closes (unlocks) the image. NULL is fine. */
void virtio_blk_free(struct virtio_blk *b);

#endif
