/* virtio-net's insides, shared by its two files only: net.c (the queues,
 * the backend and the I/O thread) and net_snapshot.c (its saved state). */
#ifndef NESTVM_DEV_VIRTIO_NET_PRIVATE_H
#define NESTVM_DEV_VIRTIO_NET_PRIVATE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/virtio/net.h"
#include "dev/virtio/virtq.h"

#define HDR VIRTIO_NET_HDR_LEN
#define FRAME_BUF (HDR + NET_FRAME_MAX)

struct virtio_net {
	struct virtio_mmio *t;
	/* Everything below is guarded by the transport lock (virtio_mmio_lock),
	 * except where said otherwise. The lock is recursive. */
	uint8_t config[VIRTIO_NET_CFG_LEN];
	int fd; /* the backend; -1 while the link is down */
	struct virtio_net_stats stats;

	/* A TX frame the backend had no room for: its chain stays popped (not
	 * yet used) and the frame stays in tx_buf, copied from the guest once,
	 * until the I/O thread sees POLLOUT. */
	bool tx_held;
	bool tx_more; /* tx_process stopped at its budget: the I/O thread goes on */
	uint16_t tx_head;
	uint32_t tx_epoch; /* the TX queue's epoch when the head was popped */
	size_t tx_len;
	uint8_t tx_buf[FRAME_BUF];

	/* A received frame (header + frame) the RX ring could not take yet.
	 * rx_buf is filled only while !rx_pending, under the lock: by the I/O
	 * thread from rx_in, or by a restore. */
	bool rx_pending;
	size_t rx_len;
	uint8_t rx_buf[FRAME_BUF];
	/* The I/O thread's own: what recv() fills, unlocked. */
	uint8_t rx_in[NET_FRAME_MAX];

	/* Scratch for popping; the lock makes the device single-threaded. */
	struct virtq_chain chain;
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];

	/* Paused (device_ops.pause): the I/O thread leaves guest memory, the
	 * interrupt and the backend alone; a frame it read stays in rx_buf. */
	bool paused;
	/* Restored with another link status than the guest was shown: the
	 * I/O thread tells it (config interrupt) when not paused. */
	bool link_notify;
	/* Announce rounds still to send (virtio_net_announce), the next one
	 * due at announce_at_ms; sent by the I/O thread, never while paused. */
	unsigned announce_left;
	uint64_t announce_at_ms;

	virtio_net_reconnect_fn reconnect;
	void *reconnect_opaque;
	int kick_fd; /* the driver added RX buffers, or TX waits for room */
	int stop_fd;
	pthread_t thread;
	bool thread_started;
	/* The new thread's word to virtio_net_new: confined, or why not. */
	sem_t confined;
	int confine_rc;
	struct nv_err confine_err;
};

struct device_snapshot;

/* Wakes the I/O thread to look at its state again. */
void virtio_net_wake(struct virtio_net *n);
/* device_ops.snapshot: saves or restores what the guest can observe. */
int virtio_net_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err);

#endif
