/* virtio-balloon: a guest gives memory back to the host (balloon.c). The
 * type is listed in virtio_types.c (`--device balloon`); the functions here
 * are for the machine and for tests. */
#ifndef NESTVM_DEV_VIRTIO_BALLOON_H
#define NESTVM_DEV_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/virtio/virtio_device.h"

struct virtio_balloon;

/* What the balloon has seen since it was made. */
struct virtio_balloon_counters {
	uint64_t inflated_pages; /* frames given on the inflate queue */
	uint64_t deflated_pages; /* frames taken back */
	uint64_t reported_bytes; /* free memory the guest reported */
	uint64_t released_bytes; /* host memory released for either */
	uint64_t refused;        /* frames, ranges or buffers that were not whole pages of RAM */
	uint32_t target_pages;   /* the host's num_pages */
	uint32_t actual_pages;   /* the driver's actual */
};

/* The guest's statistics (virtio 1.1, 5.5.6.3; memory in bytes), as its
 * driver last sent them: claims, for a policy to weigh. */
enum {
	VIRTIO_BALLOON_S_SWAP_IN, VIRTIO_BALLOON_S_SWAP_OUT, VIRTIO_BALLOON_S_MAJFLT,
	VIRTIO_BALLOON_S_MINFLT, VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT,
	VIRTIO_BALLOON_S_AVAIL, VIRTIO_BALLOON_S_CACHES, VIRTIO_BALLOON_S_HTLB_PGALLOC,
	VIRTIO_BALLOON_S_HTLB_PGFAIL, VIRTIO_BALLOON_STAT_COUNT
};
struct virtio_balloon_stats {
	uint64_t updates; /* buffers received; 0: none yet */
	uint32_t present; /* bit per tag sent */
	uint64_t value[VIRTIO_BALLOON_STAT_COUNT];
	/* Negotiated: the guest's MemTotal then still counts the balloon, */
	bool deflate_on_oom;
	/* as large as the driver said when the figures came (the figures and
	 * the balloon of one instant: it moves between two reports). */
	uint32_t actual_pages;
};

struct virtio_balloon *virtio_balloon_new(const struct guest_mem *mem, struct irq_line irq);
void virtio_balloon_free(struct virtio_balloon *b);
struct virtio_mmio *virtio_balloon_transport(struct virtio_balloon *b);
/* The host's target: the guest should give this much (rounded down to
 * pages); the driver hears of it through a config change. */
void virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes);
void virtio_balloon_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out);
/* Hands the driver's stats buffer back so that it sends fresh figures (a
 * no-op until it gave one). */
void virtio_balloon_request_stats(struct virtio_balloon *b);
void virtio_balloon_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out);

#endif
