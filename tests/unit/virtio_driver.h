/* The guest driver's side of virtio-mmio for unit tests: register access
 * and the steps of device initialisation (virtio 1.1, 3.1.1), so that each
 * device's test says only what is its own. */
#ifndef NESTVM_TESTS_VIRTIO_DRIVER_H
#define NESTVM_TESTS_VIRTIO_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "core/device.h"
#include "core/device_snapshot.h"
#include "dev/virtio/mmio.h"
#include "util/le.h"

static inline uint32_t vdrv_rd(struct virtio_mmio *t, uint64_t off)
{
	uint8_t b[4];
	virtio_mmio_access(t, off, b, 4, false);
	return le_get32(b);
}

static inline void vdrv_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	le_put32(b, v);
	virtio_mmio_access(t, off, b, 4, true);
}

static inline uint64_t vdrv_device_features(struct virtio_mmio *t)
{
	vdrv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t f = (uint64_t)vdrv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vdrv_wr(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | vdrv_rd(t, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* Reset, acknowledge, accept features, FEATURES_OK (which must stick). */
static inline void vdrv_negotiate(struct virtio_mmio *t, uint64_t features)
{
	vdrv_wr(t, VIRTIO_MMIO_STATUS, 0);
	vdrv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdrv_wr(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	vdrv_wr(t, VIRTIO_MMIO_STATUS,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(vdrv_rd(t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

/* Queue q of size entries with its rings at desc, avail and used (below
 * 4 GiB); it must become ready. */
static inline void vdrv_queue(struct virtio_mmio *t, uint32_t q, uint32_t size, uint64_t desc,
			      uint64_t avail, uint64_t used)
{
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_SEL, q);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_NUM, size);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	vdrv_wr(t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vdrv_rd(t, VIRTIO_MMIO_QUEUE_READY), 1);
}

static inline void vdrv_driver_ok(struct virtio_mmio *t)
{
	vdrv_wr(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* A device's section as its snapshot hook saves it (*buf: free it).
 * Include after <cmocka.h>. */
static inline size_t vdrv_save(const struct device_ops *ops, void *dev, uint8_t **buf)
{
	struct device_snapshot s;
	struct nv_err err = { 0 };
	snapshot_init_save(&s);
	assert_int_equal(ops->snapshot(dev, &s, &err), 0);
	*buf = s.buf;
	return s.len;
}

/* buf[0..len) restored by the hook: 0, or -1 with the failed field copied
 * into field (64 bytes). */
static inline int vdrv_restore(const struct device_ops *ops, void *dev, const uint8_t *buf, size_t len,
			       char *field)
{
	struct device_snapshot s;
	struct nv_err err = { 0 };
	snapshot_init_restore(&s, buf, len);
	int rc = ops->snapshot(dev, &s, &err);
	if (rc < 0) {
		assert_true(s.failed);
		strcpy(field, s.failed_field);
	}
	return rc;
}

#endif
