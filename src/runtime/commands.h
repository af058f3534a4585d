/* nestvm-runtime's commands (runc's command line, the OCI runtime spec's
 * operations: runtime.md), each in a file of its own. Each returns the
 * process's exit status: 0, or 1 after one line on stderr (log.h). */
#ifndef NESTVM_RUNTIME_COMMANDS_H
#define NESTVM_RUNTIME_COMMANDS_H

#include <stdbool.h>

#define RT_DEFAULT_ROOT "/run/nestvm-runtime"

/* The global options, given before the command. */
struct rt_globals {
	const char *root; /* --root: where each container's folder is */
	bool debug;
};

/* argv[0] is the command's name; its options and operands follow. */
int rt_cmd_create(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_start(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_state(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_kill(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_delete(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_list(const struct rt_globals *g, int argc, char **argv);
int rt_cmd_features(const struct rt_globals *g, int argc, char **argv);

#endif
