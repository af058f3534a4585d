/* `delete [--force] ID`: forgets a stopped container (its folder under
 * the root goes). A created or running one is refused unless --force,
 * which ends its VM (SIGKILL) and waits up to 10 s for the VMM to go. As
 * runc, --force on an ID that does not exist is not an error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/container.h"
#include "runtime/log.h"
#include "runtime/proc_stat.h"
#include "util/remove_tree.h"

int rt_cmd_delete(const struct rt_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool force = false;
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
		if (o == 'f') {
			force = true;
			continue;
		}
		if (o == 'h') {
			printf("usage: nestvm-runtime delete [--force] ID\n\n"
			       "Forgets a stopped container; --force ends a created or running one first.\n");
			return 0;
		}
		return rt_option_error("delete", o, argv);
	}
	const char *id;
	if (rt_one_id("delete", argc, argv, &id))
		return 1;
	struct container c;
	struct nv_err err = { 0 };
	int missing;
	if (container_load(g->root, id, &c, &missing, &err) < 0) {
		if (force && missing)
			return 0;
		if (missing || !force || c.dir[0] == '\0')
			return rt_fail("%s", err.msg);
		/* --force on a folder whose record is broken: it goes anyway. */
		rt_debug("delete %s: %s; removed anyway (--force)", id, err.msg);
	} else if (c.status != CONTAINER_STOPPED) {
		if (!force)
			return rt_fail("cannot delete container %s that is not stopped: %s", id,
				       container_status_name(c.status));
		if (proc_signal(c.rec.pid, c.rec.pid_start, SIGKILL) < 0 && errno != ESRCH)
			return rt_fail("delete %s: kill pid %ld: %s", id, (long)c.rec.pid, strerror(errno));
		for (int i = 0; i < 1000 && proc_alive(c.rec.pid, c.rec.pid_start); i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		if (proc_alive(c.rec.pid, c.rec.pid_start))
			return rt_fail("delete %s: its VMM (pid %ld) is still there 10 s after SIGKILL", id,
				       (long)c.rec.pid);
	}
	if (remove_tree(c.dir, 2) < 0)
		return rt_fail("delete %s: %s: %s", id, c.dir, strerror(errno));
	rt_debug("delete %s: removed %s", id, c.dir);
	return 0;
}
