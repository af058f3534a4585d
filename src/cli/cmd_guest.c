/* `nestvm guest build [--force]`: builds the default guest (kernel, initrd
 * and the nested support disk) by running guest/build then
 * guest/build-nested, the scripts `make guest` runs. From a tree they write
 * build/guest; installed, the guest/ folder of the state directory
 * (/var/lib/nestvm/guest for root), where vmm/guest_files.c looks: a user
 * without root builds one of their own, and `nestvm` needs no write access
 * to /usr. The scripts redo nothing when nothing changed; --force rebuilds. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/helper_scripts.h"
#include "vmm/exit_status.h"
#include "vmm/guest_files.h"

static void guest_usage(FILE *f)
{
	fprintf(f, "usage: nestvm guest build [--force]\n\n"
		   "Builds the default guest (Debian's cloud kernel, an initramfs, the nested support disk):\n"
		   "build/guest from a source tree; installed, guest/ in the state directory\n"
		   "(/var/lib/nestvm/guest for root). Nothing is redone when nothing changed.\n\n"
		   "  --force    rebuild even so\n");
}

/* Runs the script with its output passing through; its exit status. */
static int run_script(const char *path, bool force)
{
	char *argv[] = { (char *)path, force ? "--force" : NULL, NULL };
	pid_t pid = fork();
	if (pid < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "guest build: cannot fork: %s", strerror(errno));
	if (pid == 0) {
		execv(path, argv);
		fprintf(stderr, "nestvm: guest build: cannot run %s: %s\n", path, strerror(errno));
		_exit(NESTVM_EXIT_VMM_FAILURE);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return cli_fail(NESTVM_EXIT_VMM_FAILURE, "guest build: waitpid: %s", strerror(errno));
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static int guest_build(bool force)
{
	char build[PATH_MAX + 32], nested[PATH_MAX + 32];
	bool installed, nested_installed;
	if (helper_script_find("guest/build", build, sizeof(build), &installed) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "guest build: cannot find the guest build script (no %s)", build);
	if (helper_script_find("guest/build-nested", nested, sizeof(nested), &nested_installed) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "guest build: cannot find the guest build script (no %s)", nested);
	struct nv_err err = { 0 };
	if (installed && helper_script_env(&err) < 0)
		return cli_fail(err.kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT,
				"guest build: %s", err.msg);
	int st = run_script(build, force);
	if (st == 0)
		st = run_script(nested, force);
	if (st != 0)
		return st; /* the script said why */
	char kernel[PATH_MAX], initrd[PATH_MAX];
	if (guest_default_paths(kernel, initrd, sizeof(kernel), &err) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "guest build: built, but nestvm does not find it: %s", err.msg);
	char *slash = strrchr(kernel, '/');
	if (slash)
		*slash = '\0';
	printf("default guest: %s\n", kernel);
	/* Say so when another guest comes first (NESTVM_GUEST_DIR, a make install). */
	char built[PATH_MAX + 8], a[PATH_MAX], b[PATH_MAX];
	const char *dir = getenv("NESTVM_BUILD_DIR");
	if (installed && dir && (size_t)snprintf(built, sizeof(built), "%s/guest", dir) < sizeof(built) &&
	    realpath(built, a) && realpath(kernel, b) && strcmp(a, b))
		fprintf(stderr, "nestvm: note: this one was built in %s, but nestvm boots %s first\n", a, b);
	return 0;
}

int cmd_guest(int argc, char **argv)
{
	enum { O_FORCE = 256 };
	static const struct option opts[] = {
		{ "force", no_argument, NULL, O_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_FORCE: force = true; break;
		case 'h':
			guest_usage(stdout);
			return 0;
		default:
			return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm guest --help`)",
					argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "guest: say what to do: nestvm guest build [--force]");
	if (strcmp(argv[optind], "build"))
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "guest: unknown subcommand '%s' (nestvm guest build)", argv[optind]);
	if (optind + 1 < argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "unexpected '%s' (try `nestvm guest --help`)", argv[optind + 1]);
	return guest_build(force);
}
