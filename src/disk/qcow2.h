/* The qcow2 format as a backend of disk_image: header checks, the cluster
 * mapping, reads through the backing chain, copy-on-write allocation. */
#ifndef NESTVM_DISK_QCOW2_H
#define NESTVM_DISK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct disk_image;

/* Makes the opened img (qcow2 magic seen) a qcow2 image: checks and
 * caps everything its header says, loads the L1 table (and the refcount
 * table when writable). 0, or -1 with an NV_ERR_INPUT naming the path. */
int qcow2_attach(struct disk_image *img, struct nv_err *err);

/* What the header says about a backing file: whether it names one, and
 * its format from the backing-format extension ("" when absent). */
bool qcow2_has_backing(const struct disk_image *img);
const char *qcow2_backing_format(const struct disk_image *img);
uint64_t qcow2_cluster_size(const struct disk_image *img);

/* What the image itself holds for the guest cluster at off. */
enum qcow2_holds {
	QCOW2_HOLDS_NOTHING, /* unallocated: the backing image shows through */
	QCOW2_HOLDS_ZEROS,
	QCOW2_HOLDS_DATA,
};
/* *span: how many bytes from off the answer holds for (to the end of the
 * cluster, or of all the clusters a missing L2 table would map). 0, or -1
 * for a corrupt image or an I/O error. */
int qcow2_holds(struct disk_image *img, uint64_t off, enum qcow2_holds *holds, uint64_t *span);

#endif
