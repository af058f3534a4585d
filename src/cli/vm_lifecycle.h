/* Helpers shared by `vm start`, `vm stop`, `vm console` and `vm receive`
 * (cmd_vm_lifecycle.c, cmd_vm_console.c, cmd_vm_receive.c). */
#ifndef NESTVM_CLI_VM_LIFECYCLE_H
#define NESTVM_CLI_VM_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

/* Polls the record (reaping) until it is Off or timeout_ms passed. 1 Off,
 * 0 not yet, -1 with err. */
int vm_lifecycle_wait_off(const char *name, struct vm_record *r, int timeout_ms, struct nv_err *err);

void vm_lifecycle_sleep_ms(int ms);

/* VM name's vmm.lock, locked (waiting a little for a VMM on its way out):
 * its fd, or -1 with err. */
int vm_lifecycle_lock_vmm(const char *name, struct nv_err *err);
/* Starts its `nestvm vm-daemon NAME [EXTRA...]` detached, with lock_fd and
 * notify_fd as its fds 3 and 4 (extra: NULL-terminated, or NULL). */
int vm_lifecycle_spawn_daemon(const char *name, int lock_fd, int notify_fd, const char *const *extra,
			      struct nv_err *err);
/* The daemon's one line ("0", "2", "125") on fd, or -1 for none (it died,
 * or timeout_ms passed: *timed_out). */
int vm_lifecycle_read_notify(int fd, int timeout_ms, bool *timed_out);

/* Ends VM name's VMM now: "kill" with reason (for last_stop) over its
 * control socket, SIGTERM to pid when there is none, SIGKILL when it does
 * not go within a grace time. Returns once no process holds vmm.lock, or
 * when even SIGKILL did not make it so (vm_store_vmm_alive then says). */
void vm_lifecycle_force_off(const char *name, pid_t pid, const char *reason);

#endif
