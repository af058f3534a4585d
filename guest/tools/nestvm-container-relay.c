#define _GNU_SOURCE
#include "nestvm-container-relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* The wire format, as src/util/stdio_mux.h says it. */
enum {
	ESC = 0xff,
	END_OF_INPUT = 0x00,
	TO_STDOUT = 0x01,
	TO_STDERR = 0x02,
	READY = 0x03,
	CREDIT = 0x04,
	SIGNAL = 0x05,
};
/* The bytes one CREDIT grants, and the credits the host starts with: the
 * most it may have sent that the relay has not consumed. */
#define CREDIT_BYTES 1024
#define WINDOW 2

struct relay {
	pid_t child;
	int in_w;          /* the container's stdin, -1 once closed (or none) */
	int out_r, err_r;  /* its stdout and stderr, -1 at EOF */
	int stream;        /* the stream the host is writing to now: 1 or 2 */
	enum { PLAIN, AFTER_ESC, AFTER_SIGNAL } in_state;
	uint8_t pending[2 * WINDOW * CREDIT_BYTES]; /* decoded stdin the container has not taken */
	size_t npending;
	bool end_after_pending; /* the host ended stdin */
	/* Console bytes consumed (written to the container's stdin, dropped,
	 * or control) and not yet granted back. Granting what is consumed,
	 * not what is read, keeps pending within the window: the console is
	 * always read, so a signal is never stuck behind stdin. */
	size_t consumed;
};

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void close_stdin(struct relay *r)
{
	if (r->in_w >= 0)
		close(r->in_w);
	r->in_w = -1;
	r->consumed += r->npending;
	r->npending = 0;
}

static void take_data(struct relay *r, uint8_t b)
{
	if (r->in_w < 0 || r->npending == sizeof(r->pending))
		r->consumed++; /* no stdin (any more): dropped */
	else
		r->pending[r->npending++] = b;
}

/* Console bytes: stdin into pending, the rest acted on. */
static void decode_input(struct relay *r, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (r->in_state) {
		case AFTER_SIGNAL:
			r->in_state = PLAIN;
			r->consumed += 3;
			if (in[i] >= 1 && in[i] <= 64)
				kill(r->child, in[i]);
			break;
		case AFTER_ESC:
			r->in_state = PLAIN;
			if (in[i] == SIGNAL) {
				r->in_state = AFTER_SIGNAL;
			} else if (in[i] == ESC) {
				r->consumed++;
				take_data(r, ESC);
			} else {
				r->consumed += 2;
				if (in[i] == END_OF_INPUT)
					r->end_after_pending = true;
			}
			break;
		case PLAIN:
			if (in[i] == ESC)
				r->in_state = AFTER_ESC;
			else
				take_data(r, in[i]);
			break;
		}
	}
}

/* What was consumed goes back to the host in whole credits. */
static void grant(struct relay *r)
{
	static const uint8_t credit[] = { ESC, CREDIT };
	while (r->consumed >= CREDIT_BYTES) {
		r->consumed -= CREDIT_BYTES;
		write_all(STDOUT_FILENO, credit, sizeof(credit));
	}
}

static void push_input(struct relay *r)
{
	if (r->in_w < 0)
		return;
	while (r->npending > 0) {
		ssize_t w = write(r->in_w, r->pending, r->npending);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) { /* the container closed its stdin */
			close_stdin(r);
			return;
		}
		memmove(r->pending, r->pending + w, r->npending - (size_t)w);
		r->npending -= (size_t)w;
		r->consumed += (size_t)w;
	}
	if (r->end_after_pending)
		close_stdin(r);
}

/* One read of the container's stream, escaped onto the console. */
static void forward_output(struct relay *r, int *fd, int stream)
{
	uint8_t in[2048], out[2 * sizeof(in) + 2];
	ssize_t n = read(*fd, in, sizeof(in));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	size_t o = 0;
	if (stream != r->stream) {
		out[o++] = ESC;
		out[o++] = stream == 2 ? TO_STDERR : TO_STDOUT;
		r->stream = stream;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (in[i] == ESC)
			out[o++] = ESC;
		out[o++] = in[i];
	}
	write_all(STDOUT_FILENO, out, o);
}

