#include "vmm/runner.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/console_escape.h"

/* Console input not yet taken by the UART (it has a bounded FIFO). */
struct pending_input {
	uint8_t buf[8192];
	size_t len;
};

static void flush_pending(struct machine *m, struct pending_input *p)
{
	if (p->len == 0)
		return;
	size_t took = machine_console_input(m, p->buf, p->len);
	memmove(p->buf, p->buf + took, p->len - took);
	p->len -= took;
}

/* Returns false when input is finished (EOF, error, or the quit key). */
static bool read_input(struct machine *m, int fd, struct console_escape *esc, bool escape_keys,
		       struct pending_input *p)
{
	uint8_t raw[2048];
	size_t room = (sizeof(p->buf) - p->len) / 2;
	if (room > sizeof(raw))
		room = sizeof(raw);
	if (room == 0)
		return true;
	ssize_t n = read(fd, raw, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	size_t out_len = 0;
	bool quit = false;
	if (escape_keys) {
		quit = console_escape_filter(esc, raw, (size_t)n, p->buf + p->len, &out_len);
	} else {
		memcpy(p->buf + p->len, raw, (size_t)n);
		out_len = (size_t)n;
	}
	p->len += out_len;
	flush_pending(m, p);
	if (quit)
		machine_request_end(m, MACHINE_END_STOPPED, 0, "console escape (Ctrl-A x)");
	return !quit;
}

int runner_run(struct machine *m, const struct runner_options *opt,
	       struct machine_result *res, struct nv_err *err)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigset_t old;
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return nv_err_host(err, "signalfd: %s", strerror(errno));
	}
	/* vCPU threads inherit this mask, so signals land on the signalfd. */
	if (machine_start(m, err) < 0) {
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
		machine_finish(m, res);
		close(sfd);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	struct console_escape esc = { 0 };
	struct pending_input pending = { .len = 0 };
	bool input_open = opt->input_fd >= 0;
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = machine_end_fd(m), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = input_open && pending.len == 0 ? opt->input_fd : -1, .events = POLLIN },
		};
		/* With input waiting for UART room, poll again soon. */
		int r = poll(fds, 3, pending.len ? 10 : -1);
		if (r < 0 && errno != EINTR) {
			machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, "poll failed");
			break;
		}
		if (fds[0].revents)
			break;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				machine_request_end(m, MACHINE_END_STOPPED, (int)si.ssi_signo,
						    strsignal((int)si.ssi_signo));
				break;
			}
		}
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			input_open = read_input(m, opt->input_fd, &esc, opt->escape_keys, &pending);
		flush_pending(m, &pending);
	}
	machine_finish(m, res);
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}
