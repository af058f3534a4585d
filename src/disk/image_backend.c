#include "disk/image_backend.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Offsets past this are refused before they reach the kernel as a
 * negative off_t. */
#define MAX_OFF ((uint64_t)INT64_MAX)

static bool range_ok(uint64_t off, size_t len)
{
	return off <= MAX_OFF && len <= MAX_OFF - off;
}

ssize_t image_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	if (!range_ok(off, len) || len > SSIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int image_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	if (!range_ok(off, len)) {
		errno = EINVAL;
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t r = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Up to this many segments go to one preadv/pwritev: a copy of them on the
 * stack can be advanced past a short transfer (the caller's is const). */
#define IOV_BATCH 64

static int rw_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off, bool write)
{
	if (iovcnt < 0)
		return -1;
	struct iovec local[IOV_BATCH];
	int next = 0; /* first segment of iov not yet copied into local */
	while (next < iovcnt) {
		int n = iovcnt - next < IOV_BATCH ? iovcnt - next : IOV_BATCH;
		memcpy(local, iov + next, (size_t)n * sizeof(*local));
		next += n;
		struct iovec *v = local;
		size_t total = 0;
		for (int i = 0; i < n; i++) {
			if (v[i].iov_len > MAX_OFF - total)
				return -1;
			total += v[i].iov_len;
		}
		if (!range_ok(off, total))
			return -1;
		while (n > 0) {
			if (v->iov_len == 0) {
				v++;
				n--;
				continue;
			}
			ssize_t r = write ? pwritev(fd, v, n, (off_t)off) : preadv(fd, v, n, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1; /* an error, or end of file */
			off += (uint64_t)r;
			size_t left = (size_t)r;
			while (n > 0 && left >= v->iov_len) {
				left -= v->iov_len;
				v++;
				n--;
			}
			if (n > 0) {
				v->iov_base = (uint8_t *)v->iov_base + left;
				v->iov_len -= left;
			}
		}
	}
	return 0;
}

int image_preadv_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return rw_all(fd, iov, iovcnt, off, false);
}

int image_pwritev_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return rw_all(fd, iov, iovcnt, off, true);
}

int image_read_clipped(struct disk_image *img, void *buf, size_t len, uint64_t off)
{
	size_t have = 0;
	if (img && off < img->size)
		have = img->size - off < len ? (size_t)(img->size - off) : len;
	if (have) {
		struct iovec v = { .iov_base = buf, .iov_len = have };
		if (img->ops->readv(img, &v, 1, off) < 0)
			return -1;
	}
	memset((uint8_t *)buf + have, 0, len - have);
	return 0;
}
