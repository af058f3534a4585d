/* The disk boot_find looks into: a raw image read as it lies in its file
 * (libblkid and libext2fs open the file themselves, the fast path), or a
 * qcow2 image with its backing images from nestvm's records
 * (disk/disk_chain.h) read through nestvm's image layer, read-only. A
 * qcow2 header naming a backing file nestvm has no record of is refused
 * as for a disk (backing files come from nestvm's records only). */
#ifndef NESTVM_DISK_BOOT_DISK_H
#define NESTVM_DISK_BOOT_DISK_H

#include "disk/boot_fs.h"
#include "disk/boot_parts.h"
#include "util/err.h"

/* For partition-table probing, a qcow2 disk's bytes are copied into a
 * sparse memfd of its virtual size where libblkid looks, up to this much. */
#define BOOT_DISK_PROBE_COPY_MAX (64u << 20)

struct boot_disk;

/* NULL with err naming path (missing, unreadable, a corrupt qcow2, a
 * backing file without a record, in use by a writer). */
struct boot_disk *boot_disk_open(const char *path, struct nv_err *err);
void boot_disk_close(struct boot_disk *d); /* NULL is fine */

/* Its partitions and their filesystem types (boot_parts.h). 0 or -1. */
int boot_disk_partitions(struct boot_disk *d, struct boot_parts *out, struct nv_err *err);
/* The ext2/3/4 filesystem in p (boot_fs.h); d must outlive it. */
struct boot_fs *boot_disk_open_fs(struct boot_disk *d, const struct boot_part *p,
				  const char *what, struct nv_err *err);

#endif
