#include "mgmt/vm_status_file.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgmt/vm_user_dir.h"
#include "util/file_io.h"

#define STATUS_MAX 4096

int vm_status_file_write(const char *path, const struct vm_runtime *rt, struct nv_err *err)
{
	struct json_object *o = vm_runtime_to_json(rt);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = file_write_text(path, s);
	json_object_put(o);
	return rc < 0 ? nv_err_host(err, "cannot write %s: %s", path, strerror(-rc)) : 0;
}

/* path's text, read as the user: no link followed, the user's file only. */
static int read_as_user(const char *path, const struct vm_config *c, char *buf, size_t size, struct nv_err *err)
{
	struct identity_fs_saved saved;
	if (vm_user_dir_enter(c, &saved, err) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = errno;
	vm_user_dir_leave(c, &saved);
	if (fd < 0)
		return e == ENOENT ? 0 : nv_err_input(err, "%s: %s", path, strerror(e));
	struct stat st;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == c->run_as.uid)
		n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0 || (size_t)n >= size - 1)
		return nv_err_input(err, "%s: not user %s's status file", path, c->run_as.name);
	buf[n] = '\0';
	return (int)n;
}

int vm_status_file_apply(const char *path, const struct vm_config *c, struct vm_runtime *rt,
			 struct nv_err *err)
{
	static char text[STATUS_MAX];
	int n = read_as_user(path, c, text, sizeof(text), err);
	if (n <= 0)
		return n;
	struct json_object *o = json_tokener_parse(text);
	struct vm_runtime got;
	int rc = o ? vm_runtime_from_json(o, path, &got, err) : nv_err_input(err, "%s: not valid JSON", path);
	json_object_put(o);
	if (rc < 0)
		return -1;
	if (got.pid != rt->pid || got.state == VM_STATE_STARTING)
		return 0; /* an earlier VMM's, or nothing new */
	rt->state = got.state;
	rt->started_at = got.started_at;
	memcpy(rt->last_stop, got.last_stop, sizeof(rt->last_stop));
	err_one_line(rt->last_stop); /* shown on root's terminal */
	rt->from_vmm_status = true;
	return 1;
}
