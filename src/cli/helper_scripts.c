#include "cli/helper_scripts.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/state_dir.h"

static int self_dir(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	return (size_t)snprintf(out, size, "%s", dirname(exe)) < size ? 0 : -1;
}

int helper_script_find(const char *rel, char *out, size_t size, bool *installed)
{
	char bin[PATH_MAX];
	*installed = false;
	if (self_dir(bin, sizeof(bin)) < 0) {
		snprintf(out, size, "%s", rel);
		return -1;
	}
	if ((size_t)snprintf(out, size, "%s/../%s", bin, rel) < size && access(out, X_OK) == 0)
		return 0;
	*installed = true;
	if ((size_t)snprintf(out, size, "%s/../lib/nestvm/%s", bin, rel) < size && access(out, X_OK) == 0)
		return 0;
	return -1;
}

int helper_script_env(struct nv_err *err)
{
	const char *set = getenv("NESTVM_BUILD_DIR");
	if (!set || !*set) {
		char state[PATH_MAX];
		if (state_dir_ensure(NULL, state, sizeof(state), err) < 0)
			return -1;
		if (setenv("NESTVM_BUILD_DIR", state, 1) < 0)
			return nv_err_host(err, "out of memory");
	}
	set = getenv("NESTVM_EXE");
	if (!set || !*set) {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return nv_err_host(err, "cannot read /proc/self/exe: is /proc mounted?");
		exe[n] = '\0';
		if (setenv("NESTVM_EXE", exe, 1) < 0)
			return nv_err_host(err, "out of memory");
	}
	return 0;
}
