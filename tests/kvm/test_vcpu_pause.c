/* vCPUs that pause for real (core/vcpu.c). First the state machine of a
 * vCPU without a thread (no /dev/kvm needed), then a vCPU thread on
 * /dev/kvm running guest/pause_loop, which does I/O all the time: paused
 * and resumed again and again, its registers read on its own thread through
 * vcpu_run_on, which must see them frozen and every exit completed. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/harness.h"
#include "kvm/pause_fixture.h"

#define NEED_KVM(h) do { if (!(h)) { print_message("no usable /dev/kvm\n"); skip(); } } while (0)

static int ran_on(struct vcpu *v, void *arg)
{
	*(pid_t *)arg = gettid();
	return 42;
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* No thread, no KVM: pause is a no-op, resume needs a start, run_on runs
 * on the caller's thread, stop is final. */
static void test_state_machine_without_thread(void **state)
{
	struct vcpu v;
	struct vcpu_host host = { 0 };
	vcpu_init(&v, 3, &host);
	assert_int_equal(vcpu_state_get(&v), VCPU_CREATED);
	assert_int_equal(vcpu_pause(&v), 0);
	assert_int_equal(vcpu_pause(&v), 0);
	assert_int_equal(vcpu_state_get(&v), VCPU_CREATED);
	assert_int_equal(vcpu_resume(&v), -EINVAL);
	assert_int_equal(vcpu_state_get(&v), VCPU_CREATED);

	pid_t tid = 0;
	assert_int_equal(vcpu_run_on(&v, ran_on, &tid), 42);
	assert_int_equal(tid, gettid());

	struct nv_err err = { 0 };
	assert_int_equal(vcpu_start(&v, &err), -1); /* no KVM vCPU behind it */
	assert_non_null(strstr(err.msg, "vCPU 3"));
	assert_int_equal(vcpu_state_get(&v), VCPU_CREATED);

	vcpu_stop(&v);
	assert_int_equal(vcpu_state_get(&v), VCPU_STOPPED);
	vcpu_stop(&v);
	assert_int_equal(vcpu_pause(&v), -ESRCH);
	assert_int_equal(vcpu_resume(&v), -ESRCH);
	assert_int_equal(vcpu_state_get(&v), VCPU_STOPPED);
	tid = 0;
	assert_int_equal(vcpu_run_on(&v, ran_on, &tid), 42);
	assert_int_equal(tid, gettid());
	assert_int_equal(vcpu_start(&v, &err), -1);
	assert_non_null(strstr(err.msg, "vCPU 3"));
	vcpu_destroy(&v);
}

struct overlap {
	struct vcpu v;
	int inside;
	int most;
};

static int count_overlap(struct vcpu *v, void *arg)
{
	struct overlap *o = arg;
	int n = __atomic_add_fetch(&o->inside, 1, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(&o->most, __ATOMIC_SEQ_CST);
	while (n > m && !__atomic_compare_exchange_n(&o->most, &m, n, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	usleep(50);
	__atomic_sub_fetch(&o->inside, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void *run_on_many(void *arg)
{
	struct overlap *o = arg;
	for (int i = 0; i < 200; i++)
		if (vcpu_run_on(&o->v, count_overlap, o) != 0)
			return (void *)1;
	return NULL;
}

/* Several callers of run_on: one fn at a time per vCPU. */
static void test_run_on_one_at_a_time(void **state)
{
	struct overlap o = { .inside = 0, .most = 0 };
	struct vcpu_host host = { 0 };
	vcpu_init(&o.v, 0, &host);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_on_many, &o), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	assert_int_equal(o.most, 1);
	vcpu_destroy(&o.v);
}

/* Paused, the guest and its registers do not move; a resume lets it go
 * on. The vCPU's own thread makes the ioctls. */
static void test_pause_freezes_guest(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 20);

	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_PAUSED);
	struct kvm_regs a, b;
	assert_int_equal(vcpu_run_on(&h->vcpu, pause_fixture_get_regs, &a), 0);
	uint64_t count = pause_fixture_counter(f), ios = pause_fixture_ios(f);
	usleep(100 * 1000);
	assert_int_equal(vcpu_run_on(&h->vcpu, pause_fixture_get_regs, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(pause_fixture_counter(f), count);
	assert_int_equal(pause_fixture_ios(f), ios);
	pause_fixture_assert_settled(f);
	pause_fixture_check(f);

	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_RUNNING);
	pause_fixture_wait_counter(f, count + 20);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	assert_true(pause_fixture_counter(f) >= count + 20);
	pause_fixture_check(f);
	vcpu_stop(&h->vcpu);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_STOPPED);
}

/* Pauses at random points of a loop that is mostly I/O exits (CYCLES, 60
 * by default: the lab's emulated SVM now and then takes its whole host
 * down under very many nested exits, see lab/README.md; NESTVM_PAUSE_CYCLES
 * asks for more on real hardware): every
 * one is settled (no exit left half done) and the guest sees no access
 * lost or repeated. */
static int cycles(void)
{
	const char *e = getenv("NESTVM_PAUSE_CYCLES");
	int n = e ? atoi(e) : 0;
	return n > 0 ? n : 60;
}

static void test_pause_cycles_under_io(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 5);
	unsigned seed = 12345;
	uint64_t last = 0;
	int n = cycles();
	for (int i = 0; i < n; i++) {
		useconds_t run = (useconds_t)(rand_r(&seed) % 500); /* 0: pause right after the resume */
		if (run)
			usleep(run);
		assert_int_equal(vcpu_pause(&h->vcpu), 0);
		uint64_t ios = pause_fixture_ios(f);
		pause_fixture_assert_settled(f);
		struct kvm_regs a, b;
		assert_int_equal(vcpu_run_on(&h->vcpu, pause_fixture_get_regs, &a), 0);
		assert_int_equal(vcpu_run_on(&h->vcpu, pause_fixture_get_regs, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
		assert_int_equal(pause_fixture_ios(f), ios);
		uint64_t c = pause_fixture_counter(f);
		assert_true(c >= last);
		last = c;
		pause_fixture_check(f);
		assert_int_equal(vcpu_resume(&h->vcpu), 0);
	}
	pause_fixture_wait_counter(f, last + 5);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	pause_fixture_check(f);
	print_message("%d pauses: guest step %llu, %llu exits, %llu I/O accesses\n", n,
		      (unsigned long long)pause_fixture_counter(f), (unsigned long long)h->vcpu.exits,
		      (unsigned long long)pause_fixture_ios(f));
	vcpu_stop(&h->vcpu);
}

static int call_controllers(struct vcpu *v, void *arg)
{
	int *r = arg;
	r[0] = vcpu_pause(v);
	r[1] = vcpu_resume(v);
	r[2] = vcpu_run_on(v, ran_on, &r[3]);
	return 0;
}

/* Pause and resume are idempotent; run_on wants a paused vCPU and refuses
 * calls from a vCPU thread rather than deadlock. */
static void test_pause_resume_idempotent(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 5);
	pid_t tid = 0;
	assert_int_equal(vcpu_run_on(&h->vcpu, ran_on, &tid), -EBUSY);
	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_PAUSED);
	assert_int_equal(vcpu_run_on(&h->vcpu, ran_on, &tid), 42);
	assert_int_not_equal(tid, gettid());
	int r[4] = { 0 };
	assert_int_equal(vcpu_run_on(&h->vcpu, call_controllers, r), 0);
	assert_int_equal(r[0], -EDEADLK);
	assert_int_equal(r[1], -EDEADLK);
	assert_int_equal(r[2], -EDEADLK);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_PAUSED);
	uint64_t count = pause_fixture_counter(f);
	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_RUNNING);
	pause_fixture_wait_counter(f, count + 5);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	pause_fixture_check(f);
	vcpu_stop(&h->vcpu);
}

