#include "vmm/vm_process.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console_hub.h"
#include "vmm/vm_control.h"

#define MAX_CONTROL 8          /* control connections waiting for their request */
#define CONTROL_DEADLINE_MS 5000

struct proc {
	struct machine *m;
	const struct vm_process_options *o;
	struct console_hub hub;
	int ctl_lfd, sfd;
	int ctl[MAX_CONTROL];
	int64_t ctl_since[MAX_CONTROL];
	bool stopping;
	int64_t started; /* monotonic seconds */
	uint8_t pending[8192]; /* console input not yet taken by the UART */
	size_t pending_len;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_stopping(struct proc *p)
{
	if (p->stopping)
		return;
	p->stopping = true;
	if (p->o->on_stopping)
		p->o->on_stopping(p->o->opaque);
}

static void reply(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ssize_t w = send(fd, s, strlen(s), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w; /* a client that left gets no answer */
	json_object_put(o);
}

static void handle_request(struct proc *p, int fd, const char *msg, size_t len)
{
	struct vm_control_request req;
	vm_control_parse(msg, len, &req);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(req.cmd != VM_CONTROL_INVALID));
	switch (req.cmd) {
	case VM_CONTROL_STATUS:
		json_object_object_add(o, "state", json_object_new_string(p->stopping ? "Stopping" : "Running"));
		json_object_object_add(o, "pid", json_object_new_int64(getpid()));
		json_object_object_add(o, "uptime", json_object_new_int64(mono_ms() / 1000 - p->started));
		break;
	case VM_CONTROL_SHUTDOWN:
		/* Only a request: the guest decides (and may ignore it). */
		set_stopping(p);
		machine_press_power_button(p->m);
		break;
	case VM_CONTROL_KILL:
		set_stopping(p);
		machine_request_end(p->m, MACHINE_END_STOPPED, 0,
				    req.reason[0] ? req.reason : VM_PROCESS_KILL_DEFAULT);
		break;
	case VM_CONTROL_INVALID:
	default:
		json_object_object_add(o, "error", json_object_new_string(req.error));
		break;
	}
	reply(fd, o);
}

static void control_accept(struct proc *p)
{
	int fd = accept4(p->ctl_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONTROL; i++) {
		if (p->ctl[i] < 0) {
			p->ctl[i] = fd;
			p->ctl_since[i] = mono_ms();
			return;
		}
	}
	close(fd); /* too many at once: that client retries */
}

static void control_read(struct proc *p, int i)
{
	char msg[VM_CONTROL_MAX + 1];
	ssize_t n = recv(p->ctl[i], msg, sizeof(msg), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		handle_request(p, p->ctl[i], msg, (size_t)n);
	close(p->ctl[i]);
	p->ctl[i] = -1;
}

static void flush_pending(struct proc *p)
{
	if (p->pending_len == 0)
		return;
	size_t took = machine_console_input(p->m, p->pending, p->pending_len);
	memmove(p->pending, p->pending + took, p->pending_len - took);
	p->pending_len -= took;
}

/* The guest's console output: all of it that the pipe holds. */
static void console_read(struct proc *p)
{
	uint8_t buf[16384];
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(p->o->console_read_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		console_hub_output(&p->hub, buf, (size_t)n);
	}
}

enum { F_END, F_SIG, F_CONSOLE, F_CTL_L, F_CTL, F_HUB = F_CTL + MAX_CONTROL, F_MAX = F_HUB + CONSOLE_HUB_POLLFDS };

/* One round of the loop; false once the VM has ended. */
static bool loop_once(struct proc *p)
{
	struct pollfd fds[F_MAX];
	fds[F_END] = (struct pollfd){ .fd = machine_end_fd(p->m), .events = POLLIN };
	fds[F_SIG] = (struct pollfd){ .fd = p->sfd, .events = POLLIN };
	fds[F_CONSOLE] = (struct pollfd){ .fd = p->o->console_read_fd, .events = POLLIN };
	fds[F_CTL_L] = (struct pollfd){ .fd = p->ctl_lfd, .events = POLLIN };
	int64_t now = mono_ms();
	int timeout = p->pending_len ? 10 : 1000;
	for (int i = 0; i < MAX_CONTROL; i++) {
		if (p->ctl[i] >= 0 && now - p->ctl_since[i] > CONTROL_DEADLINE_MS) {
			close(p->ctl[i]); /* connected and never asked: not our problem */
			p->ctl[i] = -1;
		}
		fds[F_CTL + i] = (struct pollfd){ .fd = p->ctl[i], .events = POLLIN };
	}
	/* Input from clients only while the UART has taken the last. */
	size_t nhub = console_hub_poll_fill(&p->hub, fds + F_HUB, p->pending_len == 0);
	int r = poll(fds, (nfds_t)(F_HUB + nhub), timeout);
	if (r < 0 && errno != EINTR) {
		machine_request_end(p->m, MACHINE_END_VMM_FAILURE, 0, "poll failed");
		return false;
	}
	if (r <= 0) {
		flush_pending(p);
		return true;
	}
	if (fds[F_CONSOLE].revents)
		console_read(p);
	if (fds[F_END].revents)
		return false;
	if (fds[F_SIG].revents & POLLIN) {
		struct signalfd_siginfo si;
		if (read(p->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			char why[96];
			snprintf(why, sizeof(why), "the VMM got signal %u (%s)", si.ssi_signo,
				 strsignal((int)si.ssi_signo));
			set_stopping(p);
			machine_request_end(p->m, MACHINE_END_STOPPED, (int)si.ssi_signo, why);
			return false;
		}
	}
	if (fds[F_CTL_L].revents & POLLIN)
		control_accept(p);
	for (int i = 0; i < MAX_CONTROL; i++)
		if (p->ctl[i] >= 0 && fds[F_CTL + i].fd == p->ctl[i] && fds[F_CTL + i].revents)
			control_read(p, i);
	console_hub_poll_done(&p->hub, fds + F_HUB, nhub, p->pending, sizeof(p->pending), &p->pending_len);
	flush_pending(p);
	return true;
}

static int setup(struct proc *p, sigset_t *old, struct nv_err *err)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	/* vCPU threads inherit this mask, so signals land on the signalfd. */
	pthread_sigmask(SIG_BLOCK, &sigs, old);
	signal(SIGPIPE, SIG_IGN); /* a console client that left is not our end */
	int fl = fcntl(p->o->console_read_fd, F_GETFL);
	if (fl < 0 || fcntl(p->o->console_read_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return nv_err_host(err, "console pipe: %s", strerror(errno));
	p->sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (p->sfd < 0)
		return nv_err_host(err, "signalfd: %s", strerror(errno));
	if (console_hub_open(&p->hub, p->o->console_sock, p->o->console_log, err) < 0)
		return -1;
	p->ctl_lfd = vm_control_listen(p->o->control_sock, SOCK_SEQPACKET, err);
	return p->ctl_lfd < 0 ? -1 : 0;
}

int vm_process_run(struct machine *m, const struct vm_process_options *o,
		   struct machine_result *res, struct nv_err *err)
{
	static struct proc proc; /* big (buffers); one per process */
	struct proc *p = &proc;
	memset(p, 0, sizeof(*p));
	p->m = m;
	p->o = o;
	p->sfd = p->ctl_lfd = -1;
	p->hub.listen_fd = -1;
	p->hub.log.fd = -1;
	for (int i = 0; i < MAX_CONTROL; i++)
		p->ctl[i] = -1;
	sigset_t old;
	int rc = 0;
	if (setup(p, &old, err) < 0 || machine_start(m, err) < 0) {
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
		machine_finish(m, res);
		rc = -1;
		goto ended;
	}
	p->started = mono_ms() / 1000;
	if (o->on_running)
		o->on_running(o->opaque);
	while (loop_once(p))
		;
	machine_finish(m, res);
	console_read(p); /* what the guest printed last */
	console_hub_flush(&p->hub);
ended:
	if (o->on_ended)
		o->on_ended(o->opaque, res);
	for (int i = 0; i < MAX_CONTROL; i++)
		if (p->ctl[i] >= 0)
			close(p->ctl[i]);
	if (p->ctl_lfd >= 0) {
		close(p->ctl_lfd);
		unlink(o->control_sock);
	}
	if (p->hub.listen_fd >= 0)
		unlink(o->console_sock);
	console_hub_close(&p->hub);
	if (p->sfd >= 0)
		close(p->sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void vm_process_stop_reason(const struct machine_result *res, char *out, size_t size)
{
	switch (res->end) {
	case MACHINE_END_EXIT_STATUS:
		/* The default guest's init reports its shell's status, then
		 * powers off. */
		if (res->status == 0)
			snprintf(out, size, "the guest powered off");
		else
			snprintf(out, size, "the guest powered off (its shell exited with status %d)", res->status);
		break;
	case MACHINE_END_POWEROFF:
		snprintf(out, size, "the guest powered off");
		break;
	case MACHINE_END_RESET:
		snprintf(out, size, "the guest rebooted");
		break;
	case MACHINE_END_PANIC:
		snprintf(out, size, "the guest kernel panicked");
		break;
	case MACHINE_END_TRIPLE_FAULT:
		snprintf(out, size, "the guest crashed: %s", res->detail);
		break;
	case MACHINE_END_STOPPED:
		snprintf(out, size, "stopped: %s", res->detail[0] ? res->detail : VM_PROCESS_KILL_DEFAULT);
		break;
	case MACHINE_END_VMM_FAILURE:
	case MACHINE_END_NONE:
	default:
		snprintf(out, size, "VMM failure: %s", res->detail[0] ? res->detail : "unknown");
		break;
	}
}
