#include "util/self_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Between fork and exec only async-signal-safe calls (the caller may have
 * threads): the message is put together by hand and written at once, with
 * strerrordesc_np (a constant string, no locale) rather than strerror. */
static _Noreturn void child_fail(const struct self_exec_options *o, int e)
{
	char line[512];
	const char *what = o->exec_error ? o->exec_error : "cannot run nestvm", *why = strerrordesc_np(e);
	if (!why)
		why = "unknown error";
	size_t w = strlen(what), y = strlen(why);
	if (w > sizeof(line) / 2)
		w = sizeof(line) / 2;
	if (y > sizeof(line) / 2 - 4)
		y = sizeof(line) / 2 - 4;
	memcpy(line, what, w);
	size_t n = w;
	memcpy(line + n, ": ", 2);
	n += 2;
	memcpy(line + n, why, y);
	n += y;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere else to say it */
	}
	_exit(o->fail_status);
}

/* In the new process: its fds into place, then the exec. */
static _Noreturn void become(const struct self_exec_options *o)
{
	int base = 3 + o->nkeep; /* fds 0 .. base-1 are what survives */
	int src[3 + SELF_EXEC_MAX_KEEP];
	src[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (src[0] < 0)
		child_fail(o, errno);
	src[1] = src[2] = -1; /* ours */
	if (o->log) {
		int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (o->log_append ? O_APPEND : O_TRUNC);
		src[1] = src[2] = open(o->log, flags, 0600);
		if (src[1] < 0)
			child_fail(o, errno);
	}
	for (int i = 0; i < o->nkeep; i++)
		src[3 + i] = o->keep_fds[i];
	/* Everything out of the way of 0 .. base-1 first (a source may sit on
	 * another one's place), then into place: dup2 clears close-on-exec, so
	 * exactly these survive the exec. */
	for (int t = 0; t < base; t++)
		if (src[t] >= 0 && (src[t] = fcntl(src[t], F_DUPFD_CLOEXEC, base)) < 0)
			child_fail(o, errno);
	for (int t = 0; t < base; t++)
		if (src[t] >= 0 && dup2(src[t], t) < 0)
			child_fail(o, errno);
	/* Whatever else is open and not close-on-exec. (Without close_range,
	 * an old kernel, the copies above still go at the exec.) */
	close_range((unsigned)base, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	execv(o->path ? o->path : "/proc/self/exe", o->argv);
	child_fail(o, errno);
}

pid_t self_exec_start(const struct self_exec_options *o)
{
	if (!o->argv || !o->argv[0] || o->nkeep < 0 || o->nkeep > SELF_EXEC_MAX_KEEP ||
	    (o->nkeep && !o->keep_fds))
		return -EINVAL;
	/* The new process may write to our stdout and stderr: what we
	 * printed comes first. */
	fflush(stdout);
	fflush(stderr);
	int pfd[2] = { -1, -1 }; /* detached: the middle process sends the daemon's pid */
	if (o->detach && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		if (o->detach) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -e;
	}
	if (pid == 0) {
		if (!o->detach)
			become(o);
		/* A new session (no terminal, no job control signals from ours),
		 * and a fork again, so that the daemon is not our child and
		 * outlives the command that started it. */
		setsid();
		pid_t d = fork();
		if (d != 0) {
			int v = d > 0 ? (int)d : -errno;
			ssize_t w = write(pfd[1], &v, sizeof(v));
			_exit(w == (ssize_t)sizeof(v) ? 0 : 1);
		}
		become(o);
	}
	if (!o->detach)
		return pid;
	close(pfd[1]);
	int v = 0;
	ssize_t n;
	while ((n = read(pfd[0], &v, sizeof(v))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(v))
		return -ECHILD; /* the middle process died before it could say */
	return (pid_t)v;
}
