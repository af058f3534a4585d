/* Helpers shared by `vm start`, `vm stop` and `vm console`
 * (cmd_vm_lifecycle.c, cmd_vm_console.c). */
#ifndef NESTVM_CLI_VM_LIFECYCLE_H
#define NESTVM_CLI_VM_LIFECYCLE_H

#include "mgmt/vm_config.h"
#include "util/err.h"

/* Polls the record (reaping) until it is Off or timeout_ms passed. 1 Off,
 * 0 not yet, -1 with err. */
int vm_lifecycle_wait_off(const char *name, struct vm_record *r, int timeout_ms, struct nv_err *err);

void vm_lifecycle_sleep_ms(int ms);

#endif
