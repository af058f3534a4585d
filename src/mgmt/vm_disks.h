/* A named VM's differencing disks (Hyper-V's AVHDX files), in its folder:
 *   disks/diskI-CP-MS.qcow2          a qcow2 overlay of writable disk I
 *   disks/diskI-CP-MS.qcow2.backing  nestvm's record of what it is backed by
 * A checkpoint freezes each writable disk's image (its record names it) and
 * moves the VM onto a new overlay over it; a restore puts the VM on a new
 * overlay over the checkpoint's images. Images nothing needs any more are
 * removed, and an image no checkpoint names with one overlay left over it
 * is merged with it (the overlay's clusters written into it), so deleting
 * every checkpoint brings the VM back onto its own disk files. Callers hold
 * the VM's lock (vm_store_lock). */
#ifndef NESTVM_MGMT_VM_DISKS_H
#define NESTVM_MGMT_VM_DISKS_H

#include <stdbool.h>
#include <stddef.h>

#include "mgmt/vm_config.h"
#include "util/err.h"

#define VM_DISKS_DIR "disks"

/* A new overlay path for each writable disk of c (readonly ones get ""),
 * named after checkpoint cp, in the VM's disks folder (created). */
int vm_disks_overlay_paths(const char *vm, const struct vm_config *c, const char *cp,
			   char (*out)[VM_PATH_MAX], struct nv_err *err);
/* The VM not running: each writable disk of c moves onto the overlay in
 * overlays (created over the image it is on), and c says so. All or none. */
int vm_disks_branch(struct vm_config *c, const char (*overlays)[VM_PATH_MAX], struct nv_err *err);
/* Whether any disk of c is writable (and so needs differencing disks). */
bool vm_disks_writable(const struct vm_config *c);
/* Removes the images of the VM that nothing needs (neither r nor a
 * checkpoint, directly or as a backing image) and merges each image no one
 * names that has one overlay left over it with that overlay, updating r
 * and the checkpoints' records, and saving r when its disks moved (even if
 * a later step fails: it says where they are). The VM must not be
 * running. 0, or -1 with err (what was done stays done, and consistent:
 * an overlay goes only after everything points past it). */
int vm_disks_collect(const char *vm, struct vm_record *r, struct nv_err *err);

#endif
