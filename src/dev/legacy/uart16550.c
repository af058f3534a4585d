#include "dev/legacy/uart16550.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_snapshot.h"

/* Register offsets (DLAB = LCR bit 7 switches 0/1 to the divisor latch). */
enum {
	REG_RBR_THR_DLL = 0,
	REG_IER_DLM = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f  /* upper bits read 0 on a 16550A (Linux checks) */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_ERRORS 0x1e /* OE, PE, FE, BI */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define FIFO_DEPTH 16

struct uart16550 {
	pthread_mutex_t lock;
	struct irq_line irq;
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	void *tx_opaque;

	uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
	uint8_t lsr_errors; /* OE/PE/FE/BI until LSR is read */
	bool fifo_enabled;
	bool thri_pending; /* THR empty interrupt latched, not yet acknowledged */
	int irq_level;
	uint8_t last_rx;

	uint8_t rx[UART16550_RX_BUF];
	size_t rx_head, rx_count;
};

/* Modem lines: a "connected" modem normally; in loopback they follow MCR. */
static uint8_t uart_msr_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	uint8_t m = 0;
	if (mcr & MCR_RTS)
		m |= MSR_CTS;
	if (mcr & MCR_DTR)
		m |= MSR_DSR;
	if (mcr & MCR_OUT1)
		m |= MSR_RI;
	if (mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void uart_msr_update(struct uart16550 *u)
{
	uint8_t old = u->msr & 0xf0, now = uart_msr_lines(u->mcr), delta = 0;
	if ((old ^ now) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI; /* trailing edge only */
	if ((old ^ now) & MSR_DCD)
		delta |= MSR_DDCD;
	u->msr = now | (u->msr & 0x0f) | delta;
}

static uint8_t uart_lsr(const struct uart16550 *u)
{
	return LSR_THRE | LSR_TEMT | u->lsr_errors | (u->rx_count ? LSR_DR : 0);
}

/* The pending interrupt of highest priority, as IIR bits 3:0. */
static uint8_t uart_iir_id(const struct uart16550 *u)
{
	if ((u->ier & IER_ELSI) && u->lsr_errors)
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_ETBEI) && u->thri_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NO_INT;
}

static void uart_irq_update(struct uart16550 *u)
{
	int level = uart_iir_id(u) != IIR_NO_INT;
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static bool uart_rx_push(struct uart16550 *u, uint8_t b)
{
	if (u->rx_count == UART16550_RX_BUF)
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART16550_RX_BUF] = b;
	u->rx_count++;
	return true;
}

/* Returns true when `b` must go to the tx callback (after unlocking). */
static bool uart_write_thr(struct uart16550 *u, uint8_t b)
{
	/* The write takes THR: its interrupt is acknowledged... */
	u->thri_pending = false;
	uart_irq_update(u);
	bool out = true;
	if (u->mcr & MCR_LOOP) {
		/* The receiver sees the byte; a full FIFO (or holding register
		 * without FIFOs) overruns, as on the chip. */
		size_t depth = u->fifo_enabled ? FIFO_DEPTH : 1;
		if (u->rx_count >= depth || !uart_rx_push(u, b))
			u->lsr_errors |= LSR_OE;
		out = false;
	}
	/* ...and the instant transmission empties it again, a new edge. */
	u->thri_pending = true;
	uart_irq_update(u);
	return out;
}

static uint8_t uart_read(struct uart16550 *u, uint64_t off)
{
	uint8_t v = 0;
	switch (off) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (u->rx_count) {
			u->last_rx = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART16550_RX_BUF;
			u->rx_count--;
		}
		return u->last_rx;
	case REG_IER_DLM:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		v = uart_iir_id(u);
		if (v == IIR_THRI)
			u->thri_pending = false; /* reading IIR acknowledges it */
		return v | (u->fifo_enabled ? IIR_FIFO : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = uart_lsr(u);
		u->lsr_errors = 0;
		return v;
	case REG_MSR:
		v = u->msr;
		u->msr &= 0xf0;
		return v;
	case REG_SCR:
		return u->scr;
	}
	return 0xff;
}

/* Returns true when `v` is a byte to transmit. */
static bool uart_write(struct uart16550 *u, uint64_t off, uint8_t v)
{
	switch (off) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			return false;
		}
		return uart_write_thr(u, v);
	case REG_IER_DLM:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			return false;
		}
		v &= IER_MASK;
		/* Enabling ETBEI with THR empty raises THRI at once (Linux's
		 * startup checks that the chip re-asserts it). */
		if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI))
			u->thri_pending = true;
		else if (!(v & IER_ETBEI))
			u->thri_pending = false;
		u->ier = v;
		return false;
	case REG_IIR_FCR:
		u->fifo_enabled = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		/* Clearing the transmit FIFO is a no-op: it is always empty. */
		return false;
	case REG_LCR:
		u->lcr = v;
		return false;
	case REG_MCR:
		u->mcr = v & MCR_MASK;
		uart_msr_update(u);
		return false;
	case REG_SCR:
		u->scr = v;
		return false;
	}
	return false; /* LSR and MSR writes: factory test, ignored */
}

