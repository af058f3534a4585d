/* What the commands' option parsers share: the one-line refusals. */
#ifndef NESTVM_RUNTIME_ARGS_H
#define NESTVM_RUNTIME_ARGS_H

/* After getopt_long returned '?' or ':' (opterr 0, optstring starting with
 * ":"): the line naming the option, exit status 1. */
int rt_option_error(const char *cmd, int o, char **argv);

/* A command whose only option is --help (-h): -1 to go on, 0 after
 * printing usage (with a newline), or 1 after the line naming a bad option. */
int rt_help_only(const char *cmd, int argc, char **argv, const char *usage);

/* Exactly one operand left, the container's ID: 0 with *id set, or 1 after
 * the line saying what is wrong. */
int rt_one_id(const char *cmd, int argc, char **argv, const char **id);

#endif
