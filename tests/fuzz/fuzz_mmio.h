/* What the virtio fuzz targets share: an interrupt line that goes nowhere,
 * and one 5-byte register record of the fuzzer's script (a register from
 * the target's list and a value), written and then a register read back. */
#ifndef NESTVM_TESTS_FUZZ_MMIO_H
#define NESTVM_TESTS_FUZZ_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "dev/virtio/mmio.h"

static inline void fuzz_noop_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	(void)gsi;
	(void)level;
}

static inline void fuzz_mmio_record(struct virtio_mmio *t, const uint8_t rec[5], const uint16_t *regs,
				    size_t nregs)
{
	uint8_t val[4] = { rec[1], rec[2], rec[3], rec[4] };
	virtio_mmio_access(t, regs[rec[0] % nregs], val, 4, true);
	/* Reads too: the device must answer anything. */
	virtio_mmio_access(t, (uint16_t)(rec[1] % VIRTIO_MMIO_WINDOW) & ~3u, val, 4, false);
}

#endif
