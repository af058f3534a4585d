#include "kvm/pause_fixture.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/guest/pause_loop.h"
#include "kvm/kvm.h"

static struct pause_fixture fixture;

static void seq_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pause_fixture *f = opaque;
	__atomic_add_fetch(&f->ios, 1, __ATOMIC_RELAXED);
	if (len != 4)
		return;
	if (!is_write) {
		memcpy(data, &f->seq, 4);
		return;
	}
	uint32_t v;
	memcpy(&v, data, 4);
	if (v != f->seq + 1)
		f->bad_seq++;
	f->seq = v;
}

static void str_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pause_fixture *f = opaque;
	__atomic_add_fetch(&f->ios, 1, __ATOMIC_RELAXED);
	if (!is_write)
		for (uint32_t i = 0; i < len; i++)
			data[i] = f->str_next++;
}

static void mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pause_fixture *f = opaque;
	__atomic_add_fetch(&f->ios, 1, __ATOMIC_RELAXED);
	if (len != 4)
		return;
	if (is_write)
		memcpy(&f->mmio_last, data, 4);
	else
		memcpy(data, &f->mmio_last, 4);
}

static void on_stop(void *opaque, unsigned vcpu, enum vcpu_stop_cause cause, const struct vcpu_exit *e)
{
	struct pause_fixture *f = opaque;
	f->cause = cause;
	f->exit_reason = e ? e->reason : 0;
	f->exit_detail = e ? e->detail : 0;
	__atomic_store_n(&f->stopped, true, __ATOMIC_RELEASE);
}

struct pause_fixture *pause_fixture_start(struct harness *h)
{
	struct pause_fixture *f = &fixture;
	memset(f, 0, sizeof(*f));
	f->h = h;
	assert_int_equal(bus_register(&h->vm.pio, PAUSE_LOOP_PORT_SEQ, 4, seq_io, f), 0);
	assert_int_equal(bus_register(&h->vm.pio, PAUSE_LOOP_PORT_STR, 1, str_io, f), 0);
	assert_int_equal(bus_register(&h->vm.mmio, PAUSE_LOOP_MMIO, 4, mmio_io, f), 0);
	f->counter = guest_mem_ptr(&h->vm.mem, PAUSE_LOOP_COUNTER, sizeof(uint64_t));
	assert_non_null(f->counter);
	harness_load_guest(h, "pause_loop");
	h->host.stop = on_stop;
	h->host.opaque = f;
	struct nv_err err = { 0 };
	if (vcpu_start(&h->vcpu, &err) < 0)
		fail_msg("vcpu_start: %s", err.msg);
	return f;
}

uint64_t pause_fixture_counter(const struct pause_fixture *f)
{
	return __atomic_load_n(f->counter, __ATOMIC_RELAXED);
}

uint64_t pause_fixture_ios(const struct pause_fixture *f)
{
	return __atomic_load_n(&f->ios, __ATOMIC_RELAXED);
}

void pause_fixture_wait_counter(struct pause_fixture *f, uint64_t n)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (pause_fixture_counter(f) < n) {
		if (__atomic_load_n(&f->stopped, __ATOMIC_ACQUIRE))
			fail_msg("the vCPU stopped (cause %d, KVM exit %u, detail 0x%llx)", f->cause,
				 f->exit_reason, (unsigned long long)f->exit_detail);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 60)
			fail_msg("the guest made no progress: counter %llu, wanted %llu (state %d)",
				 (unsigned long long)pause_fixture_counter(f), (unsigned long long)n,
				 vcpu_state_get(&f->h->vcpu));
		usleep(1000);
	}
}

void pause_fixture_check(struct pause_fixture *f)
{
	const struct ucall *u = &f->h->ucall;
	if (u->cmd == UCALL_ABORT)
		fail_msg("guest assertion failed at line %llu (value 0x%llx)",
			 (unsigned long long)u->args[0], (unsigned long long)u->args[1]);
	assert_int_equal(f->bad_seq, 0);
	assert_false(f->stopped);
}

int pause_fixture_get_regs(struct vcpu *v, void *regs)
{
	return kvm_get_regs(v->fd, regs);
}

int pause_fixture_settled(struct vcpu *v, void *settled)
{
	struct pause_settled *s = settled;
	s->tid = gettid();
	int r = kvm_get_regs(v->fd, &s->before);
	if (r < 0)
		return r;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	s->run = kvm_run(v->fd);
	return kvm_get_regs(v->fd, &s->after);
}

void pause_fixture_assert_settled(struct pause_fixture *f)
{
	struct pause_settled s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(vcpu_run_on(&f->h->vcpu, pause_fixture_settled, &s), 0);
	assert_int_not_equal(s.tid, gettid()); /* ran on the vCPU thread */
	assert_int_equal(s.run, -EINTR);
	if (memcmp(&s.before, &s.after, sizeof(s.before)) != 0)
		fail_msg("KVM still had an exit to complete: rip 0x%llx became 0x%llx",
			 (unsigned long long)s.before.rip, (unsigned long long)s.after.rip);
}
