#include "core/vcpu.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "confine/confine.h"
#include "kvm/kvm.h"

/* Set on vCPU threads: they must never wait for a vCPU (their own or, in a
 * cycle, another's), so the controller functions refuse them. */
static _Thread_local const struct vcpu *thread_vcpu;

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

static void kick_handler_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	/* No SA_RESTART: a kick also ends a device's wait in a blocking call
	 * (the console's write to a pipe nobody reads), which sees EINTR and
	 * asks vcpu_self_leaving whether to give up. Disk I/O on regular files
	 * is never interrupted; every other call retries on EINTR. */
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

void vcpu_install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, kick_handler_install);
}

bool vcpu_self_leaving(void)
{
	struct vcpu *v = (struct vcpu *)thread_vcpu;
	if (!v)
		return false;
	pthread_mutex_lock(&v->lock);
	bool leaving = v->requested != VCPU_RUNNING;
	pthread_mutex_unlock(&v->lock);
	return leaving;
}

void vcpu_init(struct vcpu *v, unsigned index, const struct vcpu_host *host)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	v->host = host;
	v->fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* request's timed waits */
	pthread_cond_init(&v->cond, &ca);
	pthread_condattr_destroy(&ca);
	v->state = VCPU_CREATED;
	v->requested = VCPU_RUNNING;
}

int vcpu_create(struct vcpu *v, int vm_fd, int run_size, unsigned index,
		const struct vcpu_host *host, struct nv_err *err)
{
	vcpu_init(v, index, host);
	int fd = kvm_create_vcpu(vm_fd, index);
	if (fd < 0)
		return nv_err_host(err, "cannot create vCPU %u: %s", index, strerror(-fd));
	v->run_size = (size_t)run_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(fd);
		v->run = NULL;
		return nv_err_host(err, "cannot map vCPU %u run area: %s", index, strerror(e));
	}
	v->fd = fd;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	vcpu_stop(v);
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->cond);
	v->run = NULL;
	v->fd = -1;
}

void vcpu_dispatch_io(const struct vcpu_host *host, const struct vcpu_exit *e)
{
	const struct bus *b = e->kind == VCPU_EXIT_IO ? host->pio : host->mmio;
	for (uint32_t i = 0; i < e->count; i++)
		bus_dispatch(b, e->addr, e->data + (size_t)i * e->size, e->size, e->is_write);
}

/* Under v->lock. */
static void set_state_locked(struct vcpu *v, enum vcpu_state s)
{
	if (v->state != s) {
		v->state = s;
		pthread_cond_broadcast(&v->cond);
	}
}

static void report_stop(struct vcpu *v, enum vcpu_stop_cause cause, const struct vcpu_exit *e)
{
	if (v->host->stop)
		v->host->stop(v->host->opaque, v->index, cause, e);
}

static enum vcpu_stop_cause stop_cause(enum vcpu_exit_kind kind)
{
	switch (kind) {
	case VCPU_EXIT_TRIPLE_FAULT:
		return VCPU_STOP_TRIPLE_FAULT;
	case VCPU_EXIT_GUEST_POWEROFF:
		return VCPU_STOP_GUEST_POWEROFF;
	case VCPU_EXIT_GUEST_RESET:
		return VCPU_STOP_GUEST_RESET;
	case VCPU_EXIT_GUEST_CRASH:
		return VCPU_STOP_GUEST_CRASH;
	default:
		return VCPU_STOP_FAILED;
	}
}

/* One KVM_RUN and the exit it brings. Returns false when the VM must end
 * (already reported to the host). */
static bool run_once(struct vcpu *v)
{
	int r = kvm_run(v->fd);
	if (r == -EINTR) {
		/* Kicked. KVM completes a pending exit before it looks at
		 * signals or immediate_exit, so nothing is left half done. */
		v->io_pending = false;
		return true;
	}
	if (r == -EAGAIN)
		return true;
	if (r < 0) {
		struct vcpu_exit e = { .kind = VCPU_EXIT_FAILED, .detail = (uint64_t)-r };
		report_stop(v, VCPU_STOP_FAILED, &e);
		return false;
	}
	v->exits++;
	struct vcpu_exit e;
	vcpu_exit_decode(v->run, v->run_size, &e);
	v->io_pending = false;
	switch (e.kind) {
	case VCPU_EXIT_IO:
	case VCPU_EXIT_MMIO:
		vcpu_dispatch_io(v->host, &e);
		/* KVM finishes the instruction (rip, the register of an IN)
		 * only on the next KVM_RUN. */
		v->io_pending = true;
		return true;
	case VCPU_EXIT_HLT:
	case VCPU_EXIT_INTERRUPTED:
	case VCPU_EXIT_IGNORED:
		return true;
	default:
		report_stop(v, stop_cause(e.kind), &e);
		return false;
	}
}

