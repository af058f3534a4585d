/* What a test guest can use: port and MMIO accessors and the ucall channel
 * back to the host test (port UCALL_PORT, like the kernel selftests' ucall). */
#ifndef NESTVM_TESTS_KVM_GUEST_H
#define NESTVM_TESTS_KVM_GUEST_H

#include <stdint.h>

#include "kvm/ucall.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }

/* The ucall block lives at a fixed guest address; its address goes out. */
static inline void ucall(uint32_t cmd, uint64_t a0, uint64_t a1)
{
	volatile struct ucall *u = (volatile struct ucall *)UCALL_BLOCK_GPA;
	u->cmd = cmd;
	u->args[0] = a0;
	u->args[1] = a1;
	outl(UCALL_PORT, (uint32_t)UCALL_BLOCK_GPA);
}

#define GUEST_ASSERT(c) do { if (!(c)) ucall(UCALL_ABORT, __LINE__, 0); } while (0)
#define GUEST_ASSERT_EQ(a, b) do { uint64_t _a = (a), _b = (b); if (_a != _b) ucall(UCALL_ABORT, __LINE__, _a); } while (0)
#define GUEST_SYNC(v) ucall(UCALL_SYNC, (v), 0)

int guest_main(void);
void guest_done(int status);

#endif
