/* What several fuzz targets share: a failed check that says which, and
 * guest RAM laid out as the machine lays out a large guest's. */
#ifndef NESTVM_TESTS_FUZZ_UTIL_H
#define NESTVM_TESTS_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/guest_mem.h"

/* A broken invariant is a crash: libFuzzer keeps the input, and the line
 * (which tests/fuzz/run reports) says what broke. */
#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Guest RAM, 2 x FUZZ_RAM_HALF bytes: the low half at guest-physical 0,
 * the high half at 4 GiB, past the MMIO hole, as the machine lays out a
 * guest with more RAM than fits below the hole (guest_mem_init_over splits
 * only at GUEST_MMIO_HOLE_START, far more RAM than a fuzzer has). So rings,
 * descriptors and buffers may lie above 4 GiB, and one running off the low
 * half must be refused: the halves are two allocations, so ASan sees an
 * access that runs off either. The low half holds data (zero past its
 * end); the high half the bytes after FUZZ_RAM_HALF when data is longer,
 * else the low half's again, so that a short input puts the same rings
 * and buffers above 4 GiB. Returns the low half's host address. */
#define FUZZ_RAM_HALF (32 * 1024)

static inline uint8_t *fuzz_guest_ram(struct guest_mem *m, const uint8_t *data, size_t size)
{
	static uint8_t *low, *high;
	if (!low) {
		low = malloc(FUZZ_RAM_HALF);
		high = malloc(FUZZ_RAM_HALF);
		if (!low || !high)
			abort();
	}
	size_t n = size < FUZZ_RAM_HALF ? size : FUZZ_RAM_HALF;
	memset(low, 0, FUZZ_RAM_HALF);
	if (n)
		memcpy(low, data, n);
	if (size > FUZZ_RAM_HALF) {
		memset(high, 0, FUZZ_RAM_HALF);
		memcpy(high, data + n, size - n < FUZZ_RAM_HALF ? size - n : FUZZ_RAM_HALF);
	} else {
		memcpy(high, low, FUZZ_RAM_HALF);
	}
	memset(m, 0, sizeof(*m)); /* no mapping: nothing to unmap */
	m->ram_size = 2 * FUZZ_RAM_HALF;
	m->regions[0] = (struct guest_mem_region){ .gpa = 0, .size = FUZZ_RAM_HALF, .host = low };
	m->regions[1] = (struct guest_mem_region){
		.gpa = GUEST_MMIO_HOLE_END, .size = FUZZ_RAM_HALF, .host = high
	};
	m->nregions = 2;
	return low;
}

#endif
