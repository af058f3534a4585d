/* Split virtqueue (virtio 1.x, section 2.7), device side. Everything in the
 * rings is guest-controlled: indices, addresses and lengths are checked before
 * use and a malformed ring marks the queue broken instead of trusting it.
 * A virtq is not locked itself; the transport serialises access to it. */
#ifndef NESTVM_DEV_VIRTIO_VIRTQ_H
#define NESTVM_DEV_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/guest_mem.h"

struct device_snapshot; /* core/device_snapshot.h */

/* Feature bits that concern the ring layer or every device. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Largest queue we accept (QueueNumMax) and the most descriptors, direct plus
 * indirect, one chain may span. */
#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_CHAIN 256

struct virtq_buf {
	uint8_t *host; /* inside guest RAM, valid for len bytes */
	uint32_t len;  /* never 0: zero-length descriptors are dropped */
	bool writable;
};

/* A popped descriptor chain: readable buffers first, then writable ones. */
struct virtq_chain {
	uint16_t head;
	uint16_t nbufs;
	uint16_t nreadable; /* bufs[0..nreadable) readable, the rest writable */
	uint64_t readable_len;
	uint64_t writable_len;
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

struct virtq {
	const struct guest_mem *mem;
	/* Programmed by the driver through the transport while not ready. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	bool ready;
	bool broken; /* malformed ring seen: pops fail until reset */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */

	uint16_t last_avail_idx; /* next avail entry to consume */
	uint16_t used_idx;       /* shadow of used->idx */
	uint16_t signalled_used; /* used_idx at the last should_notify */
	/* Bumped by every enable: a head a device holds from an older epoch
	 * belongs to a ring the driver has since taken away (QueueReady=0). */
	uint32_t epoch;

	/* Host views of the rings, resolved once by virtq_enable(). */
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
};

/* Zero the queue and bind it to guest memory (size defaults to the max). */
void virtq_init(struct virtq *q, const struct guest_mem *mem);
/* Back to the post-init state: not ready, not broken, addresses cleared. */
void virtq_reset(struct virtq *q);
/* Make the queue live with the negotiated features. Checks the size (power of
 * two, <= VIRTQ_MAX_SIZE), the ring alignment and that all three rings lie in
 * RAM. On failure the queue stays not ready, is marked broken and -1 returns. */
int virtq_enable(struct virtq *q, uint64_t features);
/* Stop using the queue (QueueReady = 0); the indices restart at 0. */
void virtq_disable(struct virtq *q);

/* Saves or restores the queue (s->dir says which): geometry, ready, broken,
 * the ring features it was enabled with and the three indices. A ready
 * queue being restored must pass virtq_enable's checks and use no ring
 * feature outside `features` (those the transport offers: the driver may
 * rewrite its own after enabling a queue, so they need not match); its host
 * views are resolved again and its indices kept. A queue not ready has a
 * size QueueNum can hold and its indices at 0. A failed restore leaves q
 * unchanged and names the field ("desc_gpa", "size", ...). Guest RAM is not
 * read. 0, or -1 (s->failed). */
int virtq_snapshot(struct virtq *q, uint64_t features, struct device_snapshot *s);

/* 1: a chain was popped into *c; 0: nothing available (or not ready);
 * -1: the ring is malformed, the queue is now broken. */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Return chain `head` to the driver with `written` bytes written into it.
 * -1 if the queue is not ready/broken or head is out of range. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Give back the last n popped chains, unused: the next pops return them
 * again. For a device that finds it cannot use them yet (a frame that does
 * not fit, a full backend). n must not exceed the chains popped since the
 * last push of the same entries; avail_event is left alone, so the driver
 * still kicks when it adds more. */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Return n chains at once: all used elements are written before used->idx
 * moves, so the driver sees all of them or none (mergeable RX buffers).
 * -1 (nothing written) if the queue is not ready/broken, a head is out of
 * range or n exceeds the queue size. */
int virtq_push_batch(struct virtq *q, const uint16_t *heads, const uint32_t *written,
		     unsigned n);
/* After one or more pushes: does the driver want an interrupt? Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT or, with EVENT_IDX, used_event. */
bool virtq_should_notify(struct virtq *q);
/* Device-detected protocol violation (e.g. a request without a status byte). */
void virtq_mark_broken(struct virtq *q);

/* Copy between a chain's readable (read) or writable (write) byte stream and a
 * host buffer, starting `off` bytes into that stream. Return bytes copied. */
size_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, size_t len);
/* Describe [off, off+len) of the readable or writable stream as iovecs.
 * Returns the iovec count, or -1 if the range is not inside the stream or
 * needs more than max entries. */
int virtq_chain_iov(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		    struct iovec *iov, int max);

#endif
