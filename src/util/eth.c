#include "util/eth.h"

#include <stdio.h>
#include <string.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, struct mac_addr *out)
{
	if (!s || strlen(s) != 17)
		return -1;
	char sep = s[2];
	if (sep != ':' && sep != '-')
		return -1;
	for (int i = 0; i < ETH_ALEN_; i++) {
		const char *p = s + i * 3;
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
		if (hi < 0 || lo < 0 || (i < ETH_ALEN_ - 1 && p[2] != sep))
			return -1;
		out->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void mac_format(const struct mac_addr *m, char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3],
		 m->b[4], m->b[5]);
}

bool mac_equal(const struct mac_addr *a, const struct mac_addr *b)
{
	return memcmp(a->b, b->b, ETH_ALEN_) == 0;
}

bool mac_is_multicast(const struct mac_addr *m)
{
	return m->b[0] & 1;
}

bool mac_is_zero(const struct mac_addr *m)
{
	static const struct mac_addr zero;
	return mac_equal(m, &zero);
}

void mac_generate(const char *vm_name, unsigned adapter, struct mac_addr *out)
{
	/* FNV-1a over the name and the index: stable across runs and hosts. */
	uint32_t h = 2166136261u;
	for (const char *p = vm_name ? vm_name : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(adapter >> (8 * i))) * 16777619u;
	out->b[0] = 0x52;
	out->b[1] = 0x54;
	out->b[2] = 0x00;
	out->b[3] = (uint8_t)(h >> 16);
	out->b[4] = (uint8_t)(h >> 8);
	out->b[5] = (uint8_t)h;
}
