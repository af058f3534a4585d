/* libFuzzer: a hostile guest driving virtio-blk. The input is split into
 * guest RAM contents and a script of MMIO register writes (and queue
 * notifies), so the fuzzer controls rings, descriptors, indirect tables,
 * request headers and the register sequence. Guest RAM has a part at 0 and
 * one at 4 GiB (fuzz_util.h), so addresses above 4 GiB are met too. Any
 * crash, sanitizer report or hang is a bug: nothing a guest writes may take
 * the VMM down. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/guest_mem.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/mmio.h"
#include "fuzz_mmio.h"
#include "fuzz_util.h"

static char image[64];

static void remove_image(void)
{
	unlink(image);
}

/* The registers a driver writes, so that most records mean something. */
static const uint16_t regs[] = {
	VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY,
	VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
	VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
	VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_CONFIG,
	VIRTIO_MMIO_CONFIG + 8, VIRTIO_MMIO_QUEUE_NOTIFY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!image[0]) {
		strcpy(image, "/tmp/nestvm-fuzz-blk-XXXXXX");
		int fd = mkstemp(image);
		if (fd < 0 || ftruncate(fd, 64 * 1024) < 0)
			abort();
		close(fd);
		atexit(remove_image); /* a run leaves no file behind */
	}
	if (size < 1)
		return 0;
	/* data[0]: number of 5-byte register records; then the records; the
	 * rest is guest RAM (rings, descriptors, requests), zero-padded. */
	size_t nrec = data[0];
	data++;
	size--;
	if (nrec * 5 > size)
		nrec = size / 5;
	const uint8_t *rec = data;
	data += nrec * 5;
	size -= nrec * 5;
	struct guest_mem mem;
	fuzz_guest_ram(&mem, data, size);
	struct irq_line irq = { .set_level = fuzz_noop_irq };
	struct virtio_blk *b = virtio_blk_new(&mem, irq, image, nrec & 1, NULL);
	if (!b)
		abort();
	struct virtio_mmio *t = virtio_blk_transport(b);
	for (size_t i = 0; i < nrec; i++, rec += 5)
		fuzz_mmio_record(t, rec, regs, sizeof(regs) / sizeof(regs[0]));
	virtio_blk_free(b);
	return 0;
}
