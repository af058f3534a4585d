/* virtio-net's state in a snapshot (device_ops.snapshot): one function,
 * both directions, so the field order cannot drift. */
#include <string.h>

#include "core/device_snapshot.h"
#include "dev/virtio/net_private.h"
#include "util/le.h"

/* What a paused adapter holds that the guest can observe, beyond the
 * transport: the link status it was shown, a TX frame the backend had no
 * room for (its chain is popped but not used: lost, the guest's TX would
 * wait for it for ever) and a received frame the RX ring could not take
 * yet. The MAC comes from the settings and must be the one saved. The
 * switch connection is not state: the new process has its own (or none,
 * and reconnects); if its link differs from what the guest was shown, the
 * guest is told as of any link change, once the device runs again.
 * Statistics are the process's, not the guest's. */
int virtio_net_snapshot(void *dev, struct device_snapshot *s, struct nv_err *err)
{
	(void)err;
	struct virtio_net *n = dev;
	bool restore = s->dir == SNAPSHOT_RESTORE;
	/* The frames pass through copies: a restore that fails half-way
	 * leaves the device's buffers alone. */
	uint8_t tx_frame[NET_FRAME_MAX], rx_frame[NET_FRAME_MAX];
	virtio_mmio_lock(n->t);
	uint8_t mac[ETH_ALEN_];
	memcpy(mac, n->config + VIRTIO_NET_CFG_MAC, sizeof(mac));
	bool now_up = le_get16(n->config + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
	bool link_up = now_up;
	bool tx_held = n->tx_held;
	uint16_t tx_head = n->tx_head;
	uint32_t tx_frame_len = 0;
	if (tx_held) {
		tx_frame_len = (uint32_t)(n->tx_len - HDR);
		memcpy(tx_frame, n->tx_buf + HDR, tx_frame_len);
	}
	bool rx_pending = n->rx_pending;
	uint32_t rx_frame_len = 0;
	if (rx_pending) {
		rx_frame_len = (uint32_t)(n->rx_len - HDR);
		memcpy(rx_frame, n->rx_buf + HDR, rx_frame_len);
	}

	snapshot_version(s, 1);
	virtio_mmio_snapshot(n->t, s);
	SNAPSHOT_BYTES(s, mac);
	snapshot_check(s, memcmp(mac, n->config + VIRTIO_NET_CFG_MAC, sizeof(mac)) == 0, "mac");
	SNAPSHOT_BOOL(s, link_up);
	SNAPSHOT_BOOL(s, tx_held);
	if (tx_held) {
		struct virtq *txq = virtio_mmio_queue(n->t, VIRTIO_NET_TXQ);
		SNAPSHOT_U16(s, tx_head);
		snapshot_check(s, tx_head < (txq->ready ? txq->size : VIRTQ_MAX_SIZE), "tx_head");
		SNAPSHOT_U32(s, tx_frame_len);
		if (snapshot_check(s, tx_frame_len >= NET_FRAME_MIN && tx_frame_len <= NET_FRAME_MAX,
				   "tx_frame_len"))
			snapshot_bytes(s, tx_frame, tx_frame_len, "tx_frame");
	}
	SNAPSHOT_BOOL(s, rx_pending);
	if (rx_pending) {
		SNAPSHOT_U32(s, rx_frame_len);
		if (snapshot_check(s, rx_frame_len >= NET_FRAME_MIN && rx_frame_len <= NET_FRAME_MAX,
				   "rx_frame_len"))
			snapshot_bytes(s, rx_frame, rx_frame_len, "rx_frame");
	}
	bool ok = snapshot_done(s);
	if (ok && restore) {
		if (tx_held) {
			memset(n->tx_buf, 0, HDR); /* never looked at again */
			memcpy(n->tx_buf + HDR, tx_frame, tx_frame_len);
			n->tx_len = HDR + tx_frame_len;
			n->tx_head = tx_head;
			n->tx_epoch = virtio_mmio_queue(n->t, VIRTIO_NET_TXQ)->epoch;
			n->tx_held = true;
		}
		if (rx_pending) {
			/* One this process received before the restore came
			 * later than the saved one: it gives way. */
			if (n->rx_pending)
				n->stats.rx_dropped_no_buffer++;
			memset(n->rx_buf, 0, HDR); /* no offloads: flags, gso_type 0 */
			memcpy(n->rx_buf + HDR, rx_frame, rx_frame_len);
			n->rx_len = HDR + rx_frame_len;
			n->rx_pending = true;
		}
		if (link_up != now_up)
			n->link_notify = true;
		/* The I/O thread polls for room for the held frame, delivers the
		 * pending one and tells of the link when not paused. */
		if (tx_held || rx_pending || n->link_notify)
			virtio_net_wake(n);
	}
	virtio_mmio_unlock(n->t);
	return ok ? 0 : -1;
}
