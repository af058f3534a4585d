/* 16550A model: the register sequences Linux's 8250 driver uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "dev/legacy/uart16550.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

struct rec {
	int levels[64]; /* every irq_line_set call, in order */
	int nlevels;
	uint8_t tx[512];
	size_t ntx;
};

static void rec_irq(void *opaque, unsigned gsi, int level)
{
	struct rec *r = opaque;
	assert_int_equal(gsi, 4);
	if (r->nlevels < 64)
		r->levels[r->nlevels++] = level;
}

static void rec_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct rec *r = opaque;
	assert_true(r->ntx + len <= sizeof(r->tx));
	memcpy(r->tx + r->ntx, buf, len);
	r->ntx += len;
}

static int level(const struct rec *r)
{
	return r->nlevels ? r->levels[r->nlevels - 1] : 0;
}

static struct uart16550 *make(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	struct irq_line irq = { .set_level = rec_irq, .opaque = r, .gsi = 4 };
	struct uart16550 *u = uart16550_new(irq, rec_tx, r);
	assert_non_null(u);
	return u;
}

static void wr(struct uart16550 *u, unsigned off, uint8_t v);

/* A port the guest driver has opened: DTR, RTS and OUT2 asserted, so the
 * host may send (flow control). */
static struct uart16550 *make_open(struct rec *r)
{
	struct uart16550 *u = make(r);
	wr(u, 4 /* MCR */, 0x0b);
	return u;
}

static uint8_t rd(struct uart16550 *u, unsigned off)
{
	uint8_t v = 0x5a;
	uart16550_io(u, off, &v, 1, false);
	return v;
}

static void wr(struct uart16550 *u, unsigned off, uint8_t v)
{
	uart16550_io(u, off, &v, 1, true);
}

static void test_reset_state(void **state)
{
	struct rec r;
	struct uart16550 *u = make(&r);
	assert_int_equal(rd(u, LSR), 0x60); /* THRE | TEMT */
	assert_int_equal(rd(u, IIR), 0x01); /* no FIFO, nothing pending */
	assert_int_equal(rd(u, IER), 0);
	assert_int_equal(rd(u, MSR) & 0xf0, 0xb0); /* DCD DSR CTS */
	assert_int_equal(r.nlevels, 0);
	/* Nobody listens before the driver opens the port (RTS low). */
	assert_int_equal(uart16550_rx_space(u), 0);
	wr(u, MCR, 0x0b);
	assert_int_equal(uart16550_rx_space(u), UART16550_RX_BUF);
	uart16550_free(u);
}

