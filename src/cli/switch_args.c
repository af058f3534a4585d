#include "cli/switch_args.h"

#include <getopt.h>

#include "cli/commands.h"
#include "net/switch_protocol.h"
#include "util/state_dir.h"
#include "vmm/exit_status.h"

int cli_err_status(const struct nv_err *err)
{
	return err->kind == NV_ERR_HOST ? NESTVM_EXIT_VMM_FAILURE : NESTVM_EXIT_BAD_INPUT;
}

int cli_err_fail(const struct nv_err *err)
{
	return cli_fail(cli_err_status(err), "%s", err->msg);
}

/* getopt for a subcommand: argv[0] is the subcommand. Returns 0 to go on,
 * or an exit status (help printed, or a bad option). */
int switch_getopt_error(int c, char **argv, const char *sub)
{
	if (c == ':')
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "%s needs a value", argv[optind - 1]);
	return cli_fail(NESTVM_EXIT_BAD_INPUT, "unknown option '%s' (try `nestvm switch %s --help`)",
			argv[optind - 1], sub);
}

/* The one NAME argument of a subcommand, checked. */
int switch_name_arg(int argc, char **argv, const char *sub, const char **name)
{
	if (optind >= argc)
		return cli_fail(NESTVM_EXIT_BAD_INPUT, "switch %s needs a switch NAME (try `nestvm switch %s --help`)",
				sub, sub);
	*name = argv[optind++];
	if (!state_name_valid(*name, SWITCH_NAME_MAX))
		return cli_fail(NESTVM_EXIT_BAD_INPUT,
				"'%s' is not a valid switch name (1-%d of A-Z a-z 0-9 _ . -, not starting with . or -)",
				*name, SWITCH_NAME_MAX);
	return 0;
}
