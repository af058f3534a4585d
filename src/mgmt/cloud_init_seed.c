#include "mgmt/cloud_init_seed.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgmt/cloud_init.h"
#include "util/file_io.h"
#include "util/remove_tree.h"

extern char **environ;

#define TOOL "genisoimage"

static int read_file(const char *path, size_t max, const char *what, const char *limit, char **out, size_t *len,
		     struct nv_err *err)
{
	int rc = file_read_bounded(path, max, out, len);
	if (rc == -EFBIG)
		return nv_err_input(err, "%s: larger than %s", what, limit);
	if (rc == -ENOMEM)
		return nv_err_host(err, "%s: out of memory", what);
	if (rc < 0)
		return nv_err_input(err, "%s: %s", what, strerror(-rc));
	return 0;
}

int cloud_init_seed_read_user_data(struct cloud_init_seed_input *in, const char *path, const char *what,
				   struct nv_err *err)
{
	free(in->user_data);
	in->user_data = NULL;
	return read_file(path, CLOUD_INIT_USER_DATA_MAX, what,
			 "1 MiB (user-data is passed as is, up to 1 MiB: cloud-config and scripts are kilobytes)",
			 &in->user_data, &in->user_data_len, err);
}

int cloud_init_seed_read_ssh_key(struct cloud_init_seed_input *in, const char *path, const char *what,
				 struct nv_err *err)
{
	char *text = NULL;
	size_t len = 0;
	struct nv_err why = { 0 };
	if (read_file(path, CLOUD_INIT_SSH_KEYS_MAX, what, "64 KiB: not an OpenSSH public key file", &text, &len,
		      err) < 0)
		return -1;
	if (cloud_init_ssh_keys_check(text, len, &why) < 0) {
		free(text);
		return nv_err_input(err, "%s: %s", what, why.msg);
	}
	free(in->ssh_keys);
	in->ssh_keys = text;
	return 0;
}

int cloud_init_seed_set_hostname(struct cloud_init_seed_input *in, const char *name, const char *what,
				 struct nv_err *err)
{
	struct nv_err why = { 0 };
	if (cloud_init_hostname_check(name, &why) < 0)
		return nv_err_input(err, "%s: %s", what, why.msg);
	snprintf(in->hostname, sizeof(in->hostname), "%s", name);
	return 0;
}

int cloud_init_seed_new_instance_id(struct cloud_init_seed_input *in, const char *name, struct nv_err *err)
{
	uint8_t r[8];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return nv_err_host(err, "cannot make a cloud-init instance id: getrandom: %s", strerror(errno));
	cloud_init_instance_id(name, r, in->instance_id, sizeof(in->instance_id));
	return 0;
}

void cloud_init_seed_input_free(struct cloud_init_seed_input *in)
{
	free(in->user_data);
	free(in->ssh_keys);
	in->user_data = in->ssh_keys = NULL;
}

