/* pvpanic (ACPI id QEMU0001, one I/O port): Linux's pvpanic driver writes
 * bit 0 when the guest panics. Reads advertise the events we understand. */
#ifndef NESTVM_DEV_PLATFORM_PVPANIC_H
#define NESTVM_DEV_PLATFORM_PVPANIC_H

#include <stdbool.h>
#include <stdint.h>

#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x1
#define PVPANIC_CRASH_LOADED 0x2

void pvpanic_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