void uart16550_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct uart16550 *u = opaque;
	if (!u || !data || len == 0)
		return;
	if (offset >= UART16550_NR_PORTS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&u->lock);
	bool send = false;
	uint8_t b = data[0];
	if (is_write) {
		send = uart_write(u, offset, b);
	} else {
		memset(data, 0, len);
		data[0] = uart_read(u, offset);
	}
	uart_irq_update(u);
	pthread_mutex_unlock(&u->lock);
	/* Outside the lock: the sink may block on a slow terminal. A guest
	 * serialises its own THR writes, so bytes keep their order. */
	if (send && u->tx)
		u->tx(u->tx_opaque, &b, 1);
}

size_t uart16550_receive(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	if (!u || !buf)
		return 0;
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	/* Hardware flow control: the host side sends only while the guest
	 * asserts RTS. Linux raises it when the port is opened, after it has
	 * reset the FIFOs, so input typed or piped early is held by the VMM
	 * instead of being thrown away. */
	if (!(u->mcr & MCR_LOOP) && (u->mcr & MCR_RTS))
		while (n < len && uart_rx_push(u, buf[n]))
			n++;
	uart_irq_update(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart16550_rx_space(struct uart16550 *u)
{
	if (!u)
		return 0;
	pthread_mutex_lock(&u->lock);
	size_t space = (u->mcr & MCR_LOOP) || !(u->mcr & MCR_RTS) ? 0 : UART16550_RX_BUF - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return space;
}

int uart16550_snapshot(struct uart16550 *u, struct device_snapshot *s)
{
	pthread_mutex_lock(&u->lock);
	/* Both directions go through copies: a restore changes the device only
	 * once the whole section was read and found good. */
	uint8_t ier = u->ier, lcr = u->lcr, mcr = u->mcr, msr = u->msr, scr = u->scr;
	uint8_t dll = u->dll, dlm = u->dlm, lsr_errors = u->lsr_errors, last_rx = u->last_rx;
	bool fifo_enabled = u->fifo_enabled, thri_pending = u->thri_pending;
	uint32_t rx_count = (uint32_t)u->rx_count;
	uint8_t rx[UART16550_RX_BUF];
	/* Only the pending bytes, oldest first (the ring may wrap). */
	for (size_t i = 0; s->dir == SNAPSHOT_SAVE && i < u->rx_count; i++)
		rx[i] = u->rx[(u->rx_head + i) % UART16550_RX_BUF];

	snapshot_version(s, 1);
	SNAPSHOT_U8(s, ier);
	snapshot_check(s, !(ier & ~IER_MASK), "ier");
	SNAPSHOT_U8(s, lcr);
	SNAPSHOT_U8(s, mcr);
	snapshot_check(s, !(mcr & ~MCR_MASK), "mcr");
	/* The modem lines follow MCR; only the deltas are latched. */
	SNAPSHOT_U8(s, msr);
	snapshot_check(s, (msr & 0xf0) == uart_msr_lines(mcr), "msr");
	SNAPSHOT_U8(s, scr);
	SNAPSHOT_U8(s, dll);
	SNAPSHOT_U8(s, dlm);
	SNAPSHOT_U8(s, lsr_errors);
	snapshot_check(s, !(lsr_errors & ~LSR_ERRORS), "lsr_errors");
	SNAPSHOT_BOOL(s, fifo_enabled);
	SNAPSHOT_BOOL(s, thri_pending);
	SNAPSHOT_U8(s, last_rx);
	SNAPSHOT_U32(s, rx_count);
	if (snapshot_check(s, rx_count <= UART16550_RX_BUF, "rx_count"))
		snapshot_bytes(s, rx, rx_count, "rx");
	snapshot_done(s);

	if (s->dir == SNAPSHOT_RESTORE && !s->failed) {
		u->ier = ier;
		u->lcr = lcr;
		u->mcr = mcr;
		u->msr = msr;
		u->scr = scr;
		u->dll = dll;
		u->dlm = dlm;
		u->lsr_errors = lsr_errors;
		u->fifo_enabled = fifo_enabled;
		u->thri_pending = thri_pending;
		u->last_rx = last_rx;
		memcpy(u->rx, rx, rx_count);
		u->rx_head = 0;
		u->rx_count = rx_count;
		/* Set even when unchanged: the line's last level belongs to the
		 * device that was saved, not to this fresh one. */
		u->irq_level = uart_iir_id(u) != IIR_NO_INT;
		irq_line_set(&u->irq, u->irq_level);
	}
	int ret = s->failed ? -1 : 0;
	pthread_mutex_unlock(&u->lock);
	return ret;
}

struct uart16550 *uart16550_new(struct irq_line irq,
				void (*tx)(void *opaque, const uint8_t *buf, size_t len),
				void *tx_opaque)
{
	struct uart16550 *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	if (pthread_mutex_init(&u->lock, NULL) != 0) {
		free(u);
		return NULL;
	}
	u->irq = irq;
	u->tx = tx;
	u->tx_opaque = tx_opaque;
	u->mcr = MCR_OUT2;
	u->dll = 0x0c; /* 9600 baud, the BIOS default */
	u->lcr = 0x03; /* 8N1 */
	u->msr = uart_msr_lines(u->mcr);
	return u;
}

void uart16550_free(struct uart16550 *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}
