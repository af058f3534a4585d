#include "core/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm/kvm.h"

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

void vcpu_install_kick_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vcpu *v, int vm_fd, int run_size, unsigned index,
		const struct vcpu_host *host, struct nv_err *err)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	v->host = host;
	v->fd = kvm_create_vcpu(vm_fd, index);
	if (v->fd < 0)
		return nv_err_host(err, "cannot create vCPU %u: %s", index, strerror(-v->fd));
	v->run_size = (size_t)run_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(v->fd);
		v->fd = -1;
		return nv_err_host(err, "cannot map vCPU %u run area: %s", index, strerror(e));
	}
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->state = VCPU_CREATED;
	v->requested = VCPU_RUNNING;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->thread_started)
		vcpu_stop(v);
	if (v->run && v->run != MAP_FAILED)
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

static void set_state(struct vcpu *v, enum vcpu_state s)
{
	pthread_mutex_lock(&v->lock);
	v->state = s;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* Blocks while paused; returns false when the thread must end. */
static bool wait_while_paused(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	while (v->requested == VCPU_PAUSED) {
		if (v->state != VCPU_PAUSED) {
			v->state = VCPU_PAUSED;
			pthread_cond_broadcast(&v->cond);
		}
		pthread_cond_wait(&v->cond, &v->lock);
	}
	bool go = v->requested == VCPU_RUNNING;
	if (go && v->state != VCPU_RUNNING) {
		v->state = VCPU_RUNNING;
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
	return go;
}

static void report_stop(struct vcpu *v, enum vcpu_stop_cause cause, const struct vcpu_exit *e)
{
	if (v->host->stop)
		v->host->stop(v->host->opaque, v->index, cause, e);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	for (;;) {
		if (!wait_while_paused(v))
			break;
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		int r = kvm_run(v->fd);
		if (r < 0 && r != -EINTR && r != -EAGAIN) {
			struct vcpu_exit e = { .kind = VCPU_EXIT_FAILED, .detail = (uint64_t)-r };
			report_stop(v, VCPU_STOP_FAILED, &e);
			break;
		}
		if (r < 0)
			continue; /* kicked: re-check the requested state */
		v->exits++;
		struct vcpu_exit e;
		vcpu_exit_decode(v->run, v->run_size, &e);
		enum vcpu_stop_cause cause;
		switch (e.kind) {
		case VCPU_EXIT_IO:
		case VCPU_EXIT_MMIO:
			vcpu_dispatch_io(v->host, &e);
			continue;
		case VCPU_EXIT_HLT:
		case VCPU_EXIT_INTERRUPTED:
		case VCPU_EXIT_IGNORED:
			continue;
		case VCPU_EXIT_TRIPLE_FAULT:
			cause = VCPU_STOP_TRIPLE_FAULT;
			break;
		case VCPU_EXIT_GUEST_POWEROFF:
			cause = VCPU_STOP_GUEST_POWEROFF;
			break;
		case VCPU_EXIT_GUEST_RESET:
			cause = VCPU_STOP_GUEST_RESET;
			break;
		case VCPU_EXIT_GUEST_CRASH:
			cause = VCPU_STOP_GUEST_CRASH;
			break;
		case VCPU_EXIT_FAILED:
		default:
			cause = VCPU_STOP_FAILED;
			break;
		}
		report_stop(v, cause, &e);
		break;
	}
	set_state(v, VCPU_STOPPED);
	return NULL;
}

int vcpu_start(struct vcpu *v, struct nv_err *err)
{
	pthread_mutex_lock(&v->lock);
	v->requested = VCPU_RUNNING;
	v->state = VCPU_RUNNING;
	pthread_mutex_unlock(&v->lock);
	/* vCPU threads never handle the VMM's own signals. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		set_state(v, VCPU_STOPPED);
		return nv_err_host(err, "cannot start vCPU %u thread: %s", v->index, strerror(r));
	}
	v->thread_started = true;
	return 0;
}

/* Ask for a state and kick the thread out of KVM_RUN until it reaches it. */
static void request(struct vcpu *v, enum vcpu_state want)
{
	pthread_mutex_lock(&v->lock);
	if (v->state == VCPU_STOPPED) {
		pthread_mutex_unlock(&v->lock);
		return;
	}
	v->requested = want;
	pthread_cond_broadcast(&v->cond);
	while (v->state != want && v->state != VCPU_STOPPED) {
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	}
	pthread_mutex_unlock(&v->lock);
}

void vcpu_pause(struct vcpu *v)
{
	request(v, VCPU_PAUSED);
}

void vcpu_resume(struct vcpu *v)
{
	request(v, VCPU_RUNNING);
}

void vcpu_stop(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	request(v, VCPU_STOPPED);
	pthread_join(v->thread, NULL);
	v->thread_started = false;
}

enum vcpu_state vcpu_state_get(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	enum vcpu_state s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}
