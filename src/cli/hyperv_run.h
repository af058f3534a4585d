/* Running Hyper-V's words: one cmdlet, a pipeline of them, statements,
 * or a whole pasted line (`nestvm -Command LINE`). A Get-VM* cmdlet prints
 * objects (a table on a terminal, one JSON object per line down a pipe);
 * a cmdlet that acts on VMs and is not told which takes them from the
 * objects piped in; Format-List and Format-Table print piped objects;
 * Windows' own commands are refused with what nestvm does instead. The
 * other cmdlets become native commands (hyperv_alias.h), run by
 * dispatch. Each returns the exit status. */
#ifndef NESTVM_CLI_HYPERV_RUN_H
#define NESTVM_CLI_HYPERV_RUN_H

typedef int (*hv_dispatch_fn)(int argc, char **argv);

/* argv[0] is a cmdlet (hyperv_command_kind); "|" and ";" words separate
 * commands as in a shell. */
int hyperv_run_argv(int argc, char **argv, hv_dispatch_fn dispatch);
/* A line as PowerShell reads it (hyperv_shell.h). */
int hyperv_run_command(const char *line, hv_dispatch_fn dispatch);

#endif