int cloud_init_seed_tool_check(struct nv_err *err)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		if (n && snprintf(buf, sizeof(buf), "%.*s/" TOOL, (int)n, p) < (int)sizeof(buf) && access(buf, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return nv_err_host(err, TOOL " is not installed: it writes the cloud-init seed (apt install " TOOL ")");
}

static int write_in(const char *dir, const char *name, const void *data, size_t len, struct nv_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return nv_err_input(err, "%s: the path is too long", dir);
	int rc = file_write_atomic(path, data, len);
	return rc < 0 ? nv_err_host(err, "cannot write %s: %s", path, strerror(-rc)) : 0;
}

/* The last non-empty line of what a tool said, for its error. */
static const char *last_line(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

/* genisoimage -output OUT -volid cidata -joliet -rock USER META, as
 * cloud-localds does; its messages kept for the error. */
static int run_tool(const char *out, const char *user, const char *meta, struct nv_err *err)
{
	char *const argv[] = { TOOL, "-output", (char *)out, "-volid", "cidata", "-joliet", "-rock",
			       "-input-charset", "utf-8", "-quiet", (char *)user, (char *)meta, NULL };
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return nv_err_host(err, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, TOOL, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		if (rc == ENOENT)
			return nv_err_host(err, TOOL " is not installed: it writes the cloud-init seed (apt install " TOOL ")");
		return nv_err_host(err, "cannot run " TOOL ": %s", strerror(rc));
	}
	char said[2048];
	size_t got = 0;
	for (;;) { /* all of it read (the tool must not block on a full pipe), the start kept */
		char buf[512];
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < sizeof(said) - 1 - got ? (size_t)n : sizeof(said) - 1 - got;
		memcpy(said + got, buf, take);
		got += take;
	}
	said[got] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return nv_err_host(err, "waiting for " TOOL ": %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return nv_err_host(err, TOOL " failed making %s (%s %d): %s", out,
			   WIFEXITED(status) ? "status" : "signal",
			   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), last_line(said));
}

int cloud_init_seed_write(const char *dir, const struct cloud_init_seed_input *in, struct nv_err *err)
{
	const struct cloud_init_inputs ci = { .instance_id = in->instance_id, .hostname = in->hostname,
					      .ssh_keys = in->ssh_keys, .user_data_given = in->user_data != NULL };
	char *meta = cloud_init_meta_data(&ci);
	char *made = in->user_data ? NULL : cloud_init_user_data(&ci);
	int rc = -1;
	if (!meta || (!in->user_data && !made)) {
		nv_err_host(err, "out of memory making the cloud-init seed");
		goto out;
	}
	const char *user = in->user_data ? in->user_data : made;
	size_t user_len = in->user_data ? in->user_data_len : strlen(made);
	char upath[PATH_MAX], mpath[PATH_MAX], seed[PATH_MAX], tmp[PATH_MAX + 8];
	snprintf(upath, sizeof(upath), "%s/" CLOUD_INIT_USER_DATA_FILE, dir);
	snprintf(mpath, sizeof(mpath), "%s/" CLOUD_INIT_META_DATA_FILE, dir);
	if (snprintf(seed, sizeof(seed), "%s/" CLOUD_INIT_SEED_IMAGE, dir) >= (int)sizeof(seed)) {
		nv_err_input(err, "%s: the path is too long", dir);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", seed);
	if (write_in(dir, CLOUD_INIT_USER_DATA_FILE, user, user_len, err) < 0 ||
	    write_in(dir, CLOUD_INIT_META_DATA_FILE, meta, strlen(meta), err) < 0 ||
	    (in->ssh_keys && write_in(dir, CLOUD_INIT_SSH_KEY_FILE, in->ssh_keys, strlen(in->ssh_keys), err) < 0))
		goto out;
	unlink(tmp);
	if (run_tool(tmp, upath, mpath, err) < 0) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, seed) < 0) {
		nv_err_host(err, "cannot rename %s to %s: %s", tmp, seed, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(meta);
	free(made);
	return rc;
}

int cloud_init_seed_replace(const char *vm_dir, const struct cloud_init_seed_input *in, char *seed, size_t size,
			    struct nv_err *err)
{
	char fresh[PATH_MAX], final[PATH_MAX];
	if (snprintf(final, sizeof(final), "%s/" CLOUD_INIT_SEED_DIR, vm_dir) >= (int)sizeof(final) ||
	    snprintf(fresh, sizeof(fresh), "%s/." CLOUD_INIT_SEED_DIR ".new.%d", vm_dir, (int)getpid()) >= (int)sizeof(fresh) ||
	    snprintf(seed, size, "%s/" CLOUD_INIT_SEED_IMAGE, final) >= (int)size)
		return nv_err_input(err, "%s: the path is too long", vm_dir);
	remove_tree(fresh, 0); /* a crashed attempt's */
	if (mkdir(fresh, 0700) < 0)
		return nv_err_host(err, "cannot create %s: %s", fresh, strerror(errno));
	if (cloud_init_seed_write(fresh, in, err) < 0) {
		remove_tree(fresh, 0);
		return -1;
	}
	/* Swapped whole: the seed and its sources always match. */
	int rc = renameat2(AT_FDCWD, fresh, AT_FDCWD, final, RENAME_EXCHANGE);
	if (rc < 0 && errno == ENOENT) {
		rc = rename(fresh, final);
	} else if (rc < 0 && errno == EINVAL) { /* no RENAME_EXCHANGE here */
		remove_tree(final, 0);
		rc = rename(fresh, final);
	}
	if (rc < 0) {
		int e = errno;
		remove_tree(fresh, 0);
		return nv_err_host(err, "cannot put %s in place: %s", final, strerror(e));
	}
	remove_tree(fresh, 0); /* the old one, if any */
	return 0;
}
