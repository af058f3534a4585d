/* The `nestvm` subcommands: each lives in its own cmd_*.c file and returns
 * the process exit status. Only cli/ prints to the user and exits. The
 * daemons' mains (vm-daemon, switch-daemon) are not commands of this room:
 * vmm/vmm_daemon.h and net/switch_daemon_main.h. */
#ifndef NESTVM_CLI_COMMANDS_H
#define NESTVM_CLI_COMMANDS_H

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* NULL: hidden from the usage (internal commands) */
};

int cmd_run(int argc, char **argv);
int cmd_container(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_switch(int argc, char **argv);
int cmd_vm(int argc, char **argv);
int cmd_enable_nested(int argc, char **argv);
int cmd_service(int argc, char **argv);

/* One-line error to stderr, prefixed "nestvm: ". Returns status. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
