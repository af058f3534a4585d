/* libFuzzer: a hostile guest at the legacy ports: the 16550A UART
 * (dev/legacy/uart16550.c, COM1) and the i8042 (dev/legacy/i8042.c). The
 * input is a sequence of register accesses, two bytes each: the first is
 * device, offset (in or past the device's ports), direction and width, the
 * second the value written; a UART access of offset 15 is host input instead
 * (the console typing that many bytes). data[0] makes the UART's transmit
 * sink echo what the guest sends back into its input, as a terminal could.
 * Any crash or sanitizer report is a bug, and so is: a read that fills more
 * than its first byte, a register value the chip cannot show, a transmitted
 * byte that is not what the guest wrote, the interrupt line set twice to
 * the same level (or left at a level the registers do not imply), or a
 * state the guest reached that save then restore (the snapshot a saved VM
 * keeps) refuses or changes. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/device_snapshot.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart16550.h"
#include "fuzz_util.h"

/* UART registers and bits (dev/legacy/uart16550.c). */
#define U_RBR 0
#define U_IER 1
#define U_IIR 2
#define U_LCR 3
#define U_MCR 4
#define U_LSR 5
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_THRE_TEMT 0x60

struct irq_rec {
	int level; /* -1: never set */
	unsigned sets;
};

static struct {
	bool echo;
	struct uart16550 *u;
	bool expect_tx;
	uint8_t tx_byte;
	unsigned tx_calls;
	unsigned resets;
} s;

static void set_level(void *opaque, unsigned gsi, int level)
{
	struct irq_rec *r = opaque;
	(void)gsi;
	CHECK(level == 0 || level == 1);
	CHECK(level != r->level); /* only changes reach KVM */
	r->level = level;
	r->sets++;
}

static void tx(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	CHECK(s.expect_tx && len == 1 && buf[0] == s.tx_byte);
	s.tx_calls++;
	/* Called without the UART's lock: it may feed the UART. */
	if (s.echo)
		uart16550_receive(s.u, buf, len);
}

static void reset(void *opaque)
{
	(void)opaque;
	s.resets++;
}

/* Save, restore into a fresh device, save again: the same bytes. */
static void check_uart_snapshot(struct uart16550 *u, const struct irq_rec *live)
{
	struct device_snapshot a, b, r;
	snapshot_init_save(&a);
	CHECK(uart16550_snapshot(u, &a) == 0);
	struct irq_rec rec = { -1, 0 };
	struct uart16550 *copy = uart16550_new((struct irq_line){ .set_level = set_level, .opaque = &rec }, NULL, NULL);
	CHECK(copy);
	snapshot_init_restore(&r, a.buf, a.len);
	CHECK(uart16550_snapshot(copy, &r) == 0);
	/* The restored line's level is the one the live device left. */
	CHECK(rec.level == (live->level < 0 ? 0 : live->level));
	snapshot_init_save(&b);
	CHECK(uart16550_snapshot(copy, &b) == 0);
	CHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len));
	snapshot_free(&a);
	snapshot_free(&b);
	uart16550_free(copy);
}

static void check_i8042_snapshot(struct i8042 *k)
{
	struct device_snapshot a, b, r;
	snapshot_init_save(&a);
	CHECK(i8042_snapshot(k, &a) == 0);
	struct i8042 *copy = i8042_new(reset, NULL);
	CHECK(copy);
	unsigned resets = s.resets;
	snapshot_init_restore(&r, a.buf, a.len);
	CHECK(i8042_snapshot(copy, &r) == 0 && s.resets == resets);
	snapshot_init_save(&b);
	CHECK(i8042_snapshot(copy, &b) == 0);
	CHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len));
	snapshot_free(&a);
	snapshot_free(&b);
	i8042_free(copy);
}

static void uart_access(struct uart16550 *u, unsigned off, bool write, uint8_t *v, uint32_t len)
{
	uint8_t lcr = 0, mcr = 0;
	if (write && off == U_RBR) {
		/* A THR write goes out unless DLAB selects the divisor or the
		 * UART loops back: read LCR and MCR first (no side effects). */
		uart16550_io(u, U_LCR, &lcr, 1, false);
		uart16550_io(u, U_MCR, &mcr, 1, false);
	}
	s.expect_tx = write && off == U_RBR && !(lcr & LCR_DLAB) && !(mcr & MCR_LOOP);
	s.tx_byte = v[0];
	unsigned calls = s.tx_calls;
	uart16550_io(u, off, v, len, write);
	CHECK(s.tx_calls == calls + s.expect_tx);
	s.expect_tx = false;
	if (write)
		return;
	for (uint32_t i = 1; i < len; i++)
		CHECK(v[i] == (off < UART16550_NR_PORTS ? 0 : 0xff));
	if (off >= UART16550_NR_PORTS)
		CHECK(v[0] == 0xff);
	else if (off == U_LSR)
		CHECK((v[0] & LSR_THRE_TEMT) == LSR_THRE_TEMT && !(v[0] & 0x80)); /* sending is instant */
	else if (off == U_IIR)
		CHECK(!(v[0] & 0x30) && (v[0] & 0x0f) <= 6 && ((v[0] & 0xc0) == 0 || (v[0] & 0xc0) == 0xc0));
	else if (off == U_MCR)
		CHECK(!(v[0] & 0xe0));
}

static void i8042_access(struct i8042 *k, unsigned off, bool write, uint8_t *v, uint32_t len)
{
	unsigned resets = s.resets;
	i8042_io(k, off, v, len, write);
	/* Only a write to the data or command port pulses reset; 0xFE always. */
	CHECK(s.resets == resets || (write && (off == 0 || off == 4)));
	CHECK(s.resets == resets + 1 || !(write && off == 4 && v[0] == 0xfe));
	if (write)
		return;
	for (uint32_t i = 1; i < len; i++)
		CHECK(v[i] == 0);
	if (off != 0 && off != 4)
		CHECK(v[0] == 0); /* 0x61..0x63, and past the device */
	else if (off == 4)
		CHECK(!(v[0] & ~0x0du)); /* OBF, SYS, CMD only */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.echo = data[0] & 1;
	data++;
	size--;
	struct irq_rec rec = { -1, 0 };
	s.u = uart16550_new((struct irq_line){ .set_level = set_level, .opaque = &rec }, tx, NULL);
	struct i8042 *k = i8042_new(reset, NULL);
	CHECK(s.u && k);

	for (; size >= 2; data += 2, size -= 2) {
		/* data[0]: bit 7 the i8042, bits 5-6 the width (1, 2, 4, 8
		 * bytes), bit 4 a write, bits 0-3 the offset. */
		unsigned off = data[0] & 15;
		bool write = data[0] & 0x10;
		uint32_t len = 1u << ((data[0] >> 5) & 3);
		uint8_t v[8];
		memset(v, data[1], sizeof(v));
		if (data[0] & 0x80) {
			i8042_access(k, off, write, v, len);
		} else if (off == 15) {
			uint8_t in[255];
			memset(in, 'x', sizeof(in));
			size_t space = uart16550_rx_space(s.u), took = uart16550_receive(s.u, in, data[1]);
			CHECK(space <= UART16550_RX_BUF && took <= data[1] && took <= space);
			CHECK(took == (data[1] < space ? data[1] : space));
		} else {
			uart_access(s.u, off, write, v, len);
		}
	}
	check_uart_snapshot(s.u, &rec);
	check_i8042_snapshot(k);
	uart16550_free(s.u);
	i8042_free(k);
	return 0;
}
