/* Reading the kernel and initrd files, and finding the default guest. */
#ifndef NESTVM_VMM_GUEST_FILES_H
#define NESTVM_VMM_GUEST_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Reads a whole regular file of at most max_bytes; what names it in errors. */
int guest_file_read(const char *path, const char *what, uint64_t max_bytes,
		    uint8_t **data, size_t *len, struct nv_err *err);

/* Finds the default guest's directory: $NESTVM_GUEST_DIR, else guest/ beside
 * the nestvm binary (build/guest in the tree), else ../share/nestvm/guest
 * from it (an installed PREFIX/bin/nestvm), else guest/ in the state
 * directory (util/state_dir.h; `nestvm guest build` of an installed nestvm:
 * /var/lib/nestvm/guest for root), else /usr/share/nestvm/guest (where a
 * nested guest mounts its support disk, and the lab puts the guest).
 * Fills kernel and initrd paths (PATH_MAX buffers). */
int guest_default_paths(char *kernel, char *initrd, size_t size, struct nv_err *err);

/* The nested support disk (guest/build-nested): a read-only image holding
 * nestvm, the default guest and the kvm modules, so that a guest given the
 * virtualization extensions can run VMs with no set-up. Looked up as
 * $NESTVM_NESTED_IMAGE, nested.img beside the default guest, then
 * /run/nestvm/nested.img (where the default guest's init links its own
 * support disk, so the next level gets it too). 0 if found. */
int guest_nested_image_path(char *path, size_t size);

#endif
