/* A guest disk: a raw image (or block device) or a qcow2 image, possibly the
 * top of a chain of qcow2 differencing disks. Byte-addressed reads and
 * writes of the virtual disk; qcow2 clusters, copy-on-write from the backing
 * image and zero/unallocated clusters are this module's business.
 *
 * Backing files are named by the caller (nestvm's own record of the chain),
 * never taken from inside an image: a qcow2 header's backing-file name is
 * written for qemu-img's sake only, and a chain that does not match the
 * headers (an image that says it has a backing file when the record gives
 * none, or the other way round) is refused. */
#ifndef NESTVM_DISK_DISK_IMAGE_H
#define NESTVM_DISK_DISK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/err.h"

enum disk_format {
	DISK_FORMAT_RAW,
	DISK_FORMAT_QCOW2,
};

struct disk_image;

/* Opens a chain: chain[0] is the image the guest sees (opened for writing
 * unless readonly), chain[1..n-1] its backing images in order, always
 * read-only. The format of each is found from its first bytes (qcow2's
 * magic, else raw); only the last may be raw. Locks with flock: exclusive
 * on a writable top, shared on everything read-only, so two writers never
 * share an image and nobody writes a backing file under a reader.
 * A missing, unreadable, locked, corrupt or unsupported image is an
 * NV_ERR_INPUT naming the path and the problem. */
struct disk_image *disk_image_open(const char *const *chain, size_t n, bool readonly,
				   struct nv_err *err);
/* The checks disk_image_open makes, without keeping anything open. */
int disk_image_check(const char *const *chain, size_t n, bool readonly, struct nv_err *err);
void disk_image_close(struct disk_image *img); /* NULL is fine */

/* The virtual disk's size in bytes. */
uint64_t disk_image_size(const struct disk_image *img);
enum disk_format disk_image_format(const struct disk_image *img);
/* Device and inode of the top image (a stable serial for the guest). */
dev_t disk_image_dev(const struct disk_image *img);
ino_t disk_image_ino(const struct disk_image *img);

/* Reads or writes the iovec's whole length at byte offset off of the
 * virtual disk; the range must lie inside it. 0, or -1 (an I/O error or a
 * corrupt image: the guest sees an I/O error, the VMM goes on). A write
 * of qcow2's magic at offset 0 of a disk whose bottom image is raw fails:
 * the file would be taken for qcow2 when next opened. */
int disk_image_readv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
int disk_image_writev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
/* Data and metadata of the top image on stable storage. 0 or -1; once
 * -1, always -1 for this image (a lost write-back is not forgotten). */
int disk_image_flush(struct disk_image *img);

/* Creates a qcow2 image at path (O_EXCL: never over an existing file) of
 * size bytes (64 KiB clusters, version 3, 16-bit refcounts). With a
 * backing_name, its header names it (and backing_format, "raw" or
 * "qcow2") so qemu-img can follow the chain; nestvm itself opens backing
 * files only from its record. 0, or -1 with err. */
int qcow2_create(const char *path, uint64_t size, const char *backing_name,
		 enum disk_format backing_format, struct nv_err *err);

/* Merges a differencing disk into its backing image: every cluster top
 * holds (data or zeros) is written into base_chain[0] at the same offset,
 * then that image is flushed. top must be a qcow2 image whose backing image
 * is base_chain[0] (the caller's record says so); base_chain is the chain
 * base is opened with for writing (raw, or qcow2 with its own backing
 * images after it). top is left as it was (its clusters are base's now
 * too), so a merge cut short leaves top's view whole. 0, or -1 with err. */
int disk_image_commit(const char *top, const char *const *base_chain, size_t n,
		      struct nv_err *err);

/* Makes the qcow2 header of path name backing_name (of backing_format) as
 * its backing file, for qemu-img's sake (nestvm follows its own record):
 * after a merge its old backing image is gone. 0, or -1 with err. */
int qcow2_set_backing(const char *path, const char *backing_name, enum disk_format backing_format,
		      struct nv_err *err);

/* The format of the image at path from its first bytes (qcow2's magic, else
 * raw). 0, or -1 with err when it cannot be read. */
int disk_image_probe(const char *path, enum disk_format *format, struct nv_err *err);

#endif