/* drivers/tty/serial/8250/8250_port.c autoconfig() and friends. */
static void test_linux_probe_finds_16550a(void **state)
{
	struct rec r;
	struct uart16550 *u = make(&r);

	/* IER: writable low nibble, nothing above. */
	wr(u, IER, 0);
	assert_int_equal(rd(u, IER), 0);
	wr(u, IER, 0x0f);
	assert_int_equal(rd(u, IER), 0x0f);
	wr(u, IER, 0);

	/* Loopback: MSR reflects RTS/OUT2 as CTS/DCD. */
	uint8_t mcr = rd(u, MCR);
	wr(u, MCR, 0x10 | 0x0a);
	assert_int_equal(rd(u, MSR) & 0xf0, 0x90);
	wr(u, MCR, mcr);

	/* Scratch register. */
	wr(u, SCR, 0xa5);
	assert_int_equal(rd(u, SCR), 0xa5);
	wr(u, SCR, 0x5a);
	assert_int_equal(rd(u, SCR), 0x5a);

	/* FIFO type from IIR[7:6] after enabling FIFOs. */
	wr(u, LCR, 0xbf);
	wr(u, 2, 0); /* EFR on a 16650, FCR here */
	wr(u, LCR, 0);
	wr(u, FCR, 0x01);
	assert_int_equal(rd(u, IIR) >> 6, 3);

	/* Not an ST16C650 / 16650: "EFR" reads (IIR) are not 0. */
	wr(u, LCR, 0x80);
	assert_int_not_equal(rd(u, 2), 0);
	wr(u, LCR, 0xbf);
	assert_int_not_equal(rd(u, 2), 0);

	/* Not an XR16C85x: the divisor latch reads back as written. */
	wr(u, LCR, 0x80);
	wr(u, DLL, 0);
	wr(u, DLM, 0);
	assert_int_equal(rd(u, DLL) | rd(u, DLM) << 8, 0);

	/* Not an NS16C552: offset 2 under LCR 0xE0 does not mirror MCR LOOP. */
	wr(u, LCR, 0);
	uint8_t st1 = rd(u, MCR);
	wr(u, MCR, st1 ^ 0x10);
	wr(u, LCR, 0xe0);
	uint8_t st2 = rd(u, 2);
	wr(u, LCR, 0);
	wr(u, MCR, st1);
	assert_int_equal((st2 ^ st1) & 0x10, 0);

	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	wr(u, IER, 0x40);
	assert_int_equal(rd(u, IER) & 0x40, 0);
	wr(u, IER, 0);

	/* size_fifo(): a 16550A holds 16 bytes in loopback (64 = U6 16550A). */
	wr(u, FCR, 0x07);
	wr(u, MCR, 0x10);
	wr(u, LCR, 0x80);
	wr(u, DLL, 1);
	wr(u, DLM, 0);
	wr(u, LCR, 0x03);
	for (int i = 0; i < 256; i++)
		wr(u, THR, (uint8_t)i);
	int count = 0;
	while ((rd(u, LSR) & 0x01) && count < 256) {
		assert_int_equal(rd(u, RBR), count);
		count++;
	}
	assert_int_equal(count, 16);
	assert_int_equal(r.ntx, 0); /* loopback bytes never left the chip */
	wr(u, MCR, 0x0b);

	/* serial8250_do_startup(): THRE must be re-asserted after IER is
	 * rewritten (else UART_BUG_THRE), and be seen at once (UART_BUG_TXEN). */
	wr(u, IER, 0x02);
	assert_true(rd(u, LSR) & 0x40);
	assert_int_equal(rd(u, IIR), 0xc2);
	wr(u, IER, 0);
	wr(u, IER, 0x02);
	assert_int_equal(rd(u, IIR), 0xc2);
	wr(u, IER, 0);
	assert_int_equal(rd(u, IIR), 0xc1);
	assert_int_equal(level(&r), 0);
	uart16550_free(u);
}

static void test_tx_reaches_callback(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	const char *msg = "Linux version 6.1\r\n";
	for (const char *p = msg; *p; p++) {
		assert_true(rd(u, LSR) & 0x20);
		wr(u, THR, (uint8_t)*p);
	}
	assert_int_equal(r.ntx, strlen(msg));
	assert_memory_equal(r.tx, msg, strlen(msg));
	assert_int_equal(rd(u, LSR) & 0x60, 0x60);
	assert_int_equal(r.nlevels, 0); /* interrupts off: line untouched */
	uart16550_free(u);
}

static void test_rx_in_order_with_dr_iir_irq(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	wr(u, FCR, 0x01);
	wr(u, IER, 0x01); /* ERBFI */
	assert_int_equal(r.nlevels, 0);
	/* Until the driver asserts RTS, the host must hold its input. */
	wr(u, MCR, 0x08);
	assert_int_equal(uart16550_rx_space(u), 0);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(rd(u, LSR) & 0x01, 0);
	wr(u, MCR, 0x0b); /* DTR | RTS | OUT2, as Linux does on open */
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(level(&r), 1);
	assert_int_equal(uart16550_rx_space(u), UART16550_RX_BUF - 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd(u, IIR), 0xc4);
		assert_int_equal(rd(u, LSR) & 0x01, 1);
		assert_int_equal(level(&r), 1);
		assert_int_equal(rd(u, RBR), "abc"[i]);
	}
	assert_int_equal(rd(u, LSR) & 0x01, 0);
	assert_int_equal(rd(u, IIR), 0xc1);
	assert_int_equal(level(&r), 0);
	assert_int_equal(r.nlevels, 2); /* one rise, one fall */

	/* A full buffer takes what fits; the driver drains it all. */
	static uint8_t big[UART16550_RX_BUF + 100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(uart16550_receive(u, big, sizeof(big)), UART16550_RX_BUF);
	assert_int_equal(uart16550_rx_space(u), 0);
	assert_int_equal(uart16550_receive(u, big, 1), 0);
	size_t n = 0;
	while (rd(u, LSR) & 0x01) {
		assert_int_equal(rd(u, RBR), big[n]);
		n++;
	}
	assert_int_equal(n, UART16550_RX_BUF);
	assert_false(rd(u, LSR) & 0x02); /* no overrun from host input */
	assert_int_equal(level(&r), 0);

	/* Receiving with ERBFI off sets DR without an interrupt. */
	wr(u, IER, 0);
	int before = r.nlevels;
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"x", 1), 1);
	assert_int_equal(r.nlevels, before);
	assert_true(rd(u, LSR) & 0x01);
	uart16550_free(u);
}

