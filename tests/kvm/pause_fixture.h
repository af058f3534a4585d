/* A vCPU thread running guest/pause_loop (endless port I/O, MMIO and string
 * I/O) on a harness VM, for the tests of pausing and of the vCPU state
 * ioctls. The devices the loop talks to check its sequence host-side. */
#ifndef NESTVM_TESTS_KVM_PAUSE_FIXTURE_H
#define NESTVM_TESTS_KVM_PAUSE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvm/harness.h"

struct pause_fixture {
	struct harness *h;
	/* Written by the vCPU thread (device callbacks); read by the test
	 * while the vCPU is paused or stopped, or atomically. */
	uint32_t seq;       /* last value the guest wrote to PORT_SEQ */
	uint32_t bad_seq;   /* writes that were not seq + 1: lost or repeated */
	uint32_t mmio_last;
	uint8_t str_next;
	uint64_t ios;       /* accesses handled */
	bool stopped;       /* the vCPU reported an end */
	enum vcpu_stop_cause cause;
	uint32_t exit_reason;
	uint64_t exit_detail;
	volatile uint64_t *counter; /* the guest's step number */
};

/* Registers the loop's devices on h, loads guest/pause_loop and starts the
 * vCPU thread. The fixture is static: device callbacks outlive a failed
 * test's stack until the teardown stops the vCPU. */
struct pause_fixture *pause_fixture_start(struct harness *h);
uint64_t pause_fixture_counter(const struct pause_fixture *f);
uint64_t pause_fixture_ios(const struct pause_fixture *f);
/* Waits until the guest's counter reaches n; fails the test after a minute
 * or if the vCPU stopped. */
void pause_fixture_wait_counter(struct pause_fixture *f, uint64_t n);
/* Fails the test on a guest assert or a lost or repeated access. Call while
 * the vCPU is paused or stopped. */
void pause_fixture_check(struct pause_fixture *f);

/* vcpu_run_on bodies. */
int pause_fixture_get_regs(struct vcpu *v, void *regs);
struct pause_settled {
	struct kvm_regs before, after;
	int run;   /* KVM_RUN with immediate_exit */
	pid_t tid; /* the thread fn ran on */
};
/* Nothing may be left for KVM to complete: a KVM_RUN with immediate_exit
 * returns -EINTR at once and moves no register (a pending I/O exit would
 * be completed by it, which advances rip). */
int pause_fixture_settled(struct vcpu *v, void *settled);
/* Runs pause_fixture_settled through vcpu_run_on and asserts it. */
void pause_fixture_assert_settled(struct pause_fixture *f);

#endif
