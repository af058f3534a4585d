/* nestvm: the command-line entry point, a table of subcommands. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/hyperv_alias.h"
#include "cli/hyperv_run.h"
#include "cli/version.h"
#include "net/switch_daemon_main.h"
#include "util/proc_fail.h"
#include "util/progress.h"
#include "vmm/exit_status.h"
#include "vmm/vmm_daemon.h"

/* The daemons' mains live in their own rooms (net/, vmm/); they are here
 * only to be found by name, hidden from the usage. */
static const struct cli_command commands[] = {
	{ "run", cmd_run, "run one VM in the foreground (default guest, or --kernel)" },
	{ "container", cmd_container, "run a container in a VM of its own, from a root filesystem or OCI bundle" },
	{ "status", cmd_status, "can this host run VMs with nested virtualization, and if not, why (--json)" },
	{ "switch", cmd_switch, "virtual switches for VMs: create, list, show, delete, port (--help)" },
	{ "switch-daemon", switch_daemon_main, NULL },
	{ "vm", cmd_vm, "named VMs that persist: create, list, show, start, stop, console, set, delete" },
	{ "vm-daemon", vmm_daemon_main, NULL },
	{ "enable-nested", cmd_enable_nested, "set a VM up for nesting, step by step (Hyper-V's Enable-NestedVm)" },
	{ "lab", cmd_lab, "boot the emulated lab host (AMD-V under QEMU) and run a command there" },
	{ "guest", cmd_guest, "build the default guest where nestvm finds it (guest build [--force])" },
	{ "service", cmd_service, "what nestvm.service runs at the host's boot and shutdown: start|stop" },
};

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	proc_vfail(status, fmt, ap);
	va_end(ap);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nestvm COMMAND [OPTIONS] | nestvm help COMMAND | nestvm --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`nestvm COMMAND --help` shows a command's options. Hyper-V's cmdlets work too:\n"
		   "New-VM, Get-VM, Start-VM, Stop-VM, Set-VMProcessor, Get-VMProcessor, Set-VMMemory,\n"
		   "Set-VMNetworkAdapter, New-VMSwitch, New-NetNat, ... (`nestvm Get-Help`), piped into\n"
		   "each other (nestvm Get-VM X | nestvm Start-VM), or a line pasted from Hyper-V's\n"
		   "pages as it is: nestvm -Command 'Get-VMProcessor -VMName X | FL *'.\n");
}

static int dispatch(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].run(argc, argv);
	return -1;
}

/* A cmdlet's native command (the translation only makes known ones). */
static int dispatch_cmdlet(int argc, char **argv)
{
	int st = dispatch(argc, argv);
	return st >= 0 ? st : cli_fail(NESTVM_EXIT_VMM_FAILURE, "no command '%s'", argv[0]);
}

/* `nestvm help COMMAND [SUB...]` is `nestvm COMMAND [SUB...] --help`; a
 * cmdlet's help is Get-Help's. */
static int help_command(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	memcpy(args, argv, (size_t)argc * sizeof(char *));
	args[argc] = "--help";
	int st = dispatch(argc + 1, args);
	free(args);
	if (st >= 0)
		return st;
	if (hyperv_help(stdout, argv[0]) == 0)
		return 0;
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown command '%s' (try `nestvm --help`)", argv[0]);
}

/* One line rewritten in place while the work goes on; a newline at its
 * end. */
static void terminal_progress(const char *what, uint64_t done, uint64_t total)
{
	unsigned percent = total ? (unsigned)(done * 100 / total) : 100;
	fprintf(stderr, "\rnestvm: %s: %3u%% (%llu of %llu MiB)%s", what, percent > 100 ? 100 : percent,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20), done >= total ? "\n" : "");
}

int main(int argc, char **argv)
{
	if (isatty(STDERR_FILENO))
		progress_set(terminal_progress);
	if (argc < 2) {
		usage(stderr);
		return NESTVM_EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--version")) {
		cli_version_print(stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "help"))
		return help_command(argc - 2, argv + 2);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	int st = dispatch(argc - 1, argv + 1);
	if (st >= 0)
		return st;
	/* A pasted line, as PowerShell's own -Command takes it. */
	if (!strcasecmp(argv[1], "-Command") || !strcmp(argv[1], "-c")) {
		if (argc != 3)
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "usage: nestvm -Command 'LINE' (one argument: quote "
							       "the line)");
		return hyperv_run_command(argv[2], dispatch_cmdlet);
	}
	if (!strcasecmp(argv[1], "Get-Help") || hyperv_command_kind(argv[1]) != HV_CMD_NONE)
		return hyperv_run_argv(argc - 1, argv + 1, dispatch_cmdlet);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown command '%s' (try `nestvm --help`)", argv[1]);
}
