/* Choosing the image's own kernel for a VM without --kernel (image_boot.h). */
#include "vmm/image_boot.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int image_boot_find(const struct vm_config *c, struct image_boot *ib, struct nv_err *err)
{
	memset(ib, 0, sizeof(*ib));
	if (c->kernel[0] || c->ndisks == 0)
		return 0;
	const char *path = c->disks[0].path;
	struct stat st;
	/* A missing or odd disk: the disk checks name it as they always did. */
	if (stat(path, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
		return 0;
	int r = boot_find(path, &ib->found, err);
	if (r == 1) {
		*err = (struct nv_err){ 0 }; /* a data disk: nothing to say */
		return 0;
	}
	if (r < 0)
		return -1;
	const struct boot_found *f = &ib->found;
	char where[1100];
	if (f->partition)
		snprintf(where, sizeof(where), "partition %d of %s", f->partition, path);
	else
		snprintf(where, sizeof(where), "%s", path);
	snprintf(ib->from, sizeof(ib->from), "%s: %s (%s)", where, f->kernel_path, f->source);
	return 1;
}

void image_boot_free(struct image_boot *ib)
{
	boot_found_free(&ib->found);
}
