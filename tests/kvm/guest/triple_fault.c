/* Triple-faults on purpose: an empty IDT, then an invalid opcode (#UD, then
 * #GP for the missing gate, then #DF, then shutdown). */
#include "guest.h"

int guest_main(void)
{
	struct {
		unsigned short limit;
		unsigned long base;
	} __attribute__((packed)) idt = { 0, 0 };
	__asm__ volatile("lidt %0\n\tud2" : : "m"(idt));
	return 0; /* not reached */
}
