#include "vmm/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/stdio_mux.h"
#include "vmm/console_escape.h"
#include "vmm/dynamic_memory.h"
#include "vmm/vmm_loop.h"

struct runner_io {
	struct machine *m;
	const struct runner_options *opt;
	struct vmm_loop loop;
	struct console_escape esc;
	evloop_id input; /* 0 once input is finished */
	evloop_id ready; /* the guest's ready signal, until it came */
	bool stdio_started; /* the container relay's first grant came */
	struct dynamic_memory dyn;
};

static size_t give_input(void *opaque, const uint8_t *p, size_t n)
{
	struct runner_io *io = opaque;
	return machine_console_input(io->m, p, n);
}

/* A stop from the host. When it will be saved, the VM pauses first: the
 * console keeps everything the guest wrote up to that instant, and nothing
 * after it happens. */
static void host_stop(struct runner_io *io, int signo, const char *why)
{
	if (io->opt->keep_for_save)
		machine_pause(io->m);
	machine_request_end(io->m, MACHINE_END_STOPPED, signo, why);
}

static bool on_signal(void *opaque, int signo)
{
	struct runner_io *io = opaque;
	if (signo == SIGTERM && io->opt->term_presses_power_button) {
		machine_press_power_button(io->m);
		return false;
	}
	host_stop(io, signo, strsignal(signo));
	return true;
}

/* Input is read only while the UART has taken the last. */
static void input_gate(void *opaque, bool open)
{
	struct runner_io *io = opaque;
	if (io->input)
		evloop_modify(io->loop.ev, io->input, open ? EVLOOP_IN : 0);
}

static void input_finish(struct runner_io *io)
{
	evloop_remove(io->loop.ev, io->input);
	io->input = 0;
}

/* Finished on EOF, an error, or the quit key. */
static void input_ready(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	struct runner_io *io = opaque;
	uint8_t raw[2048], out[2 * sizeof(raw)];
	/* Half the room: the escape filter may double what it is given. */
	size_t room = vmm_loop_input_room(&io->loop) / 2;
	if (room > sizeof(raw))
		room = sizeof(raw);
	if (room == 0)
		return;
	ssize_t n = read(io->opt->input_fd, raw, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (io->opt->stdio_mux) {
			static const uint8_t end[] = { STDIO_MUX_ESC, STDIO_MUX_EOF };
			vmm_loop_input(&io->loop, end, sizeof(end));
		}
		input_finish(io);
		return;
	}
	size_t out_len = 0;
	bool quit = false;
	if (io->opt->stdio_mux) {
		out_len = stdio_mux_escape(raw, (size_t)n, out);
	} else if (io->opt->escape_keys) {
		quit = console_escape_filter(&io->esc, raw, (size_t)n, out, &out_len);
	} else {
		memcpy(out, raw, (size_t)n);
		out_len = (size_t)n;
	}
	vmm_loop_input(&io->loop, out, out_len);
	if (quit) {
		host_stop(io, 0, "console escape (Ctrl-A x)");
		input_finish(io);
	}
}

/* The first input, then the user's. */
static void input_open(struct runner_io *io)
{
	const char *first = io->opt->first_input;
	size_t len = first ? strlen(first) : 0;
	if (first && io->opt->first_input_at && len < io->opt->first_input_room &&
	    machine_guest_write(io->m, io->opt->first_input_at, first, len + 1) == 0)
		vmm_loop_input(&io->loop, (const uint8_t *)"\n", 1);
	else if (first)
		vmm_loop_input(&io->loop, (const uint8_t *)first, len);
	/* An input that cannot be watched (closed) is as good as none. */
	if (io->opt->input_fd >= 0 &&
	    evloop_add_fd(io->loop.ev, io->opt->input_fd, EVLOOP_IN, input_ready, io, &io->input) < 0)
		io->input = 0;
}

