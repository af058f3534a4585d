#include "util/state_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	return 0;
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
