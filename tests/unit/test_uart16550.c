/* 16550A model: the register sequences Linux's 8250 driver uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "core/device_snapshot.h"
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

/* Snapshots. The section's layout, where the refusal tests poke it: u32
 * version, then one byte each for IER LCR MCR MSR SCR DLL DLM, the latched
 * line errors, FIFO enable, THRE pending and the last byte read, then a u32
 * count of pending input and the bytes. */
enum { SNAP_IER = 4, SNAP_MCR = 6, SNAP_MSR = 7, SNAP_LSR_ERRORS = 11, SNAP_THRI = 13,
       SNAP_RX_COUNT = 15, SNAP_RX = 19 };

static void save(struct uart16550 *u, struct device_snapshot *s)
{
	snapshot_init_save(s);
	assert_int_equal(uart16550_snapshot(u, s), 0);
	assert_false(s->failed);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Restores buf[0..len) into a fresh device that must refuse it, with
 * `field` named; the device is left as created and its line untouched. */
static void assert_refused(const uint8_t *buf, size_t len, const char *field)
{
	struct rec r;
	struct uart16550 *u = make(&r);
	struct device_snapshot s;
	snapshot_init_restore(&s, buf, len);
	assert_int_equal(uart16550_snapshot(u, &s), -1);
	assert_true(s.failed);
	if (field)
		assert_string_equal(s.failed_field, field);
	assert_false(snapshot_done(&s));
	snapshot_free(&s);
	assert_int_equal(r.nlevels, 0);
	assert_int_equal(rd(u, LCR), 0x03);
	assert_int_equal(rd(u, MCR), 0x08);
	assert_int_equal(rd(u, IER), 0);
	assert_int_equal(rd(u, LSR), 0x60);
	wr(u, LCR, 0x80);
	assert_int_equal(rd(u, DLL), 0x0c);
	uart16550_free(u);
}

/* A port in the middle of things: a divisor, line settings, FIFOs on,
 * scratch, every interrupt enabled with all four causes pending (overrun,
 * data, THR empty, a CTS delta), and 21 bytes of input that wrap around the
 * end of the receive ring. */
static struct uart16550 *make_busy(struct rec *r)
{
	struct uart16550 *u = make_open(r);
	static uint8_t fill[UART16550_RX_BUF - 10];
	memset(fill, '.', sizeof(fill));
	assert_int_equal(uart16550_receive(u, fill, sizeof(fill)), sizeof(fill));
	for (size_t i = 0; i < sizeof(fill); i++)
		rd(u, RBR);
	wr(u, LCR, 0x80 | 0x1b);
	wr(u, DLL, 0x01);
	wr(u, DLM, 0x02);
	wr(u, LCR, 0x1b);
	wr(u, FCR, 0x01);
	wr(u, SCR, 0xa7);
	wr(u, MCR, 0x10 | 0x0b);
	for (int i = 0; i < 17; i++) /* 16 stay, the 17th overruns */
		wr(u, THR, (uint8_t)('A' + i));
	wr(u, MCR, 0x10 | 0x09); /* RTS off in loopback: CTS falls */
	wr(u, MCR, 0x0b);
	assert_int_equal(uart16550_receive(u, (const uint8_t *)"hello", 5), 5);
	wr(u, IER, 0x0f);
	assert_int_equal(level(r), 1);
	assert_int_equal(r->ntx, 0);
	return u;
}

#define SEQ_MAX 64
struct seq {
	uint8_t v[SEQ_MAX]; /* every value read */
	int level[SEQ_MAX]; /* the line after each read */
	int n;
};

static void seq_rd(struct seq *q, struct uart16550 *u, const struct rec *r, unsigned off)
{
	assert_true(q->n < SEQ_MAX);
	q->v[q->n] = rd(u, off);
	q->level[q->n++] = level(r);
}

/* What a guest sees reading everything (reads have side effects: IIR
 * acknowledges THRE, LSR clears errors, MSR deltas, RBR takes input). */
static void read_all(struct uart16550 *u, const struct rec *r, struct seq *q)
{
	memset(q, 0, sizeof(*q));
	seq_rd(q, u, r, LCR);
	seq_rd(q, u, r, MCR);
	seq_rd(q, u, r, SCR);
	seq_rd(q, u, r, IER);
	wr(u, LCR, 0x80 | 0x1b);
	seq_rd(q, u, r, DLL);
	seq_rd(q, u, r, DLM);
	wr(u, LCR, 0x1b);
	seq_rd(q, u, r, IIR);
	seq_rd(q, u, r, LSR);
	seq_rd(q, u, r, IIR);
	seq_rd(q, u, r, MSR);
	for (int i = 0; i < 22; i++) /* every pending byte, then the last again */
		seq_rd(q, u, r, RBR);
	seq_rd(q, u, r, LSR);
	seq_rd(q, u, r, IIR);
	seq_rd(q, u, r, IIR);
	seq_rd(q, u, r, MSR);
}

static void test_snapshot_round_trip(void **state)
{
	struct rec ra, rb, rc;
	struct uart16550 *a = make_busy(&ra);
	struct device_snapshot s, again;
	save(a, &s);
	assert_int_equal(s.len, SNAP_RX + 21);

	struct uart16550 *b = make(&rb);
	struct device_snapshot in;
	snapshot_init_restore(&in, s.buf, s.len);
	assert_int_equal(uart16550_snapshot(b, &in), 0);
	assert_true(snapshot_done(&in));
	snapshot_free(&in);
	/* The line is driven once, to the level the registers imply. */
	assert_int_equal(rb.nlevels, 1);
	assert_int_equal(rb.levels[0], 1);
	assert_int_equal(uart16550_rx_space(b), UART16550_RX_BUF - 21);

	/* Saving the copy gives the same section (the input now unwrapped). */
	save(b, &again);
	assert_int_equal(again.len, s.len);
	assert_memory_equal(again.buf, s.buf, s.len);
	snapshot_free(&again);

	struct seq qa, qb;
	read_all(a, &ra, &qa);
	read_all(b, &rb, &qb);
	assert_int_equal(qa.n, qb.n);
	assert_memory_equal(qa.v, qb.v, (size_t)qa.n);
	assert_memory_equal(qa.level, qb.level, sizeof(int) * (size_t)qa.n);
	/* And it is the state that was built, not two power-on devices. */
	const uint8_t want[] = { 0x1b, 0x0b, 0xa7, 0x0f, 0x01, 0x02, 0xc6, 0x63, 0xc4, 0xb1 };
	assert_memory_equal(qb.v, want, sizeof(want));
	const char *input = "ABCDEFGHIJKLMNOPhello";
	assert_memory_equal(qb.v + sizeof(want), input, 21);
	assert_int_equal(qb.v[sizeof(want) + 21], 'o'); /* empty: the last byte again */
	const uint8_t tail[] = { 0x60, 0xc2, 0xc1, 0xb0 };
	assert_memory_equal(qb.v + sizeof(want) + 22, tail, sizeof(tail));
	assert_int_equal(qb.level[0], 1);
	assert_int_equal(qb.level[qb.n - 1], 0);
	snapshot_free(&s);

	/* Drained: the last byte read survives, the line is driven low. */
	save(a, &s);
	assert_int_equal(s.len, SNAP_RX);
	struct uart16550 *c = make(&rc);
	snapshot_init_restore(&in, s.buf, s.len);
	assert_int_equal(uart16550_snapshot(c, &in), 0);
	snapshot_free(&in);
	snapshot_free(&s);
	assert_int_equal(rc.nlevels, 1);
	assert_int_equal(rc.levels[0], 0);
	assert_int_equal(rd(c, RBR), 'o');
	assert_false(rd(c, LSR) & 0x01);
	/* It goes on working: input, its interrupt, output. */
	assert_int_equal(uart16550_receive(c, (const uint8_t *)"z", 1), 1);
	assert_int_equal(level(&rc), 1);
	assert_int_equal(rd(c, RBR), 'z');
	assert_int_equal(level(&rc), 0);
	wr(c, THR, '!');
	assert_int_equal(rc.ntx, 1);
	assert_int_equal(rc.tx[0], '!');

	uart16550_free(a);
	uart16550_free(b);
	uart16550_free(c);
}

static void test_snapshot_restore_refuses(void **state)
{
	struct rec r;
	struct uart16550 *u = make_busy(&r);
	struct device_snapshot s;
	save(u, &s);
	uart16550_free(u);

	/* Every prefix is too short, down to nothing. */
	for (size_t len = 0; len < s.len; len++)
		assert_refused(s.buf, len, NULL);

	static uint8_t buf[SNAP_RX + UART16550_RX_BUF + 2];
	memcpy(buf, s.buf, s.len);
	/* One byte the layout does not know. */
	buf[s.len] = 0;
	assert_refused(buf, s.len + 1, "trailing bytes");
	/* A version from the future, and none. */
	put_u32(buf, 2);
	assert_refused(buf, s.len, "version");
	put_u32(buf, 0);
	assert_refused(buf, s.len, "version");
	put_u32(buf, 1);

	/* Values no 16550A holds. */
	const struct {
		size_t off;
		uint8_t v;
		const char *field;
	} bad[] = {
		{ SNAP_IER, 0x1f, "ier" },
		{ SNAP_MCR, 0x2b, "mcr" },
		{ SNAP_MSR, 0x01, "msr" }, /* lines disagree with MCR */
		{ SNAP_LSR_ERRORS, 0x01, "lsr_errors" },
		{ SNAP_THRI, 2, "thri_pending" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t keep = buf[bad[i].off];
		buf[bad[i].off] = bad[i].v;
		assert_refused(buf, s.len, bad[i].field);
		buf[bad[i].off] = keep;
	}
	snapshot_free(&s);

	/* More input than the buffer holds, with the bytes there. */
	memset(buf + SNAP_RX, 'x', UART16550_RX_BUF + 1);
	put_u32(buf + SNAP_RX_COUNT, UART16550_RX_BUF + 1);
	assert_refused(buf, SNAP_RX + UART16550_RX_BUF + 1, "rx_count");
	put_u32(buf + SNAP_RX_COUNT, 0xffffffff);
	assert_refused(buf, SNAP_RX + UART16550_RX_BUF + 1, "rx_count");
	/* A full buffer is fine. */
	put_u32(buf + SNAP_RX_COUNT, UART16550_RX_BUF);
	u = make(&r);
	snapshot_init_restore(&s, buf, SNAP_RX + UART16550_RX_BUF);
	assert_int_equal(uart16550_snapshot(u, &s), 0);
	snapshot_free(&s);
	assert_int_equal(uart16550_rx_space(u), 0);
	size_t n = 0;
	while (rd(u, LSR) & 0x01) {
		assert_int_equal(rd(u, RBR), 'x');
		n++;
	}
	assert_int_equal(n, UART16550_RX_BUF);
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
		cmocka_unit_test(test_snapshot_round_trip),
		cmocka_unit_test(test_snapshot_restore_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
