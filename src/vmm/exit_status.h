/* nestvm's exit statuses, documented in the README. A guest command's own
 * status passes through unchanged, so these can collide with it; that is the
 * same trade-off docker run and timeout make. */
#ifndef NESTVM_VMM_EXIT_STATUS_H
#define NESTVM_VMM_EXIT_STATUS_H

#include "vmm/machine.h"

#define NESTVM_EXIT_POWEROFF 0     /* guest powered off or rebooted */
#define NESTVM_EXIT_BAD_INPUT 2    /* bad command line, kernel, image, size ... */
#define NESTVM_EXIT_GUEST_CRASH 3  /* guest kernel panic or triple fault */
#define NESTVM_EXIT_VMM_FAILURE 125/* the VMM or the host failed */

int exit_status_from_result(const struct machine_result *res);

#endif
