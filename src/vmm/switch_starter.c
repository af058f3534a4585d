#include "vmm/switch_starter.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/switch_launch.h"
#include "net/switch_protocol.h"

#define STARTER_FD 3

/* The starter's loop: a switch's name in, one byte out (0 started or
 * running, 1 not). Ends when the VMM's end of the socket closes. */
static void starter_serve(int fd)
{
	char name[SWITCH_NAME_MAX + 2];
	for (;;) {
		ssize_t n = recv(fd, name, sizeof(name) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		name[n] = '\0';
		uint8_t ok = 1;
		if ((size_t)n <= SWITCH_NAME_MAX && strlen(name) == (size_t)n && switch_ensure_running(name, NULL) == 0)
			ok = 0;
		if (send(fd, &ok, 1, MSG_NOSIGNAL) != 1)
			return;
	}
}

int switch_starter_open(struct switch_starter *s, struct nv_err *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return nv_err_host(err, "switch starter: socketpair: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return nv_err_host(err, "switch starter: fork: %s", strerror(e));
	}
	if (pid == 0) {
		/* Nothing of the VMM's but the socket: no KVM, no disk, no
		 * console. A Ctrl-C meant for the VM is not for us. */
		if (dup2(sv[1], STARTER_FD) < 0)
			_exit(1);
		close_range(STARTER_FD + 1, ~0u, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "nestvm-swstart");
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* What it starts gains no privilege through exec either. */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		starter_serve(STARTER_FD);
		_exit(0);
	}
	close(sv[1]);
	s->pid = pid;
	s->fd = sv[0];
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

int switch_starter_ensure(struct switch_starter *s, const char *name)
{
	if (!s || s->pid <= 0)
		return -1;
	size_t len = strlen(name);
	uint8_t ok = 1;
	pthread_mutex_lock(&s->lock);
	if (send(s->fd, name, len, MSG_NOSIGNAL) == (ssize_t)len) {
		ssize_t n;
		while ((n = recv(s->fd, &ok, 1, 0)) < 0 && errno == EINTR)
			;
		if (n != 1)
			ok = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return ok == 0 ? 0 : -1;
}
