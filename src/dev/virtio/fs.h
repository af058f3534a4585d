/* virtio-fs (virtio 1.2, section 5.11; device id 26): a host folder the
 * guest mounts (`mount -t virtiofs TAG /mnt`). The FUSE requests are served
 * by a vhost-user back-end in another process (Debian's virtiofsd): this
 * device is its config space (the tag) and the hand-over of the rings; the
 * back-end reads and writes guest RAM itself, so RAM must be shared
 * (guest_mem_alloc_shared). Queues: hiprio (0) and one request queue (1). */
#ifndef NESTVM_DEV_VIRTIO_FS_H
#define NESTVM_DEV_VIRTIO_FS_H

#include <stdint.h>

#include "dev/virtio/virtio_device.h"

#define VIRTIO_ID_FS 26
#define VIRTIO_FS_TAG_MAX 36 /* bytes, not NUL-terminated when full */
#define VIRTIO_FS_QUEUES 2

struct virtio_fs_spec {
	int socket_fd;   /* connected to the back-end; the device owns it, even on failure */
	const char *tag; /* 1..VIRTIO_FS_TAG_MAX bytes */
	/* Makes fd signalled by the guest's write of qidx to QueueNotify,
	 * inside KVM (an ioeventfd), so a kick reaches the back-end without
	 * an exit to the VMM; during create only. 0 or -errno. NULL (tests),
	 * or a failure: kicks go through the transport's queue_notify. */
	int (*bind_kick)(void *opaque, uint16_t qidx, int fd);
	void *bind_opaque;
};

extern const struct virtio_device_type virtio_fs_type;

struct virtio_fs;
/* The last hand-over or stop that failed ("" none), for tests and logs. */
const char *virtio_fs_last_error(struct virtio_fs *fs);

#endif
