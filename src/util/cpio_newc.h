/* Writing a cpio archive in the "newc" format, the one the Linux kernel
 * unpacks into its initramfs (Documentation/driver-api/early-userspace/
 * buffer-format.rst). A VMM appends one to a guest's initrd to hand it
 * files at boot: the kernel unpacks archives one after the other. */
#ifndef NESTVM_UTIL_CPIO_NEWC_H
#define NESTVM_UTIL_CPIO_NEWC_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct cpio_newc {
	uint8_t *data;
	size_t len, cap;
	uint32_t next_ino;
	size_t max_len; /* the archive may not grow past it */
};

/* An empty archive that may grow to max_len bytes. */
void cpio_newc_init(struct cpio_newc *a, size_t max_len);
/* A folder (mode's permission bits) or a regular file of len bytes at
 * name (relative, e.g. "etc/nestvm/spec"); parents are not implied. */
int cpio_newc_add_dir(struct cpio_newc *a, const char *name, unsigned mode, struct nv_err *err);
int cpio_newc_add_file(struct cpio_newc *a, const char *name, unsigned mode, const void *data, size_t len,
		       struct nv_err *err);
/* The trailer; the archive is then whole (its length a multiple of 4). */
int cpio_newc_finish(struct cpio_newc *a, struct nv_err *err);
void cpio_newc_free(struct cpio_newc *a);

#endif
