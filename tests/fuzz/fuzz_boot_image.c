/* libFuzzer: a hostile disk image handed to nestvm to boot its own kernel
 * (disk/boot_find): partition tables through libblkid, ext2/3/4 through
 * libext2fs, then grub.cfg, BLS entries and links. The input is the image,
 * raw or qcow2 (then read through nestvm's qcow2 reader: libblkid on a
 * sparse memfd copy, libext2fs through disk/ext2_image_io) (seeds: small
 * GPT, MBR and bare-filesystem images with Debian's layout, and qcow2 ones
 * with 512-byte clusters, one compressed).
 * Either a kernel within its limits comes out, or a one-line refusal
 * naming the image (nothing bootable, or broken). Any crash, sanitizer report, leak or hang is a bug,
 * ours or the libraries'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "disk/boot_find.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_boot_image", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct boot_found f;
	struct nv_err err = { 0 };
	int r = boot_find(path, &f, &err);
	if (r == 0) {
		if (!f.kernel || f.kernel_len > BOOT_KERNEL_MAX || f.initrd_len > BOOT_INITRD_MAX ||
		    strnlen(f.cmdline, sizeof(f.cmdline)) >= sizeof(f.cmdline) ||
		    (f.initrd == NULL) != (f.initrd_len == 0 && f.initrd_path[0] == '\0')) {
			fprintf(stderr, "check failed: a found kernel out of its limits\n");
			abort();
		}
		boot_found_free(&f);
	} else if ((r != 1 && r != -1) || err.kind == NV_ERR_NONE || !strstr(err.msg, path) || strchr(err.msg, '\n')) {
		fprintf(stderr, "bad refusal: \"%s\"\n", err.msg);
		abort();
	}
	close(fd);
	return 0;
}
