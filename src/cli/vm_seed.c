#include "cli/vm_seed.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "mgmt/vm_store.h"
#include "util/remove_tree.h"
#include "vmm/exit_status.h"

static int fail(const struct nv_err *err)
{
	return cli_fail(err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT, "%s", err->msg);
}

/* The given files and host name into in; their absolute paths into next. */
static int read_given(const struct vm_cloud_init_options *o, struct vm_cloud_init *next,
		      struct cloud_init_seed_input *in)
{
	struct nv_err err = { 0 };
	char what[VM_PATH_MAX + 16];
	int st;
	if (o->user_data) {
		if ((st = vm_option_file("--user-data", o->user_data, false, next->user_data, sizeof(next->user_data))))
			return st;
		snprintf(what, sizeof(what), "--user-data %s", o->user_data);
		if (cloud_init_seed_read_user_data(in, next->user_data, what, &err) < 0)
			return fail(&err);
	}
	if (o->ssh_key) {
		if ((st = vm_option_file("--ssh-key", o->ssh_key, false, next->ssh_key, sizeof(next->ssh_key))))
			return st;
		snprintf(what, sizeof(what), "--ssh-key %s", o->ssh_key);
		if (cloud_init_seed_read_ssh_key(in, next->ssh_key, what, &err) < 0)
			return fail(&err);
	}
	if (o->hostname) {
		if (cloud_init_seed_set_hostname(in, o->hostname, "--hostname", &err) < 0)
			return fail(&err);
		snprintf(next->hostname, sizeof(next->hostname), "%s", o->hostname);
	}
	return 0;
}

/* ---- run: a temporary seed ---- */

static char run_seed_dir[VM_PATH_MAX - sizeof("/" CLOUD_INIT_SEED_IMAGE)];
static pid_t run_seed_owner;

static void remove_run_seed(void)
{
	/* Not from a child that exits through exit(): the folder is ours. */
	if (run_seed_dir[0] && getpid() == run_seed_owner) {
		remove_tree(run_seed_dir, 0);
		run_seed_dir[0] = '\0';
	}
}

void vm_seed_run_release(void)
{
	remove_run_seed();
}

int vm_seed_for_run(struct vm_config *c, const struct vm_cloud_init_options *o)
{
	struct cloud_init_seed_input in = { 0 };
	struct vm_cloud_init next = { 0 };
	struct nv_err err = { 0 };
	int st = read_given(o, &next, &in);
	if (!st && (cloud_init_seed_new_instance_id(&in, c->name, &err) < 0 || cloud_init_seed_tool_check(&err) < 0))
		st = fail(&err);
	if (st) {
		cloud_init_seed_input_free(&in);
		return st;
	}
	const char *tmp = getenv("TMPDIR");
	tmp = tmp && tmp[0] ? tmp : "/tmp";
	if (snprintf(run_seed_dir, sizeof(run_seed_dir), "%s/nestvm-seed.XXXXXX", tmp) >= (int)sizeof(run_seed_dir)) {
		cloud_init_seed_input_free(&in);
		run_seed_dir[0] = '\0';
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "TMPDIR %s is too long a path for the cloud-init seed", tmp);
	}
	if (!mkdtemp(run_seed_dir)) {
		int e = errno;
		cloud_init_seed_input_free(&in);
		cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot make a folder for the cloud-init seed in %s: %s", tmp,
			 strerror(e));
		run_seed_dir[0] = '\0';
		return NESTVM_EXIT_VMM_FAILURE;
	}
	run_seed_owner = getpid();
	atexit(remove_run_seed);
	int rc = cloud_init_seed_write(run_seed_dir, &in, &err);
	cloud_init_seed_input_free(&in);
	if (rc < 0)
		return fail(&err);
	snprintf(next.instance_id, sizeof(next.instance_id), "%s", in.instance_id);
	snprintf(next.seed, sizeof(next.seed), "%s/" CLOUD_INIT_SEED_IMAGE, run_seed_dir);
	c->cloud_init = next;
	return 0;
}

/* ---- a named VM: its folder's seed ---- */

/* "none" takes the setting away (vm set). */
static bool is_none(const char *v, bool none_ok)
{
	return none_ok && v && !strcmp(v, "none");
}

/* The copy of a file the seed was made from, in the VM's seed folder. */
static int read_copy(const char *vm, const char *file, bool key, struct cloud_init_seed_input *in)
{
	char path[VM_PATH_MAX], what[VM_PATH_MAX + 64], rel[64];
	struct nv_err err = { 0 };
	snprintf(rel, sizeof(rel), CLOUD_INIT_SEED_DIR "/%s", file);
	if (vm_store_path(vm, rel, path, sizeof(path), &err) < 0)
		return fail(&err);
	snprintf(what, sizeof(what), "VM %s's copy of its cloud-init %s (%s)", vm, key ? "key" : "user-data", path);
	int rc = key ? cloud_init_seed_read_ssh_key(in, path, what, &err)
		     : cloud_init_seed_read_user_data(in, path, what, &err);
	return rc < 0 ? fail(&err) : 0;
}

