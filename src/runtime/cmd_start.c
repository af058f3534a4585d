/* `start ID`: lets a created container's VMM go on to run the process.
 * The VMM waits reading DIR/start.fifo; one byte written there is the
 * word. Returns once the VMM says it started (DIR/started), it ended, or
 * 10 s passed, so that a `state` right after says running. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/args.h"
#include "runtime/commands.h"
#include "runtime/container.h"
#include "runtime/log.h"

int rt_cmd_start(const struct rt_globals *g, int argc, char **argv)
{
	int st = rt_help_only("start", argc, argv, "usage: nestvm-runtime start ID\n\nLets the created container ID run its process.");
	if (st >= 0)
		return st;
	const char *id;
	if (rt_one_id("start", argc, argv, &id))
		return 1;
	struct container c;
	struct nv_err err = { 0 };
	if (container_load(g->root, id, &c, NULL, &err) < 0)
		return rt_fail("%s", err.msg);
	if (c.status == CONTAINER_STOPPED)
		return rt_fail("cannot start a container that has stopped");
	if (c.status == CONTAINER_RUNNING)
		return rt_fail("cannot start an already running container");
	char fifo[PATH_MAX + 16];
	snprintf(fifo, sizeof(fifo), "%s/start.fifo", c.dir);
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENXIO)
		return rt_fail("container %s: its VMM is not waiting to start", id);
	if (fd < 0)
		return rt_fail("%s: %s", fifo, strerror(errno));
	ssize_t w = write(fd, "s", 1);
	int e = errno;
	close(fd);
	if (w != 1)
		return rt_fail("%s: %s", fifo, w < 0 ? strerror(e) : "nothing written");
	rt_debug("start %s: the VMM (pid %ld) was told to start", id, (long)c.rec.pid);
	for (int i = 0; i < 1000 && container_status_of(&c) == CONTAINER_CREATED; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	return 0;
}
