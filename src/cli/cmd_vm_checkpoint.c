/* Checkpoints of a named VM, with Hyper-V's meaning:
 *   nestvm vm checkpoint NAME [CP]       (Checkpoint-VM -SnapshotName CP): the VM
 *                                        at one instant (memory, devices, vCPUs with
 *                                        any nested guest); a running VM goes on
 *   nestvm vm checkpoint list NAME       (Get-VMCheckpoint): the tree, with times
 *   nestvm vm checkpoint delete NAME CP  (Remove-VMCheckpoint)
 *   nestvm vm restore NAME CP            (Restore-VMCheckpoint): the VM as it was
 *                                        then: Saved (start continues it) or Off
 * Writable disks move onto differencing disks (qcow2 overlays, mgmt/vm_disks.h)
 * at each checkpoint, so a restore pairs memory with the disks of the same
 * instant. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "cli/vm_lifecycle.h"
#include "mgmt/vm_checkpoint.h"
#include "mgmt/vm_disks.h"
#include "mgmt/vm_store.h"
#include "mgmt/vm_user_dir.h"
#include "vmm/exit_status.h"
#include "vmm/machine_state.h"
#include "vmm/vm_control.h"

#define CHECKPOINT_TIMEOUT_MS 600000

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: nestvm vm checkpoint NAME [CHECKPOINT]   the VM at this instant (it goes on)\n"
		   "       nestvm vm checkpoint list NAME          its checkpoints as a tree, with times\n"
		   "       nestvm vm checkpoint delete NAME CHECKPOINT\n"
		   "       nestvm vm restore NAME CHECKPOINT       the VM as it was then (Saved, or Off)\n"
		   "CHECKPOINT: 1-64 of A-Z a-z 0-9 _ . - (default checkpoint-YYYYMMDD-HHMMSS).\n");
	return status;
}

static int link_files(const char *from, const char *to, struct nv_err *err)
{
	const char *files[] = { MACHINE_STATE_FILE, MACHINE_MEMORY_FILE };
	if (mkdir(to, 0700) < 0 && errno != EEXIST)
		return nv_err_host(err, "cannot create %s: %s", to, strerror(errno));
	/* Hard links of the files themselves: link() does not follow a link. */
	for (unsigned i = 0; i < 2; i++) {
		char a[VM_PATH_MAX + 32], b[VM_PATH_MAX + 32];
		snprintf(a, sizeof(a), "%s/%s", from, files[i]);
		snprintf(b, sizeof(b), "%s/%s", to, files[i]);
		unlink(b);
		/* Never written again (restore maps memory private): a link is
		 * a copy that costs nothing. */
		if (link(a, b) < 0)
			return nv_err_host(err, "cannot link %s to %s: %s", a, b, strerror(errno));
	}
	return 0;
}

/* c's machine-state files (saved/, a checkpoint's), which are its user's
 * for a VM with run_as: linked, or removed, as that user. */
static int link_as_user(const struct vm_config *c, const char *from, const char *to, struct nv_err *err)
{
	struct identity_fs_saved ids;
	if (vm_user_dir_enter(c, &ids, err) < 0)
		return -1;
	int rc = link_files(from, to, err);
	vm_user_dir_leave(c, &ids);
	return rc;
}

static int remove_as_user(const struct vm_config *c, const char *dir, struct nv_err *err)
{
	struct identity_fs_saved ids;
	if (vm_user_dir_enter(c, &ids, err) < 0)
		return -1;
	int rc = machine_saved_remove(dir, err);
	vm_user_dir_leave(c, &ids);
	return rc;
}

