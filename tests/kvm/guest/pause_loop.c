/* Counts forever; each step does port I/O both ways, MMIO both ways and a
 * string IN across a page, and checks every answer. The host pauses it at
 * random points (test_vcpu_pause.c): an answer out of sequence means an
 * access was lost or repeated around a pause. */
#include "guest.h"
#include "kvm/guest/pause_loop.h"

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void insb(uint16_t port, volatile uint8_t *dst, uint64_t n)
{
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
}

int guest_main(void)
{
	volatile uint64_t *counter = (volatile uint64_t *)PAUSE_LOOP_COUNTER;
	volatile uint8_t *buf = (volatile uint8_t *)PAUSE_LOOP_BUF;
	uint8_t next = 0;
	for (uint64_t n = 1;; n++) {
		*counter = n;
		outl(PAUSE_LOOP_PORT_SEQ, (uint32_t)n);
		GUEST_ASSERT_EQ(inl(PAUSE_LOOP_PORT_SEQ), (uint32_t)n);
		mmio_write32(PAUSE_LOOP_MMIO, (uint32_t)n);
		GUEST_ASSERT_EQ(mmio_read32(PAUSE_LOOP_MMIO), (uint32_t)n);
		insb(PAUSE_LOOP_PORT_STR, buf, PAUSE_LOOP_BUF_LEN);
		for (int i = 0; i < PAUSE_LOOP_BUF_LEN; i++, next++)
			GUEST_ASSERT_EQ(buf[i], next);
	}
	return 0;
}
