/* Warm start: `nestvm run` starts the default guest from a snapshot taken
 * once, when its init was ready, instead of booting it.
 *
 * The first run of a given set-up boots as ever and only marks the set-up
 * as seen (<key hash>.seen), so that a VM run once costs nothing more (a
 * snapshot costs a second or so and its size on disk, which in a nested
 * guest is RAM). The second boots with KERNEL_CMDLINE_WARM; the
 * guest's init sets everything up, then says it is ready (the debug-exit
 * device's second port) and waits for a line on the console. The VMM
 * pauses the VM there, saves it into the snapshot's folder, resumes it and
 * sends the line. Later runs restore that folder (guest RAM mapped private
 * from its memory file: VMs started from one snapshot share its pages until
 * they write them) and send their own line at once:
 *
 *   nestvm-warm 1 start=warm|cold [cmd=BASE64] time=SEC.NSEC seed=HEX64
 *
 * (guest/tools/nestvm-warm.c reads it: the command, the wall clock, and 32
 * random bytes the guest reseeds its RNG with, so that two VMs restored
 * from one snapshot never share random numbers.)
 *
 * The snapshot lives in <state dir>/warm/<key>/ (vm.state, memory, key).
 * The key is a hash of a text naming everything that shapes the booted
 * guest: the nestvm program (size, time, inode), the kernel, initrd and
 * nested support disk (the same), the host's kernel release and CPU, and
 * the VM's settings (the one JSON schema, without the name). The text is
 * kept beside the snapshot and must match exactly: a hash collision is
 * never used. A folder is published whole (saved in a temporary folder,
 * renamed) and never changed after; an unusable one is renamed away and
 * removed, and the run boots cold and takes a new one. */
#ifndef NESTVM_VMM_WARM_START_H
#define NESTVM_VMM_WARM_START_H

#include <stdbool.h>

#include "arch/x86/layout.h"
#include "mgmt/vm_config.h"
#include "util/err.h"
#include "vmm/machine.h"
#include "vmm/machine_state.h"

/* Snapshots kept: publishing one more removes the least recently used
 * (each is about 100 MiB for the default guest). */
#define WARM_START_KEEP 8

/* The line's cap: the guest reads at most 8 KiB (VMM_LOOP_INPUT_MAX holds
 * it whole). */
#define WARM_START_LINE_MAX 8000
/* Where the line goes in guest memory, and its room there (a longer one
 * goes on the console whole). */
#define WARM_START_MAILBOX WARM_MAILBOX_ADDR
#define WARM_START_MAILBOX_ROOM WARM_MAILBOX_LEN

struct warm_start {
	char dir[VM_PATH_MAX];  /* the snapshot's folder */
	char root[VM_PATH_MAX]; /* <state dir>/warm */
	char *key;              /* the key's text (malloc'd) */
};

/* NULL when a VM with settings c can start warm, else why not (the
 * default guest with no disks or adapters: a disk's contents and an
 * adapter's address belong to one VM, not to a snapshot; and no init=,
 * rdinit= or nestvm.cmd= of its own in --append: such a guest never says
 * it is ready). */
const char *warm_start_unsupported(const struct vm_config *c);

/* The key for c and the snapshot's folder (<state dir>/warm, created).
 * -1 with err when the files or the state directory cannot be read. */
int warm_start_prepare(struct warm_start *w, const struct vm_config *c, struct nv_err *err);
void warm_start_free(struct warm_start *w);

/* True when the snapshot's folder exists (usable or not). */
bool warm_start_exists(const struct warm_start *w);

/* True when a run of this set-up was seen before; marks it seen. */
bool warm_start_seen(const struct warm_start *w);

/* Loads the snapshot (machine_saved_load) after checking its key text,
 * and marks it used (its folder's time). -1 with a one-line err naming
 * what is wrong. */
int warm_start_load(const struct warm_start *w, struct machine_saved *s, struct nv_err *err);

/* Saves the paused machine m as the snapshot: in a temporary folder,
 * renamed into place (another run that got there first wins). */
int warm_start_save(const struct warm_start *w, struct machine *m, struct nv_err *err);

/* Removes the snapshot's folder (renamed away first: VMs running from it
 * keep their mapping). */
void warm_start_discard(const struct warm_start *w);

/* Removes the least recently used snapshots in root beyond keep. */
void warm_start_prune(const char *root, unsigned keep);

/* The console line for one start (restored: start=warm), newline ended.
 * -1 with err when the command does not fit WARM_START_LINE_MAX. */
int warm_start_line(char *out, size_t size, bool restored, char *const *argv, int argc,
		    struct nv_err *err);

#endif
