#include "mgmt/vm_user_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/remove_tree.h"

#define PATH_LEN 4096
/* user/saved/, user/checkpoints/CP/ */
#define USER_DIR_DEPTH 2

static int passable(const char *dir, struct nv_err *err)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return nv_err_host(err, "%s: %s", dir, strerror(errno));
	if (!(st.st_mode & S_IXOTH) && chmod(dir, (st.st_mode & 07777) | S_IXOTH) < 0)
		return nv_err_host(err, "cannot let VM users pass through %s: %s", dir, strerror(errno));
	return 0;
}

/* vm_dir/user/ as who's own folder: made by root (or already who's). */
static int own_user_dir(const char *path, const struct identity *who, struct nv_err *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return nv_err_host(err, "cannot create %s: %s", path, strerror(errno));
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nv_err_host(err, "%s: %s (not a folder?)", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = nv_err_host(err, "%s: %s", path, strerror(errno));
	else if (st.st_uid != 0 && st.st_uid != who->uid)
		rc = nv_err_input(err, "%s belongs to uid %u, not to user %s (uid %u): remove it", path,
				  (unsigned)st.st_uid, who->name, (unsigned)who->uid);
	else if (fchown(fd, who->uid, who->gid) < 0 || fchmod(fd, 0700) < 0)
		rc = nv_err_host(err, "cannot give %s to user %s: %s", path, who->name, strerror(errno));
	close(fd);
	return rc;
}

int vm_user_dir_prepare(const char *state_dir, const char *vm_dir, const struct identity *who,
			struct nv_err *err)
{
	char vms[PATH_LEN], user[PATH_LEN], sub[PATH_LEN + 32];
	snprintf(vms, sizeof(vms), "%s", vm_dir);
	char *slash = strrchr(vms, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(user, sizeof(user), "%s/%s", vm_dir, VM_USER_DIR) >= sizeof(user))
		return nv_err_input(err, "%s: path too long", vm_dir);
	if (passable(state_dir, err) < 0 || passable(vms, err) < 0)
		return -1;
	if (chown(vm_dir, 0, who->gid) < 0 || chmod(vm_dir, 0710) < 0)
		return nv_err_host(err, "cannot let user %s into %s: %s", who->name, vm_dir, strerror(errno));
	if (own_user_dir(user, who, err) < 0)
		return -1;
	struct vm_config as = { .has_run_as = true, .run_as = *who };
	struct identity_fs_saved saved;
	if (vm_user_dir_enter(&as, &saved, err) < 0)
		return -1;
	int rc = 0;
	snprintf(sub, sizeof(sub), "%s/checkpoints", user);
	if (mkdir(sub, 0700) < 0 && errno != EEXIST)
		rc = nv_err_host(err, "cannot create %s as user %s: %s", sub, who->name, strerror(errno));
	snprintf(sub, sizeof(sub), "%s/%s", user, VM_STATUS_FILE);
	if (rc == 0 && unlink(sub) < 0 && errno != ENOENT)
		rc = nv_err_host(err, "cannot remove %s as user %s: %s", sub, who->name, strerror(errno));
	vm_user_dir_leave(&as, &saved);
	return rc;
}

int vm_user_dir_enter(const struct vm_config *c, struct identity_fs_saved *saved, struct nv_err *err)
{
	return c->has_run_as ? identity_fs_enter(&c->run_as, saved, err) : 0;
}

void vm_user_dir_leave(const struct vm_config *c, const struct identity_fs_saved *saved)
{
	if (c->has_run_as)
		identity_fs_leave(saved);
}

int vm_user_dir_remove(const char *vm_dir, struct nv_err *err)
{
	char user[PATH_LEN];
	if ((size_t)snprintf(user, sizeof(user), "%s/%s", vm_dir, VM_USER_DIR) >= sizeof(user))
		return nv_err_input(err, "%s: path too long", vm_dir);
	struct stat st;
	if (lstat(user, &st) < 0)
		return errno == ENOENT ? 0 : nv_err_host(err, "%s: %s", user, strerror(errno));
	/* Its owner, whoever the record names now. */
	struct vm_config as = { .has_run_as = st.st_uid != 0,
				.run_as = { .uid = st.st_uid, .gid = st.st_gid, .name = "(its owner)" } };
	struct identity_fs_saved saved;
	if (S_ISDIR(st.st_mode) && vm_user_dir_enter(&as, &saved, err) < 0)
		return -1;
	int rc = S_ISDIR(st.st_mode) ? remove_tree_contents(user, USER_DIR_DEPTH) : 0;
	int e = errno;
	if (S_ISDIR(st.st_mode))
		vm_user_dir_leave(&as, &saved);
	if (rc < 0)
		return nv_err_host(err, "cannot empty %s: %s", user, strerror(e));
	if ((S_ISDIR(st.st_mode) ? rmdir(user) : unlink(user)) < 0)
		return nv_err_host(err, "cannot remove %s: %s", user, strerror(errno));
	/* No user part: nobody but root passes through any more. */
	if (chown(vm_dir, geteuid(), getegid()) < 0 || chmod(vm_dir, 0700) < 0)
		return nv_err_host(err, "%s: %s", vm_dir, strerror(errno));
	return 0;
}
