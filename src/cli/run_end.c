/* How a foreground VM ended, told the user in one line (crash, VMM
 * failure, a stop by a signal), and the exit status it makes. */
#include "cli/run_end.h"

#include <stdio.h>

#include "vmm/exit_status.h"

int run_report_end(const struct machine_result *res)
{
	int status = exit_status_from_result(res);
	switch (res->end) {
	case MACHINE_END_PANIC:
	case MACHINE_END_TRIPLE_FAULT:
		fprintf(stderr, "nestvm: the guest crashed: %s\n", res->detail);
		break;
	case MACHINE_END_VMM_FAILURE:
		fprintf(stderr, "nestvm: VMM failure: %s\n", res->detail);
		break;
	case MACHINE_END_STOPPED:
		if (res->status)
			fprintf(stderr, "nestvm: stopped by %s\n", res->detail);
		break;
	default:
		break;
	}
	return status;
}
