#include "util/state_dir.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records, sockets and disks under the state directory steer what nestvm
 * does: one that another user owns or may write to could plant them. One
 * that does not exist yet (missing_ok) holds nothing to trust. */
static int check_private(const char *path, bool missing_ok, struct nv_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return nv_err_input(err, "cannot use state directory %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return nv_err_input(err, "state directory %s is not a directory", path);
	if (st.st_uid != geteuid())
		return nv_err_input(err, "state directory %s belongs to uid %u, not to this user (uid %u): "
				    "another user could plant VMs and sockets there; use one of your own (NESTVM_HOME)",
				    path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return nv_err_input(err, "state directory %s is writable by others (mode %04o): "
				    "fix: chmod go-w %s", path, (unsigned)(st.st_mode & 07777), path);
	return 0;
}

int state_dir_path(char *out, size_t len, struct nv_err *err)
{
	const char *home = getenv("NESTVM_HOME");
	int n;
	if (home && *home) {
		n = snprintf(out, len, "%s", home);
	} else if (geteuid() == 0) {
		n = snprintf(out, len, "/var/lib/nestvm");
	} else if ((home = getenv("XDG_STATE_HOME")) && *home) {
		n = snprintf(out, len, "%s/nestvm", home);
	} else if ((home = getenv("HOME")) && *home) {
		n = snprintf(out, len, "%s/.local/state/nestvm", home);
	} else {
		return nv_err_input(err, "no state directory: set NESTVM_HOME or HOME");
	}
	if (n < 0 || (size_t)n >= len)
		return nv_err_input(err, "the state directory path is too long (NESTVM_HOME)");
	return check_private(out, true, err);
}

/* mkdir -p with mode 0700 for what it creates. */
static int mkdir_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int state_dir_ensure(const char *sub, char *out, size_t len, struct nv_err *err)
{
	char base[4096];
	if (state_dir_path(base, sizeof(base), err) < 0)
		return -1;
	int n = sub && *sub ? snprintf(out, len, "%s/%s", base, sub) : snprintf(out, len, "%s", base);
	if (n < 0 || (size_t)n >= len)
		return nv_err_input(err, "the state directory path is too long (NESTVM_HOME)");
	if (mkdir_parents(out) < 0)
		return nv_err_input(err, "cannot create %s: %s", out, strerror(errno));
	if (check_private(base, false, err) < 0 || (strcmp(out, base) && check_private(out, false, err) < 0))
		return -1; /* base again: state_dir_path saw it before it existed */
	return 0;
}

int state_name_valid(const char *name, size_t max)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > max || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}
