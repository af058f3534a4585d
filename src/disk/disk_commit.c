/* Merging a differencing disk into its backing image: each cluster the
 * top image holds goes through the base chain's ordinary write path, so a
 * qcow2 base allocates and counts as it would for a guest's write. */
#include "disk/disk_image.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "disk/image_backend.h"
#include "disk/image_file.h"
#include "disk/qcow2.h"
#include "util/progress.h"

/* top against base: a qcow2 image naming a backing file of base's format,
 * no larger than base (a raw base cannot grow to take the rest). */
static int check_pair(const struct disk_image *top, const struct disk_image *base,
		      struct nv_err *err)
{
	if (!top->qcow2)
		return nv_err_input(err, "cannot commit %s: it is not a qcow2 image", top->path);
	if (!qcow2_has_backing(top))
		return nv_err_input(err, "cannot commit %s: its qcow2 header names no backing file",
				    top->path);
	const char *fmt = qcow2_backing_format(top);
	const char *base_fmt = base->qcow2 ? "qcow2" : "raw";
	if (fmt[0] && strcmp(fmt, base_fmt))
		return nv_err_input(err,
				    "cannot commit %s: its header says its backing file is %s, but %s is %s",
				    top->path, fmt, base->path, base_fmt);
	if (top->size > base->size)
		return nv_err_input(err,
				    "cannot commit %s into %s: it is %" PRIu64
				    " bytes, larger than its backing image (%" PRIu64 ")",
				    top->path, base->path, top->size, base->size);
	return 0;
}

static int copy_clusters(struct disk_image *top, struct disk_image *base, struct nv_err *err)
{
	uint64_t cs = qcow2_cluster_size(top);
	uint8_t *buf = malloc(cs), *zeros = calloc(1, cs);
	int rc = 0;
	if (!buf || !zeros) {
		rc = nv_err_host(err, "out of memory committing %s", top->path);
		goto out;
	}
	char what[80];
	const char *slash = strrchr(top->path, '/');
	snprintf(what, sizeof(what), "merging %s", slash ? slash + 1 : top->path);
	for (uint64_t off = 0; off < top->size;) {
		enum qcow2_holds holds;
		uint64_t span;
		progress_report(what, off, top->size);
		if (qcow2_holds(top, off, &holds, &span) < 0) {
			rc = nv_err_input(err,
					  "cannot commit %s: corrupt image or read error at offset %" PRIu64,
					  top->path, off);
			goto out;
		}
		if (holds != QCOW2_HOLDS_NOTHING) {
			/* span is the rest of one cluster here */
			uint64_t len = span < top->size - off ? span : top->size - off;
			struct iovec v = { .iov_base = holds == QCOW2_HOLDS_ZEROS ? zeros : buf,
					   .iov_len = (size_t)len };
			if (holds == QCOW2_HOLDS_DATA && disk_image_readv(top, &v, 1, off) < 0) {
				rc = nv_err_input(err,
						  "cannot commit %s: corrupt image or read error at offset %" PRIu64,
						  top->path, off);
				goto out;
			}
			if (disk_image_writev(base, &v, 1, off) < 0) {
				rc = nv_err_host(err, "cannot commit %s: writing %s at offset %" PRIu64
						      " failed",
						 top->path, base->path, off);
				goto out;
			}
		}
		if (span > top->size - off)
			break;
		off += span;
	}
	if (rc == 0)
		progress_report(what, top->size, top->size);
out:
	free(buf);
	free(zeros);
	return rc;
}

int disk_image_commit(const char *top_path, const char *const *base_chain, size_t n,
		      struct nv_err *err)
{
	if (!base_chain || n == 0)
		return nv_err_input(err, "cannot commit %s: no backing image given", top_path);
	/* top in base's chain would be locked twice by this process: the
	 * second lock would fail as if another process held the first. */
	struct stat ts, bs;
	if (stat(top_path, &ts) == 0)
		for (size_t i = 0; i < n; i++)
			if (stat(base_chain[i], &bs) == 0 && bs.st_dev == ts.st_dev &&
			    bs.st_ino == ts.st_ino)
				return nv_err_input(err, "cannot commit %s into its own chain (%s)",
						    top_path, base_chain[i]);
	/* base first, exclusively: top's own open takes no lock on it. */
	struct disk_image *base = disk_image_open(base_chain, n, false, err);
	if (!base)
		return -1;
	struct disk_image *top = image_file_open(top_path, true, err);
	int rc = -1;
	if (top && check_pair(top, base, err) == 0 && copy_clusters(top, base, err) == 0) {
		rc = 0;
		if (disk_image_flush(base) < 0)
			rc = nv_err_host(err, "cannot commit %s: flushing %s failed", top_path,
					 base->path);
	}
	image_file_close(top);
	disk_image_close(base);
	return rc;
}
