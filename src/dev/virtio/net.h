/* virtio-net (virtio 1.1, section 5.1) on a virtio-mmio transport, backed by
 * a file descriptor with message-per-frame semantics (a switch port: a
 * SOCK_SEQPACKET socket, each message one Ethernet frame without a virtio
 * header). Queues: receive (0) and transmit (1); no control queue.
 *
 * TX runs on the vCPU thread that kicks the queue. RX runs on one I/O thread
 * per adapter, which also resumes TX when the backend was full and
 * reconnects a backend that went away. */
#ifndef NESTVM_DEV_VIRTIO_NET_H
#define NESTVM_DEV_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guest_mem.h"
#include "core/irq.h"
#include "dev/virtio/mmio.h"
#include "dev/virtio/virtio_device.h"
#include "util/eth.h"
#include "util/err.h"

#define VIRTIO_ID_NET 1

#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
/* struct virtio_net_hdr with num_buffers (always with VERSION_1). */
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_NUM_BUFFERS 10

/* Config space offsets (struct virtio_net_config). */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_MAX_PAIRS 8
#define VIRTIO_NET_CFG_MTU 10
#define VIRTIO_NET_CFG_LEN 12

/* A new backend fd after the old one failed, or -1 to try again in a second.
 * Called on the adapter's I/O thread; it may block (a switch daemon being
 * started) but delays only this adapter. */
typedef int (*virtio_net_reconnect_fn)(void *opaque);

struct virtio_net_config {
	struct mac_addr mac;
	int fd; /* the device owns it from virtio_net_new on, even on failure */
	virtio_net_reconnect_fn reconnect; /* may be NULL: the link stays down */
	void *reconnect_opaque;
};

struct virtio_net_stats {
	uint64_t rx_frames;            /* delivered to the guest */
	uint64_t tx_frames;            /* sent to the backend */
	uint64_t tx_dropped_malformed; /* a chain not 12 + NET_FRAME_MIN..MAX bytes */
	uint64_t tx_dropped_link_down; /* no backend, or it failed on send */
	uint64_t rx_dropped_oversize;  /* backend frame above NET_FRAME_MAX */
	uint64_t rx_dropped_runt;      /* backend frame below NET_FRAME_MIN */
	uint64_t rx_dropped_no_buffer; /* driver not ready, or buffers that can never fit */
	uint64_t reconnects;           /* times a new backend was brought up */
	uint64_t announce_frames;      /* RARP announcements sent (virtio_net_announce) */
};

extern const struct virtio_device_type virtio_net_type;

/* Starts the I/O thread. NULL with err on failure (the fd is closed). */
struct virtio_net *virtio_net_new(const struct guest_mem *mem, struct irq_line irq,
				  const struct virtio_net_config *cfg, struct nv_err *err);
/* Register this on the MMIO bus with virtio_mmio_access, VIRTIO_MMIO_WINDOW. */
struct virtio_mmio *virtio_net_transport(struct virtio_net *n);
void virtio_net_stats(struct virtio_net *n, struct virtio_net_stats *out);
bool virtio_net_link_up(struct virtio_net *n);
/* The adapter moved (a migrated or restored VM): over the next 0.8 s the
 * I/O thread sends ETH_ANNOUNCE_ROUNDS RARP frames from its MAC to the
 * backend (util/eth_announce.h), so the switch learns its port at once.
 * Paused, the rounds wait. Again while rounds remain: they start over. */
void virtio_net_announce(struct virtio_net *n);
/* Stops and joins the I/O thread, closes the backend, frees the transport.
 * NULL is fine. */
void virtio_net_free(struct virtio_net *n);

#endif
