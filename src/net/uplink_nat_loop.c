/* libslirp on the switch daemon's event loop.
 *
 * slirp's interface is a poll() round: slirp_pollfds_fill names the sockets
 * it wants watched now (they change every round: connections come and go,
 * a full buffer stops reading) and how long it may wait (at most 1 s: its
 * TCP timers); slirp_pollfds_poll then takes what those sockets did. So the
 * NAT uplink keeps that round intact and puts two entries on the loop:
 *  - an epoll set of its own (epfd), holding exactly the sockets of the last
 *    fill, as one fd entry: readable when one of them is ready;
 *  - a timer, armed after each fill for the wait slirp allowed (its timers,
 *    our slirp timers, 0 while frames are queued), and at once after send().
 * Either one runs a round: poll() the last fill's sockets without waiting
 * (their revents), slirp_pollfds_poll, expired timers, then the next fill.
 * The set is private, so slirp's fds never meet the daemon's in the loop's
 * table (a number slirp closed and a port then got is no clash), and POLLPRI
 * (TCP urgent data) works as with poll. Keeping it in step costs a system
 * call only for a socket that came, went or changed its events. */
#include "net/uplink_nat_private.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Marks a watch whose epoll_ctl failed: never equal to wanted events, so the
 * next round tries again. */
#define WATCH_FAILED UINT32_MAX

/* ---- slirp's timers (slirp_handle_timer and friends) ---- */

static void timers_run(struct nat_uplink *n)
{
	int64_t now_ms = nat_now_ns() / 1000000;
	/* A callback may re-arm or free timers: restart the scan after each. */
	for (bool fired = true; fired;) {
		fired = false;
		for (struct nat_timer *t = n->timers; t; t = t->next) {
			if (t->expire_ms < 0 || t->expire_ms > now_ms)
				continue;
			t->expire_ms = -1;
			if (t->opaque_kind)
				slirp_handle_timer(n->slirp, t->id, t->cb_opaque);
			else if (t->cb)
				t->cb(t->cb_opaque);
			fired = true;
			break;
		}
	}
}

static void lower_timeout(int *timeout_ms, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (*timeout_ms < 0 || ms < *timeout_ms)
		*timeout_ms = (int)ms;
}

/* ---- slirp's pollfds ---- */

