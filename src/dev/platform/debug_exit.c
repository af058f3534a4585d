#include "dev/platform/debug_exit.h"

#include "dev/platform/platform_sink.h"

void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0xff;
		return;
	}
	/* Only the low byte counts: an exit status is 0..255. */
	if (offset == 0 && len >= 1)
		platform_sink_report(opaque, PLATFORM_EVENT_EXIT_STATUS, data[0]);
	else if (offset == DEBUG_EXIT_READY_OFFSET && len == 1)
		platform_sink_report(opaque, PLATFORM_EVENT_GUEST_READY, data[0]);
}
