/* The event loop: fd readiness and interest, always-ready files, wake-ups
 * and notifiers from another thread, one-shot and periodic timers, signals,
 * removal of entries pending in the same batch, stopping, bad input. Timing
 * checks are generous (counts at least/at most), never exact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/evloop.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Runs the loop for about ms. */
static void run_for(struct evloop *l, int ms)
{
	int64_t end = now_ms() + ms;
	for (int64_t t; (t = now_ms()) < end;)
		assert_true(evloop_run_once(l, (int)(end - t)) >= 0);
}

/* What callbacks saw. */
struct seen {
	int calls;
	uint32_t events;
	uint64_t count;
	int signo;
	int value;
	evloop_id id;
};

static void record(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	(void)l;
	struct seen *s = opaque;
	s->calls++;
	s->events = ev->events;
	s->count += ev->count;
	s->signo = ev->signo;
	s->value = ev->value;
	s->id = ev->id;
}

static void drain(int fd)
{
	char buf[64];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void test_fd(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	struct seen r = { 0 }, w = { 0 };
	evloop_id rid, wid;
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_IN, record, &r, &rid), 0);
	assert_int_equal(evloop_run_once(l, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, EVLOOP_IN);
	assert_true(r.id == rid);
	/* No interest: not reported though readable; back again: reported. */
	assert_int_equal(evloop_modify(l, rid, 0), 0);
	assert_int_equal(evloop_run_once(l, 20), 0);
	assert_int_equal(evloop_modify(l, rid, EVLOOP_IN), 0);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(r.calls, 2);
	drain(p[0]);
	/* Write interest on the other end. */
	assert_int_equal(evloop_add_fd(l, p[1], EVLOOP_OUT, record, &w, &wid), 0);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(w.events, EVLOOP_OUT);
	assert_int_equal(evloop_remove(l, wid), 0);
	/* The writer leaves: a hang-up. */
	close(p[1]);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_true(r.events & EVLOOP_HUP);
	assert_int_equal(evloop_remove(l, rid), 0);
	close(p[0]);
	assert_int_equal(evloop_destroy(l), 0);
}

/* epoll refuses /dev/null: it is always ready, as poll() has it. */
static void test_always_ready(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct seen s = { 0 };
	evloop_id id;
	assert_int_equal(evloop_add_fd(l, fd, EVLOOP_IN, record, &s, &id), 0);
	int64_t t0 = now_ms();
	assert_int_equal(evloop_run_once(l, 10000), 1); /* does not wait */
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(s.events, EVLOOP_IN);
	assert_int_equal(evloop_modify(l, id, 0), 0);
	assert_int_equal(evloop_run_once(l, 10), 0);
	assert_int_equal(evloop_remove(l, id), 0);
	close(fd);
	assert_int_equal(evloop_destroy(l), 0);
}

struct poker {
	struct evloop *l;
	evloop_id id; /* 0: evloop_wake; else notify it */
	int delay_ms;
	int times;
};

static void *poke(void *arg)
{
	struct poker *p = arg;
	sleep_ms(p->delay_ms);
	for (int i = 0; i < p->times; i++)
		assert_int_equal(p->id ? evloop_notify(p->l, p->id) : evloop_wake(p->l), 0);
	return NULL;
}

static void test_wake(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	/* A bare wake-up ends the wait and runs nothing. */
	struct poker pk = { .l = l, .delay_ms = 30, .times = 1 };
	pthread_t t;
	int64_t t0 = now_ms();
	assert_int_equal(pthread_create(&t, NULL, poke, &pk), 0);
	assert_int_equal(evloop_run_once(l, 20000), 0);
	assert_true(now_ms() - t0 < 10000);
	pthread_join(t, NULL);
	/* A notifier runs its callback on this thread; notifications before it
	 * runs make one call. */
	struct seen s = { 0 };
	assert_int_equal(evloop_add_notifier(l, record, &s, &pk.id), 0);
	pk.times = 3;
	assert_int_equal(pthread_create(&t, NULL, poke, &pk), 0);
	pthread_join(t, NULL);
	assert_int_equal(evloop_run_once(l, 5000), 1);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.count, 3);
	/* And while the loop waits. */
	pk.times = 1;
	assert_int_equal(pthread_create(&t, NULL, poke, &pk), 0);
	int64_t end = now_ms() + 10000;
	while (s.calls < 2 && now_ms() < end)
		assert_true(evloop_run_once(l, 10000) >= 0);
	pthread_join(t, NULL);
	assert_int_equal(s.calls, 2);
	assert_int_equal(evloop_remove(l, pk.id), 0);
	assert_int_equal(evloop_destroy(l), 0);
}