int vm_seed_prepare(const struct vm_config *c, const struct vm_cloud_init_options *o, bool none_ok,
		    struct vm_cloud_init *next, struct cloud_init_seed_input *in)
{
	struct vm_cloud_init_options given = *o;
	struct nv_err err = { 0 };
	int st;
	*next = c->cloud_init;
	next->seed[0] = '\0';
	if (is_none(o->user_data, none_ok))
		next->user_data[0] = '\0', given.user_data = NULL;
	if (is_none(o->ssh_key, none_ok))
		next->ssh_key[0] = '\0', given.ssh_key = NULL;
	if (is_none(o->hostname, none_ok))
		next->hostname[0] = '\0', given.hostname = NULL;
	if ((st = read_given(&given, next, in)))
		return st;
	if (!given.user_data && next->user_data[0] && (st = read_copy(c->name, CLOUD_INIT_USER_DATA_FILE, false, in)))
		return st;
	if (!given.ssh_key && next->ssh_key[0] && (st = read_copy(c->name, CLOUD_INIT_SSH_KEY_FILE, true, in)))
		return st;
	snprintf(in->hostname, sizeof(in->hostname), "%s", next->hostname);
	if (!next->user_data[0] && !next->ssh_key[0] && !next->hostname[0])
		return 0; /* no seed any more */
	/* One per VM: cloud-init sees the same instance after a change. */
	if (!next->instance_id[0]) {
		if (cloud_init_seed_new_instance_id(in, c->name, &err) < 0)
			return fail(&err);
		snprintf(next->instance_id, sizeof(next->instance_id), "%s", in->instance_id);
	}
	snprintf(in->instance_id, sizeof(in->instance_id), "%s", next->instance_id);
	/* Room for the seed's disk, before anything is made. */
	struct vm_config with = *c;
	with.cloud_init = *next;
	snprintf(with.cloud_init.seed, sizeof(with.cloud_init.seed), "/");
	if (vm_config_validate(&with, c->name, &err) < 0)
		return fail(&err);
	return cloud_init_seed_tool_check(&err) < 0 ? fail(&err) : 0;
}

int vm_seed_install(struct vm_config *c, struct vm_cloud_init *next, const struct cloud_init_seed_input *in)
{
	char dir[VM_PATH_MAX];
	struct nv_err err = { 0 };
	if (vm_store_path(c->name, NULL, dir, sizeof(dir), &err) < 0)
		return fail(&err);
	if (!next->user_data[0] && !next->ssh_key[0] && !next->hostname[0]) {
		char seed_dir[VM_PATH_MAX + 16];
		snprintf(seed_dir, sizeof(seed_dir), "%s/" CLOUD_INIT_SEED_DIR, dir);
		if (remove_tree(seed_dir, 0) < 0 && errno != ENOENT)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot remove %s: %s", seed_dir, strerror(errno));
		memset(&c->cloud_init, 0, sizeof(c->cloud_init));
		return 0;
	}
	if (cloud_init_seed_replace(dir, in, next->seed, sizeof(next->seed), &err) < 0)
		return fail(&err);
	c->cloud_init = *next;
	return 0;
}

/* ---- vm create and vm set ---- */

int vm_seed_create(struct vm_record *r, struct vm_cloud_init *next, const struct cloud_init_seed_input *in)
{
	struct vm_lock lk;
	struct nv_err err = { 0 };
	const char *name = r->config.name;
	if (vm_store_lock(name, &lk, &err) < 0)
		return vm_cli_fail(&err);
	int st = vm_seed_install(&r->config, next, in);
	if (!st && vm_store_save(r, &err) < 0)
		st = vm_cli_fail(&err);
	if (st && vm_store_delete(name, &err) < 0)
		fprintf(stderr, "nestvm: warning: VM %s stays, without its seed: %s\n", name, err.msg);
	vm_store_unlock(&lk);
	return st;
}

int vm_seed_set(struct vm_record *r, const struct vm_cloud_init_options *o, char **out)
{
	struct vm_cloud_init next;
	struct cloud_init_seed_input in = { 0 };
	int st = vm_seed_prepare(&r->config, o, true, &next, &in);
	if (!st)
		st = vm_seed_install(&r->config, &next, &in);
	cloud_init_seed_input_free(&in);
	if (st)
		return st;
	const struct vm_cloud_init *ci = &r->config.cloud_init;
	char line[VM_PATH_MAX + VM_NAME_MAX + 64];
	if (vm_config_has_seed(&r->config))
		snprintf(line, sizeof(line), "VM %s: CloudInitSeed %s (made again)\n", r->config.name, ci->seed);
	else
		snprintf(line, sizeof(line), "VM %s: CloudInitSeed none\n", r->config.name);
	size_t had = *out ? strlen(*out) : 0;
	char *grown = realloc(*out, had + strlen(line) + 1);
	if (grown) {
		memcpy(grown + had, line, strlen(line) + 1);
		*out = grown;
	}
	return 0;
}

