/* libFuzzer: a hostile guest driving virtio-net. As for virtio-blk, the input
 * is a script of MMIO register writes (feature negotiation, queue set-up,
 * notifies of both queues, resets) plus guest RAM contents, so the fuzzer
 * controls TX and RX rings, descriptors, indirect tables and frame sizes. The
 * backend is a socketpair whose switch end nobody reads (so TX also fills it
 * and waits), or that is closed (link down); a few switch frames arrive for
 * the RX side. Any crash, sanitizer report or hang is a bug. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "dev/virtio/mmio.h"
#include "dev/virtio/net.h"
#include "fuzz_mmio.h"
#include "fuzz_util.h"

static const uint16_t regs[] = {
	VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY,
	VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
	VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
	VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_CONFIG,
	VIRTIO_MMIO_CONFIG + 6, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_QUEUE_NOTIFY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* data[0]: register records (5 bytes each); data[1]: backend mode
	 * (bit 0 small send buffer, bit 1 switch end closed, bits 2-4 how many
	 * switch frames, whose lengths come from the RAM bytes). */
	size_t nrec = data[0];
	uint8_t mode = data[1];
	data += 2;
	size -= 2;
	if (nrec * 5 > size)
		nrec = size / 5;
	const uint8_t *rec = data;
	data += nrec * 5;
	size -= nrec * 5;
	struct guest_mem mem;
	uint8_t *ram = fuzz_guest_ram(&mem, data, size);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (mode & 1) {
		int small = 1; /* the kernel rounds up to its minimum */
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	for (unsigned i = 0; i < ((mode >> 2) & 7u); i++) {
		size_t len = (size_t)ram[i] * 8; /* 0..2040: runts, good, oversized */
		send(sv[1], ram, len, MSG_DONTWAIT);
	}
	if (mode & 2) {
		close(sv[1]);
		sv[1] = -1;
	}
	struct irq_line irq = { .set_level = fuzz_noop_irq };
	struct virtio_net_config cfg = { .mac = { { 0x52, 0x54, 0, 1, 2, 3 } }, .fd = sv[0] };
	struct virtio_net *n = virtio_net_new(&mem, irq, &cfg, NULL);
	if (!n)
		abort();
	struct virtio_mmio *t = virtio_net_transport(n);
	for (size_t i = 0; i < nrec; i++, rec += 5) {
		uint8_t val[4] = { rec[1], rec[2], rec[3], rec[4] };
		uint16_t off = regs[rec[0] % (sizeof(regs) / sizeof(regs[0]))];
		if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
			val[0] &= 1, val[1] = val[2] = val[3] = 0; /* RX or TX */
		virtio_mmio_access(t, off, val, 4, true);
		virtio_mmio_access(t, (uint16_t)(rec[1] % VIRTIO_MMIO_WINDOW) & ~3u, val, 4, false);
	}
	virtio_net_free(n);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}
