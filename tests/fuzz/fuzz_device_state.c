/* libFuzzer: a hostile state file's sections, restored into fresh devices
 * (the UART, the i8042, virtio-rng and virtio-blk over guest RAM the input
 * also fills) and parsed as a vCPU's state; a restored device is then used
 * (its registers read, its queue kicked), since a restore that accepts a
 * ring it cannot use safely is as bad as a crash. data[0] picks the target;
 * the rest is the section. Any crash, sanitizer report or hang is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/device.h"
#include "core/device_snapshot.h"
#include "core/guest_mem.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart16550.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/mmio.h"
#include "dev/virtio/virtio_device.h"
#include "state/cpu_state.h"

#define RAM (64 * 1024)

static void noop_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static void noop_tx(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static void noop_reset(void *opaque)
{
	(void)opaque;
}

static char image[64];

static void remove_image(void)
{
	unlink(image);
}

static void use_uart(struct uart16550 *u)
{
	for (uint64_t r = 0; r < UART16550_NR_PORTS; r++) {
		uint8_t b = 0;
		uart16550_io(u, r, &b, 1, false);
	}
	uint8_t in[8] = "abcdefg";
	uart16550_receive(u, in, sizeof(in));
}

static void use_virtio(struct virtio_mmio *t)
{
	static const uint16_t reads[] = { VIRTIO_MMIO_STATUS, VIRTIO_MMIO_INTERRUPT_STATUS,
					  VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_READY,
					  VIRTIO_MMIO_CONFIG_GENERATION, VIRTIO_MMIO_CONFIG };
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		uint8_t v[4] = { 0 };
		virtio_mmio_access(t, reads[i], v, 4, false);
	}
	for (uint32_t q = 0; q < 2; q++) {
		uint8_t v[4] = { (uint8_t)q, 0, 0, 0 };
		virtio_mmio_access(t, VIRTIO_MMIO_QUEUE_NOTIFY, v, 4, true);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	if (!ram) {
		ram = aligned_alloc(4096, RAM);
		strcpy(image, "/tmp/nestvm-fuzz-state-XXXXXX");
		int fd = mkstemp(image);
		if (!ram || fd < 0 || ftruncate(fd, 64 * 1024) < 0)
			abort();
		close(fd);
		atexit(remove_image); /* a run leaves no file behind */
	}
	if (size < 1)
		return 0;
	const uint8_t *sec = data + 1;
	size_t len = size - 1;
	/* The rings live in RAM the section points into: fill it from the
	 * input too, so restored queues meet non-trivial descriptors. */
	memset(ram, 0, RAM);
	memcpy(ram, sec, len < RAM ? len : RAM);
	struct guest_mem mem;
	guest_mem_init_over(&mem, ram, RAM);
	struct irq_line irq = { .set_level = noop_irq };
	struct device_snapshot s;
	snapshot_init_restore(&s, sec, len);
	struct nv_err err = { 0 };
	switch (data[0] % 5) {
	case 0: {
		struct uart16550 *u = uart16550_new(irq, noop_tx, NULL);
		if (uart16550_snapshot(u, &s) == 0)
			use_uart(u);
		uart16550_free(u);
		break;
	}
	case 1: {
		struct i8042 *k = i8042_new(noop_reset, NULL);
		if (i8042_snapshot(k, &s) == 0)
			for (uint64_t r = 0; r < I8042_NR_PORTS; r++) {
				uint8_t b = 0;
				i8042_io(k, r, &b, 1, false);
			}
		i8042_free(k);
		break;
	}
	case 2:
	case 3: {
		const struct virtio_device_type *t = virtio_device_type_find(data[0] % 5 == 2 ? "rng" : "blk");
		struct virtio_blk_spec spec = { .path = image };
		void *dev = t->create(&mem, irq, data[0] % 5 == 3 ? &spec : NULL, &err);
		if (!dev)
			abort();
		if (t->ops->pause)
			t->ops->pause(dev);
		if (t->ops->snapshot(dev, &s, &err) == 0) {
			if (t->ops->resume)
				t->ops->resume(dev);
			use_virtio(t->transport(dev));
		}
		t->ops->destroy(dev);
		break;
	}
	default: {
		struct cpu_state st;
		memset(&st, 0, sizeof(st));
		if (cpu_state_snapshot(&st, &s) == 0)
			(void)cpu_state_in_guest_mode(&st);
		cpu_state_free(&st);
		break;
	}
	}
	return 0;
}
