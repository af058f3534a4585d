/* The insides of a struct disk_image that its format backends (raw_image,
 * qcow2) and the chain code share: one open image file, the format's
 * operations on it, and the next image of the chain. Also the full-length
 * pread/pwrite loops every backend needs. Not for users of the module
 * (they see disk/disk_image.h only). */
#ifndef NESTVM_DISK_IMAGE_BACKEND_H
#define NESTVM_DISK_IMAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct disk_image;

/* A format's reads and writes of its virtual disk. The range has been
 * checked against the image's size by the caller. 0 or -1. */
struct image_ops {
	int (*readv)(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*writev)(struct disk_image *img, const struct iovec *iov, int iovcnt,
		      uint64_t off);
	void (*free)(struct disk_image *img); /* the format's state only */
};

struct disk_image {
	char *path;
	int fd;
	bool readonly;
	bool qcow2; /* else raw: found from the first bytes */
	uint64_t file_size; /* of the host file (or block device) when opened */
	bool is_blockdev;
	bool flush_failed; /* sticky: see disk_image_flush */
	dev_t dev;
	ino_t ino;
	uint64_t size; /* of the virtual disk, set by the backend */
	const struct image_ops *ops;
	void *state; /* the backend's */
	struct disk_image *backing; /* next in the chain, or NULL */
};

/* Reads up to len bytes at off, stopping early only at end of file.
 * The bytes read, or -1 (errno set). */
ssize_t image_pread_upto(int fd, void *buf, size_t len, uint64_t off);
/* All len bytes at off, or -1. */
int image_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* The whole iovec at off; a read that meets end of file fails. 0 or -1. */
int image_preadv_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int image_pwritev_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off);

/* len bytes of img's virtual disk at off, where the range may run past
 * its end (those bytes read as zeros): a backing image is often smaller
 * than the image above it. A NULL img reads as zeros. 0 or -1. */
int image_read_clipped(struct disk_image *img, void *buf, size_t len, uint64_t off);

#endif