static int nat_add_poll(int fd, int events, void *opaque)
{
	struct nat_uplink *n = opaque;
	if (n->npfd >= NAT_FDS)
		return -1; /* slirp skips a socket with index -1 this round */
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	if (events & SLIRP_POLL_ERR)
		ev |= POLLERR;
	if (events & SLIRP_POLL_HUP)
		ev |= POLLHUP;
	n->pfd[n->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return n->npfd++;
}

static int nat_get_revents(int idx, void *opaque)
{
	struct nat_uplink *n = opaque;
	if (idx < 0 || idx >= n->npfd)
		return 0;
	short rev = n->pfd[idx].revents;
	int r = 0;
	if (rev & POLLIN)
		r |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (rev & (POLLERR | POLLNVAL))
		r |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

/* ---- the wake-up set ---- */

static int watch_cmp(const void *a, const void *b)
{
	int x = ((const struct nat_watch *)a)->fd, y = ((const struct nat_watch *)b)->fd;
	return (x > y) - (x < y);
}

/* Puts w in epfd (known: it should be there already). A number slirp closed
 * without telling us and reused is not there any more (ENOENT), one we
 * thought gone may be (EEXIST): the other operation then. */
static void watch_set(struct nat_uplink *n, struct nat_watch *w, bool known)
{
	struct epoll_event ev = { .events = w->events, .data.fd = w->fd };
	int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(n->epfd, op, w->fd, &ev) == 0)
		return;
	if ((errno == ENOENT || errno == EEXIST) &&
	    epoll_ctl(n->epfd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, w->fd, &ev) == 0)
		return;
	w->events = WATCH_FAILED;
}

/* epfd to hold this round's fds with their events: a merge of two lists
 * sorted by fd. */
static void watch_sync(struct nat_uplink *n)
{
	struct nat_watch want[NAT_FDS];
	int nw = 0;
	for (int i = 0; i < n->npfd; i++) {
		short e = n->pfd[i].events;
		want[nw++] = (struct nat_watch){
			.fd = n->pfd[i].fd,
			.events = ((e & POLLIN) ? EPOLLIN : 0) | ((e & POLLOUT) ? EPOLLOUT : 0) |
				  ((e & POLLPRI) ? EPOLLPRI : 0),
		};
	}
	qsort(want, (size_t)nw, sizeof(want[0]), watch_cmp);
	int k = 0; /* one entry per fd (slirp gives each socket its own) */
	for (int i = 0; i < nw; i++) {
		if (k && want[k - 1].fd == want[i].fd)
			want[k - 1].events |= want[i].events;
		else
			want[k++] = want[i];
	}
	nw = k;
	const struct nat_watch *old = n->watch;
	int i = 0, j = 0;
	while (i < n->nwatch || j < nw) {
		if (j == nw || (i < n->nwatch && old[i].fd < want[j].fd)) {
			epoll_ctl(n->epfd, EPOLL_CTL_DEL, old[i++].fd, NULL); /* ENOENT if closed */
		} else if (i == n->nwatch || want[j].fd < old[i].fd) {
			watch_set(n, &want[j++], false);
		} else {
			if (old[i].events != want[j].events)
				watch_set(n, &want[j], true);
			i++;
			j++;
		}
	}
	memcpy(n->watch, want, (size_t)nw * sizeof(want[0]));
	n->nwatch = nw;
}

void nat_unregister_poll_fd(int fd, void *opaque)
{
	struct nat_uplink *n = opaque;
	nat_flows_closed(n->flows, fd);
	if (!n->loop)
		return;
	/* Out of the set before slirp closes it, so that a socket that gets
	 * the same number next is added afresh rather than thought present. */
	for (int i = 0; i < n->nwatch; i++) {
		if (n->watch[i].fd == fd) {
			epoll_ctl(n->epfd, EPOLL_CTL_DEL, fd, NULL);
			memmove(&n->watch[i], &n->watch[i + 1],
				(size_t)(n->nwatch - i - 1) * sizeof(n->watch[0]));
			n->nwatch--;
			return;
		}
	}
}

/* ---- rounds ---- */

/* What slirp wants next: its sockets into the set, the timer armed. */
static void nat_fill(struct nat_uplink *n)
{
	n->npfd = 0;
	uint32_t t = UINT32_MAX;
	slirp_pollfds_fill(n->slirp, &t, nat_add_poll, n); /* lowers t to 1 s at most */
	n->filled = true;
	int timeout = -1;
	if (t != UINT32_MAX)
		lower_timeout(&timeout, t);
	if (n->queue_count)
		timeout = 0;
	int64_t now_ms = nat_now_ns() / 1000000;
	for (struct nat_timer *tm = n->timers; tm; tm = tm->next)
		if (tm->expire_ms >= 0)
			lower_timeout(&timeout, tm->expire_ms - now_ms);
	watch_sync(n);
	/* Arming a live timerfd cannot fail short of a kernel bug. */
	if (timeout < 0)
		(void)evloop_timer_disarm(n->loop, n->timer_id);
	else
		(void)evloop_timer_arm(n->loop, n->timer_id, (uint64_t)timeout, 0);
	n->kicked = timeout == 0;
}

static void nat_round(struct nat_uplink *n)
{
	if (n->filled && poll(n->pfd, (nfds_t)n->npfd, 0) < 0)
		for (int i = 0; i < n->npfd; i++)
			n->pfd[i].revents = 0; /* slirp then only runs its timers */
	nat_queue_flush(n);
	if (n->filled)
		slirp_pollfds_poll(n->slirp, 0, nat_get_revents, n);
	timers_run(n);
	nat_fill(n);
}

static void nat_on_event(struct evloop *l, const struct evloop_event *ev, void *opaque)
{
	nat_round(opaque);
}

void nat_kick(struct nat_uplink *n)
{
	if (!n->loop || n->kicked)
		return;
	n->kicked = true;
	(void)evloop_timer_arm(n->loop, n->timer_id, 0, 0);
}

int nat_attach(struct uplink *u, struct evloop *l)
{
	struct nat_uplink *n = nat_of(u);
	if (!l)
		return -EINVAL;
	if (n->loop)
		return -EBUSY;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	evloop_id ready, timer;
	int r = evloop_add_fd(l, epfd, EVLOOP_IN, nat_on_event, n, &ready);
	if (r == 0) {
		r = evloop_add_timer(l, nat_on_event, n, &timer);
		if (r < 0)
			evloop_remove(l, ready);
	}
	if (r < 0) {
		close(epfd);
		return r;
	}
	n->loop = l;
	n->epfd = epfd;
	n->ready_id = ready;
	n->timer_id = timer;
	n->nwatch = 0;
	n->filled = false;
	n->kicked = false;
	nat_fill(n); /* the forwards' listening sockets, from now on */
	return 0;
}

void nat_detach(struct nat_uplink *n)
{
	if (!n->loop)
		return;
	evloop_remove(n->loop, n->ready_id);
	evloop_remove(n->loop, n->timer_id);
	close(n->epfd);
	n->loop = NULL;
	n->nwatch = 0;
	n->filled = false;
}
