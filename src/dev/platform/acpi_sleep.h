/* The hardware-reduced ACPI sleep control register. Linux powers off by
 * writing (SLP_TYP << 2) | SLP_EN there, with SLP_TYP from the DSDT's \_S5
 * package (5), so 0x34 means "power off". Reads (the status register at the
 * same port) return 0: the guest never waits for a wake event. */
#ifndef NESTVM_DEV_PLATFORM_ACPI_SLEEP_H
#define NESTVM_DEV_PLATFORM_ACPI_SLEEP_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_SLEEP_PORT 0x3c0
#define ACPI_SLEEP_EN 0x20
#define ACPI_SLEEP_TYP_SHIFT 2
#define ACPI_SLEEP_TYP_MASK 0x7
#define ACPI_SLEEP_TYP_S5 5

void acpi_sleep_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
