/* Helpers shared by `vm start`, `vm stop` and `vm console`
 * (cmd_vm_lifecycle.c, cmd_vm_console.c). */
#ifndef NESTVM_CLI_VM_LIFECYCLE_H
#define NESTVM_CLI_VM_LIFECYCLE_H

#include <sys/types.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

/* Polls the record (reaping) until it is Off or timeout_ms passed. 1 Off,
 * 0 not yet, -1 with err. */
int vm_lifecycle_wait_off(const char *name, struct vm_record *r, int timeout_ms, struct nv_err *err);

void vm_lifecycle_sleep_ms(int ms);

/* Ends VM name's VMM now: "kill" with reason (for last_stop) over its
 * control socket, SIGTERM to pid when there is none, SIGKILL when it does
 * not go within a grace time. Returns once no process holds vmm.lock, or
 * when even SIGKILL did not make it so (vm_store_vmm_alive then says). */
void vm_lifecycle_force_off(const char *name, pid_t pid, const char *reason);

#endif
