/* The VM store: <state dir>/vms/<NAME>/ holds
 *   vm.json     the record (vm_config.h), replaced atomically: a temporary
 *               file in the same directory, fsync, rename, fsync of the dir
 *   lock        flock()ed (exclusive) by whoever reads-modifies-writes the
 *               record, so two commands changing one VM lose no update
 *   vmm.lock    flock()ed by the VMM process for its whole life: if a record
 *               says the VM runs but nobody holds vmm.lock, the VMM died
 *   control.sock, console.sock, console.log   the VMM process's (vm_process)
 *   saved/, checkpoints/CP/{vm.state,memory}   what the VMM writes (vm save,
 *               vm checkpoint); for a VM with run_as these, and the VMM's
 *               status.json, are in user/, the part its user owns
 *               (mgmt/vm_user_dir.h)
 * One broken vm.json never stops the others from being listed or used. */
#ifndef NESTVM_MGMT_VM_STORE_H
#define NESTVM_MGMT_VM_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

#define VM_STORE_DIR "vms"
#define VM_RECORD_FILE "vm.json"
#define VM_LOCK_FILE "lock"
#define VM_VMM_LOCK_FILE "vmm.lock"
#define VM_CONTROL_SOCKET "control.sock"
#define VM_CONSOLE_SOCKET "console.sock"
#define VM_CONSOLE_LOG "console.log"
/* A saved VM's state (vmm/machine_state.h): vm.state and memory. */
#define VM_SAVED_DIR "saved"

/* <state dir>/vms/<name>[/<file>] into out. Invalid names are input errors. */
int vm_store_path(const char *name, const char *file, char *out, size_t len, struct nv_err *err);
bool vm_store_exists(const char *name);
/* Where the VMM's own files of c's VM are (VM_SAVED_DIR, "checkpoints/CP",
 * VM_STATUS_FILE): the VM's folder, or its user/ part for a VM with run_as. */
int vm_store_vmm_file(const struct vm_config *c, const char *file, char *out, size_t len, struct nv_err *err);
/* Root, before a VMM of c starts: the user/ part ready (vm_user_dir_prepare);
 * nothing without run_as. */
int vm_store_prepare_user_dir(const struct vm_config *c, struct nv_err *err);
/* The user/ part goes (its run_as changed or went): vm_user_dir_remove. */
int vm_store_remove_user_dir(const char *name, struct nv_err *err);

/* The record lock (blocks up to ~10 s, then an error saying who holds it). */
struct vm_lock {
	int fd;
};
int vm_store_lock(const char *name, struct vm_lock *lk, struct nv_err *err);
void vm_store_unlock(struct vm_lock *lk);

/* Creates the VM's directory and its first record; an existing name is an
 * input error. The config is validated first. */
int vm_store_create(const struct vm_record *r, struct nv_err *err);
/* Reads and validates vm.json. Errors name the file and the field. Does not
 * take the lock (a reader sees the old or the new file, never a mix). For
 * a VM with run_as whose VMM runs, the state is what that VMM last wrote
 * in its status file (vm_status_file.h), read as root. */
int vm_store_load(const char *name, struct vm_record *r, struct nv_err *err);
/* Atomic replace; the caller holds the lock. */
int vm_store_save(const struct vm_record *r, struct nv_err *err);
/* Removes the directory; the caller holds the lock and the VM is Off. */
int vm_store_delete(const char *name, struct nv_err *err);
/* Names of all VMs (directories under vms/), sorted; *names is malloc()ed
 * (free each and the array). Broken records are still listed. */
int vm_store_list(char ***names, size_t *n, struct nv_err *err);

/* Is some process holding name's vmm.lock (a live VMM)? */
bool vm_store_vmm_alive(const char *name);
/* Is pid a process with name's vmm.lock open, the VM's VMM, rather than a
 * stranger that was given a dead VMM's pid? Only then may it be signalled. */
bool vm_store_vmm_pid(const char *name, pid_t pid);
/* Under the lock: a state from a VMM's status file (run_as) whose VMM has
 * gone is saved into the record. A record that says Starting/Running/Stopping while no VMM
 * holds vmm.lock becomes Off with last_stop "the VMM process (pid N) died"
 * (unless the VMM wrote a reason itself) and is saved. 1 if it changed. */
int vm_store_reap(struct vm_record *r, struct nv_err *err);
/* Lock, load and reap: the record as it is, for a read-modify-write. On
 * success the lock stays held (vm_store_unlock it); on failure it is not. */
int vm_store_lock_load(const char *name, struct vm_lock *lk, struct vm_record *r,
		       struct nv_err *err);
/* vm_store_load, then, if the record says the VM runs but no VMM is alive,
 * reap it under the lock: the current truth, for commands that only read. */
int vm_store_load_reaped(const char *name, struct vm_record *r, struct nv_err *err);

#endif
