#include "core/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define WAKE_KEY UINT64_MAX /* epoll data of the loop's own eventfd */
#define GEN_LAST 0xfffffffeu /* so no id ever equals WAKE_KEY */

enum kind { K_FREE, K_FD, K_TIMER, K_NOTIFIER, K_SIGNAL };

struct entry {
	uint32_t gen; /* bumped when the slot is freed: old ids stop matching */
	enum kind kind;
	int fd;
	uint32_t interest; /* fd entries */
	bool in_epoll;
	bool always;       /* epoll refused the fd: always ready */
	evloop_fn fn;
	void *opaque;
	sigset_t blocked;  /* signal entries: what removal unblocks */
};

struct evloop {
	int epfd, wakefd;
	pthread_mutex_t lock; /* the table, against other threads' calls */
	struct entry *e;
	uint32_t n;
	bool dispatching;     /* under lock: one run at a time, none nested */
	atomic_bool stop;
};

static evloop_id make_id(const struct evloop *l, const struct entry *e)
{
	return (uint64_t)e->gen << 32 | (uint32_t)(e - l->e);
}

static struct entry *lookup(struct evloop *l, evloop_id id)
{
	uint32_t idx = (uint32_t)id, gen = (uint32_t)(id >> 32);
	if (idx >= l->n || gen == 0 || l->e[idx].gen != gen || l->e[idx].kind == K_FREE)
		return NULL;
	return &l->e[idx];
}

static uint32_t to_epoll(uint32_t interest)
{
	return ((interest & EVLOOP_IN) ? EPOLLIN : 0) | ((interest & EVLOOP_OUT) ? EPOLLOUT : 0);
}

static uint32_t from_epoll(uint32_t ev)
{
	return ((ev & EPOLLIN) ? EVLOOP_IN : 0) | ((ev & EPOLLOUT) ? EVLOOP_OUT : 0) |
	       ((ev & (EPOLLHUP | EPOLLRDHUP)) ? EVLOOP_HUP : 0) | ((ev & EPOLLERR) ? EVLOOP_ERR : 0);
}

/* A free slot (the table grows as needed); NULL when memory ran out. */
static struct entry *slot_alloc(struct evloop *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->e[i].kind == K_FREE)
			return &l->e[i];
	uint32_t n = l->n ? l->n * 2 : 16;
	if (n <= l->n)
		return NULL;
	struct entry *e = realloc(l->e, (size_t)n * sizeof(*e));
	if (!e)
		return NULL;
	for (uint32_t i = l->n; i < n; i++)
		e[i] = (struct entry){ .gen = 1, .kind = K_FREE, .fd = -1 };
	l->e = e;
	struct entry *s = &e[l->n];
	l->n = n;
	return s;
}

static void slot_free(struct entry *e)
{
	uint32_t gen = e->gen >= GEN_LAST ? 1 : e->gen + 1;
	*e = (struct entry){ .gen = gen, .kind = K_FREE, .fd = -1 };
}

/* Undoes an entry: out of epoll, owned fd closed, signals unblocked. */
static void entry_drop(struct evloop *l, struct entry *e)
{
	if (e->kind == K_FD) {
		if (e->in_epoll)
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL); /* fails harmlessly if closed */
	} else if (e->fd >= 0) {
		close(e->fd);
	}
	if (e->kind == K_SIGNAL)
		pthread_sigmask(SIG_UNBLOCK, &e->blocked, NULL);
	slot_free(e);
}

int evloop_create(struct evloop **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int rc = 0;
	l->wakefd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto fail;
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wakefd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_KEY };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		goto fail;
	rc = pthread_mutex_init(&l->lock, NULL);
	if (rc) {
		errno = rc;
		goto fail;
	}
	atomic_init(&l->stop, false);
	*out = l;
	return 0;
fail:
	rc = -errno;
	if (l->wakefd >= 0)
		close(l->wakefd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
	return rc;
}

int evloop_destroy(struct evloop *l)
{
	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (l->dispatching) {
		pthread_mutex_unlock(&l->lock);
		return -EBUSY;
	}
	for (uint32_t i = 0; i < l->n; i++)
		if (l->e[i].kind != K_FREE)
			entry_drop(l, &l->e[i]);
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_destroy(&l->lock);
	free(l->e);
	close(l->wakefd);
	close(l->epfd);
	free(l);
	return 0;
}

/* Adds an entry that owns fd (closed on failure), read-watched. */
static int add_owned(struct evloop *l, enum kind kind, int fd, const sigset_t *blocked,
		     evloop_fn fn, void *opaque, evloop_id *id)
{
	pthread_mutex_lock(&l->lock);
	struct entry *e = slot_alloc(l);
	int rc = e ? 0 : -ENOMEM;
	if (e) {
		*e = (struct entry){ .gen = e->gen, .kind = kind, .fd = fd, .fn = fn, .opaque = opaque };
		if (blocked)
			e->blocked = *blocked;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = make_id(l, e) };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			rc = -errno;
			slot_free(e);
		} else {
			e->in_epoll = true;
			*id = ev.data.u64;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (rc < 0)
		close(fd);
	return rc;
}

