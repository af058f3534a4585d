#include "disk/raw_image.h"

#include "disk/image_backend.h"

/* The range lies inside the size found at open; a file that has shrunk
 * since makes the transfer fail at its end (-1), never return short. */
static int raw_readv(struct disk_image *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return image_preadv_all(img->fd, iov, iovcnt, off);
}

static int raw_writev(struct disk_image *img, const struct iovec *iov, int iovcnt,
		      uint64_t off)
{
	return image_pwritev_all(img->fd, iov, iovcnt, off);
}

static void raw_free(struct disk_image *img)
{
	(void)img; /* no state past the fd, which the chain code closes */
}

static const struct image_ops raw_ops = {
	.readv = raw_readv,
	.writev = raw_writev,
	.free = raw_free,
};

void raw_image_attach(struct disk_image *img)
{
	img->size = img->file_size;
	img->ops = &raw_ops;
	img->state = NULL;
}
