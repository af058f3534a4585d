/* The partitions of a raw disk image and what filesystem each holds, found
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

#endif