static void test_timers(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	struct seen once = { 0 }, tick = { 0 }, off = { 0 };
	evloop_id oid, tid, xid;
	assert_int_equal(evloop_add_timer(l, record, &once, &oid), 0);
	assert_int_equal(evloop_add_timer(l, record, &tick, &tid), 0);
	assert_int_equal(evloop_add_timer(l, record, &off, &xid), 0);
	/* Created disarmed. */
	assert_int_equal(evloop_run_once(l, 30), 0);
	assert_int_equal(evloop_timer_arm(l, oid, 20, 0), 0);
	assert_int_equal(evloop_timer_arm(l, xid, 40, 0), 0);
	assert_int_equal(evloop_timer_disarm(l, xid), 0);
	run_for(l, 300);
	assert_int_equal(once.calls, 1);
	assert_int_equal(off.calls, 0);
	/* Periodic: at least 5 ticks, then disarmed: no more. */
	assert_int_equal(evloop_timer_arm(l, tid, 5, 5), 0);
	int64_t end = now_ms() + 10000;
	while (tick.count < 5 && now_ms() < end)
		assert_true(evloop_run_once(l, 1000) >= 0);
	assert_true(tick.count >= 5);
	assert_int_equal(evloop_timer_disarm(l, tid), 0);
	int calls = tick.calls;
	run_for(l, 50);
	assert_int_equal(tick.calls, calls);
	/* Delay 0: at the next round. */
	assert_int_equal(evloop_timer_arm(l, oid, 0, 0), 0);
	assert_int_equal(evloop_run_once(l, 5000), 1);
	assert_int_equal(once.calls, 2);
	/* A timer that expired, disarmed before the loop looks: no call. */
	assert_int_equal(evloop_timer_arm(l, xid, 1, 0), 0);
	sleep_ms(20);
	assert_int_equal(evloop_timer_disarm(l, xid), 0);
	assert_int_equal(evloop_run_once(l, 20), 0);
	assert_int_equal(off.calls, 0);
	assert_int_equal(evloop_destroy(l), 0); /* with timers still in it */
}

static void test_signals(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	sigset_t set, cur;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	struct seen s = { 0 };
	evloop_id id;
	assert_int_equal(evloop_add_signals(l, &set, record, &s, &id), 0);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_int_equal(sigismember(&cur, SIGUSR1), 1);
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	int64_t end = now_ms() + 5000;
	while (!s.calls && now_ms() < end)
		assert_true(evloop_run_once(l, 1000) >= 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.signo, SIGUSR1);
	/* Removal unblocks what it blocked. */
	assert_int_equal(evloop_remove(l, id), 0);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_int_equal(sigismember(&cur, SIGUSR1), 0);
	assert_int_equal(evloop_destroy(l), 0);
}

/* A queued signal's value comes with it (a forwarded signal's number). */
static void test_signal_value(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	struct seen s = { 0 };
	evloop_id id;
	assert_int_equal(evloop_add_signals(l, &set, record, &s, &id), 0);
	assert_int_equal(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = 10 }), 0);
	int64_t end = now_ms() + 5000;
	while (!s.calls && now_ms() < end)
		assert_true(evloop_run_once(l, 1000) >= 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.signo, SIGRTMIN + 1);
	assert_int_equal(s.value, 10);
	assert_int_equal(evloop_destroy(l), 0);
}

/* Two entries ready in one batch, each removing the other; the survivor
 * reuses the freed slot for a new entry, which the stale event must miss. */
struct pair {
	evloop_id id[2], fresh;
	int calls[2];
	int fresh_calls;
	int extra_fd;
	struct seen fresh_seen;
};

static void remove_other(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct pair *p = opaque;
	int me = ev->id == p->id[0] ? 0 : 1;
	p->calls[me]++;
	assert_int_equal(evloop_remove(l, p->id[1 - me]), 0);
	assert_int_equal(evloop_add_fd(l, p->extra_fd, EVLOOP_IN, record, &p->fresh_seen, &p->fresh), 0);
	/* And itself. */
	assert_int_equal(evloop_remove(l, ev->id), 0);
}

