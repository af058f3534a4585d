/* The partitions of a disk image and what filesystem each holds, found
 * with libblkid (util-linux's partition and superblock probing, as blkid(8)
 * and the kernel's own tools use): GPT, MBR with logical partitions, and
 * the rest libblkid knows. */
#ifndef NESTVM_DISK_BOOT_PARTS_H
#define NESTVM_DISK_BOOT_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define BOOT_PARTS_MAX 32

struct boot_part {
	int number;          /* as Linux names it (vda1 is 1); 0: the whole disk */
	uint64_t offset, size; /* bytes, inside the image */
	char fstype[16];     /* libblkid's TYPE ("ext4"), or "" when none was found */
	bool linux_data;     /* typed as a Linux filesystem (GPT 0FC63DAF-..., MBR 0x83) */
};

struct boot_parts {
	bool table; /* a partition table was found; else parts[0] is the whole disk */
	size_t n;
	struct boot_part parts[BOOT_PARTS_MAX];
};

/* Probes the raw image at path. A missing or unreadable file is an error;
 * an image without a partition table is not (table false, the whole disk
 * as the one entry). Extended MBR containers are left out; partitions past
 * BOOT_PARTS_MAX too. 0, or -1 with err. */
int boot_parts_probe(const char *path, struct boot_parts *out, struct nv_err *err);

/* Makes [off, off + len) of the probed fd hold the disk's own bytes: for
 * an image libblkid cannot read itself (qcow2), whose bytes are copied in
 * only where probing looks. 0, or -1 with err. */
typedef int (*boot_parts_fill)(void *ctx, uint64_t off, uint64_t len, struct nv_err *err);

/* Probes fd (a file standing for the disk named name). With fill, the
 * disk's first and last MiB are filled first, then, round by round until
 * no partition is new, each partition's first MiB and the MiB after its
 * end (where an MBR's next logical partition is described); fill may
 * decline past its own cap (those bytes read as zeros). */
int boot_parts_probe_fd(int fd, const char *name, boot_parts_fill fill, void *ctx,
			struct boot_parts *out, struct nv_err *err);

#endif
