/* What the `nestvm switch` subcommands share: error statuses, option
 * errors and the NAME argument. */
#ifndef NESTVM_CLI_SWITCH_ARGS_H
#define NESTVM_CLI_SWITCH_ARGS_H

#include "util/err.h"

/* Exit status for an error's kind (2 input, 125 host), and cli_fail with it. */
int cli_err_status(const struct nv_err *err);
int cli_err_fail(const struct nv_err *err);
/* A bad option c from getopt_long in subcommand sub: the message and 2. */
int switch_getopt_error(int c, char **argv, const char *sub);
/* Takes argv[optind] as the switch NAME and checks it; 0 or an exit status. */
int switch_name_arg(int argc, char **argv, const char *sub, const char **name);

#endif
