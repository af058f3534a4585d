/* `nestvm vm`: dispatch to the named-VM subcommands (vm_commands.h). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/vm_commands.h"
#include "vmm/exit_status.h"

static const struct cli_command vm_commands[] = {
	{ "create", cmd_vm_create, "NAME [--memory --cpus --disk --nic --kernel --initrd --append ...]: define a VM (Off)" },
	{ "list", cmd_vm_list, "[NAME...] [--json]: Name, State, CPUs, Memory, Nested, Uptime" },
	{ "show", cmd_vm_show, "NAME [--json]: every setting and the runtime state" },
	{ "start", cmd_vm_start, "NAME: start it in the background (one VMM process with a control socket)" },
	{ "stop", cmd_vm_stop, "NAME [--force] [--timeout S]: ask the guest to power off, then force" },
	{ "pause", cmd_vm_pause, "NAME: stop its vCPUs and devices, keep its memory (Paused)" },
	{ "resume", cmd_vm_resume, "NAME: let a paused VM run on" },
	{ "save", cmd_vm_save, "NAME: save it to disk and end its VMM (Saved); start continues it" },
	{ "delete-saved-state", cmd_vm_delete_saved_state, "NAME: discard a saved VM's state (Off)" },
	{ "checkpoint", cmd_vm_checkpoint, "NAME [CP] | list NAME | delete NAME CP: the VM at one instant" },
	{ "restore", cmd_vm_restore, "NAME CP: the VM as it was at checkpoint CP (Saved, or Off)" },
	{ "migrate", cmd_vm_migrate, "NAME --to ADDR [--downtime-ms N] [--bandwidth MBPS]: move it while it runs" },
	{ "receive", cmd_vm_receive, "NAME --listen ADDR [--timeout S]: a VM that arrives by vm migrate (Receiving)" },
	{ "console", cmd_vm_console, "NAME: attach to its serial console (Ctrl-A d detaches)" },
	{ "ssh", cmd_vm_ssh, "NAME [--user USER] [-- SSH-ARGS...]: ssh into it through its NAT switch" },
	{ "set", cmd_vm_set, "NAME --OPTION VALUE...: change settings (Hyper-V's rules: some only while Off)" },
	{ "delete", cmd_vm_delete, "NAME [--force]: remove a VM (Off, or --force stops it first)" },
};

static void vm_usage(FILE *f)
{
	fprintf(f, "usage: nestvm vm COMMAND ...\n");
	for (size_t i = 0; i < sizeof(vm_commands) / sizeof(vm_commands[0]); i++)
		fprintf(f, "  %-8s %s\n", vm_commands[i].name, vm_commands[i].summary);
	fprintf(f, "`nestvm vm COMMAND --help` shows a command's options.\n");
}

int cmd_vm(int argc, char **argv)
{
	if (argc < 2) {
		vm_usage(stderr);
		return NESTVM_EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		vm_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(vm_commands) / sizeof(vm_commands[0]); i++)
		if (!strcmp(argv[1], vm_commands[i].name))
			return vm_commands[i].run(argc - 1, argv + 1);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown vm command '%s' (try `nestvm vm --help`)", argv[1]);
}