static int status_of(int st)
{
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void relay_run(struct relay *r, pid_t child)
{
	int st = 0;
	/* Readable once the child has ended (Linux 5.3). */
	int child_fd = (int)syscall(SYS_pidfd_open, child, 0);
	bool reaped = false, console_open = true;
	for (;;) {
		if (!reaped && waitpid(child, &st, WNOHANG) == child)
			reaped = true;
		if (r->out_r < 0 && r->err_r < 0 && reaped)
			break;
		struct pollfd p[5];
		nfds_t n = 0;
		if (console_open && sizeof(r->pending) - r->npending >= WINDOW * CREDIT_BYTES)
			p[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		if (r->npending > 0 && r->in_w >= 0)
			p[n++] = (struct pollfd){ .fd = r->in_w, .events = POLLOUT };
		if (r->out_r >= 0)
			p[n++] = (struct pollfd){ .fd = r->out_r, .events = POLLIN };
		if (r->err_r >= 0)
			p[n++] = (struct pollfd){ .fd = r->err_r, .events = POLLIN };
		if (!reaped && child_fd >= 0)
			p[n++] = (struct pollfd){ .fd = child_fd, .events = POLLIN };
		/* Once the process ended, its output is what is left: a daemon
		 * it left behind holding the pipes does not keep the VM up. */
		int k = poll(p, n, reaped ? 100 : child_fd >= 0 ? -1 : 200);
		if (k < 0 && errno != EINTR)
			break;
		if (k == 0 && reaped)
			break;
		for (nfds_t i = 0; k > 0 && i < n; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == STDIN_FILENO) {
				uint8_t in[WINDOW * CREDIT_BYTES];
				ssize_t got = read(STDIN_FILENO, in, sizeof(in));
				if (got > 0)
					decode_input(r, in, (size_t)got);
				else if (got == 0 || errno != EINTR)
					console_open = false;
				push_input(r);
			} else if (p[i].fd == r->in_w) {
				push_input(r);
			} else if (p[i].fd == r->out_r) {
				forward_output(r, &r->out_r, 1);
			} else if (p[i].fd == r->err_r) {
				forward_output(r, &r->err_r, 2);
			}
		}
		if (r->end_after_pending && r->npending == 0)
			close_stdin(r);
		grant(r);
	}
	if (!reaped)
		waitpid(child, &st, 0);
	exit(status_of(st));
}

static void write_pid(const char *pid_file, pid_t pid)
{
	FILE *f = fopen(pid_file, "we");
	if (f) {
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
}

/* With a terminal: the child has the console; this waits only. */
static void wait_only(pid_t child)
{
	int st = 0;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	exit(status_of(st));
}

int relay_fork(bool relay, bool with_stdin, const char *pid_file)
{
	if (!relay) {
		pid_t pid = fork();
		if (pid <= 0)
			return pid;
		write_pid(pid_file, pid);
		wait_only(pid);
	}
	int in[2] = { -1, -1 }, out[2], err[2];
	if ((with_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -1;
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	}
	/* Ready, and the first window of stdin: the host sends no more than
	 * granted, and the relay grants what it has read (flow control the
	 * guest's speed sets, src/util/stdio_mux.h). */
	uint8_t ready[2 + 2 * WINDOW] = { ESC, READY };
	for (int i = 0; i < WINDOW; i++) {
		ready[2 + 2 * i] = ESC;
		ready[3 + 2 * i] = CREDIT;
	}
	write_all(STDOUT_FILENO, ready, sizeof(ready));
	/* Set before the fork: a process that ends at once must not end
	 * the relay with its SIGCHLD's default or a closed pipe's SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if ((with_stdin && dup2(in[0], STDIN_FILENO) < 0) || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			_exit(125);
		return 0;
	}
	write_pid(pid_file, pid);
	struct relay r = { .child = pid, .in_w = -1, .out_r = out[0], .err_r = err[0], .stream = 1 };
	if (with_stdin) {
		close(in[0]);
		r.in_w = in[1];
		fcntl(r.in_w, F_SETFL, O_NONBLOCK);
	}
	close(out[1]);
	close(err[1]);
	relay_run(&r, pid);
	return -1; /* not reached */
}
