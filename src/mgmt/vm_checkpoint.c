#include "mgmt/vm_checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgmt/vm_store.h"
#include "mgmt/vm_user_dir.h"
#include "state/memory_file.h"
#include "state/state_file.h"
#include "util/file_io.h"
#include "util/state_dir.h"

#define INFO_VERSION 1
#define CURRENT_FILE "current"

int vm_checkpoint_path(const char *vm, const char *cp, char *out, size_t len, struct nv_err *err)
{
	char rel[VM_NAME_MAX + 32];
	if (cp && !state_name_valid(cp, VM_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid checkpoint name (1-%d of A-Z a-z 0-9 _ . -, "
				    "not starting with . or -)", cp, VM_NAME_MAX);
	snprintf(rel, sizeof(rel), "%s%s%s", VM_CHECKPOINTS_DIR, cp ? "/" : "", cp ? cp : "");
	return vm_store_path(vm, rel, out, len, err);
}

int vm_checkpoint_state_path(const struct vm_config *c, const char *cp, char *out, size_t len,
			     struct nv_err *err)
{
	char rel[VM_NAME_MAX + 32];
	if (!state_name_valid(cp, VM_NAME_MAX))
		return nv_err_input(err, "'%s' is not a valid checkpoint name", cp);
	snprintf(rel, sizeof(rel), "%s/%s", VM_CHECKPOINTS_DIR, cp);
	return vm_store_vmm_file(c, rel, out, len, err);
}

/* The files in dir, then dir (absent ones are fine). */
static int remove_files(const char *dir, const char *const *files, unsigned n, struct nv_err *err)
{
	for (unsigned i = 0; i < n; i++) {
		char p[VM_PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			return nv_err_host(err, "cannot remove %s: %s", p, strerror(errno));
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return nv_err_host(err, "cannot remove %s: %s", dir, strerror(errno));
	return 0;
}

static int info_path(const char *vm, const char *cp, char *out, size_t len, struct nv_err *err)
{
	char dir[VM_PATH_MAX];
	if (vm_checkpoint_path(vm, cp, dir, sizeof(dir), err) < 0)
		return -1;
	if ((size_t)snprintf(out, len, "%s/%s", dir, VM_CHECKPOINT_INFO) >= len)
		return nv_err_input(err, "checkpoint path too long");
	return 0;
}

int vm_checkpoint_write(const char *vm, const struct vm_checkpoint *c, struct nv_err *err)
{
	char path[VM_PATH_MAX + 32];
	if (info_path(vm, c->name, path, sizeof(path), err) < 0)
		return -1;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(INFO_VERSION));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "parent", json_object_new_string(c->parent));
	json_object_object_add(o, "created", json_object_new_int64(c->created));
	json_object_object_add(o, "has_state", json_object_new_boolean(c->has_state));
	json_object_object_add(o, "record", vm_record_to_json(&c->record));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	int r = file_write_atomic(path, text, strlen(text));
	json_object_put(o);
	if (r < 0)
		return nv_err_host(err, "cannot write %s: %s", path, strerror(-r));
	return 0;
}

static int bad(struct nv_err *err, const char *path, const char *what)
{
	return nv_err_input(err, "%s: %s", path, what);
}

int vm_checkpoint_load(const char *vm, const char *cp, struct vm_checkpoint *c, struct nv_err *err)
{
	char path[VM_PATH_MAX + 32];
	if (info_path(vm, cp, path, sizeof(path), err) < 0)
		return -1;
	char *text;
	size_t len;
	int r = file_read_bounded(path, 1 << 20, &text, &len);
	if (r == -ENOENT)
		return nv_err_input(err, "VM %s has no checkpoint named %s", vm, cp);
	if (r < 0)
		return nv_err_input(err, "%s: %s", path, strerror(-r));
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (tok)
		json_tokener_free(tok);
	free(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return bad(err, path, "not a checkpoint description (malformed JSON)");
	}
	memset(c, 0, sizeof(*c));
	struct json_object *v;
	int rc = -1;
	if (!json_object_object_get_ex(o, "version", &v) || json_object_get_int(v) != INFO_VERSION)
		bad(err, path, "version: must be 1");
	else if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string) ||
		 strcmp(json_object_get_string(v), cp) != 0)
		bad(err, path, "name: must be the folder's name");
	else if (!json_object_object_get_ex(o, "parent", &v) || !json_object_is_type(v, json_type_string) ||
		 (json_object_get_string_len(v) > 0 &&
		  !state_name_valid(json_object_get_string(v), VM_NAME_MAX)))
		bad(err, path, "parent: must be a checkpoint name or empty");
	else {
		snprintf(c->name, sizeof(c->name), "%s", cp);
		snprintf(c->parent, sizeof(c->parent), "%s", json_object_get_string(v));
		if (!json_object_object_get_ex(o, "created", &v) || !json_object_is_type(v, json_type_int))
			bad(err, path, "created: must be a number");
		else if ((c->created = json_object_get_int64(v)),
			 !json_object_object_get_ex(o, "has_state", &v) || !json_object_is_type(v, json_type_boolean))
			bad(err, path, "has_state: must be true or false");
		else if ((c->has_state = json_object_get_boolean(v)),
			 !json_object_object_get_ex(o, "record", &v))
			bad(err, path, "record: missing");
		else
			rc = vm_record_from_json(v, path, &c->record, err);
	}
	json_object_put(o);
	return rc;
}

