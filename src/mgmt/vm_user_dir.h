/* A named VM with run_as (`vm create|set --run-as USER`) splits its folder
 * (mgmt/vm_store.h) in two. Root keeps the folder itself (the record, the
 * locks, the sockets, console.log and vmm.log: all opened or bound before
 * the VMM becomes the user, so the user can neither write them nor swap
 * them), owned by root and its group the user's, mode 0710: the user may
 * pass through, not list or write. Its user/ sub-folder is the user's
 * (mode 0700): what the VMM writes after it became the user, its status
 * (status.json), saved/ and the state of checkpoints (checkpoints/CP/).
 * Root acts on user/ only as the user (vm_user_dir_enter), so a link or a
 * folder the user swapped in there leads nowhere the user could not go. */
#ifndef NESTVM_MGMT_VM_USER_DIR_H
#define NESTVM_MGMT_VM_USER_DIR_H

#include "confine/identity.h"
#include "mgmt/vm_config.h"
#include "util/err.h"

#define VM_USER_DIR "user"
#define VM_STATUS_FILE "status.json"

/* Root, before the VMM starts: the state folder and vms/ passable by
 * others (o+x: names, not listings), vm_dir root:GID 0710, vm_dir/user/
 * made the user's (an existing one must be a folder of root's or the
 * user's, not a link) with checkpoints/ in it, and an old status removed. */
int vm_user_dir_prepare(const char *state_dir, const char *vm_dir, const struct identity *who,
			struct nv_err *err);
/* The calling thread acts as c's user (no-op without run_as); leave undoes
 * it. Only root can enter. */
int vm_user_dir_enter(const struct vm_config *c, struct identity_fs_saved *saved, struct nv_err *err);
void vm_user_dir_leave(const struct vm_config *c, const struct identity_fs_saved *saved);
/* Removes vm_dir/user/ (absent: nothing to do), emptied as its owner, then
 * removed as root, and vm_dir is root's alone again (0700). */
int vm_user_dir_remove(const char *vm_dir, struct nv_err *err);

#endif
