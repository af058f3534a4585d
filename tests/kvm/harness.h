/* Host side of the KVM-API tests: a VM built from nestvm's own core (vm,
 * vcpu exit decoding, buses, x86 boot state, CPUID policy), one vCPU run
 * synchronously on the test thread, and a guest program loaded at 1 MiB. */
#ifndef NESTVM_TESTS_KVM_HARNESS_H
#define NESTVM_TESTS_KVM_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "core/kvm_vm.h"
#include "dev/platform/platform_sink.h"
#include "kvm/ucall.h"

#define HARNESS_GUEST_LOAD 0x100000ULL

enum harness_stop {
	HARNESS_UCALL,     /* h->ucall holds it */
	HARNESS_PLATFORM,  /* a platform device reported h->event/h->event_value */
	HARNESS_EXIT,      /* the vCPU stopped (triple fault, ...); h->exit holds it */
	HARNESS_TIMEOUT,   /* too many exits */
};

struct harness {
	struct kvm_vm vm;
	struct vcpu vcpu;
	struct vcpu_host host;
	struct platform_sink sink;
	struct ucall ucall;
	bool event_seen;
	enum platform_event event;
	int event_value;
	struct vcpu_exit exit;
};

/* Returns -1 (and the test should skip) when /dev/kvm is not usable here. */
int harness_create(struct harness *h, uint64_t ram_bytes);
void harness_destroy(struct harness *h);
/* cmocka setup/teardown: *state becomes a harness with HARNESS_RAM of
 * guest RAM, or NULL when /dev/kvm is not usable (the test then skips). */
#define HARNESS_RAM (64ULL << 20)
int harness_setup(void **state);
int harness_teardown(void **state);
/* Loads build/tests/kvm/guest/NAME.bin and points vCPU 0 at it. */
void harness_load_guest(struct harness *h, const char *name);
enum harness_stop harness_run(struct harness *h, unsigned max_exits);
/* Runs and requires the guest to finish with UCALL_DONE (fails the test on
 * an assert in the guest, with its line). Returns guest_main's value. */
int harness_run_to_done(struct harness *h);

#endif
