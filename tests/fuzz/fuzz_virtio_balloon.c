/* libFuzzer: a hostile guest driving virtio-balloon: frames on the inflate
 * queue outside its RAM or beside it, free page reports of any address and
 * length, statistics buffers of any shape (kept and handed back when the
 * host asks), config writes, and the register sequence, all the fuzzer's. The
 * input is split as for fuzz_virtio_blk: register records, then guest RAM
 * (a part at 0 and one at 4 GiB, fuzz_util.h). Any crash, sanitizer report
 * or hang is a bug, and so is memory released outside guest RAM (ASan sees
 * the host's own buffers zeroed under it only as a later failed check: the
 * canary below). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guest_mem.h"
#include "dev/virtio/balloon.h"
#include "dev/virtio/mmio.h"
#include "fuzz_mmio.h"
#include "fuzz_util.h"

static const uint16_t regs[] = {
	VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY,
	VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
	VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
	VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_CONFIG,
	VIRTIO_MMIO_CONFIG + 4, VIRTIO_MMIO_QUEUE_NOTIFY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t nrec = data[0];
	data++;
	size--;
	if (nrec * 5 > size)
		nrec = size / 5;
	const uint8_t *rec = data;
	data += nrec * 5;
	size -= nrec * 5;
	/* A page of the host's own, beside guest RAM: released, it would
	 * read back as zero. */
	static uint8_t canary[3 * 4096] __attribute__((aligned(4096)));
	memset(canary, 0x5a, sizeof(canary));
	struct guest_mem mem;
	fuzz_guest_ram(&mem, data, size);
	struct irq_line irq = { .set_level = fuzz_noop_irq };
	struct virtio_balloon *b = virtio_balloon_new(&mem, irq);
	if (!b)
		abort();
	struct virtio_mmio *t = virtio_balloon_transport(b);
	for (size_t i = 0; i < nrec; i++, rec += 5) {
		fuzz_mmio_record(t, rec, regs, sizeof(regs) / sizeof(regs[0]));
		if (rec[0] == 0xff)
			virtio_balloon_set_target(b, (uint64_t)rec[2] << 20);
		if (rec[0] == 0xfe)
			virtio_balloon_request_stats(b);
	}
	struct virtio_balloon_counters c;
	virtio_balloon_counters(b, &c);
	CHECK(c.released_bytes % 4096 == 0);
	for (size_t i = 0; i < sizeof(canary); i++)
		CHECK(canary[i] == 0x5a);
	virtio_balloon_free(b);
	return 0;
}
