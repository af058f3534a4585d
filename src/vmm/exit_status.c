#include "vmm/exit_status.h"

int exit_status_from_result(const struct machine_result *res)
{
	switch (res->end) {
	case MACHINE_END_EXIT_STATUS:
		return res->status & 0xff;
	case MACHINE_END_POWEROFF:
	case MACHINE_END_RESET:
		return NESTVM_EXIT_POWEROFF;
	case MACHINE_END_PANIC:
	case MACHINE_END_TRIPLE_FAULT:
		return NESTVM_EXIT_GUEST_CRASH;
	case MACHINE_END_STOPPED:
		/* Ctrl-A x is a normal way out; a signal reports like a shell does. */
		return res->status ? 128 + res->status : 0;
	case MACHINE_END_SAVED:
		return 0;
	case MACHINE_END_VMM_FAILURE:
	case MACHINE_END_NONE:
	default:
		return NESTVM_EXIT_VMM_FAILURE;
	}
}
