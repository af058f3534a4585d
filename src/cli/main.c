/* nestvm: the command-line entry point, a table of subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "vmm/exit_status.h"

static const struct cli_command commands[] = {
	{ "run", cmd_run, "run one VM in the foreground (default guest, or --kernel)" },
	{ "status", cmd_status, "can this host run VMs with nested virtualization, and if not, why (--json)" },
	{ "switch", cmd_switch, "virtual switches for VMs: create, list, show, delete, port (--help)" },
	{ "switch-daemon", cmd_switch_daemon, NULL },
	{ "lab", cmd_lab, "boot the emulated lab host (AMD-V under QEMU) and run a command there" },
};

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nestvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: nestvm COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`nestvm COMMAND --help` shows a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NESTVM_EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown command '%s' (try `nestvm --help`)", argv[1]);
}
