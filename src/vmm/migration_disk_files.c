#include "vmm/migration_disk_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disk/disk_image.h"
#include "state/migration_stream.h"

int mig_disk_file_path(const char *storage_dir, const char *source_path, char *out, size_t len,
		       struct nv_err *err)
{
	const char *slash = strrchr(source_path, '/');
	const char *base = slash ? slash + 1 : source_path;
	int n = storage_dir ? snprintf(out, len, "%s/%s", storage_dir, base) : snprintf(out, len, "%s", source_path);
	if (!base[0] || n < 0 || (size_t)n >= len)
		return nv_err_input(err, "no path for a copy of disk %s in %s", source_path,
				    storage_dir ? storage_dir : "its own folder");
	return 0;
}

int mig_disk_file_create(const char *path, unsigned format, uint64_t size, struct nv_err *err)
{
	if (format == MIG_DISK_QCOW2) {
		if (access(path, F_OK) == 0 || errno != ENOENT)
			return nv_err_input(err, "the copy of a disk would overwrite %s: it exists", path);
		return qcow2_create(path, size, NULL, DISK_FORMAT_RAW, err); /* O_EXCL too */
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return nv_err_input(err, "the copy of a disk would overwrite %s: it exists", path);
	if (fd < 0)
		return nv_err_input(err, "cannot make the copy of a disk at %s: %s", path, strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) { /* sparse: DISK messages fill it */
		int e = errno;
		close(fd);
		unlink(path);
		return nv_err_host(err, "cannot size the copy of a disk at %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}
