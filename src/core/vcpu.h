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

struct vcpu {
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	const struct vcpu_host *host;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vcpu_state state;      /* written under lock */
	enum vcpu_state requested;  /* what the controller asked for */
	uint64_t exits;             /* statistics */
};

int vcpu_create(struct vcpu *v, int vm_fd, int run_size, unsigned index,
		const struct vcpu_host *host, struct nv_err *err);
void vcpu_destroy(struct vcpu *v);
/* Starts the thread in VCPU_RUNNING. */
int vcpu_start(struct vcpu *v, struct nv_err *err);
/* Asks the thread to pause/resume/stop and waits until it has. */
void vcpu_pause(struct vcpu *v);
void vcpu_resume(struct vcpu *v);
void vcpu_stop(struct vcpu *v);
enum vcpu_state vcpu_state_get(struct vcpu *v);

/* Dispatch one decoded exit to the buses. Exposed for tests. */
void vcpu_dispatch_io(const struct vcpu_host *host, const struct vcpu_exit *e);

/* Signal used to kick vCPU threads out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1
void vcpu_install_kick_handler(void);

#endif
