#include "dev/platform/acpi_sleep.h"

#include "dev/platform/platform_sink.h"

void acpi_sleep_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0;
		return;
	}
	if (offset != 0 || len < 1 || !(data[0] & ACPI_SLEEP_EN))
		return;
	unsigned typ = (data[0] >> ACPI_SLEEP_TYP_SHIFT) & ACPI_SLEEP_TYP_MASK;
	if (typ == ACPI_SLEEP_TYP_S5)
		platform_sink_report(opaque, PLATFORM_EVENT_POWEROFF, 0);
	/* Other sleep states (S1-S4) are not offered in the DSDT: ignore. */
}
