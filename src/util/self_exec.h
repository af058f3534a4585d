/* Starting nestvm again, as another process: fork, and in the child exec
 * /proc/self/exe (this very binary) with an argv. The one place that does
 * it: the daemons (`switch-daemon` by switch_launch, `vm-daemon` by `vm
 * start`) and `vm stop` run by `enable-nested`.
 *
 * The new process has stdin from /dev/null, stdout and stderr either ours
 * or both to a log file, the kept fds as 3, 4, ... and no other fd (what the
 * caller's caller left open, the pipe of a $(...) say, is not held for a
 * daemon's life), and SIGPIPE at its default. */
#ifndef NESTVM_UTIL_SELF_EXEC_H
#define NESTVM_UTIL_SELF_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#define SELF_EXEC_MAX_KEEP 8

struct self_exec_options {
	char *const *argv;    /* argv[0] included ("nestvm"), NULL-terminated */
	const char *path;     /* what to exec; NULL: /proc/self/exe (tests pass another) */
	bool detach;          /* a daemon: its own session, and not our child
			       * (double fork; the middle process is reaped here) */
	const char *log;      /* NULL: stdout and stderr are ours; else both go to
			       * this file (created 0600) ... */
	bool log_append;      /* ... appended to; else it starts empty */
	const int *keep_fds;  /* become fds 3, 4, ... in this order */
	int nkeep;            /* at most SELF_EXEC_MAX_KEEP */
	const char *exec_error; /* the process cannot be set up or exec fails:
				 * "<exec_error>: <strerror>" on its stderr ... */
	int fail_status;      /* ... and it exits with this status */
};

/* Starts it. Returns its pid: detached, the daemon's (not our child: it
 * cannot be waited for); else our child's, which the caller waits for. Or
 * -errno: fork failed (then nothing runs), or the options are wrong. What
 * happens after the fork (a log that cannot be opened, an exec that fails)
 * is the new process's to say, in its stderr and exit status. */
pid_t self_exec_start(const struct self_exec_options *o);

#endif
