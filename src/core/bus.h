/* Port-I/O and MMIO dispatch. Devices register address ranges before the
 * vCPUs start; the table is read-only afterwards, so dispatch takes no lock.
 * Each device serialises its own state (vCPU threads and the I/O thread may
 * call it concurrently). */
#ifndef NESTVM_CORE_BUS_H
#define NESTVM_CORE_BUS_H

#include <stdbool.h>
#include <stdint.h>

/* offset is relative to the registered base; data holds len bytes
 * (little-endian). On a read the callee fills data. */
typedef void (*bus_access_fn)(void *opaque, uint64_t offset, uint8_t *data,
			      uint32_t len, bool is_write);

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_access_fn fn;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	int count;
};

void bus_init(struct bus *b);
/* -1 on overlap, zero length or a full table. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_access_fn fn, void *opaque);
/* Returns false when no device claims the whole access. Unclaimed reads
 * return all ones, as on real hardware. */
bool bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
