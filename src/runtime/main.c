/* nestvm-runtime: an OCI runtime with runc's command line (the runtime
 * spec's create, start, state, kill, delete; features, list), so that
 * podman, docker (containerd) and CRI-O run each container in a VM of its
 * own: `nestvm container run --oci-state` (vmm_spawn.h) is its VMM. This
 * file takes the global options and hands over to the command. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "runtime/commands.h"
#include "runtime/log.h"
#include "runtime/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nestvm-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ID]\n"
		"\n"
		"An OCI runtime with runc's command line: each container runs in a VM of its\n"
		"own, whose VMM is `nestvm container run` (the nestvm beside this program, or\n"
		"$NESTVM).\n"
		"\n"
		"commands:\n"
		"  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
		"                      build the container's VM; it waits for start\n"
		"  start ID            run the container's process\n"
		"  state ID            the container's state as JSON\n"
		"  kill [--all] ID [SIGNAL]\n"
		"                      SIGTERM (default) or SIGKILL to the container\n"
		"  delete [--force] ID forget a stopped container (--force: end it first)\n"
		"  list [--format table|json] [--quiet]\n"
		"                      the containers\n"
		"  features            what this runtime implements, as JSON\n"
		"  exec                not supported yet (refused)\n"
		"\n"
		"global options:\n"
		"  --root DIR          where containers are kept (default %s)\n"
		"  --log FILE          errors (and --debug lines) also go there\n"
		"  --log-format text|json\n"
		"                      the log's format (default text)\n"
		"  --debug             debug lines in the log\n"
		"  --systemd-cgroup    accepted: a VM has no host cgroup\n"
		"  -v, --version       the version\n"
		"  -h, --help          this\n",
		RT_DEFAULT_ROOT);
}

static const struct {
	const char *name;
	int (*run)(const struct rt_globals *g, int argc, char **argv);
} commands[] = {
	{ "create", rt_cmd_create }, { "start", rt_cmd_start },	    { "state", rt_cmd_state },
	{ "kill", rt_cmd_kill },     { "delete", rt_cmd_delete },   { "list", rt_cmd_list },
	{ "features", rt_cmd_features },
};

enum { O_ROOT = 256, O_LOG, O_LOG_FORMAT, O_DEBUG, O_SYSTEMD_CGROUP };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, O_ROOT },
		{ "log", required_argument, NULL, O_LOG },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, O_SYSTEMD_CGROUP },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rt_globals g = { .root = RT_DEFAULT_ROOT };
	const char *log = NULL, *format = "text";
	int o;
	opterr = 0;
	/* "+": the global options end at the command. */
	while ((o = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (o) {
		case O_ROOT: g.root = optarg; break;
		case O_LOG: log = optarg; break;
		case O_LOG_FORMAT: format = optarg; break;
		case O_DEBUG: g.debug = true; break;
		case O_SYSTEMD_CGROUP: break; /* a VM has no host cgroup to place */
		case 'v': rt_version_print(stdout); return 0;
		case 'h': usage(stdout); return 0;
		case ':': return rt_fail("%s needs a value", argv[optind - 1]);
		default:
			if (optopt && argv[optind - 1][1] != '-')
				return rt_fail("unknown option '-%c' (try nestvm-runtime --help)", optopt);
			return rt_fail("unknown option '%s' (try nestvm-runtime --help)", argv[optind - 1]);
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return rt_fail("--log-format '%s': give text or json", format);
	if (!g.root[0])
		return rt_fail("--root: give a folder");
	if (rt_log_open(log, !strcmp(format, "json"), g.debug) < 0)
		return 1;
	if (optind >= argc)
		return rt_fail("give a command (try nestvm-runtime --help)");
	const char *cmd = argv[optind];
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "exec"))
		return rt_fail("exec is not supported yet");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(&g, argc - optind, argv + optind);
	return rt_fail("unknown command '%s' (try nestvm-runtime --help)", cmd);
}
