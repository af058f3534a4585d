/* The disk boot_find reads (boot_disk.h). libblkid probes a file
 * descriptor and has no hook for another reader, so a qcow2 disk is shown
 * to it as a memfd of the virtual disk's size, sparse, holding only the
 * regions partition probing reads (the first and last MiB: MBR, GPT and
 * its backup; each partition's first MiB: its superblock; the MiB after
 * each partition: an extended MBR's next link), copied through the image
 * layer, at most BOOT_DISK_PROBE_COPY_MAX in all: the rest reads as zeros.
 * Not a temporary file of the whole disk (gigabytes written for a few
 * sectors read), and not a FUSE or NBD export (root, a daemon, the host's
 * kernel parsing the image's partition table). The filesystems themselves
 * are read through the image layer directly (ext2_image_io.h). */
#include "disk/boot_disk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "disk/disk_chain.h"
#include "disk/disk_image.h"

#define COPY_CHUNK (1u << 20)
#define COPIED_MAX (BOOT_DISK_PROBE_COPY_MAX / COPY_CHUNK)

struct boot_disk {
	const char *path;
	struct disk_image *img; /* NULL: raw, read as its file */
	int memfd;
	uint64_t copied[COPIED_MAX]; /* MiB-aligned offsets already in memfd */
	size_t n_copied;
	uint8_t *chunk;
};

static struct disk_image *open_chain(const char *path, struct nv_err *err)
{
	struct disk_chain *c = malloc(sizeof(*c));
	if (!c) {
		nv_err_host(err, "%s: out of memory", path);
		return NULL;
	}
	struct disk_image *img = NULL;
	if (disk_chain_resolve(path, c, err) == 0) {
		const char *paths[DISK_CHAIN_MAX];
		disk_chain_array(c, paths);
		img = disk_image_open(paths, c->n, true, err);
	}
	free(c);
	return img;
}

struct boot_disk *boot_disk_open(const char *path, struct nv_err *err)
{
	enum disk_format format;
	if (disk_image_probe(path, &format, err) < 0)
		return NULL;
	struct boot_disk *d = calloc(1, sizeof(*d));
	if (!d) {
		nv_err_host(err, "%s: out of memory", path);
		return NULL;
	}
	d->path = path;
	d->memfd = -1;
	if (format == DISK_FORMAT_RAW)
		return d;
	d->img = open_chain(path, err);
	if (!d->img) {
		free(d);
		return NULL;
	}
	return d;
}

void boot_disk_close(struct boot_disk *d)
{
	if (!d)
		return;
	if (d->memfd >= 0)
		close(d->memfd);
	disk_image_close(d->img);
	free(d->chunk);
	free(d);
}

static bool all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* boot_parts_fill: each MiB of [off, off + len) copied in once; zeros are
 * left as holes. Past the cap, nothing more is copied. */
static int copy_in(void *ctx, uint64_t off, uint64_t len, struct nv_err *err)
{
	struct boot_disk *d = ctx;
	uint64_t size = disk_image_size(d->img);
	for (uint64_t at = off & ~(uint64_t)(COPY_CHUNK - 1); at < off + len && at < size;
	     at += COPY_CHUNK) {
		bool done = false;
		for (size_t i = 0; i < d->n_copied && !done; i++)
			done = d->copied[i] == at;
		if (done)
			continue;
		if (d->n_copied == COPIED_MAX)
			return 0;
		size_t n = size - at < COPY_CHUNK ? (size_t)(size - at) : COPY_CHUNK;
		struct iovec iov = { .iov_base = d->chunk, .iov_len = n };
		if (disk_image_readv(d->img, &iov, 1, at) < 0)
			return nv_err_input(err, "%s: cannot read its bytes at %llu (a corrupt image?)",
					    d->path, (unsigned long long)at);
		if (!all_zero(d->chunk, n) && pwrite(d->memfd, d->chunk, n, (off_t)at) != (ssize_t)n)
			return nv_err_host(err, "%s: cannot copy its partition table for probing: %s",
					   d->path, strerror(errno));
		d->copied[d->n_copied++] = at;
	}
	return 0;
}

int boot_disk_partitions(struct boot_disk *d, struct boot_parts *out, struct nv_err *err)
{
	if (!d->img)
		return boot_parts_probe(d->path, out, err);
	if (d->memfd < 0) {
		d->memfd = memfd_create("nestvm-boot-probe", MFD_CLOEXEC);
		if (d->memfd < 0 || !(d->chunk = malloc(COPY_CHUNK)))
			return nv_err_host(err, "%s: no memory to probe its partitions", d->path);
		uint64_t size = disk_image_size(d->img);
		if (size > INT64_MAX || ftruncate(d->memfd, (off_t)size) < 0)
			return nv_err_host(err, "%s: cannot stand for its %llu bytes to probe them: %s",
					   d->path, (unsigned long long)size, strerror(errno));
	}
	return boot_parts_probe_fd(d->memfd, d->path, copy_in, d, out, err);
}

struct boot_fs *boot_disk_open_fs(struct boot_disk *d, const struct boot_part *p,
				  const char *what, struct nv_err *err)
{
	if (!d->img)
		return boot_fs_open(d->path, p->offset, p->size, what, err);
	return boot_fs_open_image(d->img, p->offset, p->size, what, err);
}
