/* A chain of images: the top one the guest sees, its backing images below,
 * checked against what each qcow2 header says about its backing file. The
 * reads and writes go to the top image's format, which reads through to
 * the images below. */
#include "disk/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/image_backend.h"
#include "disk/image_file.h"
#include "disk/qcow2.h"

/* Deeper chains are refused (a VM keeps up to 64 checkpoints, each an
 * overlay): past this the chain is a loop or a mistake. */
#define MAX_CHAIN 128

static const char *format_name(const struct disk_image *img)
{
	return img->qcow2 ? "qcow2" : "raw";
}

/* The same file twice would deadlock on its own flock, or worse, read
 * itself as its own backing image. */
static int check_distinct(const char *const *chain, size_t n, struct nv_err *err)
{
	struct stat *st = calloc(n, sizeof(*st));
	bool *ok = calloc(n, sizeof(*ok));
	int rc = 0;
	if (!st || !ok) {
		rc = nv_err_host(err, "out of memory opening disk image %s", chain[0]);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		ok[i] = stat(chain[i], &st[i]) == 0; /* a failure: the open will say */
		for (size_t j = 0; j < i && ok[i]; j++)
			if (ok[j] && st[j].st_dev == st[i].st_dev && st[j].st_ino == st[i].st_ino)
				rc = nv_err_input(err, "disk image %s appears twice in the chain (also as %s)",
						  chain[i], chain[j]);
	}
out:
	free(st);
	free(ok);
	return rc;
}

/* What img's header says about its backing file against the chain's
 * record: next is the image below it, or NULL. */
static int check_link(const struct disk_image *img, const struct disk_image *next,
		      struct nv_err *err)
{
	if (!img->qcow2) {
		if (next)
			return nv_err_input(err,
					    "disk image %s is raw, so it cannot have the backing image %s",
					    img->path, next->path);
		return 0;
	}
	bool has = qcow2_has_backing(img);
	if (has && !next)
		return nv_err_input(err,
				    "disk image %s: its qcow2 header names a backing file, which nestvm takes only "
				    "from its own records (checkpoints); make it whole first: qemu-img convert -O "
				    "qcow2 %s NEW.qcow2", img->path, img->path);
	if (!has && next)
		return nv_err_input(err,
				    "disk image %s: its qcow2 header names no backing file, but %s was given as one",
				    img->path, next->path);
	const char *fmt = qcow2_backing_format(img);
	if (next && fmt[0] && strcmp(fmt, format_name(next)))
		return nv_err_input(err,
				    "disk image %s: its qcow2 header says its backing file is %s, but %s is %s",
				    img->path, fmt, next->path, format_name(next));
	return 0;
}

struct disk_image *disk_image_open(const char *const *chain, size_t n, bool readonly,
				   struct nv_err *err)
{
	if (!chain || n == 0) {
		nv_err_input(err, "no disk image given");
		return NULL;
	}
	if (n > MAX_CHAIN) {
		nv_err_input(err, "disk image %s: a chain of %zu images is over the cap of %d",
			     chain[0], n, MAX_CHAIN);
		return NULL;
	}
	if (check_distinct(chain, n, err) < 0)
		return NULL;
	struct disk_image **imgs = calloc(n, sizeof(*imgs));
	if (!imgs) {
		nv_err_host(err, "out of memory opening disk image %s", chain[0]);
		return NULL;
	}
	size_t opened = 0;
	for (; opened < n; opened++) {
		imgs[opened] = image_file_open(chain[opened], opened == 0 ? readonly : true, err);
		if (!imgs[opened])
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		struct disk_image *next = i + 1 < n ? imgs[i + 1] : NULL;
		if (check_link(imgs[i], next, err) < 0)
			goto fail;
		imgs[i]->backing = next;
	}
	struct disk_image *top = imgs[0];
	free(imgs);
	return top;
fail:
	for (size_t i = 0; i < opened; i++)
		image_file_close(imgs[i]);
	free(imgs);
	return NULL;
}

int disk_image_check(const char *const *chain, size_t n, bool readonly, struct nv_err *err)
{
	struct disk_image *img = disk_image_open(chain, n, readonly, err);
	if (!img)
		return -1;
	disk_image_close(img); /* drops the trial locks */
	return 0;
}

void disk_image_close(struct disk_image *img)
{
	while (img) {
		struct disk_image *next = img->backing;
		image_file_close(img);
		img = next;
	}
}

uint64_t disk_image_size(const struct disk_image *img)
{
	return img->size;
}

enum disk_format disk_image_format(const struct disk_image *img)
{
	return img->qcow2 ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
}

dev_t disk_image_dev(const struct disk_image *img)
{
	return img->dev;
}

ino_t disk_image_ino(const struct disk_image *img)
{
	return img->ino;
}

/* The iovec's whole length lies inside the virtual disk from off. */
static bool in_range(const struct disk_image *img, const struct iovec *iov, int iovcnt,
		     uint64_t off)
{
	if (iovcnt < 0 || (iovcnt > 0 && !iov) || off > img->size)
		return false;
	uint64_t room = img->size - off;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > room)
			return false;
		room -= iov[i].iov_len;
	}
	return true;
}

int disk_image_readv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (!in_range(img, iov, iovcnt, off))
		return -1;
	return img->ops->readv(img, iov, iovcnt, off);
}

/* nestvm finds an image's format from its first bytes, so a guest that
 * wrote qcow2's magic at the start of a disk whose bottom image is raw
 * would have that file read as qcow2 next time (after a merge, too): its
 * own bytes taken for metadata. Such a write fails, as QEMU does for
 * probed raw images; no partition table or file system starts so. */
static bool writes_qcow2_magic(const struct disk_image *img, const struct iovec *iov, int iovcnt,
			       uint64_t off)
{
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	const struct disk_image *bottom = img;
	while (bottom->backing)
		bottom = bottom->backing;
	if (bottom->qcow2 || off >= sizeof(magic))
		return false;
	uint8_t head[sizeof(magic)];
	size_t got = 0, want = sizeof(magic) - (size_t)off;
	for (int i = 0; i < iovcnt && got < want; i++) {
		size_t n = iov[i].iov_len < want - got ? iov[i].iov_len : want - got;
		memcpy(head + got, iov[i].iov_base, n);
		got += n;
	}
	return got == want && !memcmp(head, magic + off, want);
}

int disk_image_writev(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	if (img->readonly || !in_range(img, iov, iovcnt, off) || writes_qcow2_magic(img, iov, iovcnt, off))
		return -1;
	return img->ops->writev(img, iov, iovcnt, off);
}

/* Linux reports a lost write-back to one fdatasync only; after that the
 * next one succeeds though the data is gone. So a failure sticks: every
 * later flush of this image fails too, as the guest must hear. */
int disk_image_flush(struct disk_image *img)
{
	if (img->readonly)
		return 0;
	if (!img->flush_failed && fdatasync(img->fd) < 0)
		img->flush_failed = true;
	return img->flush_failed ? -1 : 0;
}

int disk_image_probe(const char *path, enum disk_format *format, struct nv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "cannot open disk image %s: %s", path, strerror(errno));
	bool qcow2;
	int rc = image_file_probe_fd(fd, &qcow2);
	int e = errno;
	close(fd);
	if (rc < 0)
		return nv_err_input(err, "cannot read disk image %s: %s", path, strerror(e));
	*format = qcow2 ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
	return 0;
}
