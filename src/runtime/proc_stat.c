#include "runtime/proc_stat.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/file_io.h"

int proc_stat_parse(const char *text, char *state, unsigned long long *start)
{
	const char *p = strrchr(text, ')');
	if (!p || !strchr(text, '(') || p[1] != ' ')
		return -1;
	p += 2;
	/* Field 3 is the state; field 22 the start time: 19 fields later. */
	if (!*p || p[1] != ' ')
		return -1;
	*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end))
		return -1;
	*start = v;
	return 0;
}

int proc_stat_read(pid_t pid, char *state, unsigned long long *start)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	char *text;
	size_t len;
	if (pid <= 0 || file_read_bounded(path, 4096, &text, &len) < 0)
		return -1;
	int r = proc_stat_parse(text, state, start);
	free(text);
	return r;
}

bool proc_alive(pid_t pid, unsigned long long start)
{
	char state;
	unsigned long long now;
	return proc_stat_read(pid, &state, &now) == 0 && state != 'Z' && state != 'X' && now == start;
}

static int send(pid_t pid, unsigned long long start, int sig, const int *value)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return -1;
	if (!proc_alive(pid, start)) {
		if (pidfd >= 0)
			close(pidfd);
		errno = ESRCH;
		return -1;
	}
	if (pidfd < 0)
		return value ? sigqueue(pid, sig, (union sigval){ .sival_int = *value }) : kill(pid, sig);
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = SI_QUEUE;
	info.si_pid = getpid();
	info.si_uid = getuid();
	if (value)
		info.si_value.sival_int = *value;
	int r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, value ? &info : NULL, 0);
	int e = errno;
	close(pidfd);
	errno = e;
	return r;
}

int proc_signal(pid_t pid, unsigned long long start, int sig)
{
	return send(pid, start, sig, NULL);
}

int proc_signal_value(pid_t pid, unsigned long long start, int sig, int value)
{
	return send(pid, start, sig, &value);
}