/* Until KVM has completed the last I/O exit the registers are not the
 * guest's real state, and a saved copy would repeat the access. Re-enter
 * with immediate_exit: KVM completes it and returns without running the
 * guest (a string access may bring another exit first). */
static bool complete_exit(struct vcpu *v)
{
	while (v->io_pending) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (!run_once(v))
			return false;
	}
	return true;
}

/* The thread between two KVM_RUNs: run handed-over work, complete a pending
 * exit, pause, or go on. Returns false when the thread must end. */
static bool thread_wait(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	for (;;) {
		if (v->work.queued) {
			v->work.queued = false;
			pthread_mutex_unlock(&v->lock);
			int r = v->work.fn(v, v->work.arg);
			pthread_mutex_lock(&v->lock);
			v->work.result = r;
			v->work.done = true;
			pthread_cond_broadcast(&v->cond);
			continue;
		}
		if (v->requested == VCPU_RUNNING) {
			/* Cleared under the lock a pause request sets it under:
			 * a kick after this point is seen by KVM_RUN, one before
			 * it was a request we have just read. */
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			set_state_locked(v, VCPU_RUNNING);
			pthread_mutex_unlock(&v->lock);
			return true;
		}
		if (v->io_pending) {
			pthread_mutex_unlock(&v->lock);
			bool ok = complete_exit(v);
			pthread_mutex_lock(&v->lock);
			if (!ok)
				break;
			continue;
		}
		if (v->requested == VCPU_STOPPED)
			break;
		set_state_locked(v, VCPU_PAUSED);
		pthread_cond_wait(&v->cond, &v->lock);
	}
	/* STOPPED before the lock goes: no work can be queued after this. */
	set_state_locked(v, VCPU_STOPPED);
	pthread_mutex_unlock(&v->lock);
	return false;
}

