/* What a disk image's own bootloader would boot: its partitions (libblkid),
 * its ext2/3/4 filesystems (libext2fs), and in them the default entry of
 * /boot/grub/grub.cfg (or /grub/grub.cfg on a separate /boot), else the
 * newest BLS entry (/boot/loader/entries/ *.conf), else Debian's /vmlinuz
 * and /initrd.img links with root=UUID= of their filesystem. The kernel,
 * initrd and command line, read whole. Everything in the image is hostile
 * input: a refusal is one line naming the image, the partition or the
 * file and the problem. Raw and qcow2 images (with backing images from
 * nestvm's records only: disk/boot_disk.h). */
#ifndef NESTVM_DISK_BOOT_FIND_H
#define NESTVM_DISK_BOOT_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "disk/boot_entry.h"
#include "util/err.h"

#define BOOT_KERNEL_MAX (128u << 20)
#define BOOT_INITRD_MAX (512u << 20) /* all initrds together */
#define BOOT_CONFIG_MAX (1u << 20)   /* grub.cfg, a BLS entry */
#define BOOT_BLS_ENTRIES_MAX 256

struct boot_found {
	uint8_t *kernel;
	size_t kernel_len;
	uint8_t *initrd; /* NULL: none */
	size_t initrd_len;
	char cmdline[BOOT_CMDLINE_LEN];
	int partition; /* 0: the whole disk */
	/* For messages: "partition 2 of disk.img: /boot/vmlinuz-6.1.0-x (grub.cfg)". */
	char kernel_path[BOOT_PATH_MAX];
	char initrd_path[BOOT_PATH_MAX]; /* the first one; "" without */
	char source[64]; /* "grub.cfg", "BLS entry NAME", "/vmlinuz link" */
};

/* 0 with out filled (boot_found_free it). 1 when the image holds nothing
 * bootable, err saying why (no partition table and no filesystem, no
 * ext2/3/4 filesystem, none with a boot configuration or /vmlinuz): a
 * data disk, which the default guest boots with. -1 with
 * err when the image looks bootable but is broken (a corrupt filesystem, a
 * grub.cfg naming nothing bootable, a kernel it names missing, a link
 * loop), or cannot be read (a corrupt qcow2, a backing file without
 * nestvm's record). */
int boot_find(const char *image, struct boot_found *out, struct nv_err *err);
void boot_found_free(struct boot_found *found);

#endif
