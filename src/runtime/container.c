#include "runtime/container.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/container_id.h"
#include "runtime/proc_stat.h"

int container_dir(const char *root, const char *id, char *dir, size_t size, struct nv_err *err)
{
	if (!container_id_valid(id))
		return nv_err_input(err,
				    "'%s' is not a container ID (1-%d of A-Z a-z 0-9 _ . -, not starting with '.')",
				    id, CONTAINER_ID_MAX);
	if ((size_t)snprintf(dir, size, "%s/%s", root, id) >= size)
		return nv_err_input(err, "--root %s: path too long", root);
	return 0;
}

int container_load(const char *root, const char *id, struct container *c, int *missing, struct nv_err *err)
{
	if (missing)
		*missing = 0;
	if (container_dir(root, id, c->dir, sizeof(c->dir), err) < 0)
		return -1;
	struct stat st;
	if (lstat(c->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (missing)
			*missing = ENOENT;
		return nv_err_input(err, "container %s does not exist", id);
	}
	if (state_record_load(c->dir, &c->rec, err) < 0)
		return -1;
	c->status = container_status_of(c);
	return 0;
}

enum container_status container_status_of(const struct container *c)
{
	if (!proc_alive(c->rec.pid, c->rec.pid_start))
		return CONTAINER_STOPPED;
	char started[PATH_MAX + 16];
	snprintf(started, sizeof(started), "%s/started", c->dir);
	return access(started, F_OK) == 0 ? CONTAINER_RUNNING : CONTAINER_CREATED;
}

const char *container_status_name(enum container_status s)
{
	switch (s) {
	case CONTAINER_CREATED: return "created";
	case CONTAINER_RUNNING: return "running";
	case CONTAINER_STOPPED: return "stopped";
	}
	return "unknown";
}