int evloop_add_fd(struct evloop *l, int fd, uint32_t interest, evloop_fn fn, void *opaque,
		  evloop_id *id)
{
	if (!l || !fn || !id || (interest & ~(EVLOOP_IN | EVLOOP_OUT)))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	int rc = 0;
	pthread_mutex_lock(&l->lock);
	for (uint32_t i = 0; i < l->n; i++)
		if (l->e[i].kind == K_FD && l->e[i].fd == fd)
			rc = -EEXIST;
	struct entry *e = rc ? NULL : slot_alloc(l);
	if (!rc && !e)
		rc = -ENOMEM;
	if (e) {
		*e = (struct entry){ .gen = e->gen, .kind = K_FD, .fd = fd, .interest = interest,
				     .fn = fn, .opaque = opaque };
		struct epoll_event ev = { .events = to_epoll(interest), .data.u64 = make_id(l, e) };
		/* Added even with no interest, so that a bad fd is refused now. */
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
			e->in_epoll = interest != 0;
			if (!interest)
				epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		} else if (errno == EPERM) {
			e->always = true;
		} else {
			rc = -errno;
			slot_free(e);
		}
		if (!rc)
			*id = ev.data.u64;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int evloop_modify(struct evloop *l, evloop_id id, uint32_t interest)
{
	if (!l || (interest & ~(EVLOOP_IN | EVLOOP_OUT)))
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&l->lock);
	struct entry *e = lookup(l, id);
	if (!e) {
		rc = -ENOENT;
	} else if (e->kind != K_FD) {
		rc = -EINVAL;
	} else if (!e->always && !interest) {
		/* Out of epoll, so that a hang-up is not reported over and over. */
		if (e->in_epoll)
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		e->in_epoll = false;
	} else if (!e->always) {
		struct epoll_event ev = { .events = to_epoll(interest), .data.u64 = id };
		if (epoll_ctl(l->epfd, e->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e->fd, &ev) < 0)
			rc = -errno;
		else
			e->in_epoll = true;
	}
	if (!rc)
		e->interest = interest;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int evloop_add_timer(struct evloop *l, evloop_fn fn, void *opaque, evloop_id *id)
{
	if (!l || !fn || !id)
		return -EINVAL;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return add_owned(l, K_TIMER, fd, NULL, fn, opaque, id);
}

static struct timespec ms_to_ts(uint64_t ms)
{
	return (struct timespec){ .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };
}

/* Sets a timer's timerfd; its = NULL disarms. */
static int timer_set(struct evloop *l, evloop_id id, const struct itimerspec *its)
{
	if (!l)
		return -EINVAL;
	static const struct itimerspec off;
	int rc = 0;
	pthread_mutex_lock(&l->lock);
	struct entry *e = lookup(l, id);
	if (!e)
		rc = -ENOENT;
	else if (e->kind != K_TIMER)
		rc = -EINVAL;
	else if (timerfd_settime(e->fd, 0, its ? its : &off, NULL) < 0)
		rc = -errno;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int evloop_timer_arm(struct evloop *l, evloop_id id, uint64_t delay_ms, uint64_t period_ms)
{
	struct itimerspec its = { .it_value = ms_to_ts(delay_ms), .it_interval = ms_to_ts(period_ms) };
	if (delay_ms == 0)
		its.it_value.tv_nsec = 1; /* a zero value would disarm */
	return timer_set(l, id, &its);
}

int evloop_timer_disarm(struct evloop *l, evloop_id id)
{
	return timer_set(l, id, NULL);
}

int evloop_add_notifier(struct evloop *l, evloop_fn fn, void *opaque, evloop_id *id)
{
	if (!l || !fn || !id)
		return -EINVAL;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	return add_owned(l, K_NOTIFIER, fd, NULL, fn, opaque, id);
}

static int eventfd_poke(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) || errno == EAGAIN)
		return 0; /* EAGAIN: the counter is full, so a call is pending anyway */
	return -errno;
}

int evloop_notify(struct evloop *l, evloop_id id)
{
	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	struct entry *e = lookup(l, id);
	int rc = !e ? -ENOENT : e->kind != K_NOTIFIER ? -EINVAL : eventfd_poke(e->fd);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* glibc 2.36's sigisemptyset says a set of only real-time signals is empty. */
static bool no_signal_in(const sigset_t *set)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(set, s) == 1)
			return false;
	return true;
}

