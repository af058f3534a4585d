/* `kill [--all] ID [SIGNAL]`: SIGTERM (the default) and SIGKILL go to the
 * container's VMM as they are: it turns SIGTERM into the container's own
 * SIGTERM (the power button) and ends with the VM on SIGKILL. Any other
 * signal is queued to the VMM as SIGNAL_FORWARD with the signal's number
 * (util/signal_forward.h), which the VMM hands to the guest's relay for
 * the container's process. --all is the same thing (a VM is one
 * container). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/container.h"
#include "runtime/log.h"
#include "runtime/proc_stat.h"
#include "runtime/signal_name.h"
#include "util/signal_forward.h"

int rt_cmd_kill(const struct rt_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
		if (o == 'a')
			continue;
		if (o == 'h') {
			printf("usage: nestvm-runtime kill [--all] ID [SIGNAL]\n\n"
			       "Sends SIGNAL (SIGTERM by default) to the container's process; SIGKILL ends its VM.\n");
			return 0;
		}
		return rt_option_error("kill", o, argv);
	}
	if (optind >= argc)
		return rt_fail("kill: give the container's ID");
	if (optind + 2 < argc)
		return rt_fail("kill: an ID and a signal only ('%s' is one too many)", argv[optind + 2]);
	const char *id = argv[optind];
	const char *name = optind + 1 < argc ? argv[optind + 1] : "SIGTERM";
	int sig = signal_name_parse(name);
	if (sig < 0)
		return rt_fail("kill: unknown signal '%s'", name);
	struct container c;
	struct nv_err err = { 0 };
	if (container_load(g->root, id, &c, NULL, &err) < 0)
		return rt_fail("%s", err.msg);
	if (c.status == CONTAINER_STOPPED)
		return rt_fail("container not running");
	bool as_is = sig == SIGTERM || sig == SIGKILL;
	if ((as_is ? proc_signal(c.rec.pid, c.rec.pid_start, sig)
		   : proc_signal_value(c.rec.pid, c.rec.pid_start, SIGNAL_FORWARD, sig)) < 0)
		return errno == ESRCH ? rt_fail("container not running")
				      : rt_fail("kill %s: pid %ld: %s", id, (long)c.rec.pid, strerror(errno));
	rt_debug("kill %s: signal %d to the VMM (pid %ld)", id, sig, (long)c.rec.pid);
	return 0;
}
