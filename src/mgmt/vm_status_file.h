/* The status a named VM's VMM keeps once it runs as the VM's user
 * (mgmt/vm_user_dir.h): it cannot write the record in root's part any
 * more, so it writes its runtime (the record's "runtime" object: Running,
 * Paused, Stopping, Off or Saved, and why) as user/status.json, and
 * whoever loads the record takes the state from there (vm_store). Root
 * reads it as the user, without following a link, and believes only the
 * state, start time and reason: never a pid, nor anything of the config. */
#ifndef NESTVM_MGMT_VM_STATUS_FILE_H
#define NESTVM_MGMT_VM_STATUS_FILE_H

#include "mgmt/vm_config.h"
#include "util/err.h"

/* Atomically, as the VMM (its user). */
int vm_status_file_write(const char *path, const struct vm_runtime *rt, struct nv_err *err);
/* Root, for c (a VM with run_as) whose record rt says a VMM with rt->pid
 * was started: the state, started_at and last_stop that VMM wrote replace
 * rt's (from_vmm_status then set). 1 if they did; 0 if there is none or
 * it is not that VMM's; -1 with err for a file that is not a status. */
int vm_status_file_apply(const char *path, const struct vm_config *c, struct vm_runtime *rt,
			 struct nv_err *err);

#endif
