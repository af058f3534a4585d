#include "disk/disk_chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk/disk_image.h"
#include "util/file_io.h"

static int record_path(const char *overlay, char *out, size_t len, struct nv_err *err)
{
	if ((size_t)snprintf(out, len, "%s%s", overlay, DISK_CHAIN_RECORD_SUFFIX) >= len)
		return nv_err_input(err, "disk image path too long: %s", overlay);
	return 0;
}

int disk_chain_backing(const char *overlay, char *out, size_t len, struct nv_err *err)
{
	char rec[DISK_PATH_MAX + 16];
	if (record_path(overlay, rec, sizeof(rec), err) < 0)
		return -1;
	char *text = NULL;
	size_t n = 0;
	out[0] = '\0';
	int r = file_read_bounded(rec, DISK_PATH_MAX + 1, &text, &n);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return nv_err_input(err, "cannot read %s (the record of %s's backing image): %s", rec, overlay,
				    strerror(-r));
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\0'))
		n--;
	int rc = 0;
	if (n == 0 || text[0] != '/' || n >= len || memchr(text, '\0', n) || memchr(text, '\n', n))
		rc = nv_err_input(err, "%s: not one absolute path (the record of %s's backing image)", rec,
				  overlay);
	else {
		memcpy(out, text, n);
		out[n] = '\0';
	}
	free(text);
	return rc;
}

int disk_chain_resolve(const char *top, struct disk_chain *c, struct nv_err *err)
{
	c->n = 0;
	if (strlen(top) >= DISK_PATH_MAX)
		return nv_err_input(err, "disk image path too long: %.64s...", top);
	snprintf(c->paths[0], DISK_PATH_MAX, "%s", top);
	c->n = 1;
	for (;;) {
		char next[DISK_PATH_MAX];
		if (disk_chain_backing(c->paths[c->n - 1], next, sizeof(next), err) < 0)
			return -1;
		if (!next[0])
			return 0;
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->paths[i], next))
				return nv_err_input(err, "the backing records of %s loop at %s", top, next);
		if (c->n == DISK_CHAIN_MAX)
			return nv_err_input(err, "%s: more than %d images in its chain of backing files", top,
					    DISK_CHAIN_MAX);
		snprintf(c->paths[c->n++], DISK_PATH_MAX, "%s", next);
	}
}

void disk_chain_array(const struct disk_chain *c, const char *out[DISK_CHAIN_MAX])
{
	for (size_t i = 0; i < c->n; i++)
		out[i] = c->paths[i];
}

int disk_chain_record(const char *overlay, const char *backing, struct nv_err *err)
{
	char rec[DISK_PATH_MAX + 16];
	if (record_path(overlay, rec, sizeof(rec), err) < 0)
		return -1;
	if (backing[0] != '/' || strlen(backing) >= DISK_PATH_MAX || strchr(backing, '\n'))
		return nv_err_input(err, "backing image %s: give an absolute path of at most %d bytes", backing,
				    DISK_PATH_MAX - 1);
	int r = file_write_text(rec, backing);
	if (r < 0)
		return nv_err_host(err, "cannot write %s: %s", rec, strerror(-r));
	return 0;
}

void disk_chain_forget(const char *overlay)
{
	char rec[DISK_PATH_MAX + 16];
	if (record_path(overlay, rec, sizeof(rec), NULL) == 0)
		unlink(rec);
}

int disk_chain_branch(const char *base, uint64_t size, const char *overlay, struct nv_err *err)
{
	enum disk_format f;
	if (disk_image_probe(base, &f, err) < 0)
		return -1;
	if (qcow2_create(overlay, size, base, f, err) < 0)
		return -1;
	if (disk_chain_record(overlay, base, err) < 0) {
		unlink(overlay);
		return -1;
	}
	return 0;
}

int disk_chain_size(const char *top, uint64_t *size, struct nv_err *err)
{
	struct disk_chain *c = malloc(sizeof(*c));
	if (!c)
		return nv_err_host(err, "out of memory for a disk chain");
	int rc = -1;
	if (disk_chain_resolve(top, c, err) == 0) {
		const char *paths[DISK_CHAIN_MAX];
		disk_chain_array(c, paths);
		struct disk_image *img = disk_image_open(paths, c->n, true, err);
		if (img) {
			*size = disk_image_size(img);
			disk_image_close(img);
			rc = 0;
		}
	}
	free(c);
	return rc;
}
