#include "dev/platform/pvpanic.h"

#include "dev/platform/platform_sink.h"

void pvpanic_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write) {
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED; /* events we understand */
		for (uint32_t i = 1; i < len; i++)
			data[i] = 0;
		return;
	}
	/* A crash kernel being loaded is not the end of the VM; a panic is. */
	if (len >= 1 && (data[0] & PVPANIC_PANICKED))
		platform_sink_report(opaque, PLATFORM_EVENT_PANIC, data[0]);
}
