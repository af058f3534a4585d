#include "util/remove_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

/* The uid the kernel checks file access with (root's fsuid may differ
 * from its euid while it acts as a VM's user). */
static uid_t fs_uid(void)
{
	return (uid_t)setfsuid((uid_t)-1); /* an invalid id: only reports */
}

/* Empties the folder open as dfd (closed here). */
static int empty_at(int dfd, int depth)
{
	struct stat st;
	/* The effective uid's folders too: nobody else made them, and asking
	 * for the fsuid is a call a confined VMM may not make. */
	if (fstat(dfd, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != fs_uid())) {
		close(dfd);
		errno = EPERM;
		return -1;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	int rc = 0, e = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		const char *n = ent->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (unlinkat(dirfd(d), n, 0) == 0)
			continue;
		bool is_dir = errno == EISDIR;
		int sub = is_dir && depth > 0 ? openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (sub >= 0 && empty_at(sub, depth - 1) == 0 && unlinkat(dirfd(d), n, AT_REMOVEDIR) == 0)
			continue;
		rc = -1;
		e = errno;
	}
	closedir(d);
	errno = e;
	return rc;
}

int remove_tree_contents(const char *dir, int depth)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dfd < 0 ? -1 : empty_at(dfd, depth);
}

int remove_tree(const char *dir, int depth)
{
	int rc = remove_tree_contents(dir, depth);
	return rmdir(dir) < 0 ? -1 : rc;
}
