/* The i8042 answers its self test, then resets the machine on 0xFE. */
#include "guest.h"

int guest_main(void)
{
	outb(0x64, 0xaa); /* controller self test */
	for (int i = 0; i < 1000 && !(inb(0x64) & 0x01); i++)
		;
	GUEST_ASSERT_EQ(inb(0x60), 0x55);
	outb(0x64, 0xfe); /* pulse the reset line */
	return 99;        /* not reached when reset works */
}
