/* virtio-mmio transport, version 2 only (virtio 1.1, section 4.2). One
 * 0x200-byte window per device: registers below 0x100, device config above.
 * All register state sits behind one recursive mutex per transport, so vCPU
 * threads may access it concurrently and device code may call back in. */
#ifndef NESTVM_DEV_VIRTIO_MMIO_H
#define NESTVM_DEV_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/irq.h"
#include "dev/virtio/virtq.h"

struct device_snapshot; /* core/device_snapshot.h */

#define VIRTIO_MMIO_WINDOW 0x200
#define VIRTIO_MMIO_CONFIG 0x100
#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4e56    /* "NV" */
#define VIRTIO_MMIO_MAX_QUEUES 16

/* Register offsets. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc

/* Device status bits (virtio 1.1, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING 0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

struct virtio_mmio;

struct virtio_device_ops {
	uint32_t device_id;
	uint16_t num_queues; /* 1..VIRTIO_MMIO_MAX_QUEUES */
	/* Device-specific feature bits; the transport adds VERSION_1,
	 * INDIRECT_DESC and EVENT_IDX itself. */
	uint64_t (*features)(void *dev);
	/* off is relative to the config space; data is zeroed beforehand and
	 * off+len <= 0x100. The device must bounds-check against its config. */
	void (*config_read)(void *dev, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint64_t off, const uint8_t *data, uint32_t len);
	/* The driver kicked queue qidx (ready, not broken). Called with the
	 * transport lock held, on the vCPU thread. */
	void (*queue_notify)(void *dev, struct virtio_mmio *t, uint16_t qidx);
	/* Status 0 written: drop in-flight state. Lock held. May be NULL. */
	void (*reset)(void *dev);
	/* The driver set DRIVER_OK: its queues are programmed (a device whose
	 * rings another process serves hands them over now). Lock held, on
	 * the vCPU thread. May be NULL. */
	void (*driver_ok)(void *dev, struct virtio_mmio *t);
};

/* NULL on allocation failure or invalid ops (num_queues out of range).
 * ops and dev must outlive the transport. */
struct virtio_mmio *virtio_mmio_new(const struct guest_mem *mem, struct irq_line irq,
				    const struct virtio_device_ops *ops, void *dev);
void virtio_mmio_free(struct virtio_mmio *t);

/* bus_access_fn; opaque = struct virtio_mmio *. */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write);

/* Queue idx, or NULL if out of range. Only touch it with the lock held
 * (inside queue_notify, or between virtio_mmio_lock/unlock). */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, uint16_t idx);
/* After pushing used entries: interrupt the guest if the ring asks for it.
 * Also turns a broken queue into DEVICE_NEEDS_RESET. */
void virtio_mmio_notify_used(struct virtio_mmio *t, uint16_t qidx);
/* A used-buffer interrupt the device's back-end already decided the guest
 * wants (a vhost-user call: the back-end applied EVENT_IDX itself). */
void virtio_mmio_interrupt(struct virtio_mmio *t);
/* The device failed for good (its back-end went away): NEEDS_RESET and a
 * config interrupt, as for a broken queue. */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);
/* The device config changed: bump ConfigGeneration, and the config
 * interrupt once the driver is ready (DRIVER_OK). */
void virtio_mmio_config_changed(struct virtio_mmio *t);
uint64_t virtio_mmio_driver_features(const struct virtio_mmio *t);
uint32_t virtio_mmio_status(const struct virtio_mmio *t);

/* Saves or restores the transport (s->dir says which), under its lock: its
 * own layout version, Status, the feature selectors, DriverFeatures,
 * QueueSel, InterruptStatus, ConfigGeneration and every queue
 * (virtq_snapshot). A device's snapshot hook calls it inside its section.
 * Restore refuses what the registers could not hold (driver features the
 * device does not offer once FEATURES_OK is set, a live queue that
 * virtq_enable would refuse, ...), commits nothing unless everything checks
 * out, and then drives the interrupt line to the level InterruptStatus
 * implies. Guest RAM must already hold its restored contents for the queues
 * to be used. 0, or -1 with s->failed. */
int virtio_mmio_snapshot(struct virtio_mmio *t, struct device_snapshot *s);

/* For device work outside queue_notify (e.g. an I/O thread). Recursive. */
void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

#endif
