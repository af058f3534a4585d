/* `nestvm lab`: hands over to lab/run, the script that boots the emulated lab
 * host. It lives beside the binary's tree (repo/lab/run for build/nestvm)
 * or in /usr/share/nestvm/lab. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "vmm/exit_status.h"

static int find_lab_script(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(out, size, "%s/../lab/run", dirname(exe));
		if (access(out, X_OK) == 0)
			return 0;
	}
	snprintf(out, size, "/usr/share/nestvm/lab/run");
	return access(out, X_OK);
}

int cmd_lab(int argc, char **argv)
{
	char script[PATH_MAX + 16];
	if (find_lab_script(script, sizeof(script)) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot find the lab script (lab/run)");
	char **args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "out of memory");
	args[0] = script;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	execv(script, args);
	perror("nestvm: lab");
	free(args);
	return NESTVM_EXIT_VMM_FAILURE;
}