static void test_remove_in_batch(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	int a[2], b[2], c[2];
	assert_int_equal(pipe2(a, O_NONBLOCK), 0);
	assert_int_equal(pipe2(b, O_NONBLOCK), 0);
	assert_int_equal(pipe2(c, O_NONBLOCK), 0);
	assert_int_equal(write(a[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	assert_int_equal(write(c[1], "c", 1), 1);
	struct pair p = { .extra_fd = c[0] };
	assert_int_equal(evloop_add_fd(l, a[0], EVLOOP_IN, remove_other, &p, &p.id[0]), 0);
	assert_int_equal(evloop_add_fd(l, b[0], EVLOOP_IN, remove_other, &p, &p.id[1]), 0);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(p.calls[0] + p.calls[1], 1);
	assert_int_equal(p.fresh_seen.calls, 0);
	/* The new entry is there for the next round. */
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(p.fresh_seen.calls, 1);
	assert_int_equal(evloop_remove(l, p.fresh), 0);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(c[i]);
	}
	assert_int_equal(evloop_destroy(l), 0);
}

/* The same with timers: both expired, the first to run removes the other. */
struct timers {
	evloop_id id[2];
	int calls;
};

static void remove_timer(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	struct timers *t = opaque;
	t->calls++;
	assert_int_equal(evloop_remove(l, ev->id == t->id[0] ? t->id[1] : t->id[0]), 0);
}

static void test_remove_timer_in_batch(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	struct timers t = { 0 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(evloop_add_timer(l, remove_timer, &t, &t.id[i]), 0);
		assert_int_equal(evloop_timer_arm(l, t.id[i], 1, 0), 0);
	}
	sleep_ms(20);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(t.calls, 1);
	assert_int_equal(evloop_destroy(l), 0);
}

static void stop_at_three(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	(void)ev;
	int *n = opaque;
	if (++*n == 3)
		assert_int_equal(evloop_stop(l), 0);
}

static void *stopper(void *arg)
{
	sleep_ms(50);
	assert_int_equal(evloop_stop(arg), 0);
	return NULL;
}

static void test_stop(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(&l), 0);
	/* From a callback. */
	int n = 0;
	evloop_id id;
	assert_int_equal(evloop_add_timer(l, stop_at_three, &n, &id), 0);
	assert_int_equal(evloop_timer_arm(l, id, 2, 2), 0);
	assert_int_equal(evloop_run(l), 0);
	assert_int_equal(n, 3);
	assert_int_equal(evloop_remove(l, id), 0);
	/* From another thread, while the loop waits. */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stopper, l), 0);
	int64_t t0 = now_ms();
	assert_int_equal(evloop_run(l), 0);
	assert_true(now_ms() - t0 < 10000);
	pthread_join(t, NULL);
	/* Before the run: it returns at once. */
	assert_int_equal(evloop_stop(l), 0);
	assert_int_equal(evloop_run(l), 0);
	assert_int_equal(evloop_destroy(l), 0);
}

struct nested {
	int run_once, destroy;
};

static void misuse(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	(void)ev;
	struct nested *n = opaque;
	n->run_once = evloop_run_once(l, 0);
	n->destroy = evloop_destroy(l);
}

static void test_errors(void **state)
{
	(void)state;
	struct evloop *l;
	assert_int_equal(evloop_create(NULL), -EINVAL);
	assert_int_equal(evloop_create(&l), 0);
	struct seen s = { 0 };
	evloop_id id, tid;
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	/* Bad fds. */
	assert_int_equal(evloop_add_fd(l, -1, EVLOOP_IN, record, &s, &id), -EBADF);
	int gone = dup(p[0]);
	close(gone);
	assert_int_equal(evloop_add_fd(l, gone, EVLOOP_IN, record, &s, &id), -EBADF);
	assert_int_equal(evloop_add_fd(l, gone, 0, record, &s, &id), -EBADF);
	/* Bad arguments. */
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_IN, NULL, &s, &id), -EINVAL);
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_HUP, record, &s, &id), -EINVAL);
	assert_int_equal(evloop_add_fd(NULL, p[0], EVLOOP_IN, record, &s, &id), -EINVAL);
	sigset_t empty;
	sigemptyset(&empty);
	assert_int_equal(evloop_add_signals(l, &empty, record, &s, &id), -EINVAL);
	/* One entry per fd. */
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_IN, record, &s, &id), 0);
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_OUT, record, &s, &tid), -EEXIST);
	/* Calls for another kind of entry. */
	assert_int_equal(evloop_add_timer(l, record, &s, &tid), 0);
	assert_int_equal(evloop_modify(l, tid, EVLOOP_IN), -EINVAL);
	assert_int_equal(evloop_timer_arm(l, id, 1, 0), -EINVAL);
	assert_int_equal(evloop_notify(l, id), -EINVAL);
	/* Double and unknown removal. */
	assert_int_equal(evloop_remove(l, id), 0);
	assert_int_equal(evloop_remove(l, id), -ENOENT);
	assert_int_equal(evloop_modify(l, id, EVLOOP_IN), -ENOENT);
	assert_int_equal(evloop_remove(l, 0), -ENOENT);
	assert_int_equal(evloop_remove(l, (evloop_id)12345 << 32 | 7), -ENOENT);
	assert_int_equal(evloop_remove(l, tid), 0);
	assert_int_equal(evloop_timer_arm(l, tid, 1, 0), -ENOENT);
	/* The slot is reused: the old id still misses. */
	evloop_id again;
	assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_IN, record, &s, &again), 0);
	assert_true(again != id);
	assert_int_equal(evloop_remove(l, id), -ENOENT);
	assert_int_equal(evloop_remove(l, again), 0);
	/* Running or destroying from inside a callback. */
	struct nested n = { 0 };
	assert_int_equal(evloop_add_timer(l, misuse, &n, &tid), 0);
	assert_int_equal(evloop_timer_arm(l, tid, 0, 0), 0);
	assert_int_equal(evloop_run_once(l, 5000), 1);
	assert_int_equal(n.run_once, -EBUSY);
	assert_int_equal(n.destroy, -EBUSY);
	assert_int_equal(evloop_run_once(NULL, 0), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(evloop_destroy(l), 0);
	assert_int_equal(evloop_destroy(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_always_ready),
		cmocka_unit_test(test_wake),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_signal_value),
		cmocka_unit_test(test_remove_in_batch),
		cmocka_unit_test(test_remove_timer_in_batch),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
