/* One event loop on epoll: fds with read/write interest, timers
 * (timerfd), notifiers any thread may trigger (eventfd) and signals
 * (signalfd). Callbacks run on the thread that calls evloop_run or
 * evloop_run_once.
 *
 * Entries are named by an evloop_id, never by a pointer: an id carries a
 * generation, so an entry removed inside a callback (itself, or another one
 * whose event is pending in the same epoll batch) is simply skipped, and a
 * stale or doubled removal returns -ENOENT instead of touching freed memory.
 *
 * Every function returns 0 (or a count) or -errno and never aborts on bad
 * input. All are safe to call from any thread; a callback, though, may still
 * be running on the loop thread when another thread's evloop_remove returns. */
#ifndef NESTVM_CORE_EVLOOP_H
#define NESTVM_CORE_EVLOOP_H

#include <signal.h>
#include <stdint.h>

struct evloop;
typedef uint64_t evloop_id; /* 0 is never a valid id */

/* Interest (evloop_add_fd, evloop_modify) and readiness (events). */
#define EVLOOP_IN  0x1u
#define EVLOOP_OUT 0x2u
#define EVLOOP_HUP 0x4u /* reported only: the peer hung up */
#define EVLOOP_ERR 0x8u /* reported only */

struct evloop_event {
	evloop_id id;
	uint32_t events; /* fd entries: EVLOOP_* */
	uint64_t count;  /* timers: expirations; notifiers: notifications since the last call */
	int signo;       /* signal entries */
	int value;       /* signal entries: a queued signal's value (sigqueue) */
};

typedef void (*evloop_fn)(struct evloop *l, const struct evloop_event *ev, void *opaque);

int evloop_create(struct evloop **out);
/* Closes the loop and the fds it owns (timers, notifiers, signals: those are
 * unblocked again), not fds added with evloop_add_fd. -EBUSY from inside a
 * callback. NULL is fine. */
int evloop_destroy(struct evloop *l);

/* Watches fd (not owned) for interest; one entry per fd. Interest 0 keeps
 * the entry but watches nothing (not even hang-ups). An fd that epoll
 * refuses (a regular file, /dev/null) is always ready, as poll() has it. */
int evloop_add_fd(struct evloop *l, int fd, uint32_t interest, evloop_fn fn, void *opaque,
		  evloop_id *id);
int evloop_modify(struct evloop *l, evloop_id id, uint32_t interest);

/* A timer, created disarmed. Arming fires it once after delay_ms (0: at the
 * next round), then every period_ms unless that is 0; arming again restarts
 * it. An expiration still pending when the timer is disarmed or re-armed is
 * dropped. */
int evloop_add_timer(struct evloop *l, evloop_fn fn, void *opaque, evloop_id *id);
int evloop_timer_arm(struct evloop *l, evloop_id id, uint64_t delay_ms, uint64_t period_ms);
int evloop_timer_disarm(struct evloop *l, evloop_id id);

/* A notifier: evloop_notify, from any thread, has fn run on the loop thread
 * (several notifications before it runs make one call, with their count). */
int evloop_add_notifier(struct evloop *l, evloop_fn fn, void *opaque, evloop_id *id);
int evloop_notify(struct evloop *l, evloop_id id);

/* Blocks set in the calling thread (threads it creates later inherit the
 * mask, so vCPU threads never take these signals) and delivers them to fn,
 * one call per signal. Removal unblocks what this entry blocked; add and
 * remove on the same thread, and give no signal to two entries. */
int evloop_add_signals(struct evloop *l, const sigset_t *set, evloop_fn fn, void *opaque,
		       evloop_id *id);

/* Removes any entry, at once: it gets no further call, even for an event
 * already fetched in the running batch. */
int evloop_remove(struct evloop *l, evloop_id id);

/* Waits up to timeout_ms (-1: forever) and runs the callbacks of what is
 * ready. Returns how many ran (0 on timeout, EINTR or a bare wake-up), or
 * -errno; -EBUSY when called from a callback. */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* Runs until evloop_stop; 0 then, or -errno if waiting failed. */
int evloop_run(struct evloop *l);
/* Makes evloop_run return after the callback running now (the rest of the
 * batch waits for the next run); before evloop_run, makes it return at once.
 * Also ends an evloop_run_once's batch early. */
int evloop_stop(struct evloop *l);
/* Interrupts a wait without running anything. */
int evloop_wake(struct evloop *l);

#endif
