/* i8042 keyboard controller, reduced to what a VMM needs: a reset line for
 * the guest (`reboot=k`: command 0xFE) and just enough of the controller for
 * Linux's i8042 probe to finish without hanging. No keyboard or mouse is
 * attached, so no interrupts are ever raised.
 *
 * Registered at port 0x60 with length 5: offset 0 = data (0x60), offset 4 =
 * command/status (0x64); offsets 1..3 (0x61 is port B / PC speaker) read 0
 * and ignore writes. */
#ifndef NESTVM_DEV_LEGACY_I8042_H
#define NESTVM_DEV_LEGACY_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_PORT_BASE 0x60
#define I8042_NR_PORTS 5

struct device_snapshot; /* core/device_snapshot.h */
struct i8042;

/* reset is called (without the device lock held) each time the guest pulses
 * the CPU reset line. Returns NULL when out of memory. */
struct i8042 *i8042_new(void (*reset)(void *opaque), void *opaque);
void i8042_free(struct i8042 *k);

/* bus_access_fn; only the first byte of a wider access counts. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Saves or restores (s->dir) the controller: command byte, output port,
 * status, output buffer and a command still waiting for its parameter. The
 * section is the device's alone: restore also refuses trailing bytes. A
 * restore checks every value first and changes the device only when all of
 * it is good; it never pulses reset (and there is no interrupt line to set).
 * Returns 0, or -1 with s->failed set. */
int i8042_snapshot(struct i8042 *k, struct device_snapshot *s);

#endif
