/* Where a migration target puts a copied disk (--copy-disks), and the new
 * file itself. With a storage folder (`run --incoming ADDR --storage-path
 * DIR`, Hyper-V's -DestinationStoragePath): DIR/<the source's file name>;
 * without one: the source's own path. Either way never over an existing
 * file: a path both hosts see is shared storage, not a place to copy to. */
#ifndef NESTVM_VMM_MIGRATION_DISK_FILES_H
#define NESTVM_VMM_MIGRATION_DISK_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* storage_dir NULL: the source's path. 0, or -1 with err (too long). */
int mig_disk_file_path(const char *storage_dir, const char *source_path, char *out, size_t len,
		       struct nv_err *err);
/* A new empty disk of size bytes at path: a sparse raw file, or a qcow2
 * image (format: MIG_DISK_RAW or MIG_DISK_QCOW2). An existing file is
 * refused (NV_ERR_INPUT, untouched); nothing is left on failure. */
int mig_disk_file_create(const char *path, unsigned format, uint64_t size, struct nv_err *err);

#endif
