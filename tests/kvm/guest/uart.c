/* Programs the 16550A like a driver would and prints a line through it. */
#include "guest.h"

#define COM1 0x3f8

int guest_main(void)
{
	outb(COM1 + 7, 0x5a); /* scratch register round trip: a 16550 is there */
	GUEST_ASSERT_EQ(inb(COM1 + 7), 0x5a);
	outb(COM1 + 3, 0x80); /* DLAB on: divisor 1 = 115200 baud */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
	outb(COM1 + 2, 0x07); /* FIFOs on and cleared */
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2: ready to receive */
	GUEST_ASSERT_EQ(inb(COM1 + 2) & 0xc0, 0xc0); /* IIR says FIFO enabled */
	static const char msg[] = "hello from guest code\n";
	for (const char *p = msg; *p; p++) {
		while (!(inb(COM1 + 5) & 0x20)) /* LSR: THR empty */
			;
		outb(COM1, (uint8_t)*p);
	}
	/* A byte the host queued for us arrives with LSR.DR. */
	GUEST_SYNC(1);
	GUEST_ASSERT(inb(COM1 + 5) & 0x01);
	return inb(COM1);
}
