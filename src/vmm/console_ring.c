#include "vmm/console_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void console_ring_write(struct console_ring *r, const uint8_t *p, size_t n)
{
	if (n >= CONSOLE_RING_SIZE) {
		/* Only the last ring-full matters. */
		memcpy(r->buf, p + n - CONSOLE_RING_SIZE, CONSOLE_RING_SIZE);
		r->head = 0;
		r->len = CONSOLE_RING_SIZE;
		return;
	}
	size_t first = CONSOLE_RING_SIZE - r->head;
	if (first > n)
		first = n;
	memcpy(r->buf + r->head, p, first);
	memcpy(r->buf, p + first, n - first);
	r->head = (r->head + n) % CONSOLE_RING_SIZE;
	r->len = r->len + n > CONSOLE_RING_SIZE ? CONSOLE_RING_SIZE : r->len + n;
}

size_t console_ring_copy(const struct console_ring *r, uint8_t *out)
{
	size_t start = (r->head + CONSOLE_RING_SIZE - r->len) % CONSOLE_RING_SIZE;
	size_t first = CONSOLE_RING_SIZE - start;
	if (first > r->len)
		first = r->len;
	memcpy(out, r->buf + start, first);
	memcpy(out + first, r->buf, r->len - first);
	return r->len;
}

int console_log_open(struct console_log *l, const char *path, struct nv_err *err)
{
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0)
		return nv_err_host(err, "%s: %s", path, strerror(errno));
	struct stat st;
	l->size = fstat(l->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	l->max = CONSOLE_LOG_MAX;
	l->keep = CONSOLE_LOG_KEEP;
	return 0;
}

static void pwrite_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
		off += w;
	}
}

/* Moves the last keep bytes to the start. Rare (once per max - keep bytes
 * of output), so a plain read-and-rewrite is enough. */
static void cap(struct console_log *l)
{
	uint8_t *tail = malloc(l->keep);
	if (!tail)
		return;
	ssize_t got = pread(l->fd, tail, l->keep, (off_t)(l->size - l->keep));
	if (got == (ssize_t)l->keep) {
		pwrite_all(l->fd, tail, l->keep, 0);
		if (ftruncate(l->fd, (off_t)l->keep) == 0)
			l->size = l->keep;
	} else {
		/* An earlier write failed (disk full): go by the real size. */
		struct stat st;
		if (fstat(l->fd, &st) == 0)
			l->size = (uint64_t)st.st_size;
	}
	free(tail);
}

void console_log_write(struct console_log *l, const uint8_t *p, size_t n)
{
	if (l->fd < 0)
		return;
	pwrite_all(l->fd, p, n, (off_t)l->size);
	l->size += n;
	if (l->size > l->max)
		cap(l);
}

void console_log_close(struct console_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
