/* Runs a command on a new pseudo-terminal, as a person at a terminal would,
 * answering its prompts, and prints everything it wrote (the transcript,
 * with the terminal's echo of the answers). For the CLI tests of
 * interactive commands (`nestvm enable-nested`). Usage:
 *   pty_run [--timeout S] [--expect TEXT --send LINE]... -- COMMAND [ARGS...]
 * Each --expect waits (in order) for TEXT in the output after the previous
 * match, then writes LINE and a newline. Exit status: the command's; 124 on
 * timeout or a prompt that never came (the transcript says which). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STEPS 16
#define OUT_MAX (1 << 20)

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: pty_run [--timeout S] [--expect TEXT --send LINE]... -- COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *expect[MAX_STEPS], *send[MAX_STEPS];
	int nsteps = 0, timeout_s = 30, i = 1;
	for (; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--expect") && i + 3 < argc && !strcmp(argv[i + 2], "--send") &&
			 nsteps < MAX_STEPS) {
			expect[nsteps] = argv[i + 1];
			send[nsteps++] = argv[i + 3];
			i += 3;
		} else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	char **cmd = argv + i + 1;

	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		perror("pty_run: posix_openpt");
		return 125;
	}
	const char *slave_name = ptsname(master);
	/* Our own slave fd keeps the pty from hanging up (EIO) before the
	 * child has opened it; the child's exit ends the loop instead. */
	int own_slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		perror("pty_run: fork");
		return 125;
	}
	if (pid == 0) {
		setsid();
		int slave = open(slave_name, O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(125);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(cmd[0], cmd);
		fprintf(stderr, "pty_run: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	char *out = calloc(1, OUT_MAX + 1);
	size_t len = 0, mark = 0;
	int step = 0, status = -1, ws = 0;
	bool exited = false;
	long long deadline = now_ms() + (long long)timeout_s * 1000;
	for (;;) {
		struct pollfd pfd = { master, POLLIN, 0 };
		int r = poll(&pfd, 1, 50);
		if (r > 0) {
			char buf[4096];
			ssize_t n = read(master, buf, sizeof(buf));
			if (n > 0) {
				size_t room = OUT_MAX - len;
				size_t take = (size_t)n < room ? (size_t)n : room;
				memcpy(out + len, buf, take);
				len += take;
				out[len] = '\0';
			} else if (n == 0 || (n < 0 && errno == EIO)) {
				break;
			}
		} else if (exited) {
			break; /* exited and nothing more to read */
		}
		if (!exited && waitpid(pid, &ws, WNOHANG) == pid)
			exited = true;
		if (step < nsteps) {
			char *hit = strstr(out + mark, expect[step]);
			if (hit) {
				mark = (size_t)(hit - out) + strlen(expect[step]);
				dprintf(master, "%s\n", send[step]);
				step++;
			}
		}
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			break;
		}
	}
	(void)own_slave;
	if (!exited)
		waitpid(pid, &ws, 0);
	status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	/* The terminal turns \n into \r\n; the transcript reads like a file. */
	for (size_t k = 0; k < len; k++)
		if (out[k] != '\r')
			putchar(out[k]);
	if (len && out[len - 1] != '\n')
		putchar('\n');
	if (step < nsteps) {
		printf("pty_run: the prompt '%s' never came\n", expect[step]);
		return 124;
	}
	if (now_ms() > deadline) {
		printf("pty_run: timed out after %d s\n", timeout_s);
		return 124;
	}
	return status;
}
