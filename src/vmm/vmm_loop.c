#include "vmm/vmm_loop.h"

#include "util/signal_forward.h"

#include <signal.h>
#include <string.h>

/* Gives the guest what waits, then opens or closes the gate to match. */
static void input_flush(struct vmm_loop *l)
{
	if (l->input_len) {
		size_t took = l->ops.console_input(l->ops.opaque, l->input, l->input_len);
		if (took > l->input_len)
			took = l->input_len;
		memmove(l->input, l->input + took, l->input_len - took);
		l->input_len -= took;
	}
	bool waiting = l->input_len > 0;
	if (waiting == l->waiting)
		return;
	l->waiting = waiting;
	/* Arming a live timerfd cannot fail short of a kernel bug. */
	if (waiting)
		(void)evloop_timer_arm(l->ev, l->retry, VMM_LOOP_RETRY_MS, VMM_LOOP_RETRY_MS);
	else
		(void)evloop_timer_disarm(l->ev, l->retry);
	if (l->ops.input_gate)
		l->ops.input_gate(l->ops.opaque, !waiting);
}

static void on_retry(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	input_flush(opaque);
}

static void on_signal(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	struct vmm_loop *l = opaque;
	if (l->ops.on_forward && e->signo == SIGNAL_FORWARD) {
		l->ops.on_forward(l->ops.opaque, e->value);
		return;
	}
	if (!l->ops.on_signal || l->ops.on_signal(l->ops.opaque, e->signo))
		evloop_stop(ev);
}

static void on_end(struct evloop *ev, const struct evloop_event *e, void *opaque)
{
	evloop_stop(ev);
}

int vmm_loop_open(struct vmm_loop *l, int end_fd, const struct vmm_loop_ops *ops,
		  struct nv_err *err)
{
	memset(l, 0, sizeof(*l));
	l->ops = *ops;
	int r = evloop_create(&l->ev);
	if (r < 0)
		return nv_err_host(err, "event loop: %s", strerror(-r));
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	if (ops->on_forward)
		sigaddset(&sigs, SIGNAL_FORWARD);
	evloop_id id;
	const char *what = "signalfd";
	r = evloop_add_signals(l->ev, &sigs, on_signal, l, &id);
	if (r >= 0) {
		what = "the VM's end";
		r = evloop_add_fd(l->ev, end_fd, EVLOOP_IN, on_end, l, &id);
	}
	if (r >= 0) {
		what = "timerfd";
		r = evloop_add_timer(l->ev, on_retry, l, &l->retry);
	}
	if (r < 0) {
		vmm_loop_close(l);
		return nv_err_host(err, "%s: %s", what, strerror(-r));
	}
	return 0;
}

void vmm_loop_close(struct vmm_loop *l)
{
	evloop_destroy(l->ev);
	l->ev = NULL;
}

int vmm_loop_run(struct vmm_loop *l, struct nv_err *err)
{
	int r = evloop_run(l->ev);
	if (r < 0)
		return nv_err_host(err, "epoll_wait: %s", strerror(-r));
	return 0;
}

size_t vmm_loop_input_room(const struct vmm_loop *l)
{
	return sizeof(l->input) - l->input_len;
}

void vmm_loop_input(struct vmm_loop *l, const uint8_t *p, size_t n)
{
	size_t room = vmm_loop_input_room(l);
	if (n > room)
		n = room;
	if (n) {
		memcpy(l->input + l->input_len, p, n);
		l->input_len += n;
	}
	input_flush(l);
}
