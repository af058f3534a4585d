/* A named VM's checkpoints (Hyper-V's Checkpoint-VM, Get-VMCheckpoint,
 * Restore-VMCheckpoint, Remove-VMCheckpoint), in the VM's folder:
 *   checkpoints/CP/checkpoint.json  {"version":1,"name":"cp1","parent":"",
 *                                    "created":UNIX,"has_state":true,
 *                                    "record":{the VM's record at that instant}}
 *   checkpoints/CP/vm.state, memory the machine at that instant (has_state:
 *                                    it was running; vmm/machine_state.h)
 *   checkpoints/current             the checkpoint the VM descends from
 * (vm.state and memory of a VM with run_as: user/checkpoints/CP/.)
 * Each checkpoint's parent is the one that was current when it was taken,
 * so they form a tree. Callers hold the VM's lock (vm_store_lock). */
#ifndef NESTVM_MGMT_VM_CHECKPOINT_H
#define NESTVM_MGMT_VM_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

#define VM_CHECKPOINTS_DIR "checkpoints"
#define VM_CHECKPOINT_INFO "checkpoint.json"
#define VM_CHECKPOINTS_MAX 64

struct vm_checkpoint {
	char name[VM_NAME_MAX + 1];
	char parent[VM_NAME_MAX + 1]; /* "" = a root */
	int64_t created;              /* unix seconds */
	bool has_state;               /* taken while running: vm.state and memory */
	struct vm_record record;      /* settings (and state) at that instant */
};

/* The checkpoints folder (cp NULL) or checkpoint cp's folder. */
int vm_checkpoint_path(const char *vm, const char *cp, char *out, size_t len, struct nv_err *err);
/* Where checkpoint cp of c's VM keeps the machine (vm.state, memory): its
 * folder, or, for a VM with run_as, user/checkpoints/cp (vm_store_vmm_file),
 * which root touches only as the user (mgmt/vm_user_dir.h). */
int vm_checkpoint_state_path(const struct vm_config *c, const char *cp, char *out, size_t len,
			     struct nv_err *err);
int vm_checkpoint_write(const char *vm, const struct vm_checkpoint *c, struct nv_err *err);
int vm_checkpoint_load(const char *vm, const char *cp, struct vm_checkpoint *c, struct nv_err *err);
/* All of them, oldest first (*out: free it). */
int vm_checkpoint_list(const char *vm, struct vm_checkpoint **out, size_t *n, struct nv_err *err);
/* The current checkpoint's name, "" when none. */
void vm_checkpoint_current(const char *vm, char *out, size_t len);
int vm_checkpoint_set_current(const char *vm, const char *cp, struct nv_err *err);
/* Removes cp: its children take its parent, and so does current. */
int vm_checkpoint_delete(const char *vm, const char *cp, struct nv_err *err);

#endif
