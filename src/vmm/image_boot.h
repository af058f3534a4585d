/* A VM with no --kernel whose first disk is a distribution's image boots
 * that image's own kernel, initrd and command line, as its bootloader
 * would (disk/boot_find.h): the bootloader's job done by the VMM. A first
 * disk with nothing bootable (a data disk) leaves the default guest. */
#ifndef NESTVM_VMM_IMAGE_BOOT_H
#define NESTVM_VMM_IMAGE_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "disk/boot_find.h"
#include "mgmt/vm_config.h"
#include "util/err.h"

struct image_boot {
	struct boot_found found;
	/* "partition 2 of debian.img: /boot/vmlinuz-6.1.0-28-amd64 (grub.cfg)" */
	char from[1536];
};

/* 1: c's first disk boots its own kernel (ib filled: image_boot_free it);
 * 0: the default guest (c names a kernel, has no disk, or its first disk
 * holds nothing bootable, or is no file this can read: the disk checks
 * say that); -1 with err: the image looks bootable but is broken. */
int image_boot_find(const struct vm_config *c, struct image_boot *ib, struct nv_err *err);
void image_boot_free(struct image_boot *ib);

#endif
