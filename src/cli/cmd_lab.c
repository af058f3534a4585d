/* `nestvm lab`: hands over to lab/run, the script that boots the emulated lab
 * host. It lives beside the binary's tree (repo/lab/run for build/nestvm) or
 * in PREFIX/lib/nestvm/lab (make install, the Debian package), where it
 * builds its lab under the state directory (cli/helper_scripts.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/helper_scripts.h"
#include "vmm/exit_status.h"

int cmd_lab(int argc, char **argv)
{
	char script[PATH_MAX + 32];
	bool installed;
	if (helper_script_find("lab/run", script, sizeof(script), &installed) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "cannot find the lab script (no %s)", script);
	struct nv_err err = { 0 };
	if (installed && helper_script_env(&err) < 0)
		return cli_fail(NESTVM_EXIT_VMM_FAILURE, "lab: %s", err.msg);
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
