/* A vCPU: one thread running KVM_RUN, with explicit states. Exits are
 * decoded by vcpu_exit_decode() and dispatched to the buses; anything that
 * ends the VM is reported through vcpu_host.stop and the thread stops. */
#ifndef NESTVM_CORE_VCPU_H
#define NESTVM_CORE_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/bus.h"
#include "core/vcpu_exit.h"
#include "util/err.h"

/* The state machine. The vCPU thread moves RUNNING <-> PAUSED and to
 * STOPPED; controllers (any other thread) ask through requested and wait.
 *   CREATED  no thread yet: vcpu_start makes it RUNNING, vcpu_stop STOPPED.
 *   RUNNING  the thread is in or around KVM_RUN.
 *   PAUSED   the thread waits, its last exit completed inside KVM (guest
 *            state consistent, as save needs), and runs vcpu_run_on work.
 *   STOPPED  final: the thread makes no more KVM calls (it may still need
 *            joining, which vcpu_stop does). */
enum vcpu_state {
	VCPU_CREATED,
	VCPU_RUNNING,
	VCPU_PAUSED,
	VCPU_STOPPED,
};

/* Why a vCPU asks the VM to stop. */
enum vcpu_stop_cause {
	VCPU_STOP_TRIPLE_FAULT,
	VCPU_STOP_GUEST_POWEROFF,
	VCPU_STOP_GUEST_RESET,
	VCPU_STOP_GUEST_CRASH,
	VCPU_STOP_FAILED,
};

struct vcpu_host {
	const struct bus *pio;
	const struct bus *mmio;
	/* Called from the vCPU thread; must be safe to call from several. */
	void (*stop)(void *opaque, unsigned vcpu, enum vcpu_stop_cause cause,
		     const struct vcpu_exit *exit);
	void *opaque;
};

/* A vcpu_run_on call handed to the vCPU thread. */
struct vcpu;

struct vcpu_work {
	int (*fn)(struct vcpu *v, void *arg);
	void *arg;
	int result;
	bool busy;   /* one vcpu_run_on caller owns the slot */
	bool queued; /* handed to the thread, not yet taken */
	bool done;
};

struct vcpu_start_report;

struct vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	const struct vcpu_host *host;

	pthread_mutex_t lock;
	pthread_cond_t cond;        /* broadcast on any change of the fields below */
	enum vcpu_state state;
	enum vcpu_state requested;  /* RUNNING, PAUSED or STOPPED */
	bool thread_started;        /* a thread exists and is not joined */
	bool joining;               /* one vcpu_stop caller joins it */
	struct vcpu_work work;

	struct vcpu_start_report *starting; /* vcpu_start's, while the thread confines itself */
	bool io_pending;            /* vCPU thread only: the next KVM_RUN completes an exit */
	uint64_t exits;             /* statistics */
};

/* The state machine alone (no KVM vCPU: fd -1), in CREATED. vcpu_create
 * starts with it; tests of the state machine use it directly. */
void vcpu_init(struct vcpu *v, unsigned index, const struct vcpu_host *host);
int vcpu_create(struct vcpu *v, int vm_fd, int run_size, unsigned index,
		const struct vcpu_host *host, struct nv_err *err);
void vcpu_destroy(struct vcpu *v);
/* Starts the thread in VCPU_RUNNING (only from CREATED). The thread
 * loads the vCPU's seccomp filter (confine/) first; a failure to is
 * vcpu_start's. */
int vcpu_start(struct vcpu *v, struct nv_err *err);
/* Ask for a state and wait until the thread has reached it. Idempotent, and
 * safe from several controller threads at once; never from a vCPU thread
 * (-EDEADLK: two vCPUs waiting for each other would hang). 0 once in the
 * state; -ESRCH at once when the vCPU has stopped (or is stopping);
 * -EAGAIN when another controller asked for the opposite meanwhile.
 * vcpu_pause of a CREATED vCPU is 0 (nothing runs), vcpu_resume of one is
 * -EINVAL (vcpu_start it). vcpu_pause returns only once KVM has completed
 * the exit in progress (port I/O, MMIO), so the saved state is whole. */
int vcpu_pause(struct vcpu *v);
int vcpu_resume(struct vcpu *v);
/* Stops the thread for good and joins it (one caller joins, others wait).
 * A CREATED vCPU becomes STOPPED and can no longer start. */
void vcpu_stop(struct vcpu *v);
enum vcpu_state vcpu_state_get(struct vcpu *v);

/* Runs fn(v, arg) on the vCPU's own thread (where KVM wants vCPU ioctls)
 * while it is PAUSED and returns fn's result. When no thread runs KVM_RUN
 * (CREATED, or STOPPED), fn runs on the caller's thread instead. One fn at
 * a time per vCPU; vcpu_start waits for it. -EBUSY when the vCPU is
 * RUNNING, -EDEADLK from a vCPU thread. fn must not call the controller
 * functions (it would wait for itself). */
int vcpu_run_on(struct vcpu *v, int (*fn)(struct vcpu *v, void *arg), void *arg);

/* On a vCPU thread: true when its controller asked it to pause or stop,
 * so a device waiting in a blocking call that a kick interrupted (EINTR)
 * gives up instead of waiting on. False on any other thread. */
bool vcpu_self_leaving(void);

/* Dispatch one decoded exit to the buses. Exposed for tests. */
void vcpu_dispatch_io(const struct vcpu_host *host, const struct vcpu_exit *e);

/* Signal used to kick vCPU threads out of KVM_RUN. vcpu_start installs its
 * (empty) handler once per process; calling this earlier is harmless. */
#define VCPU_KICK_SIGNAL SIGUSR1
void vcpu_install_kick_handler(void);

#endif