/* The new thread's word to vcpu_start: confined, or why not. */
struct vcpu_start_report {
	sem_t done;
	int rc;
	struct nv_err err;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	thread_vcpu = v;
	/* Before KVM_RUN: every exit a guest causes meets the filter. */
	struct vcpu_start_report *rep = v->starting;
	rep->rc = confine_thread(CONFINE_VCPU, &rep->err);
	int rc = rep->rc;
	sem_post(&rep->done); /* rep is gone after this */
	if (rc < 0)
		return NULL;
	while (thread_wait(v) && run_once(v))
		;
	pthread_mutex_lock(&v->lock);
	set_state_locked(v, VCPU_STOPPED);
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

int vcpu_start(struct vcpu *v, struct nv_err *err)
{
	vcpu_install_kick_handler();
	pthread_mutex_lock(&v->lock);
	while (v->work.busy) /* a vcpu_run_on on the caller's thread */
		pthread_cond_wait(&v->cond, &v->lock);
	if (v->state != VCPU_CREATED || !v->run) {
		pthread_mutex_unlock(&v->lock);
		return nv_err_host(err, "vCPU %u cannot start: %s", v->index,
				   v->run ? "already started or stopped" : "no KVM vCPU");
	}
	v->requested = VCPU_RUNNING;
	/* vCPU threads never handle the VMM's own signals. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* Created under the lock, so v->thread is set before anyone kicks. */
	struct vcpu_start_report rep = { .rc = 0 };
	sem_init(&rep.done, 0, 0);
	v->starting = &rep;
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		sem_destroy(&rep.done);
		set_state_locked(v, VCPU_STOPPED);
		pthread_mutex_unlock(&v->lock);
		return nv_err_host(err, "cannot start vCPU %u thread: %s", v->index, strerror(r));
	}
	while (sem_wait(&rep.done) < 0)
		;
	sem_destroy(&rep.done);
	v->starting = NULL;
	if (rep.rc < 0) {
		pthread_join(v->thread, NULL);
		set_state_locked(v, VCPU_STOPPED);
		pthread_mutex_unlock(&v->lock);
		return nv_err_host(err, "vCPU %u: %s", v->index, rep.err.msg);
	}
	v->thread_started = true;
	set_state_locked(v, VCPU_RUNNING);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

/* Under v->lock, the thread RUNNING. immediate_exit stops a thread that is
 * about to enter KVM_RUN; the signal one that is inside it. */
static void kick_locked(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* Ask for a state and wait until the thread reaches it, another controller
 * asks for something else, or the vCPU stops. */
static int request(struct vcpu *v, enum vcpu_state want)
{
	if (thread_vcpu)
		return -EDEADLK;
	int r = 0;
	pthread_mutex_lock(&v->lock);
	if (v->state == VCPU_STOPPED) {
		r = want == VCPU_STOPPED ? 0 : -ESRCH;
	} else if (v->state == VCPU_CREATED) {
		if (want == VCPU_STOPPED)
			set_state_locked(v, VCPU_STOPPED);
		else if (want == VCPU_RUNNING)
			r = -EINVAL;
	} else if (v->requested == VCPU_STOPPED && want != VCPU_STOPPED) {
		r = -ESRCH; /* a stop is under way and final */
	} else {
		v->requested = want;
		pthread_cond_broadcast(&v->cond);
		if (want != VCPU_RUNNING && v->state == VCPU_RUNNING)
			kick_locked(v);
		while (v->state != want && v->state != VCPU_STOPPED && v->requested == want) {
			/* Kicked again every 100 ms while it runs: a kick that
			 * lands between a device's check and its blocking call
			 * is not lost for good. */
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&v->cond, &v->lock, &until) == ETIMEDOUT &&
			    want != VCPU_RUNNING && v->state == VCPU_RUNNING && v->requested == want)
				kick_locked(v);
		}
		if (v->state == want)
			r = 0;
		else
			r = v->state == VCPU_STOPPED ? -ESRCH : -EAGAIN;
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}

int vcpu_pause(struct vcpu *v)
{
	return request(v, VCPU_PAUSED);
}

int vcpu_resume(struct vcpu *v)
{
	return request(v, VCPU_RUNNING);
}

void vcpu_stop(struct vcpu *v)
{
	if (request(v, VCPU_STOPPED) < 0)
		return;
	pthread_mutex_lock(&v->lock);
	if (v->thread_started && !v->joining) {
		v->joining = true;
		pthread_mutex_unlock(&v->lock);
		pthread_join(v->thread, NULL);
		pthread_mutex_lock(&v->lock);
		v->thread_started = false;
		v->joining = false;
		pthread_cond_broadcast(&v->cond);
	}
	while (v->thread_started) /* another controller is joining it */
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
}

enum vcpu_state vcpu_state_get(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	enum vcpu_state s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}

int vcpu_run_on(struct vcpu *v, int (*fn)(struct vcpu *v, void *arg), void *arg)
{
	if (thread_vcpu)
		return -EDEADLK;
	int r;
	pthread_mutex_lock(&v->lock);
	while (v->work.busy)
		pthread_cond_wait(&v->cond, &v->lock);
	if (v->state == VCPU_RUNNING) {
		r = -EBUSY;
	} else if (v->state == VCPU_PAUSED) {
		/* The thread takes queued work before anything else, even a
		 * resume or stop that comes in meanwhile. */
		v->work = (struct vcpu_work){ .fn = fn, .arg = arg, .busy = true, .queued = true };
		pthread_cond_broadcast(&v->cond);
		while (!v->work.done)
			pthread_cond_wait(&v->cond, &v->lock);
		r = v->work.result;
		v->work.busy = false;
		pthread_cond_broadcast(&v->cond);
	} else {
		/* CREATED or STOPPED: no thread runs KVM_RUN, so this one may
		 * make the vCPU ioctls. */
		v->work.busy = true;
		pthread_mutex_unlock(&v->lock);
		r = fn(v, arg);
		pthread_mutex_lock(&v->lock);
		v->work.busy = false;
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}