/* A stopped vCPU answers at once; its state can still be read, on the
 * caller's thread since its own has ended. */
static void test_pause_stopped_vcpu(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 5);
	vcpu_stop(&h->vcpu);
	assert_int_equal(vcpu_state_get(&h->vcpu), VCPU_STOPPED);
	pause_fixture_check(f);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vcpu_pause(&h->vcpu), -ESRCH);
	assert_int_equal(vcpu_resume(&h->vcpu), -ESRCH);
	vcpu_stop(&h->vcpu);
	assert_true(since(&t0) < 0.5);
	pid_t tid = 0;
	assert_int_equal(vcpu_run_on(&h->vcpu, ran_on, &tid), 42);
	assert_int_equal(tid, gettid());
	struct kvm_regs regs;
	assert_int_equal(vcpu_run_on(&h->vcpu, pause_fixture_get_regs, &regs), 0);
	struct nv_err err = { 0 };
	assert_int_equal(vcpu_start(&h->vcpu, &err), -1);
}

struct controller {
	struct pause_fixture *f;
	unsigned seed;
	int bad; /* a result no interleaving allows */
};

static void *control(void *arg)
{
	struct controller *c = arg;
	struct vcpu *v = &c->f->h->vcpu;
	for (int i = 0; i < cycles() / 4; i++) {
		int r = vcpu_pause(v);
		if (r != 0 && r != -EAGAIN)
			c->bad = r;
		struct pause_settled s;
		memset(&s, 0, sizeof(s));
		r = vcpu_run_on(v, pause_fixture_settled, &s);
		if (r == 0 && (s.run != -EINTR || memcmp(&s.before, &s.after, sizeof(s.before)) != 0))
			c->bad = 1000;
		else if (r != 0 && r != -EBUSY)
			c->bad = r;
		if (rand_r(&c->seed) % 2)
			usleep(rand_r(&c->seed) % 200);
		r = vcpu_resume(v);
		if (r != 0 && r != -EAGAIN)
			c->bad = r;
	}
	return NULL;
}

/* Four controllers pausing, reading and resuming the same vCPU at once:
 * nobody deadlocks, every read sees a settled vCPU. */
static void test_concurrent_controllers(void **state)
{
	struct harness *h = *state;
	NEED_KVM(h);
	struct pause_fixture *f = pause_fixture_start(h);
	pause_fixture_wait_counter(f, 5);
	struct controller c[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		c[i] = (struct controller){ .f = f, .seed = (unsigned)i + 1, .bad = 0 };
		assert_int_equal(pthread_create(&t[i], NULL, control, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 300;
		if (pthread_timedjoin_np(t[i], NULL, &deadline) != 0)
			fail_msg("controller %d still waits after 5 minutes: deadlock", i);
		assert_int_equal(c[i].bad, 0);
	}
	assert_int_equal(vcpu_resume(&h->vcpu), 0);
	uint64_t count = pause_fixture_counter(f);
	pause_fixture_wait_counter(f, count + 5);
	assert_int_equal(vcpu_pause(&h->vcpu), 0);
	pause_fixture_check(f);
	vcpu_stop(&h->vcpu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_machine_without_thread),
		cmocka_unit_test(test_run_on_one_at_a_time),
		cmocka_unit_test_setup_teardown(test_pause_freezes_guest, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_pause_cycles_under_io, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume_idempotent, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_pause_stopped_vcpu, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_controllers, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("kvm_vcpu_pause", tests, NULL, NULL);
}
