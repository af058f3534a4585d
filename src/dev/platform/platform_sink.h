/* Where the platform devices report guest events (most end the VM). The
 * machine implements the sink; tests record into it. */
#ifndef NESTVM_DEV_PLATFORM_SINK_H
#define NESTVM_DEV_PLATFORM_SINK_H

enum platform_event {
	PLATFORM_EVENT_EXIT_STATUS, /* the guest reported its command's status */
	PLATFORM_EVENT_POWEROFF,    /* ACPI S5 */
	PLATFORM_EVENT_PANIC,       /* pvpanic */
	PLATFORM_EVENT_RESET,       /* i8042 or reset register */
	PLATFORM_EVENT_GUEST_READY, /* ready for a warm start's snapshot (debug-exit + 1) */
};

struct platform_sink {
	void (*event)(void *opaque, enum platform_event ev, int value);
	void *opaque;
};

static inline void platform_sink_report(const struct platform_sink *s, enum platform_event ev, int value)
{
	if (s && s->event)
		s->event(s->opaque, ev, value);
}

#endif