static int create(const char *name, const char *cp_arg)
{
	char cp[VM_NAME_MAX + 1];
	if (cp_arg) {
		snprintf(cp, sizeof(cp), "%s", cp_arg);
	} else {
		time_t now = time(NULL);
		strftime(cp, sizeof(cp), "checkpoint-%Y%m%d-%H%M%S", localtime(&now));
	}
	struct nv_err err = { 0 };
	char dir[VM_PATH_MAX], top[VM_PATH_MAX], state[VM_PATH_MAX];
	if (vm_checkpoint_path(name, cp, dir, sizeof(dir), &err) < 0 ||
	    vm_checkpoint_path(name, NULL, top, sizeof(top), &err) < 0)
		return vm_cli_fail(&err);
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return vm_cli_fail(&err);
	int st = 0;
	if (vm_checkpoint_state_path(&r.config, cp, state, sizeof(state), &err) < 0)
		st = vm_cli_fail(&err);
	struct stat sb;
	if (stat(dir, &sb) == 0)
		st = cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s already has a checkpoint named %s", name, cp);
	enum vm_state s = r.runtime.state;
	if (!st && (s == VM_STATE_STARTING || s == VM_STATE_STOPPING))
		st = cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: try again when it is Running, Paused, Saved or Off",
			      name, vm_state_name(s));
	/* Moving a running VM's disks means opening images root may own, and
	 * creating overlays in root's part, which its VMM as the user cannot. */
	if (!st && r.config.has_run_as && (s == VM_STATE_RUNNING || s == VM_STATE_PAUSED) &&
	    vm_disks_writable(&r.config))
		st = cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s runs as %s and has writable disks: checkpoint it while it "
			      "is Saved or Off (nestvm vm save %s)", name, r.config.run_as.name, name);
	if (!st && mkdir(top, 0700) < 0 && errno != EEXIST)
		st = cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot create %s: %s", top, strerror(errno));
	/* checkpoint.json's folder is root's when the state is the user's. */
	if (!st && strcmp(dir, state) && mkdir(dir, 0700) < 0)
		st = cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot create %s: %s", dir, strerror(errno));
	if (st) {
		vm_store_unlock(&lk);
		return st;
	}
	struct vm_checkpoint c = { .created = (int64_t)time(NULL), .record = r };
	snprintf(c.name, sizeof(c.name), "%s", cp);
	vm_checkpoint_current(name, c.parent, sizeof(c.parent));
	/* The checkpoint keeps the disks' images as they are (c.record); the
	 * VM goes on with new overlays over them. */
	static char overlays[VM_MAX_DISKS][VM_PATH_MAX];
	int rc = vm_disks_overlay_paths(name, &r.config, cp, overlays, &err);
	if (rc == 0 && (s == VM_STATE_RUNNING || s == VM_STATE_PAUSED)) {
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "cmd", json_object_new_string("checkpoint"));
		json_object_object_add(req, "name", json_object_new_string(cp));
		struct json_object *ov = json_object_new_array();
		for (unsigned i = 0; i < r.config.ndisks; i++)
			json_object_array_add(ov, json_object_new_string(overlays[i]));
		json_object_object_add(req, "overlays", ov);
		struct json_object *rep = vm_control_call(name, req, CHECKPOINT_TIMEOUT_MS, &err);
		json_object_put(req);
		rc = rep ? 0 : -1;
		json_object_put(rep);
		c.has_state = true;
		c.record.runtime = (struct vm_runtime){ .state = VM_STATE_SAVED };
		for (unsigned i = 0; rc == 0 && i < r.config.ndisks; i++)
			if (overlays[i][0])
				memcpy(r.config.disks[i].path, overlays[i], VM_PATH_MAX);
	} else if (rc == 0 && s == VM_STATE_SAVED) {
		char saved[VM_PATH_MAX];
		rc = vm_store_vmm_file(&r.config, VM_SAVED_DIR, saved, sizeof(saved), &err);
		if (rc == 0)
			rc = vm_disks_branch(&r.config, overlays, &err);
		if (rc == 0)
			rc = link_as_user(&r.config, saved, state, &err);
		c.has_state = true;
	} else if (rc == 0) {
		rc = vm_disks_branch(&r.config, overlays, &err);
		if (rc == 0 && mkdir(dir, 0700) < 0 && (errno != EEXIST || !strcmp(dir, state)))
			rc = nv_err_host(&err, "cannot create %s: %s", dir, strerror(errno));
		c.record.runtime = (struct vm_runtime){ .state = VM_STATE_OFF };
	}
	/* The VM is on its new overlays from here on, whatever follows. */
	if (rc == 0 && vm_disks_writable(&r.config))
		rc = vm_store_save(&r, &err);
	if (rc == 0)
		rc = vm_checkpoint_write(name, &c, &err);
	if (rc == 0)
		rc = vm_checkpoint_set_current(name, cp, &err);
	if (rc < 0) {
		struct nv_err ignored = { 0 };
		remove_as_user(&r.config, state, &ignored); /* a half-taken one is no checkpoint */
		char info[VM_PATH_MAX + 32];
		snprintf(info, sizeof(info), "%s/%s", dir, VM_CHECKPOINT_INFO);
		unlink(info);
		rmdir(dir);
	}
	vm_store_unlock(&lk);
	if (rc < 0)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s: checkpoint %s was not taken: %s", name, cp, err.msg);
	printf("VM %s: checkpoint %s taken (%s)\n", name, cp, c.has_state ? "running state" : "settings; the VM was Off");
	return 0;
}

static void print_tree(const struct vm_checkpoint *all, size_t n, const char *parent, int depth,
		       const char *current)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(all[i].parent, parent) != 0)
			continue;
		char when[32];
		time_t t = (time_t)all[i].created;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
		printf("%*s%-*s %s  %-7s%s\n", depth * 2, "", 32 - depth * 2, all[i].name, when,
		       all[i].has_state ? "Running" : "Off", strcmp(all[i].name, current) ? "" : "  <- current");
		if (depth < VM_CHECKPOINTS_MAX)
			print_tree(all, n, all[i].name, depth + 1, current);
	}
}

