#include "runtime/vmm_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/mono_clock.h"

int vmm_program(char *out, size_t size, struct nv_err *err)
{
	const char *env = getenv("NESTVM");
	if (env && *env) {
		if ((size_t)snprintf(out, size, "%s", env) >= size)
			return nv_err_input(err, "$NESTVM: path too long");
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return nv_err_host(err, "/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(out, size, "%s/nestvm", slash ? self : ".") >= size)
		return nv_err_host(err, "the path of nestvm is too long");
	return 0;
}

pid_t vmm_spawn(const struct vmm_spawn *s, int *ready_fd, struct nv_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return nv_err_host(err, "pipe: %s", strerror(errno));
	/* Above stdin, stdout and stderr even when one of them was closed. */
	for (int i = 0; i < 2; i++)
		if (p[i] < 3) {
			int moved = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
			close(p[i]);
			p[i] = moved;
		}
	if (p[0] < 0 || p[1] < 0) {
		if (p[0] >= 0)
			close(p[0]);
		if (p[1] >= 0)
			close(p[1]);
		return nv_err_host(err, "pipe: %s", strerror(errno));
	}
	const char *argv[9];
	int argc = 0;
	argv[argc++] = s->nestvm;
	argv[argc++] = "container";
	argv[argc++] = "run";
	argv[argc++] = "--oci-state";
	argv[argc++] = s->dir;
	if (s->interactive)
		argv[argc++] = "-i";
	if (s->tty)
		argv[argc++] = "-t";
	argv[argc++] = s->bundle;
	argv[argc] = NULL;
	char fdnum[16];
	snprintf(fdnum, sizeof(fdnum), "%d", p[1]);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return nv_err_host(err, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		setsid();
		if (s->stdio_fd >= 0) {
			for (int fd = 0; fd < 3; fd++)
				dup2(s->stdio_fd, fd);
			ioctl(0, TIOCSCTTY, 0);
		}
		fcntl(p[1], F_SETFD, 0);
		setenv("NESTVM_OCI_READY_FD", fdnum, 1);
		execv(s->nestvm, (char *const *)argv);
		dprintf(p[1], "error: cannot run %s: %s\n", s->nestvm, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*ready_fd = p[0];
	return pid;
}

/* Ends pid (if still there) and reaps it; its status as text in buf. */
static const char *reap(pid_t pid, bool wait_first, char *buf, size_t size)
{
	int st = 0;
	pid_t r = 0;
	for (int i = 0; wait_first && i < 100 && (r = waitpid(pid, &st, WNOHANG)) == 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	if (r == 0) {
		kill(pid, SIGKILL);
		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
	}
	if (r != pid)
		snprintf(buf, size, "gone");
	else if (WIFEXITED(st))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(st));
	else
		snprintf(buf, size, "signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return buf;
}

int vmm_wait_ready(pid_t pid, int ready_fd, int timeout_ms, struct nv_err *err)
{
	char line[600];
	size_t n = 0;
	int64_t deadline = mono_ms() + timeout_ms;
	bool eof = false;
	while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
		int64_t now = mono_ms();
		if (now >= deadline)
			break;
		struct pollfd pfd = { .fd = ready_fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t got = read(ready_fd, line + n, sizeof(line) - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			eof = true;
			break;
		}
		n += (size_t)got;
	}
	close(ready_fd);
	line[n] = '\0';
	char *nl = strchr(line, '\n');
	char how[64];
	if (nl) {
		*nl = '\0';
		if (!strcmp(line, "ok"))
			return 0;
		reap(pid, true, how, sizeof(how));
		if (!strncmp(line, "error: ", 7) && line[7])
			return nv_err_input(err, "%s", line + 7);
		return nv_err_host(err, "the VMM said '%s' (%s)", line, how);
	}
	if (eof || n)
		return nv_err_host(err, "the VMM ended before its VM was ready (%s)", reap(pid, true, how, sizeof(how)));
	reap(pid, false, how, sizeof(how));
	return nv_err_host(err, "the VMM did not say its VM was ready within %d s: ended", timeout_ms / 1000);
}
