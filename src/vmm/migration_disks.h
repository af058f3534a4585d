/* --copy-disks, the source's side of a live migration: each writable disk's
 * guest-visible content goes along with the memory (state/migration_stream.h:
 * DISKINFO, DISK). Blocks of 64 KiB: first every block that does not read
 * as zeros while the VM runs (the target's new file reads as zeros), then
 * the blocks the guest wrote meanwhile (virtio-blk marks them from the
 * start), round after round, and the last of them while the VM is paused.
 * Read-only disks are not copied: they must exist at the same path on the
 * target (as without --copy-disks). */
#ifndef NESTVM_VMM_MIGRATION_DISKS_H
#define NESTVM_VMM_MIGRATION_DISKS_H

#include <stdint.h>

#include "util/err.h"
#include "vmm/machine.h"

#define MIG_DISK_BLOCK_SHIFT 16 /* 64 KiB */

struct mig_disks;

/* Each byte sent is counted here (the sender's --bandwidth pacing). */
struct mig_disks_pace {
	void (*fn)(void *opaque, uint64_t bytes);
	void *opaque;
};

/* Starts marking the guest's writes to m's writable disks. NULL with err
 * (out of memory). */
struct mig_disks *mig_disks_new(struct machine *m, int fd, struct mig_disks_pace pace, struct nv_err *err);
/* A DISKINFO per copied disk (after START, before CONFIG). 0 or -1. */
int mig_disks_announce(struct mig_disks *d, struct nv_err *err);
/* While the VM runs: every block with data, then rounds of written blocks
 * until few are left (or the rounds run out). 0 or -1. */
int mig_disks_precopy(struct mig_disks *d, struct nv_err *err);
/* The blocks written since the last round (the last one with the VM
 * paused). 0 or -1. */
int mig_disks_round(struct mig_disks *d, struct nv_err *err);
/* Bytes of disk data sent so far. */
uint64_t mig_disks_sent(const struct mig_disks *d);
/* The target's side: a DISK message's data into disk index of m (the
 * copy's new file). 0, or -1 with err. */
int mig_disks_write(struct machine *m, unsigned index, uint64_t off, const void *data, size_t len,
		    struct nv_err *err);
/* Blocks sent again because the guest wrote them after they were sent. */
uint64_t mig_disks_again(const struct mig_disks *d);
/* Stops the marking; NULL is fine. */
void mig_disks_free(struct mig_disks *d);

#endif