static int list(const char *name)
{
	struct nv_err err = { 0 };
	if (!vm_store_exists(name)) {
		struct vm_record r;
		if (vm_store_load(name, &r, &err) < 0)
			return vm_cli_fail(&err);
	}
	struct vm_checkpoint *all;
	size_t n;
	if (vm_checkpoint_list(name, &all, &n, &err) < 0)
		return vm_cli_fail(&err);
	char current[VM_NAME_MAX + 1];
	vm_checkpoint_current(name, current, sizeof(current));
	printf("%-32s %-19s  %s\n", "Checkpoint", "Created", "State");
	print_tree(all, n, "", 0, current);
	free(all);
	return 0;
}

static int delete(const char *name, const char *cp)
{
	struct nv_err err = { 0 };
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return vm_cli_fail(&err);
	int rc = vm_checkpoint_delete(name, cp, &err);
	/* Its disk images are merged now, or at the next start if the VMM
	 * has them open. */
	bool running = vm_store_vmm_alive(name);
	if (rc == 0 && !running)
		rc = vm_disks_collect(name, &r, &err);
	vm_store_unlock(&lk);
	if (rc < 0)
		return vm_cli_fail(&err);
	printf("VM %s: checkpoint %s deleted%s\n", name, cp,
	       running && vm_disks_writable(&r.config) ? " (its disks are merged when the VM next starts)" : "");
	return 0;
}

int cmd_vm_restore(int argc, char **argv)
{
	if (argc != 3)
		return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
			       ? usage(stdout, 0) : usage(stderr, NESTVM_EXIT_BAD_INPUT);
	const char *name = argv[1], *cp = argv[2];
	struct nv_err err = { 0 };
	struct vm_checkpoint c;
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (vm_checkpoint_load(name, cp, &c, &err) < 0) {
		vm_store_unlock(&lk);
		return vm_cli_fail(&err);
	}
	if (vm_store_vmm_alive(name)) {
		vm_store_unlock(&lk); /* the VMM records its end under the lock */
		char reason[160];
		snprintf(reason, sizeof(reason), "turned off to restore checkpoint %s", cp);
		vm_lifecycle_force_off(name, r.runtime.pid, reason);
		if (vm_store_vmm_alive(name))
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "VM %s's VMM did not stop: checkpoint %s not restored",
					name, cp);
		if (vm_store_lock_load(name, &lk, &r, &err) < 0)
			return vm_cli_fail(&err);
	}
	char saved[VM_PATH_MAX], dir[VM_PATH_MAX];
	int rc = vm_store_vmm_file(&r.config, VM_SAVED_DIR, saved, sizeof(saved), &err);
	if (rc == 0)
		rc = vm_checkpoint_state_path(&r.config, cp, dir, sizeof(dir), &err);
	if (rc == 0)
		rc = remove_as_user(&r.config, saved, &err);
	if (rc == 0 && c.has_state)
		rc = link_as_user(&r.config, dir, saved, &err);
	static char overlays[VM_MAX_DISKS][VM_PATH_MAX];
	if (rc == 0) {
		/* The checkpoint's images stay as they are: the VM continues on
		 * new overlays over them. */
		r.config = c.record.config;
		rc = vm_disks_overlay_paths(name, &r.config, cp, overlays, &err);
	}
	if (rc == 0)
		rc = vm_disks_branch(&r.config, overlays, &err);
	if (rc == 0) {
		r.runtime = (struct vm_runtime){ .state = c.has_state ? VM_STATE_SAVED : VM_STATE_OFF };
		snprintf(r.runtime.last_stop, sizeof(r.runtime.last_stop), "checkpoint %s restored", cp);
		rc = vm_store_save(&r, &err);
	}
	if (rc == 0)
		rc = vm_checkpoint_set_current(name, cp, &err);
	if (rc == 0)
		rc = vm_disks_collect(name, &r, &err); /* the overlays it ran on are gone */
	vm_store_unlock(&lk);
	if (rc < 0)
		return vm_cli_fail(&err);
	printf("VM %s: checkpoint %s restored (%s)\n", name, cp,
	       c.has_state ? "Saved: nestvm vm start continues it" : "Off");
	return 0;
}

int cmd_vm_checkpoint(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout, 0);
	if (argc == 3 && !strcmp(argv[1], "list"))
		return list(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "delete"))
		return delete(argv[2], argv[3]);
	if (argc == 2 || argc == 3) {
		const char *name;
		optind = 1;
		opterr = 0;
		int st = vm_cli_name_arg(2, argv, "checkpoint", &name);
		if (st)
			return st;
		return create(name, argc == 3 ? argv[2] : NULL);
	}
	return usage(stderr, NESTVM_EXIT_BAD_INPUT);
}
