#include "disk/image_file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk/image_backend.h"
#include "disk/qcow2.h"
#include "disk/raw_image.h"

int image_file_probe_fd(int fd, bool *qcow2)
{
	static const uint8_t magic[4] = { 'Q', 'F', 'I', 0xfb };
	uint8_t b[4];
	ssize_t got = image_pread_upto(fd, b, sizeof(b), 0);
	if (got < 0)
		return -1;
	*qcow2 = got == 4 && !memcmp(b, magic, 4);
	return 0;
}

static int file_size(struct disk_image *img, const struct stat *st, struct nv_err *err)
{
	if (S_ISREG(st->st_mode)) {
		img->file_size = (uint64_t)st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		uint64_t size;
		if (ioctl(img->fd, BLKGETSIZE64, &size) < 0)
			return nv_err_host(err, "cannot get the size of block device %s: %s",
					   img->path, strerror(errno));
		img->file_size = size;
		img->is_blockdev = true;
		return 0;
	}
	return nv_err_input(err, "disk image %s is not a regular file or block device", img->path);
}

/* Shared for readers, exclusive for the writer: a second VM writing the
 * image, or anyone writing a backing file under a reader, corrupts it. */
static int lock(struct disk_image *img, struct nv_err *err)
{
	if (flock(img->fd, (img->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return nv_err_input(err, "disk image %s is in use by another process", img->path);
	return nv_err_host(err, "cannot lock disk image %s: %s", img->path, strerror(errno));
}

struct disk_image *image_file_open(const char *path, bool readonly, struct nv_err *err)
{
	struct disk_image *img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		nv_err_host(err, "out of memory opening disk image %s", path);
		return NULL;
	}
	img->readonly = readonly;
	img->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0) {
		nv_err_input(err, "cannot open disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(img->fd, &st) < 0) {
		nv_err_host(err, "cannot stat disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if (file_size(img, &st, err) < 0 || lock(img, err) < 0)
		goto fail;
	if (image_file_probe_fd(img->fd, &img->qcow2) < 0) {
		nv_err_input(err, "cannot read disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	if (img->qcow2) {
		if (qcow2_attach(img, err) < 0)
			goto fail;
	} else {
		raw_image_attach(img);
	}
	return img;
fail:
	image_file_close(img);
	return NULL;
}

void image_file_close(struct disk_image *img)
{
	if (!img)
		return;
	if (img->ops)
		img->ops->free(img);
	if (img->fd >= 0)
		close(img->fd);
	free(img->path);
	free(img);
}
