/* 16550A UART (COM1 at 0x3f8, 8 ports), enough for Linux's 8250 driver:
 * autoconfig detects a 16550A, the console and the tty work with interrupts.
 * Transmission is instant (THR and the transmitter are always empty); input
 * from the host waits in a 4 KiB receive buffer that stands for the FIFO.
 *
 * Threads: one mutex inside. vCPU threads call uart16550_io, the I/O thread
 * uart16550_receive / uart16550_rx_space. The interrupt line is set with the
 * mutex held (so levels reach KVM in order); `tx` is called without it, and
 * may call uart16550_receive. */
#ifndef NESTVM_DEV_LEGACY_UART16550_H
#define NESTVM_DEV_LEGACY_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/irq.h"

struct device_snapshot; /* core/device_snapshot.h */

#define UART16550_NR_PORTS 8
#define UART16550_RX_BUF 4096

struct uart16550;

/* tx receives each byte the guest transmits (not the loopback ones).
 * Returns NULL when out of memory. */
struct uart16550 *uart16550_new(struct irq_line irq,
				void (*tx)(void *opaque, const uint8_t *buf, size_t len),
				void *tx_opaque);
void uart16550_free(struct uart16550 *u);

/* bus_access_fn over the 8 ports; only the first byte of a wider access
 * counts (the rest of a read is 0). */
void uart16550_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Host input for the guest: returns how many bytes were taken (0 when the
 * buffer is full or the UART is in loopback mode, where the line is cut). */
size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len);
size_t uart16550_rx_space(struct uart16550 *u);

/* Saves or restores (s->dir) everything the guest can observe: registers,
 * latched line/modem status, the pending receive bytes (in order, as a count
 * then the bytes). The section is the device's alone: restore also refuses
 * trailing bytes. A restore checks every value first and changes the device
 * only when all of it is good; then it sets the interrupt line to the level
 * the restored registers imply (the interrupt controller's pin is restored
 * on its own and must agree). Returns 0, or -1 with s->failed set. */
int uart16550_snapshot(struct uart16550 *u, struct device_snapshot *s);

#endif
