/* What the commands' option parsers share: the one-line refusals. */
#ifndef NESTVM_RUNTIME_ARGS_H
#define NESTVM_RUNTIME_ARGS_H

/* After getopt_long returned '?' or ':' (opterr 0, optstring starting with
 * ":"): the line naming the option, exit status 1. */
int rt_option_error(const char *cmd, int o, char **argv);

/* Exactly one operand left, the container's ID: 0 with *id set, or 1 after
 * the line saying what is wrong. */
int rt_one_id(const char *cmd, int argc, char **argv, const char **id);

#endif
