#include "vmm/guest_files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/state_dir.h"

int guest_file_read(const char *path, const char *what, uint64_t max_bytes,
		    uint8_t **data, size_t *len, struct nv_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nv_err_input(err, "%s '%s': %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return nv_err_input(err, "%s '%s' is not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > max_bytes) {
		close(fd);
		return nv_err_input(err, "%s '%s' (%llu MiB) is larger than guest memory allows (%llu MiB)",
				    what, path, (unsigned long long)st.st_size >> 20,
				    (unsigned long long)max_bytes >> 20);
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		close(fd);
		return nv_err_host(err, "out of memory reading %s", path);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			close(fd);
			return nv_err_input(err, "%s '%s': read failed", what, path);
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
}

static int try_dir(const char *dir, char *kernel, char *initrd, size_t size)
{
	snprintf(kernel, size, "%s/vmlinuz", dir);
	snprintf(initrd, size, "%s/initrd.img", dir);
	return access(kernel, R_OK) == 0 && access(initrd, R_OK) == 0 ? 0 : -1;
}

int guest_nested_image_path(char *path, size_t size)
{
	const char *env = getenv("NESTVM_NESTED_IMAGE");
	if (env && *env) {
		snprintf(path, size, "%s", env);
		return access(path, R_OK) == 0 ? 0 : -1;
	}
	char kernel[PATH_MAX], initrd[PATH_MAX];
	if (guest_default_paths(kernel, initrd, sizeof(kernel), NULL) == 0) {
		snprintf(path, size, "%s", kernel);
		char *slash = strrchr(path, '/');
		if (slash && (size_t)(slash - path) + sizeof("/nested.img") <= size) {
			strcpy(slash, "/nested.img");
			if (access(path, R_OK) == 0)
				return 0;
		}
	}
	snprintf(path, size, "/run/nestvm/nested.img");
	return access(path, R_OK) == 0 ? 0 : -1;
}

int guest_default_paths(char *kernel, char *initrd, size_t size, struct nv_err *err)
{
	const char *env = getenv("NESTVM_GUEST_DIR");
	if (env && *env) {
		if (try_dir(env, kernel, initrd, size) == 0)
			return 0;
		return nv_err_input(err, "NESTVM_GUEST_DIR=%s has no vmlinuz and initrd.img", env);
	}
	char exe[PATH_MAX], dir[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		const char *bin = dirname(exe);
		snprintf(dir, sizeof(dir), "%s/guest", bin);
		if (try_dir(dir, kernel, initrd, size) == 0)
			return 0;
		/* Installed (make install): PREFIX/bin/nestvm finds
		 * PREFIX/share/nestvm/guest whatever PREFIX was. */
		snprintf(dir, sizeof(dir), "%s/../share/nestvm/guest", bin);
		if (try_dir(dir, kernel, initrd, size) == 0)
			return 0;
	}
	/* `nestvm guest build` from an installed nestvm writes here; the state
	 * directory is only used when it is this user's alone, as what is in
	 * it chooses what the VM boots. */
	char state[PATH_MAX];
	if (state_dir_path(state, sizeof(state), NULL) == 0 &&
	    (size_t)snprintf(dir, sizeof(dir), "%s/guest", state) < sizeof(dir) &&
	    try_dir(dir, kernel, initrd, size) == 0)
		return 0;
	if (try_dir("/usr/share/nestvm/guest", kernel, initrd, size) == 0)
		return 0;
	return nv_err_input(err, "the default guest is not built: run `nestvm guest build` (or pass --kernel)");
}