static void test_iir_priorities(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	wr(u, FCR, 0x01);
	/* Loopback: 17 bytes overrun the 16-byte FIFO (line status), leave
	 * data (rx), and MCR changes make modem status deltas. */
	wr(u, MCR, 0x10 | 0x03);
	for (int i = 0; i < 17; i++)
		wr(u, THR, (uint8_t)('A' + i));
	wr(u, IER, 0x0f);
	assert_int_equal(level(&r), 1);
	assert_int_equal(rd(u, IIR), 0xc6); /* line status first */
	assert_int_equal(rd(u, LSR) & 0x03, 0x03); /* OE | DR; reading clears OE */
	assert_int_equal(rd(u, IIR), 0xc4); /* then received data */
	while (rd(u, LSR) & 0x01)
		rd(u, RBR);
	assert_int_equal(rd(u, IIR), 0xc2); /* then THR empty, acknowledged */
	assert_int_equal(level(&r), 1);
	uint8_t msr_iir = rd(u, IIR);
	assert_int_equal(msr_iir, 0xc0); /* then modem status */
	assert_int_equal(rd(u, MSR), 0x30 | 0x08); /* CTS DSR; DCD fell (DDCD) */
	assert_int_equal(rd(u, IIR), 0xc1);
	assert_int_equal(rd(u, MSR) & 0x0f, 0); /* deltas cleared by the read */
	assert_int_equal(level(&r), 0);
	uart16550_free(u);
}

static void test_thre_interrupt(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	wr(u, IER, 0x02);
	assert_int_equal(level(&r), 1); /* THR empty + ETBEI */
	assert_int_equal(rd(u, IIR), 0x02);
	assert_int_equal(level(&r), 0); /* IIR read acknowledged it */
	assert_int_equal(rd(u, IIR), 0x01);

	/* A THR write consumes the holding register, which empties again at
	 * once: a new interrupt, with a fresh edge. */
	wr(u, THR, 'x');
	assert_int_equal(level(&r), 1);
	int n0 = r.nlevels;
	wr(u, THR, 'y'); /* unacknowledged: the write clears it, then it returns */
	assert_int_equal(r.nlevels, n0 + 2);
	assert_int_equal(r.levels[n0], 0);
	assert_int_equal(r.levels[n0 + 1], 1);
	assert_int_equal(rd(u, IIR), 0x02);
	assert_int_equal(level(&r), 0);
	assert_int_equal(r.ntx, 2);

	/* Disabling ETBEI drops it; the line follows. */
	wr(u, IER, 0);
	assert_int_equal(level(&r), 0);
	assert_int_equal(rd(u, IIR), 0x01);
	uart16550_free(u);
}

static void test_divisor_latch(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	wr(u, IER, 0x05);
	wr(u, LCR, 0x83); /* DLAB, 8N1 */
	wr(u, DLL, 0x01); /* 115200 */
	wr(u, DLM, 0x00);
	assert_int_equal(r.ntx, 0); /* not a THR write */
	assert_int_equal(rd(u, DLL), 0x01);
	assert_int_equal(rd(u, DLM), 0x00);
	uart16550_receive(u, (const uint8_t *)"q", 1);
	assert_int_equal(rd(u, DLL), 0x01); /* not RBR */
	assert_true(rd(u, LSR) & 0x01);
	wr(u, LCR, 0x03);
	assert_int_equal(rd(u, IER), 0x05); /* not clobbered by DLM */
	assert_int_equal(rd(u, LCR), 0x03);
	assert_int_equal(rd(u, RBR), 'q');
	wr(u, THR, 'z');
	assert_int_equal(r.ntx, 1);
	assert_int_equal(r.tx[0], 'z');
	uart16550_free(u);
}

