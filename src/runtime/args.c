#include "runtime/args.h"

#include <getopt.h>
#include <stdio.h>

#include "runtime/log.h"

int rt_option_error(const char *cmd, int o, char **argv)
{
	const char *what = argv[optind - 1];
	if (o == ':')
		return rt_fail("%s: %s needs a value", cmd, what);
	if (optopt && what[0] == '-' && what[1] != '-')
		return rt_fail("%s: unknown option '-%c' (try nestvm-runtime %s --help)", cmd, optopt, cmd);
	return rt_fail("%s: unknown option '%s' (try nestvm-runtime %s --help)", cmd, what, cmd);
}

int rt_help_only(const char *cmd, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o != 'h')
			return rt_option_error(cmd, o, argv);
		printf("%s\n", usage);
		return 0;
	}
	return -1;
}

int rt_one_id(const char *cmd, int argc, char **argv, const char **id)
{
	if (optind >= argc)
		return rt_fail("%s: give the container's ID", cmd);
	if (optind + 1 < argc)
		return rt_fail("%s: one container ID only ('%s' is one too many)", cmd, argv[optind + 1]);
	*id = argv[optind];
	return 0;
}
