#include "mgmt/vm_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mgmt/vm_status_file.h"
#include "mgmt/vm_user_dir.h"
#include "util/file_io.h"
#include "util/remove_tree.h"
#include "util/state_dir.h"

/* A record is a few KiB at most; anything much larger is not ours. */
#define RECORD_FILE_MAX (256 * 1024)
#define LOCK_TIMEOUT_MS 10000
#define LOCK_POLL_MS 50
#define PATH_LEN 4096

static int name_check(const char *name, struct nv_err *err)
{
	if (!state_name_valid(name, VM_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid VM name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				    name ? name : "", VM_NAME_MAX);
	return 0;
}

int vm_store_path(const char *name, const char *file, char *out, size_t len, struct nv_err *err)
{
	char base[PATH_LEN];
	if (name_check(name, err) < 0 || state_dir_path(base, sizeof(base), err) < 0)
		return -1;
	int n = file && *file ? snprintf(out, len, "%s/%s/%s/%s", base, VM_STORE_DIR, name, file)
			      : snprintf(out, len, "%s/%s/%s", base, VM_STORE_DIR, name);
	if (n < 0 || (size_t)n >= len)
		return nv_err_input(err, "the state directory path is too long (NESTVM_HOME)");
	return 0;
}

int vm_store_vmm_file(const struct vm_config *c, const char *file, char *out, size_t len, struct nv_err *err)
{
	char rel[PATH_LEN];
	if ((size_t)snprintf(rel, sizeof(rel), "%s%s%s", c->has_run_as ? VM_USER_DIR : "",
			     c->has_run_as && file && *file ? "/" : "", file ? file : "") >= sizeof(rel))
		return nv_err_input(err, "path too long: %s", file);
	return vm_store_path(c->name, rel, out, len, err);
}

int vm_store_prepare_user_dir(const struct vm_config *c, struct nv_err *err)
{
	char base[PATH_LEN], dir[PATH_LEN];
	if (!c->has_run_as)
		return 0;
	if (state_dir_path(base, sizeof(base), err) < 0 || vm_store_path(c->name, NULL, dir, sizeof(dir), err) < 0)
		return -1;
	return vm_user_dir_prepare(base, dir, &c->run_as, err);
}

int vm_store_remove_user_dir(const char *name, struct nv_err *err)
{
	char dir[PATH_LEN];
	if (vm_store_path(name, NULL, dir, sizeof(dir), err) < 0)
		return -1;
	return vm_user_dir_remove(dir, err);
}

bool vm_store_exists(const char *name)
{
	char dir[PATH_LEN];
	struct stat st;
	return vm_store_path(name, NULL, dir, sizeof(dir), NULL) == 0 && stat(dir, &st) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int no_such_vm(const char *name, struct nv_err *err)
{
	return nv_err_input(err, "there is no VM named '%s' (nestvm vm list)", name);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* fd is (still) the file at path: a delete renames the directory away,
 * and a create may put a new VM, with a new lock file, under the name. */
static bool is_file_at(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int vm_store_lock(const char *name, struct vm_lock *lk, struct nv_err *err)
{
	char path[PATH_LEN];
	lk->fd = -1;
	if (vm_store_path(name, VM_LOCK_FILE, path, sizeof(path), err) < 0)
		return -1;
	/* Polling rather than a blocking flock with an alarm: no signal
	 * handlers to disturb, and the wait is bounded. */
	int fd = -1;
	for (int waited = 0;; waited += LOCK_POLL_MS) {
		if (fd < 0) {
			if (!vm_store_exists(name))
				return no_such_vm(name, err);
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0)
				return errno == ENOENT ? no_such_vm(name, err)
						       : nv_err_host(err, "cannot open %s: %s", path, strerror(errno));
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			if (is_file_at(fd, path))
				break;
			/* The lock of a VM deleted while we waited: open the
			 * name again (a new VM of that name, or none). */
			close(fd);
			fd = -1;
			continue;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return nv_err_host(err, "cannot lock %s: %s", path, strerror(e));
		}
		if (waited >= LOCK_TIMEOUT_MS) {
			close(fd);
			return nv_err_host(err, "VM %s is locked by another nestvm command (waited %d s; try again)",
					   name, LOCK_TIMEOUT_MS / 1000);
		}
		sleep_ms(LOCK_POLL_MS);
	}
	lk->fd = fd;
	return 0;
}

void vm_store_unlock(struct vm_lock *lk)
{
	if (lk->fd >= 0)
		close(lk->fd); /* releases the flock */
	lk->fd = -1;
}

static void fsync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/* Writes r as dir/vm.json atomically (util/file_io). */
static int save_in(const char *dir, const struct vm_record *r, struct nv_err *err)
{
	char path[PATH_LEN + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, VM_RECORD_FILE);
	struct json_object *o = vm_record_to_json(r);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = file_write_text(path, s);
	json_object_put(o);
	if (rc < 0)
		return nv_err_host(err, "cannot write %s: %s", path, strerror(-rc));
	return 0;
}

int vm_store_save(const struct vm_record *r, struct nv_err *err)
{
	char dir[PATH_LEN];
	if (vm_store_path(r->config.name, NULL, dir, sizeof(dir), err) < 0)
		return -1;
	if (vm_config_validate(&r->config, r->config.name, err) < 0)
		return -1;
	if (!vm_store_exists(r->config.name))
		return no_such_vm(r->config.name, err);
	return save_in(dir, r, err);
}

/* dir and what it holds: files, and folders two levels down (saved/,
 * checkpoints/NAME/); a user/ part is the user's (vm_user_dir_remove). */
static int remove_dir(const char *dir)
{
	return remove_tree(dir, 2);
}

int vm_store_create(const struct vm_record *r, struct nv_err *err)
{
	const char *name = r->config.name;
	char dir[PATH_LEN], vms[PATH_LEN], tmp[PATH_LEN + 100];
	if (vm_config_validate(&r->config, name, err) < 0 ||
	    vm_store_path(name, NULL, dir, sizeof(dir), err) < 0 ||
	    state_dir_ensure(VM_STORE_DIR, vms, sizeof(vms), err) < 0)
		return -1;
	if (vm_store_exists(name))
		return nv_err_input(err, "a VM named '%s' already exists (nestvm vm show %s)", name, name);
	/* Built complete under a name `list` skips (a leading '.'), then renamed
	 * into place without replacing: a reader never sees a VM without its
	 * record, and of two creators of one name exactly one wins. */
	snprintf(tmp, sizeof(tmp), "%s/.new.%s.%d", vms, name, (int)getpid());
	if (mkdir(tmp, 0700) < 0)
		return nv_err_host(err, "cannot create %s: %s", tmp, strerror(errno));
	if (save_in(tmp, r, err) < 0) {
		remove_dir(tmp);
		return -1;
	}
	int rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE);
	if (rc < 0 && errno == EINVAL) /* a file system without RENAME_NOREPLACE */
		rc = mkdir(dir, 0700) == 0 ? rename(tmp, dir) : -1;
	if (rc < 0) {
		int e = errno;
		remove_dir(tmp);
		if (e == EEXIST || e == ENOTEMPTY)
			return nv_err_input(err, "a VM named '%s' already exists (nestvm vm show %s)", name, name);
		return nv_err_host(err, "cannot create %s: %s", dir, strerror(e));
	}
	fsync_dir(vms);
	return 0;
}

static bool has_vmm(enum vm_state s)
{
	return s == VM_STATE_STARTING || s == VM_STATE_RUNNING || s == VM_STATE_PAUSED || s == VM_STATE_STOPPING;
}

/* A VM with run_as whose VMM was started: that VMM's own word on how it
 * is (vm_status_file.h). A status that is not one changes nothing. */
static void take_vmm_status(struct vm_record *r)
{
	char path[PATH_LEN];
	struct nv_err ignored = { 0 };
	if (r->config.has_run_as && has_vmm(r->runtime.state) && geteuid() == 0 &&
	    vm_store_vmm_file(&r->config, VM_STATUS_FILE, path, sizeof(path), &ignored) == 0)
		vm_status_file_apply(path, &r->config, &r->runtime, &ignored);
}

int vm_store_load(const char *name, struct vm_record *r, struct nv_err *err)
{
	char path[PATH_LEN];
	memset(r, 0, sizeof(*r));
	if (vm_store_path(name, VM_RECORD_FILE, path, sizeof(path), err) < 0)
		return -1;
	if (!vm_store_exists(name))
		return no_such_vm(name, err);
	char *buf;
	size_t len;
	int rc = file_read_bounded(path, RECORD_FILE_MAX, &buf, &len), ret;
	if (rc == -ENOENT || rc == -EACCES || rc == -EISDIR)
		ret = nv_err_input(err, "%s: cannot read: %s (corrupt VM directory? delete it)", path,
				   strerror(-rc));
	else if (rc == -ENOMEM)
		ret = nv_err_host(err, "%s: out of memory", path);
	else if (rc == -EFBIG)
		ret = nv_err_input(err, "%s: larger than %d KiB, not a VM record", path, RECORD_FILE_MAX / 1024);
	else if (rc < 0)
		ret = nv_err_host(err, "%s: cannot read: %s", path, strerror(-rc));
	else if (vm_record_parse_text(buf, len, path, r, err) < 0)
		ret = -1;
	else if (strcmp(r->config.name, name))
		ret = nv_err_input(err, "%s: config.name: '%s' is not the VM's directory name '%s'", path,
				   r->config.name, name);
	else
		ret = 0;
	free(buf);
	if (ret == 0)
		take_vmm_status(r);
	return ret;
}

int vm_store_delete(const char *name, struct nv_err *err)
{
	char dir[PATH_LEN], vms[PATH_LEN], gone[PATH_LEN + 100];
	if (vm_store_path(name, NULL, dir, sizeof(dir), err) < 0 ||
	    state_dir_ensure(VM_STORE_DIR, vms, sizeof(vms), err) < 0)
		return -1;
	/* Out of sight first (one rename), then emptied at leisure. */
	snprintf(gone, sizeof(gone), "%s/.deleted.%s.%d", vms, name, (int)getpid());
	if (rename(dir, gone) < 0)
		return errno == ENOENT ? no_such_vm(name, err)
				       : nv_err_host(err, "cannot remove %s: %s", dir, strerror(errno));
	fsync_dir(vms);
	if (vm_user_dir_remove(gone, err) < 0)
		return -1;
	if (remove_dir(gone) < 0)
		return nv_err_host(err, "VM %s is deleted but %s remains: %s", name, gone, strerror(errno));
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vm_store_list(char ***names, size_t *n, struct nv_err *err)
{
	char base[PATH_LEN], vms[PATH_LEN + 8];
	*names = NULL;
	*n = 0;
	if (state_dir_path(base, sizeof(base), err) < 0)
		return -1;
	snprintf(vms, sizeof(vms), "%s/%s", base, VM_STORE_DIR);
	DIR *d = opendir(vms);
	if (!d)
		return errno == ENOENT ? 0 : nv_err_host(err, "cannot read %s: %s", vms, strerror(errno));
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!state_name_valid(e->d_name, VM_NAME_MAX) || !vm_store_exists(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(*names, cap * sizeof(char *));
			if (!grown)
				goto oom;
			*names = grown;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(char *), cmp_names);
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
	*n = 0;
	return nv_err_host(err, "out of memory listing VMs");
}

bool vm_store_vmm_pid(const char *name, pid_t pid)
{
	char lock[PATH_LEN], fds[64], fd_path[64 + 256];
	struct stat want, st;
	if (pid <= 0 || vm_store_path(name, VM_VMM_LOCK_FILE, lock, sizeof(lock), NULL) < 0 ||
	    stat(lock, &want) < 0)
		return false;
	snprintf(fds, sizeof(fds), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(fds);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", fds, e->d_name);
		found = stat(fd_path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino;
	}
	closedir(d);
	return found;
}

bool vm_store_vmm_alive(const char *name)
{
	char path[PATH_LEN];
	if (vm_store_path(name, VM_VMM_LOCK_FILE, path, sizeof(path), NULL) < 0)
		return false;
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	bool alive = false;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		flock(fd, LOCK_UN);
	else
		alive = errno == EWOULDBLOCK;
	close(fd);
	return alive;
}

int vm_store_reap(struct vm_record *r, struct nv_err *err)
{
	/* Its VMM said how it ended (run_as) and has gone: into the record. */
	if (r->runtime.from_vmm_status && !has_vmm(r->runtime.state) && !vm_store_vmm_alive(r->config.name)) {
		r->runtime.pid = 0;
		r->runtime.started_at = 0;
		r->runtime.from_vmm_status = false;
		return vm_store_save(r, err) < 0 ? -1 : 1;
	}
	/* Off and Saved VMs have no VMM to lose. */
	if (r->runtime.state == VM_STATE_OFF || r->runtime.state == VM_STATE_SAVED ||
	    vm_store_vmm_alive(r->config.name))
		return 0;
	/* The VMM clears last_stop when it starts, so a reason here is the one
	 * it wrote on its way down. */
	if (!r->runtime.last_stop[0])
		snprintf(r->runtime.last_stop, sizeof(r->runtime.last_stop), "the VMM process (pid %d) died",
			 (int)r->runtime.pid);
	r->runtime.state = VM_STATE_OFF;
	r->runtime.pid = 0;
	r->runtime.started_at = 0;
	return vm_store_save(r, err) < 0 ? -1 : 1;
}

int vm_store_lock_load(const char *name, struct vm_lock *lk, struct vm_record *r,
		       struct nv_err *err)
{
	if (vm_store_lock(name, lk, err) < 0)
		return -1;
	if (vm_store_load(name, r, err) < 0 || vm_store_reap(r, err) < 0) {
		vm_store_unlock(lk);
		return -1;
	}
	return 0;
}

int vm_store_load_reaped(const char *name, struct vm_record *r, struct nv_err *err)
{
	if (vm_store_load(name, r, err) < 0)
		return -1;
	if (r->runtime.state == VM_STATE_OFF || r->runtime.state == VM_STATE_SAVED ||
	    vm_store_vmm_alive(name))
		return 0;
	struct vm_lock lk;
	if (vm_store_lock_load(name, &lk, r, err) < 0)
		return -1;
	vm_store_unlock(&lk);
	return 0;
}