static void test_loopback(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	wr(u, FCR, 0x01);
	wr(u, MCR, 0x10 | 0x0f); /* LOOP, DTR RTS OUT1 OUT2 */
	assert_int_equal(rd(u, MSR) & 0xf0, 0xf0);
	wr(u, MCR, 0x10 | 0x0b); /* OUT1 off: trailing edge of RI */
	assert_int_equal(rd(u, MSR), 0xb0 | 0x04);
	wr(u, MCR, 0x10);
	assert_int_equal(rd(u, MSR), 0x0b); /* CTS DSR DCD fell */

	wr(u, THR, 'L');
	wr(u, THR, 'B');
	assert_int_equal(r.ntx, 0);
	/* The outside line is cut while looping back. */
	assert_int_equal(uart16550_rx_space(u), 0);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"no", 2), 0);
	assert_true(rd(u, LSR) & 0x01);
	assert_int_equal(rd(u, RBR), 'L');
	assert_int_equal(rd(u, RBR), 'B');
	assert_false(rd(u, LSR) & 0x01);

	wr(u, MCR, 0x0b);
	assert_int_equal(rd(u, MSR) & 0xf0, 0xb0);
	wr(u, THR, 'T');
	assert_int_equal(r.ntx, 1);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"ok", 2), 2);
	uart16550_free(u);
}

static void test_fifo_clear_and_odd_accesses(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	uart16550_receive(u, (const uint8_t *)"stale", 5);
	wr(u, FCR, 0x07);
	assert_false(rd(u, LSR) & 0x01);
	assert_int_equal(uart16550_rx_space(u), UART16550_RX_BUF);

	uint8_t buf[4] = { 0xaa, 0xbb, 0xcc, 0xdd };
	uart16550_io(u, SCR, buf, 4, true); /* first byte counts */
	memset(buf, 0xee, sizeof(buf));
	uart16550_io(u, SCR, buf, 4, false);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(buf[1] | buf[2] | buf[3], 0);
	uart16550_io(u, SCR, buf, 0, true); /* ignored */
	assert_int_equal(rd(u, SCR), 0xaa);
	uart16550_io(u, 9, buf, 1, false);
	assert_int_equal(buf[0], 0xff);
	uart16550_io(u, 9, buf, 1, true);
	uart16550_io(u, LSR, buf, 1, true); /* LSR/MSR writes ignored */
	assert_int_equal(rd(u, LSR), 0x60);
	uart16550_io(u, SCR, NULL, 1, false);
	uart16550_free(u);
	uart16550_free(NULL);
}

/* The I/O thread receives while a vCPU thread drains: order survives. */
#define STREAM 200000
static void *feeder(void *arg)
{
	struct uart16550 *u = arg;
	uint8_t chunk[64];
	for (size_t sent = 0; sent < STREAM;) {
		size_t n = 0;
		while (n < sizeof(chunk) && sent + n < STREAM) {
			chunk[n] = (uint8_t)((sent + n) % 251);
			n++;
		}
		sent += uart16550_receive(u, chunk, n);
	}
	return NULL;
}

static void test_concurrent_rx_keeps_order(void **state)
{
	struct rec r;
	struct uart16550 *u = make_open(&r);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, feeder, u), 0);
	for (size_t got = 0; got < STREAM;) {
		if (rd(u, LSR) & 0x01) {
			assert_int_equal(rd(u, RBR), got % 251);
			got++;
		}
	}
	pthread_join(t, NULL);
	assert_false(rd(u, LSR) & 0x01);
	uart16550_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test(test_linux_probe_finds_16550a),
		cmocka_unit_test(test_tx_reaches_callback),
		cmocka_unit_test(test_rx_in_order_with_dr_iir_irq),
		cmocka_unit_test(test_iir_priorities),
		cmocka_unit_test(test_thre_interrupt),
		cmocka_unit_test(test_divisor_latch),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_fifo_clear_and_odd_accesses),
		cmocka_unit_test(test_concurrent_rx_keeps_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
