/* `nestvm vm pause | resume NAME` (Hyper-V's Suspend-VM / Resume-VM): the
 * VMM stops every vCPU on its own thread and every device's own work, and
 * keeps memory; resume goes on where it stopped. The VMM writes the record
 * (Paused, Running) before it answers. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/vm_cli.h"
#include "cli/vm_commands.h"
#include "mgmt/vm_store.h"
#include "vmm/exit_status.h"
#include "vmm/vm_control.h"

/* Pausing waits for each vCPU to leave the guest: quick, but under a slow
 * emulator (the lab) not instant. */
#define PAUSE_TIMEOUT_MS 30000

static int pause_or_resume(int argc, char **argv, bool pause)
{
	const char *sub = pause ? "pause" : "resume";
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: nestvm vm %s NAME\n%s\n", sub,
		       pause ? "Stops the VM's vCPUs and devices; its memory and state stay (Paused)."
			     : "Lets a paused VM run on from where it stopped (Running).");
		return 0;
	}
	const char *name;
	opterr = 0;
	optind = 1;
	int st = vm_cli_name_arg(argc, argv, sub, &name);
	if (st)
		return st;
	if (optind < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm vm %s --help`)", argv[optind], sub);
	struct nv_err err = { 0 };
	struct vm_record r;
	if (vm_store_load_reaped(name, &r, &err) < 0)
		return vm_cli_fail(&err);
	if (r.runtime.state == VM_STATE_OFF || r.runtime.state == VM_STATE_STARTING)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "VM %s is not running (it is %s)", name,
				vm_state_name(r.runtime.state));
	struct json_object *req = json_object_new_object(), *state;
	json_object_object_add(req, "cmd", json_object_new_string(sub));
	struct json_object *rep = vm_control_call(name, req, PAUSE_TIMEOUT_MS, &err);
	json_object_put(req);
	if (!rep)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"VM %s: %s", name, err.msg);
	const char *s = json_object_object_get_ex(rep, "state", &state) ? json_object_get_string(state) : "?";
	printf("VM %s is %s\n", name, !strcmp(s, "Paused") ? "paused" : !strcmp(s, "Running") ? "running" : s);
	json_object_put(rep);
	return 0;
}

int cmd_vm_pause(int argc, char **argv)
{
	return pause_or_resume(argc, argv, true);
}

int cmd_vm_resume(int argc, char **argv)
{
	return pause_or_resume(argc, argv, false);
}
