/* The end of a VM run in the foreground (`nestvm run`, `nestvm container
 * run`): says a crash or failure on stderr, returns the exit status. */
#ifndef NESTVM_CLI_RUN_END_H
#define NESTVM_CLI_RUN_END_H

#include "vmm/machine.h"

int run_report_end(const struct machine_result *res);

#endif
