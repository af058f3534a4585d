#include "guest.h"

void guest_done(int status)
{
	ucall(UCALL_DONE, (uint64_t)status, 0);
}

/* The compiler may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, unsigned long n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, unsigned long n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}