/* Once: the snapshot is taken between two instructions of the guest. */
static void guest_ready(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	struct runner_io *io = opaque;
	uint64_t n;
	(void)e;
	if (read(machine_ready_fd(io->m), &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	evloop_remove(ev, io->ready);
	io->ready = 0;
	machine_pause(io->m);
	io->opt->on_ready(io->m, io->opt->ready_opaque);
	machine_resume(io->m);
	input_open(io);
}

/* The container's relay granted stdin room: the first time, it is in raw
 * mode and input starts; each time, what waits goes on at once. */
static void stdio_granted(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	struct runner_io *io = opaque;
	uint64_t n;
	(void)ev;
	(void)e;
	if (read(machine_stdio_ready_fd(io->m), &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	if (!io->stdio_started) {
		io->stdio_started = true;
		input_open(io);
	}
	vmm_loop_input(&io->loop, NULL, 0);
}

/* A signal for the container's process: to the relay, in order with the
 * input (a signal's number is 1..64). Watched for every VM, so that a
 * stray one does not end the VMM. */
static void forward_signal(void *opaque, int signo)
{
	struct runner_io *io = opaque;
	if (signo < 1 || signo > 64)
		return;
	if (!io->opt->stdio_mux) {
		/* A terminal's console has no relay to take it. */
		fprintf(stderr, "nestvm: signal %d cannot reach a container with a terminal yet: dropped\n", signo);
		return;
	}
	const uint8_t frame[] = { STDIO_MUX_ESC, STDIO_MUX_SIGNAL, (uint8_t)signo };
	vmm_loop_input(&io->loop, frame, sizeof(frame));
}

static int io_open(struct runner_io *io, struct nv_err *err)
{
	const struct vmm_loop_ops ops = {
		.console_input = give_input, .on_signal = on_signal, .input_gate = input_gate,
		.on_forward = forward_signal, .opaque = io,
	};
	if (vmm_loop_open(&io->loop, machine_end_fd(io->m), &ops, err) < 0 ||
	    dynamic_memory_start(&io->dyn, io->m, io->loop.ev, err) < 0)
		return -1;
	if (io->opt->stdio_mux && machine_stdio_ready_fd(io->m) >= 0) {
		if (evloop_add_fd(io->loop.ev, machine_stdio_ready_fd(io->m), EVLOOP_IN, stdio_granted, io, &io->ready) < 0)
			return nv_err_host(err, "cannot watch the container relay's ready signal");
		return 0;
	}
	if (!io->opt->on_ready) {
		input_open(io);
		return 0;
	}
	if (evloop_add_fd(io->loop.ev, machine_ready_fd(io->m), EVLOOP_IN, guest_ready, io, &io->ready) < 0)
		return nv_err_host(err, "cannot watch the guest's ready signal");
	return 0;
}

int runner_run(struct machine *m, const struct runner_options *opt,
	       struct machine_result *res, struct nv_err *err)
{
	static struct runner_io io; /* holds the input buffer; one per process */
	memset(&io, 0, sizeof(io));
	io.dyn.meminfo_fd = -1;
	io.m = m;
	io.opt = opt;
	int rc = 0;
	/* The loop first: vCPU threads inherit its signal mask. */
	if (io_open(&io, err) < 0 || machine_start(m, err) < 0) {
		machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
		rc = -1;
	} else {
		if (opt->running_note)
			fprintf(stderr, "%s\n", opt->running_note);
		if (opt->on_running)
			opt->on_running(opt->opaque);
		if (vmm_loop_run(&io.loop, err) < 0)
			machine_request_end(m, MACHINE_END_VMM_FAILURE, 0, err->msg);
	}
	/* Paused before stopped: every vCPU's last exit completes and no
	 * KVM_RUN follows, so the state is whole for a save. */
	if (opt->keep_for_save)
		machine_pause(m);
	machine_finish(m, res);
	dynamic_memory_stop(&io.dyn);
	vmm_loop_close(&io.loop);
	return rc;
}
