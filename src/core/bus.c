#include "core/bus.h"

#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_access_fn fn, void *opaque)
{
	if (len == 0 || base + len < base || b->count == BUS_MAX_RANGES || !fn)
		return -1;
	for (int i = 0; i < b->count; i++) {
		const struct bus_range *r = &b->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return -1;
	}
	b->ranges[b->count++] = (struct bus_range){ base, len, fn, opaque };
	return 0;
}

bool bus_dispatch(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	for (int i = 0; i < b->count; i++) {
		const struct bus_range *r = &b->ranges[i];
		if (addr < r->base || addr - r->base >= r->len)
			continue;
		if (len > r->len - (addr - r->base))
			break; /* straddles the end of the device */
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