static int by_created(const void *a, const void *b)
{
	const struct vm_checkpoint *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

int vm_checkpoint_list(const char *vm, struct vm_checkpoint **out, size_t *n, struct nv_err *err)
{
	*out = NULL;
	*n = 0;
	char dir[VM_PATH_MAX];
	if (vm_checkpoint_path(vm, NULL, dir, sizeof(dir), err) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : nv_err_host(err, "%s: %s", dir, strerror(errno));
	struct vm_checkpoint *list = calloc(VM_CHECKPOINTS_MAX, sizeof(*list));
	if (!list) {
		closedir(d);
		return nv_err_host(err, "out of memory");
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (!state_name_valid(e->d_name, VM_NAME_MAX) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		if (*n == VM_CHECKPOINTS_MAX)
			break;
		rc = vm_checkpoint_load(vm, e->d_name, &list[*n], err);
		if (rc == 0)
			(*n)++;
	}
	closedir(d);
	if (rc < 0) {
		free(list);
		*n = 0;
		return -1;
	}
	qsort(list, *n, sizeof(*list), by_created);
	*out = list;
	return 0;
}

void vm_checkpoint_current(const char *vm, char *out, size_t len)
{
	char dir[VM_PATH_MAX], path[VM_PATH_MAX + 16], *text = NULL;
	size_t n = 0;
	out[0] = '\0';
	if (vm_checkpoint_path(vm, NULL, dir, sizeof(dir), NULL) < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, CURRENT_FILE);
	if (file_read_bounded(path, VM_NAME_MAX + 2, &text, &n) < 0)
		return;
	while (n > 0 && (text[n - 1] == '\n'))
		n--;
	text[n] = '\0';
	if (state_name_valid(text, VM_NAME_MAX))
		snprintf(out, len, "%s", text);
	free(text);
}

int vm_checkpoint_set_current(const char *vm, const char *cp, struct nv_err *err)
{
	char dir[VM_PATH_MAX], path[VM_PATH_MAX + 16];
	if (vm_checkpoint_path(vm, NULL, dir, sizeof(dir), err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, CURRENT_FILE);
	if (!cp || !*cp) {
		unlink(path);
		return 0;
	}
	char text[VM_NAME_MAX + 2];
	snprintf(text, sizeof(text), "%s\n", cp);
	int r = file_write_atomic(path, text, strlen(text));
	return r < 0 ? nv_err_host(err, "cannot write %s: %s", path, strerror(-r)) : 0;
}

int vm_checkpoint_delete(const char *vm, const char *cp, struct nv_err *err)
{
	struct vm_checkpoint victim;
	if (vm_checkpoint_load(vm, cp, &victim, err) < 0)
		return -1;
	struct vm_checkpoint *all;
	size_t n;
	if (vm_checkpoint_list(vm, &all, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (strcmp(all[i].parent, cp) != 0)
			continue;
		snprintf(all[i].parent, sizeof(all[i].parent), "%s", victim.parent);
		rc = vm_checkpoint_write(vm, &all[i], err);
	}
	free(all);
	if (rc < 0)
		return -1;
	char current[VM_NAME_MAX + 1];
	vm_checkpoint_current(vm, current, sizeof(current));
	if (!strcmp(current, cp) && vm_checkpoint_set_current(vm, victim.parent, err) < 0)
		return -1;
	char dir[VM_PATH_MAX], state[VM_PATH_MAX];
	if (vm_checkpoint_path(vm, cp, dir, sizeof(dir), err) < 0 ||
	    vm_checkpoint_state_path(&victim.record.config, cp, state, sizeof(state), err) < 0)
		return -1;
	/* The machine's state: in the user's part for a VM with run_as
	 * (removed as the user), else beside checkpoint.json. */
	const char *files[] = { STATE_FILE_NAME, MEMORY_FILE_NAME, VM_CHECKPOINT_INFO };
	if (strcmp(dir, state) != 0) {
		struct identity_fs_saved ids;
		if (vm_user_dir_enter(&victim.record.config, &ids, err) < 0)
			return -1;
		rc = remove_files(state, files, 2, err);
		vm_user_dir_leave(&victim.record.config, &ids);
		if (rc < 0)
			return -1;
	}
	return remove_files(dir, files, 3, err);
}
