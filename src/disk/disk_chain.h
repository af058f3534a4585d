/* nestvm's own record of differencing disks: which image an overlay is
 * backed by. The record of overlay X is the file "X.backing" beside it,
 * holding the backing image's absolute path and a newline; only nestvm
 * writes it, in its own folders, so a guest (who can write only inside the
 * images) never chooses what its disk is read from. A chain is the top
 * image, then its backing image, and so on to an image without a record. */
#ifndef NESTVM_DISK_DISK_CHAIN_H
#define NESTVM_DISK_DISK_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DISK_CHAIN_MAX 72 /* a VM's checkpoints (64), and some */
#define DISK_PATH_MAX 1024
#define DISK_CHAIN_RECORD_SUFFIX ".backing"

struct disk_chain {
	char paths[DISK_CHAIN_MAX][DISK_PATH_MAX];
	size_t n;
};

/* The chain of top, from the records. A record naming no absolute path, a
 * chain longer than DISK_CHAIN_MAX or one that loops is NV_ERR_INPUT. */
int disk_chain_resolve(const char *top, struct disk_chain *c, struct nv_err *err);
/* The paths as the array disk_image_open takes (points into c). */
void disk_chain_array(const struct disk_chain *c, const char *out[DISK_CHAIN_MAX]);
/* Records (atomically) that overlay is backed by backing (absolute). */
int disk_chain_record(const char *overlay, const char *backing, struct nv_err *err);
/* overlay's backing image into out ("" when it has no record): 0, or -1. */
int disk_chain_backing(const char *overlay, char *out, size_t len, struct nv_err *err);
/* A new differencing disk: overlay (created, never over an existing file)
 * is a qcow2 image of size bytes backed by base, recorded so. Nothing is
 * left behind on failure. 0, or -1 with err. */
int disk_chain_branch(const char *base, uint64_t size, const char *overlay, struct nv_err *err);
/* The virtual size of the disk whose top image is top (its chain opened
 * read-only, so a running VM's disk is refused as in use). 0, or -1. */
int disk_chain_size(const char *top, uint64_t *size, struct nv_err *err);
/* Removes overlay's record (a missing one is fine). */
void disk_chain_forget(const char *overlay);

#endif