int evloop_add_signals(struct evloop *l, const sigset_t *set, evloop_fn fn, void *opaque,
		       evloop_id *id)
{
	if (!l || !set || !fn || !id || no_signal_in(set))
		return -EINVAL;
	sigset_t old, added;
	int rc = pthread_sigmask(SIG_BLOCK, set, &old);
	if (rc)
		return -rc;
	/* Only what was not blocked before is ours to unblock later. */
	sigemptyset(&added);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(set, s) == 1 && sigismember(&old, s) == 0)
			sigaddset(&added, s);
	int fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	rc = fd < 0 ? -errno : add_owned(l, K_SIGNAL, fd, &added, fn, opaque, id);
	if (rc < 0)
		pthread_sigmask(SIG_UNBLOCK, &added, NULL);
	return rc;
}

int evloop_remove(struct evloop *l, evloop_id id)
{
	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	struct entry *e = lookup(l, id);
	if (e)
		entry_drop(l, e);
	pthread_mutex_unlock(&l->lock);
	return e ? 0 : -ENOENT;
}

/* What to call for an event of the entry behind id, with the kind's own fd
 * read under the lock (so a concurrent removal cannot close it under us).
 * false when there is nothing to call: removed, paused, drained already. */
static bool event_take(struct evloop *l, evloop_id id, uint32_t epoll_events,
		       struct evloop_event *ev, evloop_fn *fn, void **opaque)
{
	struct entry *e = lookup(l, id);
	if (!e)
		return false;
	*ev = (struct evloop_event){ .id = id };
	uint64_t count;
	struct signalfd_siginfo si;
	switch (e->kind) {
	case K_FD:
		/* Filtered by the interest now: it may have changed in this batch. */
		ev->events = e->always ? e->interest
				       : from_epoll(epoll_events) & (e->interest | EVLOOP_HUP | EVLOOP_ERR);
		if (!e->interest || !ev->events)
			return false;
		break;
	case K_TIMER:
	case K_NOTIFIER:
		/* EAGAIN for a timer disarmed or re-armed since the batch came. */
		if (read(e->fd, &count, sizeof(count)) != (ssize_t)sizeof(count))
			return false;
		ev->count = count;
		break;
	case K_SIGNAL:
		if (read(e->fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			return false;
		ev->signo = (int)si.ssi_signo;
		ev->value = si.ssi_int;
		break;
	default:
		return false;
	}
	*fn = e->fn;
	*opaque = e->opaque;
	return true;
}

/* Runs the callback for id; 1 if it ran. */
static int dispatch(struct evloop *l, evloop_id id, uint32_t epoll_events)
{
	struct evloop_event ev;
	evloop_fn fn = NULL;
	void *opaque = NULL;
	pthread_mutex_lock(&l->lock);
	bool go = event_take(l, id, epoll_events, &ev, &fn, &opaque);
	pthread_mutex_unlock(&l->lock);
	if (!go)
		return 0;
	fn(l, &ev, opaque); /* without the lock: it may add and remove */
	return 1;
}

/* Always-ready fds (those epoll refused) with some interest, by id; the
 * table may change between calls, so one at a time from index *i. */
static evloop_id next_always(struct evloop *l, uint32_t *i)
{
	evloop_id id = 0;
	pthread_mutex_lock(&l->lock);
	for (; *i < l->n && !id; (*i)++)
		if (l->e[*i].kind == K_FD && l->e[*i].always && l->e[*i].interest)
			id = make_id(l, &l->e[*i]);
	pthread_mutex_unlock(&l->lock);
	return id;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	bool busy = l->dispatching;
	l->dispatching = true;
	pthread_mutex_unlock(&l->lock);
	if (busy)
		return -EBUSY;
	uint32_t i = 0;
	bool always = next_always(l, &i) != 0;
	struct epoll_event evs[BATCH];
	int n = epoll_wait(l->epfd, evs, BATCH, always ? 0 : timeout_ms);
	int rc = 0;
	if (n < 0) {
		rc = errno == EINTR ? 0 : -errno;
		n = 0;
		always = false;
	}
	for (int k = 0; k < n && !atomic_load(&l->stop); k++) {
		if (evs[k].data.u64 == WAKE_KEY) {
			uint64_t v;
			ssize_t r = read(l->wakefd, &v, sizeof(v));
			(void)r; /* drained, or drained by another wake already */
			continue;
		}
		rc += dispatch(l, evs[k].data.u64, evs[k].events);
	}
	i = 0;
	for (evloop_id id; always && !atomic_load(&l->stop) && (id = next_always(l, &i)) != 0;)
		rc += dispatch(l, id, 0);
	pthread_mutex_lock(&l->lock);
	l->dispatching = false;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int evloop_run(struct evloop *l)
{
	if (!l)
		return -EINVAL;
	for (;;) {
		if (atomic_exchange(&l->stop, false))
			return 0;
		int r = evloop_run_once(l, -1);
		if (r < 0)
			return r;
	}
}

int evloop_stop(struct evloop *l)
{
	if (!l)
		return -EINVAL;
	atomic_store(&l->stop, true);
	return evloop_wake(l);
}

int evloop_wake(struct evloop *l)
{
	return l ? eventfd_poke(l->wakefd) : -EINVAL;
}
