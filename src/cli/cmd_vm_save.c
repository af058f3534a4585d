/* `nestvm vm save NAME` (Hyper-V's Save-VM): the VMM pauses the VM, writes
 * its vCPUs (nested state included), devices and memory to the VM's saved/
 * folder and exits; the VM is Saved, and `vm start` continues it where it
 * was. `nestvm vm delete-saved-state NAME` (Remove-VMSavedState) discards
 * the saved state: the VM is Off, as if powered off at that instant. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "mgmt/vm_store.h"
#include "mgmt/vm_user_dir.h"
#include "vmm/exit_status.h"
#include "vmm/machine_state.h"
#include "vmm/vm_control.h"

/* Writing the memory takes a while for a large VM on a slow disk (and
 * much longer under the lab's emulator). */
#define SAVE_TIMEOUT_MS 600000

static bool wants_help(int argc, char **argv, const char *usage)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s", usage);
		return true;
	}
	return false;
}

static int name_only(int argc, char **argv, const char *sub, const char **name)
{
	optind = 1;
	int st = vm_cli_name_arg(argc, argv, sub, name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm %s --help`)", argv[optind], sub);
	return 0;
}

int cmd_vm_save(int argc, char **argv)
{
	if (wants_help(argc, argv, "usage: nestvm vm save NAME\n"
			       "Saves a running or paused VM (vCPUs with any nested guest, devices, memory)\n"
			       "and ends its VMM: the VM is Saved; `nestvm vm start NAME` continues it.\n"))
		return 0;
	const char *name;
	int st = name_only(argc, argv, "save", &name);
	if (st)
		return st;
	struct nv_err err = { 0 };
	struct vm_record r;
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (r.runtime.state != VM_STATE_RUNNING && r.runtime.state != VM_STATE_PAUSED)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: only a running or paused VM can be saved",
				name, vm_state_name(r.runtime.state));
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("save"));
	struct json_object *rep = vm_control_call(name, req, SAVE_TIMEOUT_MS, &err);
	json_object_put(req);
	if (!rep)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s was not saved: %s", name, err.msg);
	json_object_put(rep);
	/* The VMM answers once the state is on disk; it records Saved on its
	 * way out. Wait for that, so the next command sees Saved. */
	for (int waited = 0; waited < 30000; waited += 50) {
		if (vm_store_load_reaped(name, &r, &err) == 0 && r.runtime.state == VM_STATE_SAVED)
			break;
		usleep(50 * 1000);
	}
	printf("VM %s is saved\n", name);
	return 0;
}

int cmd_vm_delete_saved_state(int argc, char **argv)
{
	if (wants_help(argc, argv, "usage: nestvm vm delete-saved-state NAME\n"
			       "Discards a saved VM's state: the VM is Off (its next start boots).\n"))
		return 0;
	const char *name;
	int st = name_only(argc, argv, "delete-saved-state", &name);
	if (st)
		return st;
	struct nv_err err = { 0 };
	struct vm_lock lk;
	struct vm_record r;
	if (vm_store_lock_load(name, &lk, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (r.runtime.state != VM_STATE_SAVED) {
		vm_store_unlock(&lk);
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is %s: it has no saved state", name,
				vm_state_name(r.runtime.state));
	}
	char dir[VM_PATH_MAX];
	struct identity_fs_saved ids;
	int rc = vm_store_vmm_file(&r.config, VM_SAVED_DIR, dir, sizeof(dir), &err);
	if (rc == 0 && (rc = vm_user_dir_enter(&r.config, &ids, &err)) == 0) {
		rc = machine_saved_remove(dir, &err);
		vm_user_dir_leave(&r.config, &ids);
	}
	if (rc < 0) {
		vm_store_unlock(&lk);
		return vm_cli_fail(&err);
	}
	r.runtime = (struct vm_runtime){ .state = VM_STATE_OFF };
	snprintf(r.runtime.last_stop, sizeof(r.runtime.last_stop), "its saved state was discarded");
	rc = vm_store_save(&r, &err);
	vm_store_unlock(&lk);
	if (rc < 0)
		return vm_cli_fail(&err);
	printf("VM %s: saved state discarded (Off)\n", name);
	return 0;
}
